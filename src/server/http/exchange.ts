/**
 * @module
 * One HTTP request's way back (`Exchange`): its reply as `application/json` when nothing comes
 * before it, else an SSE stream of the notifications (and, legacy, the server's requests) that
 * belong to it, ending with the reply. In the 2026 era the client closing the connection before
 * the reply is the request's cancellation; a legacy session's stream is resumable instead
 * (./resumable.ts): the call runs on and what it sends waits for the client to come back.
 */

import { idJson, type RequestId } from "../jsonrpc.ts";
import { EventStream, SSE_HEADERS } from "./event_stream.ts";
import type { ResumableStream } from "./resumable.ts";

const REPLY_PREFIX = `{"jsonrpc":"2.0","id":`;
/**
 * How often a peer looks for requests whose clients may have hung up, in ms: a request still
 * unanswered at the second look is watched from then on. Watching costs: reading
 * `request.signal` makes Deno.serve wait on the connection for that request, about a tenth of
 * what a quick call costs the server's thread, and most calls are answered sooner. A client
 * that hangs up earlier is noticed then, so its call is cancelled at most twice this late (a
 * quarter of a second apart: soon enough for a person, and a call answered within it, as most
 * are, keeps its JSON reply: see below).
 *
 * A 2026-era call (`tools/call`, `prompts/get`, `resources/read`: what runs a tool's code) is
 * watched by beginning its response as an SSE stream, whose end Deno reports when the client
 * goes: Deno 2.9.6 aborts `request.signal` for a client gone before the response began only if
 * the request's body was small (under ~450 bytes; a call with longer arguments, or resumed with
 * a request state, was never cancelled). Other requests keep the signal: they are slow only
 * while they wait to be read, and a stream would take the HTTP status of their error (404 for an
 * unknown method). So does a client that accepts JSON only. Legacy requests are not watched:
 * in that era a hang-up is not a cancellation (their calls stream, resumably, from the start).
 */
export const WATCH_AFTER_MS = 250;
/** The reconnection delay an SSE stream suggests (`retry:`), in ms. */
export const RETRY_MS = 1000;

/** How an exchange answers. */
export interface ExchangeOptions {
  /** The peer's number for the request. */
  id: number;
  /** The request's id as the client sent it. */
  clientId: RequestId;
  /** The client's progress token, if it asked for progress. */
  progressToken?: RequestId | undefined;
  /** True when log lines may belong to it (a call, with a log level in the 2026 era). */
  logs: boolean;
  /** True for a 2026-07-28 request: some errors have their own HTTP status. */
  modern: boolean;
  /** True when a late watch begins its stream (a 2026-era call: see `WATCH_AFTER_MS`). */
  streamsToWatch?: boolean | undefined;
  /**
   * False when the client's `Accept` leaves out `text/event-stream`: its reply is JSON, what would
   * come before it is dropped (a server request goes to the GET stream, or is refused), and a
   * late watch reads `request.signal`.
   */
  sse?: boolean | undefined;
  /** False when the client's `Accept` leaves out `application/json`: a stream from the start. */
  json?: boolean | undefined;
  /**
   * "lazy": JSON unless something comes before the reply; "now": an SSE stream from the start
   * (legacy calls: the client learns at once how to reconnect); "listen": a long-lived stream.
   */
  stream: "lazy" | "now" | "listen";
  /** Headers every response carries (the session id of `initialize`). */
  headers?: Record<string, string> | undefined;
  /** The client left before the reply. */
  onAbandon: () => void;
  /** Told the reply, before it is sent. */
  onReply?: ((ok: boolean) => void) | undefined;
  /** The notification that says `n` notifications were dropped for a slow reader. */
  droppedNote: (count: number) => string;
  /** Legacy: makes the resumable stream its SSE goes on (else an `EventStream`, not resumable). */
  resumable?: (() => ResumableStream) | undefined;
}

/** One request's response; see the module documentation. */
export class Exchange {
  readonly id: number;
  readonly clientId: RequestId;
  readonly progressToken: RequestId | undefined;
  readonly logs: boolean;
  readonly response: Promise<Response>;
  readonly #options: ExchangeOptions;
  readonly #resolve: (response: Response) => void;
  #stream: EventStream | ResumableStream | undefined;
  #settled = false;
  #done = false;
  #unwatch: (() => void) | undefined;
  /** The request whose connection is to be watched, until then (see `watchLater`). */
  #request: Request | undefined;
  #waited = false;

  constructor(options: ExchangeOptions) {
    this.#options = options;
    this.id = options.id;
    this.clientId = options.clientId;
    this.progressToken = options.progressToken;
    this.logs = options.logs;
    const { promise, resolve } = Promise.withResolvers<Response>();
    this.response = promise;
    this.#resolve = resolve;
    if (
      options.stream === "listen" || options.json === false ||
      (options.stream === "now" && options.sse !== false)
    ) this.#openStream();
  }

  /**
   * The client's connection closed before a response began: cancels the request. (Once a
   * response is settled the signal is let go: Deno aborts it after a response too.)
   */
  watch(signal: AbortSignal): void {
    const gone = () => {
      if (!this.#settled) this.#gone();
    };
    if (signal.aborted) return gone();
    signal.addEventListener("abort", gone, { once: true });
    this.#unwatch = () => signal.removeEventListener("abort", gone);
  }

  /**
   * Watches `request`'s connection only if the request is still unanswered at the second
   * `lateWatch()` from now (the peer's timer): see `WATCH_AFTER_MS`.
   */
  watchLater(request: Request): void {
    if (!this.#settled) this.#request = request;
  }

  /** A tick of the peer's timer; true while it is still to be watched at a later one. */
  lateWatch(now = false): boolean {
    const request = this.#request;
    if (request === undefined) return false;
    if (!this.#waited && !now) return this.#waited = true;
    this.#request = undefined;
    if (this.#options.streamsToWatch && this.#options.sse !== false) {
      this.#openStream(); // see WATCH_AFTER_MS
    } else this.watch(request.signal);
    return false;
  }

  /**
   * Sends a line before the reply (switching to SSE); false once the exchange is over, or when
   * its client takes no SSE.
   */
  notify(line: string, droppable = true): boolean {
    if (this.#done || (this.#options.sse === false && !this.#stream)) {
      return false;
    }
    this.#openStream().notify(line, droppable);
    return true;
  }

  /** The reply line, as the peer numbered it (`idEnd`: where its id ends). */
  reply(line: string, idEnd: number): void {
    if (this.#done) return;
    this.#done = true;
    const errorAt = line.startsWith(`,"error":`, idEnd);
    this.#options.onReply?.(!errorAt);
    const json = `${REPLY_PREFIX}${idJson(this.clientId)}${line.slice(idEnd)}`;
    if (this.#stream) return this.#stream.finish(json);
    this.#settle(
      new Response(json, {
        status: errorAt && this.#options.modern
          ? errorStatus(line, idEnd)
          : 200,
        headers: {
          "content-type": "application/json",
          ...this.#options.headers,
        },
      }),
    );
  }

  /**
   * No reply will come (the client cancelled it): the stream ends, or an empty one is sent (204
   * No Content to a client that takes no SSE).
   */
  end(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#stream && this.#options.sse === false) {
      return this.#settle(new Response(null, { status: 204 }));
    }
    this.#openStream().end();
  }

  /** The server stopped before replying. */
  abandon(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#stream) return this.#stream.end();
    this.#settle(
      new Response(
        `{"jsonrpc":"2.0","id":${
          idJson(this.clientId)
        },"error":{"code":-32603,"message":"Internal error: the server stopped before replying"}}`,
        { status: 503, headers: { "content-type": "application/json" } },
      ),
    );
  }

  #openStream(): EventStream | ResumableStream {
    if (this.#stream) return this.#stream;
    if (this.#options.resumable) {
      const stream = this.#stream = this.#options.resumable();
      this.#settle(
        new Response(stream.connect(), {
          headers: { ...SSE_HEADERS, ...this.#options.headers },
        }),
      );
      return stream;
    }
    const stream = this.#stream = new EventStream({
      first: this.#options.stream === "now"
        ? `retry: ${RETRY_MS}\n\n`
        : undefined,
      keepAlive: this.#options.stream === "listen",
      droppedNote: this.#options.droppedNote,
      onGone: () => {
        if (!this.#done) this.#gone();
      },
    });
    this.#settle(
      new Response(stream.body, {
        headers: { ...SSE_HEADERS, ...this.#options.headers },
      }),
    );
    return stream;
  }

  #gone(): void {
    this.#done = true;
    this.#stream?.end();
    this.#settle(new Response(null, { status: 499 }));
    this.#options.onAbandon();
  }

  #settle(response: Response): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#unwatch?.();
    this.#request = undefined;
    this.#resolve(response);
  }
}

/** The HTTP status of a 2026-era error reply (Streamable HTTP, "Request Metadata"). */
function errorStatus(line: string, idEnd: number): number {
  const head = `,"error":{"code":`;
  if (!line.startsWith(head, idEnd)) return 200;
  const code = parseInt(
    line.slice(idEnd + head.length, idEnd + head.length + 8),
  );
  if (code === -32601) return 404;
  // HeaderMismatch, MissingRequiredClientCapability, UnsupportedProtocolVersion
  if (code === -32020 || code === -32021 || code === -32022) return 400;
  return 200;
}
