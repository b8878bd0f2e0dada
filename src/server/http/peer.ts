/**
 * @module
 * One `serve()` connection behind HTTP (`Peer`): the stateless 2026-07-28 requests share one,
 * each legacy session has its own. Requests go in with ids (and progress tokens) of the peer's
 * own numbering, so clients that all use id 1 never meet; each line the server writes is routed
 * back by that number to the HTTP response of its request (./exchange.ts), with the client's id
 * put back. Only a reply's id is found without parsing the line. A legacy session's SSE streams
 * are resumable (./resumable.ts): the peer holds them by id for a GET with `Last-Event-ID`.
 * (Over 300 lines: the numbering going in, the routing coming out and the registry of resumable
 * streams share their maps; split, each part would reach into the others'.)
 */

import { serve } from "../serve.ts";
import { LOG_REQUEST_KEY } from "../call.ts";
import { PRINCIPAL_KEY } from "../era.ts";
import {
  idKey,
  type Message,
  notificationLine,
  type Params,
  type RequestId,
} from "../jsonrpc.ts";
import type { ServerInfo } from "../protocol.ts";
import type { ToolSet } from "../../tool/served.ts";
import type { Logger } from "../../util/log.ts";
import type { FileWatcher } from "../resource_updates.ts";
import { LineFeed, LineSink } from "./pipe.ts";
import {
  Exchange,
  type ExchangeOptions,
  RETRY_MS,
  WATCH_AFTER_MS,
} from "./exchange.ts";
import { ResumableStream } from "./resumable.ts";
import type { ToolUpdates } from "./tool_updates.ts";

const REPLY_PREFIX = `{"jsonrpc":"2.0","id":`;
const SUBSCRIPTION_KEY = "io.modelcontextprotocol/subscriptionId";
/** Methods whose handling may send the client requests, logs and progress before the reply. */
const CALL_METHODS = new Set(["tools/call", "prompts/get", "resources/read"]);
/**
 * Streams read to their end that a session keeps for resumption (the end may not have reached
 * the client); beyond, the one read longest ago goes.
 */
const MAX_FINISHED_STREAMS = 16;

/** What every peer is built from (see `ServeOptions`). */
export interface PeerOptions {
  tools: ToolSet;
  info: ServerInfo;
  instructions?: string | undefined;
  log: Logger;
  maxLineBytes: number;
  maxPending: number;
  /** The notification that says `n` were dropped for a client that reads too slowly. */
  droppedNote: (count: number) => string;
  shutdownGraceMs?: number | undefined;
  watchFiles?: FileWatcher | undefined;
  /** Signs request states (shared by instances behind a load balancer). */
  stateKey?: Uint8Array<ArrayBuffer> | undefined;
  /** Legacy: the longest an SSE connection is held before the client must poll (see serveHttp). */
  sseHoldMs?: number | undefined;
  /** New sets as files change (`serve --watch`): a peer starts from the newest and follows. */
  updates?: ToolUpdates | undefined;
}

/** One connection of the server core, driven over HTTP; see the module documentation. */
export class Peer {
  /** Resolves once the connection has shut down (after `close()`, or if it stopped itself). */
  readonly done: Promise<void>;
  /** True for a legacy session: server requests and unrelated notifications have streams here. */
  readonly legacy: boolean;
  /** The session's GET stream, connected or waiting to be resumed (legacy only). */
  standalone: ResumableStream | undefined;
  /**
   * Whether its streams open with the priming event and may be let go at the hold (SSE
   * polling): both came with 2025-11-25, and a session of an earlier version has neither.
   */
  primes = true;
  /** When a request last came, in `performance.now()` ms (idle expiry). */
  lastUsed = performance.now();
  readonly #feed = new LineFeed();
  readonly #log: Logger;
  readonly #droppedNote: (count: number) => string;
  readonly #maxPending: number;
  readonly #sseHoldMs: number | undefined;
  readonly #exchanges = new Map<number, Exchange>();
  /** Legacy: the client's own ids of requests in progress, to map its cancellations. */
  readonly #byClientId = new Map<string | number | bigint, Exchange>();
  /** Legacy: the streams a GET with `Last-Event-ID` may resume, by key. */
  readonly #streams = new Map<string, ResumableStream>();
  /** Legacy: streams read to their end, oldest first, kept a while for a client that lost it. */
  readonly #finished = new Set<ResumableStream>();
  #nextId = 1;
  /** Armed while requests may need their connections watched (`watchLater`). */
  #lateTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #unroutedLogs = 0;

  constructor(options: PeerOptions, legacy: boolean) {
    this.legacy = legacy;
    this.#log = options.log;
    this.#maxPending = options.maxPending;
    this.#droppedNote = options.droppedNote;
    this.#sseHoldMs = options.sseHoldMs;
    const ended = new AbortController();
    this.done = serve({
      readable: this.#feed,
      writable: new LineSink((line) => {
        try {
          this.#route(line);
        } catch (error) {
          this.#log.error(
            "Internal error while routing a reply (dropped)",
            error,
          );
        }
      }),
      tools: options.updates?.current ?? options.tools,
      ...(options.updates
        ? { toolUpdates: options.updates.follow(ended.signal) }
        : {}),
      tagLogs: true,
      info: options.info,
      ...(options.instructions ? { instructions: options.instructions } : {}),
      log: options.log,
      maxLineBytes: options.maxLineBytes,
      ...(options.shutdownGraceMs === undefined
        ? {}
        : { shutdownGraceMs: options.shutdownGraceMs }),
      ...(options.watchFiles ? { watchFiles: options.watchFiles } : {}),
      ...(options.stateKey ? { stateKey: options.stateKey } : {}),
    }).finally(() => {
      clearTimeout(this.#lateTimer);
      ended.abort();
      this.#closed = true;
      for (const exchange of this.#exchanges.values()) exchange.abandon();
      this.#exchanges.clear();
      this.#byClientId.clear();
      for (const stream of this.#streams.values()) stream.discard();
      this.#streams.clear();
      this.#finished.clear();
      this.standalone = undefined;
    });
  }

  /** Requests in progress (listen streams included). */
  get pending(): number {
    return this.#exchanges.size;
  }

  /** True once closing or closed: it takes no more requests. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends a request; its exchange resolves to the HTTP response. Undefined when the peer is at
   * its bound of requests in progress, or (legacy) when the client's id is already in use.
   */
  request(
    message: { id: RequestId; method: string; params: Params | undefined },
    options: Omit<
      ExchangeOptions,
      | "id"
      | "clientId"
      | "onAbandon"
      | "logs"
      | "progressToken"
      | "droppedNote"
      | "resumable"
      | "streamsToWatch"
    >,
    principal?: string,
  ): Exchange | "busy" | "duplicate" {
    if (this.#exchanges.size >= this.#maxPending) return "busy";
    const clientKey = idKey(message.id);
    if (this.legacy && this.#byClientId.has(clientKey)) return "duplicate";
    const id = this.#nextId++;
    const params = message.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const token = meta?.progressToken;
    const exchange = new Exchange({
      ...options,
      id,
      clientId: message.id,
      progressToken: token as Exchange["progressToken"],
      logs: CALL_METHODS.has(message.method) &&
        (this.legacy ||
          meta?.["io.modelcontextprotocol/logLevel"] !== undefined),
      streamsToWatch: options.modern && CALL_METHODS.has(message.method),
      onAbandon: () => this.#cancel(exchange),
      droppedNote: this.#droppedNote,
      resumable: this.legacy ? () => this.#newStream(false) : undefined,
    });
    this.#exchanges.set(id, exchange);
    if (this.legacy) this.#byClientId.set(clientKey, exchange);
    // The principal is the transport's to say: a client's own is removed, the token's set.
    const claimed = meta !== undefined && Object.hasOwn(meta, PRINCIPAL_KEY);
    let sent = params;
    if (token !== undefined || principal !== undefined || claimed) {
      const rewritten: Record<string, unknown> = { ...meta };
      delete rewritten[PRINCIPAL_KEY];
      if (token !== undefined) rewritten.progressToken = `p${id}`;
      if (principal !== undefined) rewritten[PRINCIPAL_KEY] = principal;
      sent = { ...params, _meta: rewritten };
    }
    // Handed over parsed: the server does not parse it again.
    this.#feed.push({
      kind: "request",
      id,
      method: message.method,
      params: sent,
    });
    if (this.legacy) this.lastUsed = performance.now(); // idle expiry of sessions
    return exchange;
  }

  /**
   * A notification or a response to a server request (legacy): passed on, with the client's id
   * of a cancelled request mapped to the peer's.
   */
  send(
    message: Extract<Message, { kind: "notification" | "response" }>,
    line: string,
  ): void {
    this.lastUsed = performance.now();
    if (
      message.kind === "notification" &&
      message.method === "notifications/cancelled"
    ) {
      const requestId = message.params?.requestId;
      const exchange = requestId === undefined || !this.legacy
        ? undefined
        : this.#byClientId.get(idKey(requestId as RequestId));
      // The 2026 era cancels by closing the response; a shared peer cannot tell whose id it is.
      if (!exchange) return;
      exchange.end();
      this.#forget(exchange);
      this.#feed.push(
        notificationLine("notifications/cancelled", {
          ...message.params,
          requestId: exchange.id,
        }),
      );
      return;
    }
    this.#feed.push(line);
  }

  /**
   * A GET of the session: with the `Last-Event-ID` of one of its streams, that stream read on
   * after it (a call's, its reply last); else, or for a GET stream it no longer holds, a new
   * GET stream. "conflict" while the GET stream is connected; "unknown" for an id that names
   * no call stream here (ended, swept, another session's, or forged).
   */
  listen(
    lastEventId: string | null,
  ): ReadableStream<Uint8Array> | "conflict" | "unknown" {
    this.lastUsed = performance.now();
    if (lastEventId !== null) {
      const match = /^(g?[0-9a-f]{12})-(\d{1,15})$/.exec(lastEventId);
      const stream = match ? this.#streams.get(match[1]!) : undefined;
      if (stream && Number(match![2]) <= stream.last) {
        return stream.connect(Number(match![2]));
      }
      if (stream || !match?.[1]?.startsWith("g")) return "unknown";
    }
    if (this.standalone?.connected) return "conflict";
    if (this.standalone) this.#drop(this.standalone);
    const stream = this.standalone = this.#newStream(true);
    return stream.connect();
  }

  /** Drops the streams nobody has read for `idleMs` since their connection went. */
  sweep(idleMs: number): void {
    const now = performance.now();
    for (const stream of this.#streams.values()) {
      if (stream.goneAt !== undefined && now - stream.goneAt > idleMs) {
        this.#drop(stream);
      }
    }
  }

  /**
   * Watches `request`'s connection for its exchange, the client's hang-up being its
   * cancellation, if it is not answered within `WATCH_AFTER_MS` (at once once closing).
   */
  watchLater(exchange: Exchange, request: Request): void {
    exchange.watchLater(request);
    if (this.#closed) {
      exchange.lateWatch(true);
      return;
    }
    this.#lateTimer ??= setTimeout(() => this.#lateWatch(), WATCH_AFTER_MS);
  }

  /**
   * The timer's tick: requests in progress (the peer's own map, so nothing is held longer)
   * seen at the last tick are watched now.
   */
  #lateWatch(now = false): void {
    this.#lateTimer = undefined;
    let waiting = false;
    for (const exchange of this.#exchanges.values()) {
      if (exchange.lateWatch(now)) waiting = true;
    }
    if (waiting) {
      this.#lateTimer = setTimeout(() => this.#lateWatch(), WATCH_AFTER_MS);
    }
  }

  /** Ends the connection: running calls get the grace period, then streams end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#lateTimer);
    this.#lateWatch(true); // a client that leaves in the grace cancels its call
    this.#feed.close();
  }

  #newStream(get: boolean): ResumableStream {
    // Streams of calls that ended while nobody read them (the client let go, or was let go at
    // the hold, and never polled) are otherwise kept until swept: over the bound the oldest
    // stream not being read goes. Streams of running calls are bounded by maxPending.
    if (this.#streams.size > this.#maxPending + MAX_FINISHED_STREAMS) {
      for (const old of this.#streams.values()) {
        if (old.closed && !old.connected) {
          this.#drop(old);
          break;
        }
      }
    }
    const stream: ResumableStream = new ResumableStream({
      get,
      retryMs: RETRY_MS,
      prime: this.primes,
      holdMs: this.primes ? this.#sseHoldMs : undefined,
      droppedNote: this.#droppedNote,
      // The session is in use until the client could have come back for it.
      onGone: () => this.lastUsed = performance.now(),
      onDone: () => this.#finish(stream),
    });
    this.#streams.set(stream.key, stream);
    return stream;
  }

  #finish(stream: ResumableStream): void {
    this.#finished.delete(stream);
    this.#finished.add(stream);
    if (this.#finished.size > MAX_FINISHED_STREAMS) {
      this.#drop(this.#finished.values().next().value!);
    }
  }

  #drop(stream: ResumableStream): void {
    if (this.#streams.get(stream.key) === stream) {
      this.#streams.delete(stream.key);
    }
    this.#finished.delete(stream);
    if (this.standalone === stream) this.standalone = undefined;
    stream.discard();
  }

  /**
   * The client went away before its reply: the request is cancelled in the server (while it
   * stops too: the feed passes cancellations on in the grace).
   */
  #cancel(exchange: Exchange): void {
    if (!this.#forget(exchange)) return;
    this.#feed.push(
      notificationLine("notifications/cancelled", {
        requestId: exchange.id,
        reason: "The HTTP client closed the connection",
      }),
    );
  }

  #forget(exchange: Exchange): boolean {
    if (this.#exchanges.get(exchange.id) !== exchange) return false;
    this.#exchanges.delete(exchange.id);
    if (this.legacy) this.#byClientId.delete(idKey(exchange.clientId));
    return true;
  }

  /** Routes one line the server wrote; see the module documentation. */
  #route(line: string): void {
    if (line.startsWith(REPLY_PREFIX)) {
      let at = REPLY_PREFIX.length;
      while (line.charCodeAt(at) >= 0x30 && line.charCodeAt(at) <= 0x39) at++;
      if (
        at > REPLY_PREFIX.length &&
        (line.startsWith(`,"result":`, at) || line.startsWith(`,"error":`, at))
      ) {
        const exchange = this.#exchanges.get(
          Number(line.slice(REPLY_PREFIX.length, at)),
        );
        if (!exchange) return; // its client went away
        this.#forget(exchange);
        exchange.reply(line, at);
        return;
      }
    }
    const message = JSON.parse(line) as {
      id?: unknown;
      method?: string;
      params?: Record<string, unknown>;
    };
    if (message.method === undefined) {
      this.#log.debug(
        `Dropping a reply no request waits for: ${line.slice(0, 80)}`,
      );
      return;
    }
    if (message.id !== undefined) return this.#serverRequest(line, message.id);
    const params = message.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const subscription = meta?.[SUBSCRIPTION_KEY];
    if (typeof subscription === "number") {
      const exchange = this.#exchanges.get(subscription);
      if (!exchange) return;
      meta![SUBSCRIPTION_KEY] = exchange.clientId;
      exchange.notify(JSON.stringify(message));
      return;
    }
    if (message.method === "notifications/progress") {
      const token = params?.progressToken;
      const exchange = typeof token === "string" && token.startsWith("p")
        ? this.#exchanges.get(Number(token.slice(1)))
        : undefined;
      if (!exchange || exchange.progressToken === undefined) return;
      params!.progressToken = exchange.progressToken;
      exchange.notify(JSON.stringify(message));
      return;
    }
    if (message.method === "notifications/message") {
      // A call's own log names its request (tagLogs): to that request's stream, mark removed.
      const request = meta?.[LOG_REQUEST_KEY];
      if (typeof request === "number") {
        delete meta![LOG_REQUEST_KEY];
        if (Object.keys(meta!).length === 0) delete params!._meta;
        const exchange = this.#exchanges.get(request);
        if (exchange?.logs) exchange.notify(JSON.stringify(message));
        else if (this.legacy && this.standalone) {
          this.standalone.notify(JSON.stringify(message));
        }
        return;
      }
      const exchange = this.#related();
      if (exchange) exchange.notify(line);
      else if (this.legacy && this.standalone) this.standalone.notify(line);
      else if (++this.#unroutedLogs === 1 || this.#unroutedLogs % 1000 === 0) {
        this.#log.debug(
          `${this.#unroutedLogs} log notification(s) not sent: more than one request in progress may have logged them`,
        );
      }
      return;
    }
    // Not tied to a request: list changes, resource updates, the server cancelling its request.
    if (this.legacy) this.standalone?.notify(line);
  }

  /**
   * The one request in progress that may have logged or asked: for a legacy session, the only
   * call in progress (else none: such lines go to the session's GET stream); for the shared
   * 2026 peer, the only call that asked for logs (else none: a log line carries no id, and a
   * line attributed wrongly would reach another client).
   */
  #related(): Exchange | undefined {
    let found: Exchange | undefined;
    for (const exchange of this.#exchanges.values()) {
      if (!exchange.logs) continue;
      if (found) return this.legacy && !this.standalone ? found : undefined;
      found = exchange;
    }
    return found;
  }

  /** A request of the server's (legacy): on the call's stream, else the GET stream, else refused. */
  #serverRequest(line: string, id: unknown): void {
    const exchange = this.#related();
    if (exchange?.notify(line, false)) return;
    if (this.standalone && !this.standalone.closed) {
      this.standalone.notify(line, false);
      return;
    }
    // No stream reaches the client: answered here, so the tool's call fails at once.
    this.#feed.push(JSON.stringify({
      jsonrpc: "2.0",
      id,
      error: {
        code: -32603,
        message:
          "No stream open to the client: send the call with Accept: text/event-stream, or open a GET stream",
      },
    }));
  }
}
