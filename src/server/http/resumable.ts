/**
 * @module
 * One resumable SSE stream of a legacy session (`ResumableStream`): every event has an id
 * (`<stream>-<n>`) and stays in a bounded log, so a client whose connection dropped can GET the
 * stream again with `Last-Event-ID` and read on from there. The connection is only a cursor into
 * the log; the stream outlives it, even once read to its end (the last bytes may not have reached
 * a client whose connection was dying), until it is swept or discarded.
 */

const encoder = new TextEncoder();

/** Events one stream keeps for replay; the oldest read ones go first, then older notifications. */
export const MAX_REPLAY_EVENTS = 256;
/** The characters those may have in all. */
export const MAX_REPLAY_CHARS = 1024 * 1024;
/** How often an idle GET stream sends a comment, so proxies and clients keep it open. */
export const RESUMABLE_KEEP_ALIVE_MS = 20_000;

interface Entry {
  n: number;
  text: string;
  /** A notification may be dropped; a request of the server's or the reply may not. */
  droppable: boolean;
}

interface Connection {
  cursor: number;
  /** Closes the connection at the hold time (`holdMs`); cleared when it ends sooner. */
  hold: ReturnType<typeof setTimeout> | undefined;
  /** Text to send before the log (the priming event). */
  first: string | undefined;
  live: boolean;
  wake: (() => void) | undefined;
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
}

/** A stream's id (`key`) and its events; see the module documentation. */
export class ResumableStream {
  /** Random, so another session's ids name nothing here; `g` first for a GET stream. */
  readonly key: string;
  readonly #entries: Entry[] = [];
  #next = 1;
  #chars = 0;
  #ended = false;
  #conn: Connection | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /**
   * When the last connection dropped or read the end, in `performance.now()` ms; undefined
   * while connected.
   */
  goneAt: number | undefined;
  readonly #retryMs: number;
  readonly #prime: boolean;
  readonly #holdMs: number | undefined;
  readonly #droppedNote: (count: number) => string;
  readonly #onGone: () => void;
  readonly #onDone: () => void;

  /**
   * `onGone`: a connection dropped (or was let go at `holdMs`) before the stream ended.
   * `onDone`: the stream ended and a connection read all of it.
   */
  constructor(options: {
    get: boolean;
    retryMs: number;
    /**
     * False: a fresh connection opens without the priming event (its id, `retry:`, no data),
     * which a client of a version before 2025-11-25 cannot read; default true.
     */
    prime?: boolean | undefined;
    /**
     * The longest one connection is held open before it is let go, the stream running on for
     * the client to poll (GET with `Last-Event-ID`); default: held until the stream ends.
     */
    holdMs?: number | undefined;
    droppedNote: (count: number) => string;
    onGone: () => void;
    onDone: () => void;
  }) {
    const bytes = crypto.getRandomValues(new Uint8Array(6));
    this.key = (options.get ? "g" : "") +
      [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    this.#retryMs = options.retryMs;
    this.#prime = options.prime ?? true;
    this.#holdMs = options.holdMs;
    this.#droppedNote = options.droppedNote;
    this.#onGone = options.onGone;
    this.#onDone = options.onDone;
    if (options.get) {
      this.#keepAlive = setInterval(() => {
        const conn = this.#conn;
        if (conn?.live && conn.cursor === this.#next - 1) {
          conn.controller?.enqueue(encoder.encode(":\n\n"));
        }
      }, RESUMABLE_KEEP_ALIVE_MS);
    }
  }

  /** True once ended: nothing more is added. */
  get closed(): boolean {
    return this.#ended;
  }

  /** True while a client's connection reads it. */
  get connected(): boolean {
    return this.#conn?.live === true;
  }

  /** The id of the last event added (`n`), to check a `Last-Event-ID` against. */
  get last(): number {
    return this.#next - 1;
  }

  /**
   * A body that reads the stream from after event `after`: a fresh one (`after` undefined)
   * starts with the priming event (its id, `retry:`, no data). A connection still reading is
   * closed: one stream, one connection.
   */
  connect(after?: number): ReadableStream<Uint8Array> {
    const old = this.#conn;
    if (old) this.#close(old);
    const conn: Connection = {
      cursor: after ?? 0,
      first: after === undefined && this.#prime
        ? `id: ${this.key}-0\nretry: ${this.#retryMs}\ndata: \n\n`
        : undefined,
      hold: undefined,
      live: true,
      wake: undefined,
      controller: undefined,
    };
    this.#conn = conn;
    this.goneAt = undefined;
    if (this.#holdMs !== undefined && !this.#ended) {
      conn.hold = setTimeout(() => this.#letGo(conn), this.#holdMs);
    }
    return new ReadableStream<Uint8Array>({
      start: (controller) => void (conn.controller = controller),
      pull: (controller) => this.#pull(conn, controller),
      cancel: () => this.#gone(conn),
    }, { highWaterMark: 0 });
  }

  /** Adds a message (JSON) before the final one. */
  notify(json: string, droppable = true): void {
    if (this.#ended) return;
    this.#add(json, droppable);
  }

  /** Adds the final message (JSON) and ends the stream. */
  finish(json: string): void {
    if (this.#ended) return;
    this.#add(json, false);
    this.end();
  }

  /** Ends the stream: a connection closes once it has read the log. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#keepAlive);
    this.#signal();
  }

  /**
   * Ends it for good (the session ended, or it was swept): a connection still reading reads the
   * log to its end; else the log is let go now.
   */
  discard(): void {
    this.end();
    if (this.#conn?.live) return;
    this.#entries.length = 0;
    this.#chars = 0;
  }

  #add(json: string, droppable: boolean): void {
    const n = this.#next++;
    const text = `id: ${this.key}-${n}\nevent: message\ndata: ${json}\n\n`;
    this.#entries.push({ n, text, droppable });
    this.#chars += text.length;
    while (
      this.#entries.length > MAX_REPLAY_EVENTS ||
      this.#chars > MAX_REPLAY_CHARS
    ) {
      if (!this.#dropOne()) break;
    }
    this.#signal();
  }

  /** Drops the oldest event already read, else the oldest notification; false when none. */
  #dropOne(): boolean {
    const read = this.#conn?.cursor ?? 0;
    let at = this.#entries[0] && this.#entries[0].n <= read ? 0 : -1;
    if (at < 0) at = this.#entries.findIndex((entry) => entry.droppable);
    if (at < 0) return false;
    const [entry] = this.#entries.splice(at, 1);
    this.#chars -= entry!.text.length;
    return true;
  }

  #signal(): void {
    const wake = this.#conn?.wake;
    if (this.#conn) this.#conn.wake = undefined;
    wake?.();
  }

  async #pull(
    conn: Connection,
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    while (conn.live && conn.first === undefined && !this.#ended) {
      if (this.#next - 1 > conn.cursor) break;
      await new Promise<void>((resolve) => conn.wake = resolve);
    }
    if (!conn.live) return;
    if (conn.first !== undefined) {
      controller.enqueue(encoder.encode(conn.first));
      conn.first = undefined;
      return;
    }
    const entry = this.#entries.find((entry) => entry.n > conn.cursor);
    const nextN = entry?.n ?? this.#next;
    if (nextN > conn.cursor + 1) {
      // Dropped while unread: one note, with the id of the last one dropped.
      const count = nextN - conn.cursor - 1;
      conn.cursor = nextN - 1;
      controller.enqueue(encoder.encode(
        `id: ${this.key}-${conn.cursor}\nevent: message\ndata: ${
          this.#droppedNote(count)
        }\n\n`,
      ));
      return;
    }
    if (!entry) {
      // Ended, and all of it read.
      conn.live = false;
      clearTimeout(conn.hold);
      controller.close();
      this.goneAt = performance.now();
      this.#onDone();
      return;
    }
    conn.cursor = entry.n;
    controller.enqueue(encoder.encode(entry.text));
  }

  #gone(conn: Connection): void {
    if (!conn.live) return;
    conn.live = false;
    clearTimeout(conn.hold);
    this.#signal();
    this.goneAt = performance.now();
    this.#onGone();
  }

  /**
   * The hold time is up and the stream has not ended: the connection closes with a `retry:`
   * (SSE polling, 2025-11-25 transports), leaving what is unread in the log for the client's
   * GET with `Last-Event-ID`. The call goes on; to the session it is a dropped connection.
   */
  #letGo(conn: Connection): void {
    if (!conn.live || this.#ended) return;
    // A client that has not read the priming event yet gets it now: its id is where to resume.
    conn.controller?.enqueue(
      encoder.encode(conn.first ?? `retry: ${this.#retryMs}\n\n`),
    );
    conn.first = undefined;
    this.#close(conn);
    this.goneAt = performance.now();
    this.#onGone();
  }

  #close(conn: Connection): void {
    if (!conn.live) return;
    conn.live = false;
    clearTimeout(conn.hold);
    const wake = conn.wake;
    conn.wake = undefined;
    wake?.();
    try {
      conn.controller?.close();
    } catch {
      // already closed or errored by the client
    }
  }
}
