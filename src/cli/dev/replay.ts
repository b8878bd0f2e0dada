/**
 * @module
 * What `dev` remembers of the client's session, so a restarted server child picks it up: the
 * handshake, the log level and the requests still waiting. Pure: lines in, lines out.
 */

import {
  errorLine,
  idKey,
  INTERNAL_ERROR,
  JsonRpcError,
  parseMessage,
  type RequestId,
  resultLine,
} from "../../server/jsonrpc.ts";

/** The id prefix of requests the supervisor replays; the child's replies to them are swallowed. */
export const REPLAY_PREFIX = "tooldrop-dev:";

/** The notification that the tool list changed, as the server child writes it. */
export const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;

/** Where the lines go: to the server child, and to the client. */
export interface Routed {
  /** Lines for the server child, in order. */
  child: string[];
  /** Lines for the client, in order. */
  client: string[];
}

interface Pending {
  id: RequestId;
  method: string;
  line: string;
  /** The child it was passed to, counting restarts. */
  child: number;
}

/** The client's session as the dev supervisor keeps it across restarts of its server child. */
export class SessionReplay {
  readonly #pending = new Map<string | number | bigint, Pending>();
  #initialize: string | undefined;
  #initialized: string | undefined;
  #setLevel: string | undefined;
  #replays = 0;
  /** The child that client lines are passed to now, counting restarts. */
  #child = 0;
  /** The child being ended, from `restarting()` until `restart()`. */
  #ending: number | undefined;

  /**
   * Notes one client line (its handshake, log level, a request now waiting, a cancellation) and
   * routes it: to the child, or, for a request while no server runs (`down` says why), an
   * answer to the client.
   */
  fromClient(line: string, down?: string): Routed {
    const message = parseMessage(line);
    if (message.kind === "request") {
      if (message.method === "initialize") this.#initialize = line;
      if (message.method === "logging/setLevel") this.#setLevel = line;
      const pending = {
        id: message.id,
        method: message.method,
        line,
        child: this.#child,
      };
      this.#pending.set(idKey(message.id), pending);
      if (down) return { child: [], client: [this.#answer(pending, down)] };
    } else if (message.kind === "notification") {
      if (message.method === "notifications/initialized") {
        this.#initialized = line;
      }
      const requestId = message.params?.requestId;
      if (
        message.method === "notifications/cancelled" &&
        (typeof requestId === "string" || typeof requestId === "number")
      ) {
        this.#pending.delete(requestId);
      }
    }
    return { child: [line], client: [] };
  }

  /** Routes one child line: the lines for the client (none for a reply to a replayed request). */
  fromChild(line: string): string[] {
    if (line.startsWith(`{"jsonrpc":"2.0","id":"${REPLAY_PREFIX}`)) return [];
    const message = parseMessage(line);
    if (message.kind === "response" || message.kind === "invalid") {
      if (message.id !== null) this.#pending.delete(idKey(message.id));
    }
    return [line];
  }

  /**
   * The client's session for a fresh child: handshake and log level, under replay ids. An
   * `initialize` a restart caught unanswered is sent as it came instead, under the client's id:
   * its reply is the one the client still waits for.
   */
  replay(): string[] {
    const lines: string[] = [];
    const waiting = this.#caughtInitialize();
    if (waiting) {
      waiting.child = this.#child;
      lines.push(waiting.line);
    } else this.#again(this.#initialize, lines);
    if (this.#initialized) lines.push(this.#initialized);
    this.#again(this.#setLevel, lines);
    return lines;
  }

  /** Adds a request to `lines` under a fresh replay id, with `{}` for missing params. */
  #again(line: string | undefined, lines: string[]): void {
    if (!line) return;
    const message = parseMessage(line);
    if (message.kind !== "request") return;
    const id = JSON.stringify(`${REPLAY_PREFIX}${++this.#replays}`);
    lines.push(
      `{"jsonrpc":"2.0","id":${id},"method":${
        JSON.stringify(message.method)
      },"params":${JSON.stringify(message.params ?? {})}}`,
    );
  }

  /** The client's latest `initialize`, if a child ended without answering it. */
  #caughtInitialize(): Pending | undefined {
    for (const pending of this.#pending.values()) {
      if (pending.line === this.#initialize && pending.child < this.#child) {
        return pending;
      }
    }
    return undefined;
  }

  /**
   * A restart begins: the old child gets no more lines. Requests from now on are the new child's
   * (the supervisor holds them for it), so `restart()` leaves them alone.
   */
  restarting(): void {
    if (this.#ending === undefined) this.#ending = this.#child++;
  }

  /**
   * At a restart, once the old child ended: answers the tool calls it lost (`why` says how) and
   * returns the other requests it left waiting, to ask the new child again (an `initialize`
   * waiting goes first, in `replay()`).
   */
  restart(why: string): Routed {
    // Without `restarting()` first, every request waiting went to the old child.
    const ended = this.#ending ?? this.#child++;
    this.#ending = undefined;
    const routed: Routed = { child: [], client: [] };
    for (const pending of [...this.#pending.values()]) {
      if (pending.child > ended) continue; // already on its way to the new child
      if (pending.method === "tools/call") {
        routed.client.push(this.#answer(pending, why));
      } else if (pending.method === "initialize") {
        // The latest is sent again by `replay()`, first; one it superseded is lost like a call.
        if (pending.line !== this.#initialize) {
          routed.client.push(this.#answer(pending, why));
        }
      } else {
        routed.child.push(pending.line);
        pending.child = this.#child;
      }
    }
    return routed;
  }

  /** What the client hears once a restarted child serves: its tool list may have changed. */
  restarted(): string[] {
    return this.#initialized ? [LIST_CHANGED] : [];
  }

  /** Answers every request still waiting: tool calls with an error result, others -32603. */
  answerAll(why: string): string[] {
    return [...this.#pending.values()].map((p) => this.#answer(p, why));
  }

  #answer(pending: Pending, why: string): string {
    this.#pending.delete(idKey(pending.id));
    if (pending.method === "tools/call") {
      return resultLine(
        pending.id,
        JSON.stringify({
          content: [{
            type: "text",
            text:
              `The call did not finish: ${why}. The server restarts itself in development; call the tool again.`,
          }],
          isError: true,
        }),
      );
    }
    return errorLine(
      pending.id,
      new JsonRpcError(INTERNAL_ERROR, `Internal error: ${why}`),
    );
  }
}
