/**
 * @module
 * The legacy era's sessions (`Mcp-Session-Id`), one connection each, bounded in number and idle
 * time: over the bound the session idle longest goes; one idle past its time is ended.
 */

import type { Peer } from "./peer.ts";

/** Sessions open at once by default. */
export const DEFAULT_MAX_SESSIONS = 64;
/**
 * How long a session may go without a request (and without a GET stream) by default; also how
 * long a dropped stream's events wait for the client to resume it.
 */
export const DEFAULT_SESSION_IDLE_MS = 10 * 60_000;

/** The open sessions; see the module documentation. */
export class Sessions {
  readonly #peers = new Map<string, Peer>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #onEnd: (id: string, why: string) => void;
  readonly #sweeper: ReturnType<typeof setInterval>;

  /** `onEnd` is told of each session ended here (evicted, expired, deleted). */
  constructor(
    max: number,
    idleMs: number,
    onEnd: (id: string, why: string) => void,
  ) {
    this.#max = max;
    this.#idleMs = idleMs;
    this.#onEnd = onEnd;
    this.#sweeper = setInterval(
      () => this.#sweep(),
      Math.max(1000, Math.min(idleMs / 4, 60_000)),
    );
  }

  get size(): number {
    return this.#peers.size;
  }

  /** The session with `id`, if open and not expired. */
  get(id: string): Peer | undefined {
    const peer = this.#peers.get(id);
    if (peer && (peer.closed || this.#expired(peer))) {
      this.end(id, peer.closed ? "its connection stopped" : "idle");
      return undefined;
    }
    return peer;
  }

  /**
   * Opens a session for `create()`'s peer; undefined when every session is busy (a request in
   * progress or a GET stream open) and there is no room.
   */
  open(create: () => Peer): { id: string; peer: Peer } | undefined {
    if (this.#peers.size >= this.#max) {
      this.#sweep();
      if (this.#peers.size >= this.#max) {
        let oldest: [string, Peer] | undefined;
        for (const entry of this.#peers) {
          if (entry[1].pending > 0 || entry[1].standalone?.connected) continue;
          if (!oldest || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
        }
        if (!oldest) return undefined;
        this.end(oldest[0], `evicted: ${this.#max} sessions are open`);
      }
    }
    const id = crypto.randomUUID();
    const peer = create();
    this.#peers.set(id, peer);
    void peer.done.then(() => {
      if (this.#peers.get(id) === peer) this.#peers.delete(id);
    });
    return { id, peer };
  }

  /** Ends a session: its calls get the grace period. False when there is none. */
  end(id: string, why: string): boolean {
    const peer = this.#peers.get(id);
    if (!peer) return false;
    this.#peers.delete(id);
    peer.close();
    this.#onEnd(id, why);
    return true;
  }

  /** Ends every session and stops the sweeping; resolves when all have shut down. */
  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    const peers = [...this.#peers.values()];
    this.#peers.clear();
    for (const peer of peers) peer.close();
    await Promise.all(peers.map((peer) => peer.done));
  }

  #expired(peer: Peer): boolean {
    return peer.pending === 0 && !peer.standalone?.connected &&
      performance.now() - peer.lastUsed > this.#idleMs;
  }

  #sweep(): void {
    for (const [id, peer] of this.#peers) {
      if (peer.closed) this.#peers.delete(id);
      else if (this.#expired(peer)) this.end(id, "idle");
      else peer.sweep(this.#idleMs);
    }
  }
}
