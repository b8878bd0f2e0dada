/**
 * @module
 * `serve()`: reads JSON-RPC lines from stdin or any byte stream, serves MCP in both eras (2026-07-28
 * requests by their `_meta`, older ones after `initialize`), runs tools concurrently and writes
 * through one writer, until EOF, a stop signal or a closed output.
 *
 * Over 300 lines for now: the dispatch table, the read loop with its pauses and shutdown, and
 * the deferred tool load are to become modules of their own in the layout work (issue 13).
 */

import { jsonLine } from "./json_line.ts";
import { describeError, textOf } from "../util/describe.ts";
import { CallRunner } from "./call_runner.ts";
import {
  completeResult,
  discoverResult,
  readScope,
  type RequestScope,
} from "./era.ts";
import {
  errorLine,
  excerpt,
  idKey,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isRequestId,
  JsonRpcError,
  type Message,
  METHOD_NOT_FOUND,
  notificationLine,
  type Params,
  parseMessage,
  type RequestId,
  resultHead,
  resultLine,
} from "./jsonrpc.ts";
import {
  type ByteSource,
  DEFAULT_MAX_LINE_BYTES,
  type LineItem,
  readLineBatches,
} from "./lines.ts";
import { Input } from "./input.ts";
import { Subscriptions } from "./subscriptions.ts";
import { isLogLevel, Logger } from "../util/log.ts";
import {
  DEFAULT_SERVER_INFO,
  initializeResult,
  negotiateVersion,
  readHello,
  type ServerInfo,
} from "./protocol.ts";
import { Session } from "./session.ts";
import type { CallToolResult } from "../tool/tool.ts";
import type { ToolSet } from "../tool/toolset.ts";
import { type ByteSink, LineWriter } from "./writer.ts";
import { isThenable } from "../util/is.ts";

/** What `serve()` needs; only input, output and the tools are required. */
export interface ServeOptions {
  /** Where requests come from: `Deno.stdin`, or any byte stream. */
  readable: ByteSource;
  /** Where replies go: `Deno.stdout`, or any byte stream. */
  writable: ByteSink;
  /**
   * The tools; or a promise of them; or a loader, called once the first input has been answered
   * and flushed (or at EOF), so that loading does not hold up the handshake. Until they arrive,
   * `initialize`, `ping` and `server/discover` are answered and tool requests wait in order; if
   * loading fails, those get -32603 and serving stops.
   */
  tools: ToolSet | PromiseLike<ToolSet> | (() => PromiseLike<ToolSet>);
  /** New tool sets (the dev loop): each replaces the tools and tells the client. */
  toolUpdates?: AsyncIterable<ToolSet>;
  /** Name and version the server reports; default tooldrop's own. */
  info?: ServerInfo;
  /** Guidance for the model, sent in `initialize` and `server/discover`. */
  instructions?: string;
  /** How long 2026-era clients may cache the tool list; default 0 with `toolUpdates`, else 1 h. */
  listTtlMs?: number;
  /** Diagnostics; default: discarded. */
  log?: Logger;
  /** Bytes one line may have; default 64 MiB. */
  maxLineBytes?: number;
  /** Tool calls running at once; default 64. */
  maxConcurrentCalls?: number;
  /** Calls running or waiting before reading pauses; default 16 × `maxConcurrentCalls`. */
  maxPendingCalls?: number;
  /** After EOF or a stop signal, how long running calls may finish before they are stopped. */
  shutdownGraceMs?: number;
  /** Aborting it stops serving as EOF would (SIGTERM, SIGINT). */
  signal?: AbortSignal;
}

const DEFAULT_MAX_CONCURRENT_CALLS = 64;
const DEFAULT_SHUTDOWN_GRACE_MS = 500;
const STATIC_LIST_TTL_MS = 3_600_000;
/**
 * At shutdown, how long the client may read nothing before `serve()` gives up on writing the
 * replies left: short enough that a stopped server exits within a second, long enough for a
 * client that reads a moment after it closed stdin.
 */
const FLUSH_STALL_MS = 750;
/**
 * Characters queued for stdout above which reading pauses until they are written. Small, so a
 * client that sends faster than it reads cannot make the server hold much: replies wait in the
 * pipe, requests in the client.
 */
const WRITE_HIGH_WATER = 1024 * 1024;
const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;
/** Requests that need the tools, held while they load. */
const TOOL_METHODS = new Set(["tools/call", "tools/list"]);
/** Subscriptions (`subscriptions/listen`) a client may hold open at once. */
const MAX_SUBSCRIPTIONS = 1024;

/**
 * Serves MCP over a pair of byte streams until the input ends, `signal` aborts or the output
 * closes. Resolves once replies are flushed; never rejects because of what it reads.
 *
 * @example
 * ```ts
 * await serve({ readable: Deno.stdin, writable: Deno.stdout, tools });
 * ```
 */
export function serve(options: ServeOptions): Promise<void> {
  return new Server(options).run();
}

class Server {
  readonly #options: ServeOptions;
  readonly #log: Logger;
  readonly #info: ServerInfo;
  readonly #writer: LineWriter;
  readonly #session: Session;
  readonly #subscriptions: Subscriptions;
  readonly #calls: CallRunner;
  readonly #stop = new AbortController();
  readonly #maxPending: number;
  readonly #listTtlMs: number;
  #unavailable = "the server has no tools";
  /** Undefined until the tools are loaded. */
  #tools: ToolSet | undefined;
  /** Tool requests that arrived before the tools were loaded, in order. */
  #held: Array<Extract<Message, { kind: "request" }>> | undefined;
  #loaded: Promise<void>;
  /** Starts a deferred load; undefined once started (or when there is nothing to load). */
  #startLoading: (() => void) | undefined;
  #modernListJson: string | undefined;

  constructor(options: ServeOptions) {
    this.#options = options;
    const { tools } = options;
    if (typeof tools === "function" || isThenable<ToolSet>(tools)) {
      this.#held = [];
      let begin = () => {};
      const started = typeof tools === "function"
        ? new Promise<void>((resolve) => begin = resolve)
        : Promise.resolve();
      this.#startLoading = () => {
        this.#startLoading = undefined;
        begin();
      };
      this.#loaded = started
        .then(() => typeof tools === "function" ? tools() : tools)
        .then((set) => this.#setTools(set), (error) => this.#loadFailed(error));
    } else {
      this.#tools = tools;
      this.#loaded = Promise.resolve();
    }
    this.#info = options.info ?? DEFAULT_SERVER_INFO;
    this.#listTtlMs = options.listTtlMs ??
      (options.toolUpdates ? 0 : STATIC_LIST_TTL_MS);
    this.#log = options.log ??
      new Logger({ level: "emergency", write: () => {} });
    this.#writer = new LineWriter(options.writable, (error) => {
      this.#log.info(
        `Stopping: the client closed its end of stdout (${errorName(error)})`,
      );
      this.#stop.abort();
    });
    const send = (line: string) => this.#writer.send(line);
    this.#session = new Session(send);
    this.#subscriptions = new Subscriptions(send, MAX_SUBSCRIPTIONS);
    const maxConcurrent = options.maxConcurrentCalls ??
      DEFAULT_MAX_CONCURRENT_CALLS;
    this.#maxPending = options.maxPendingCalls ?? maxConcurrent * 16;
    this.#calls = new CallRunner({
      maxConcurrent,
      log: this.#log,
      respond: (id, result, scope) => this.#replyResult(id, result, scope),
      mayStart: () => this.#writer.backlog <= WRITE_HIGH_WATER,
      outputDrained: () => this.#writer.drained(),
      notify: (line, key) => this.#writer.send(line, key),
      notifyLog: (line) => this.#writer.sendLog(line, logsDroppedNote),
      clientLogLevel: (scope) =>
        scope.modern ? scope.logLevel : this.#session.logLevel,
      roots: (scope, signal) =>
        scope.modern ? Promise.resolve(undefined) : this.#session.roots(signal),
    });
  }

  async run(): Promise<void> {
    const signal = this.#options.signal
      ? AbortSignal.any([this.#options.signal, this.#stop.signal])
      : this.#stop.signal;
    const updates = this.#options.toolUpdates;
    // After the first set: a late initial load must not replace a newer set.
    if (updates) {
      void this.#loaded.then(() => this.#followUpdates(updates, signal));
    }
    const input = new Input(
      readLineBatches(this.#options.readable, {
        maxLineBytes: this.#options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        signal,
      }),
      (error) => this.#log.error("Stopped reading input", error),
    );
    for (let batch; !signal.aborted && (batch = await input.next());) {
      this.#handleAll(batch);
      if (this.#startLoading) {
        // The first answers are out (or on their way): now the tools may take the thread.
        void this.#writer.drained().then(() => this.#startLoading?.());
      }
      // Paused: replies wait for the client to read them, or too many calls wait to end. The
      // input is still read ahead a little, so that its end (or a stop signal) is noticed.
      while (this.#mustPause() && !signal.aborted && !input.ended) {
        await this.#pause(input, signal);
      }
    }
    await this.#shutdown();
  }

  /** True while reading should pause: see `run`. */
  #mustPause(): boolean {
    return this.#writer.backlog > WRITE_HIGH_WATER ||
      this.#calls.size + (this.#held?.length ?? 0) >= this.#maxPending;
  }

  /**
   * Resolves when a reason to pause may have gone, a batch was read ahead, or serving stops.
   * The signal's listener is removed each time: a long-lived promise raced at every pause would
   * keep one reaction per pause for the life of the server.
   */
  #pause(input: Input, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done);
      if (this.#writer.backlog > WRITE_HIGH_WATER) {
        void this.#writer.drained().then(done);
      }
      if (this.#calls.size > 0) void this.#calls.nextEnd().then(done);
      if (this.#held) void this.#loaded.then(done);
      void input.readAhead()?.then(done);
    });
  }

  async #shutdown(): Promise<void> {
    const grace = this.#options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    const deadline = performance.now() + grace;
    if (this.#held?.length) {
      this.#startLoading?.(); // requests are waiting for tools that were never loaded
      await withTimeout(this.#loaded, grace);
      this.#releaseHeld("the server shut down before its tools loaded");
    }
    if (!this.#writer.failed && this.#calls.size > 0) {
      const left = Math.max(0, deadline - performance.now());
      this.#log.debug(
        `Input ended; ${this.#calls.size} call(s) get ${
          Math.round(left)
        } ms to finish`,
      );
      await withTimeout(this.#calls.idle(), left);
    }
    this.#calls.stopAll();
    await this.#calls.idle(); // stopped calls settle at once: their replies are queued by now
    this.#subscriptions.closeAll(this.#info);
    await this.#flush();
    void this.#writer.close(); // the process may exit now: everything is written
  }

  /**
   * Writes what is queued for as long as the client keeps reading: a slow reader gets every
   * reply, one that stops reading for FLUSH_STALL_MS is given up on.
   */
  async #flush(): Promise<void> {
    // A timer only when something is queued: the first setTimeout costs ~4 ms (Node timers).
    while (this.#writer.backlog > 0 && !this.#writer.failed) {
      const written = this.#writer.written;
      await withTimeout(this.#writer.drained(), FLUSH_STALL_MS);
      if (this.#writer.written === written && this.#writer.backlog > 0) {
        this.#log.warn(
          `Stopping with ${this.#writer.backlog} characters of replies unwritten: the client has read nothing for ${FLUSH_STALL_MS} ms`,
        );
        return;
      }
    }
  }

  async #followUpdates(
    updates: AsyncIterable<ToolSet>,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      for await (const tools of updates) {
        if (signal.aborted) return;
        this.#setTools(tools);
        if (this.#session.hello) this.#writer.send(LIST_CHANGED);
        this.#subscriptions.toolsChanged();
      }
    } catch (error) {
      this.#log.error("Tool updates stopped", error);
    }
  }

  #setTools(tools: ToolSet): void {
    this.#tools = tools;
    this.#modernListJson = undefined;
    const held = this.#held;
    this.#held = undefined;
    if (held) { for (const request of held) this.#request(request); }
  }

  #loadFailed(error: unknown): void {
    this.#log.debug(`Tools failed to load: ${errorName(error)}`);
    this.#releaseHeld("the server's tools failed to load (see its log)");
    this.#stop.abort();
  }

  /** Answers every held request with -32603 saying why; later ones get the same. */
  #releaseHeld(why: string): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#unavailable = why;
    for (const { id } of held) {
      this.#fail(
        id,
        new JsonRpcError(INTERNAL_ERROR, `Internal error: ${why}`),
      );
    }
  }

  /** One batch, synchronously: kept out of `run`, an async loop the JIT would compile whole. */
  #handleAll(batch: LineItem[]): void {
    for (let i = 0; i < batch.length; i++) {
      try {
        this.#handle(batch[i]!);
      } catch (error) {
        // Each step is meant to be total; should one still throw, the line is lost, not the server.
        this.#log.error(
          "Internal error while handling a line (skipped)",
          error,
        );
      }
    }
  }

  #handle(item: LineItem): void {
    if (typeof item !== "string") {
      this.#fail(
        null,
        new JsonRpcError(
          INVALID_REQUEST,
          `Invalid request: line longer than ${item.maxLineBytes} bytes (--max-line-bytes); skipped`,
        ),
      );
      return;
    }
    const message = parseMessage(item);
    switch (message.kind) {
      case "request":
        if (this.#held && TOOL_METHODS.has(message.method)) {
          return void this.#held.push(message);
        }
        return this.#request(message);
      case "notification":
        return this.#notification(message);
      case "response":
        if (
          !this.#session.handleResponse(
            message.id,
            message.result,
            message.error,
          )
        ) {
          this.#log.debug(
            `Ignoring a response to id ${
              idText(message.id)
            }: no request is waiting`,
          );
        }
        return;
      case "invalid":
        this.#log.debug(`${message.error.message}: ${excerpt(item)}`);
        return this.#fail(message.id, message.error);
    }
  }

  #request(message: Extract<Message, { kind: "request" }>): void {
    const { id, method, params } = message;
    try {
      const scope = readScope(params, this.#session.plainScope);
      switch (method) {
        case "tools/call":
          return this.#callTool(id, params, scope);
        case "tools/list":
          return this.#listTools(id, params, scope);
        case "ping":
          return this.#replyResult(id, {}, scope);
        case "initialize":
          return this.#initialize(id, params);
        case "server/discover":
          return this.#replyJson(
            id,
            JSON.stringify(
              discoverResult(
                this.#info,
                this.#options.instructions,
                this.#listTtlMs,
              ),
            ),
          );
        case "logging/setLevel":
          return this.#setLevel(id, params, scope);
        case "subscriptions/listen":
          return this.#subscriptions.open(id, params);
        default:
          throw new JsonRpcError(
            METHOD_NOT_FOUND,
            `Method not found: "${excerpt(method)}"`,
          );
      }
    } catch (error) {
      this.#fail(id, error);
    }
  }

  #notification(message: Extract<Message, { kind: "notification" }>): void {
    const { method, params } = message;
    if (method === "notifications/cancelled") {
      const requestId = params?.requestId;
      if (!isRequestId(requestId)) return;
      if (
        this.#dropHeld(requestId) || this.#calls.cancel(requestId) ||
        this.#subscriptions.cancel(requestId)
      ) {
        this.#log.debug(
          `Cancelled ${idText(requestId)}: ${
            textOf(params?.reason ?? "no reason")
          }`,
        );
      }
    } else if (method === "notifications/roots/list_changed") {
      this.#session.rootsChanged();
    } else if (method !== "notifications/initialized") {
      this.#log.debug(`Ignoring notification "${excerpt(method)}"`);
    }
  }

  /** Forgets a held request the client cancelled; it gets no reply. */
  #dropHeld(id: RequestId): boolean {
    const at =
      this.#held?.findIndex((request) => idKey(request.id) === idKey(id)) ?? -1;
    if (at < 0) return false;
    this.#held!.splice(at, 1);
    return true;
  }

  /** The loaded tools; throws -32603 when they never will be. */
  #loadedTools(): ToolSet {
    if (!this.#tools) {
      throw new JsonRpcError(
        INTERNAL_ERROR,
        `Internal error: ${this.#unavailable}`,
      );
    }
    return this.#tools;
  }

  #initialize(id: RequestId, params: Params | undefined): void {
    const hello = readHello(params);
    const version = negotiateVersion(hello.protocolVersion);
    const client = hello.clientInfo;
    this.#session.initialized(hello, version);
    const result = initializeResult(
      version,
      this.#info,
      this.#options.instructions,
    );
    this.#replyJson(id, JSON.stringify(result));
    // Logged once the reply's write has begun (the writer's turn is queued first): the client
    // is waiting for the reply, and nobody for the log line.
    queueMicrotask(() =>
      this.#log.info(
        `Client ${textOf(client?.name ?? "(unnamed)", 100)} ${
          textOf(client?.version ?? "", 100)
        } asked for ${excerpt(hello.protocolVersion)}; speaking ${version}`,
      )
    );
  }

  #listTools(
    id: RequestId,
    params: Params | undefined,
    scope: RequestScope,
  ): void {
    if (params?.cursor !== undefined) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        "Invalid params: unknown cursor (tools/list returns every tool on one page)",
      );
    }
    const tools = this.#loadedTools();
    if (!scope.modern) return this.#replyJson(id, tools.listJson);
    this.#modernListJson ??= JSON.stringify(completeResult({
      tools: tools.tools.map((t) => t.descriptor),
      ttlMs: this.#listTtlMs,
      cacheScope: "public",
    }, this.#info));
    this.#replyJson(id, this.#modernListJson);
  }

  #setLevel(
    id: RequestId,
    params: Params | undefined,
    scope: RequestScope,
  ): void {
    const level = params?.level;
    if (!isLogLevel(level)) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: unknown log level ${JSON.stringify(level)}`,
      );
    }
    this.#session.logLevel = level;
    this.#replyResult(id, {}, scope);
  }

  #callTool(
    id: RequestId,
    params: Params | undefined,
    scope: RequestScope,
  ): void {
    const name = params?.name;
    if (typeof name !== "string") {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "name" must be a string`,
      );
    }
    const tools = this.#loadedTools();
    const tool = tools.get(name);
    if (!tool) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: unknown tool "${excerpt(name)}"`,
        { tools: tools.tools.map((t) => t.name) },
      );
    }
    const args = params?.arguments ?? {};
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "arguments" must be an object`,
      );
    }
    if (!this.#calls.start(id, tool, args as Record<string, unknown>, scope)) {
      throw new JsonRpcError(
        INVALID_REQUEST,
        "Invalid request: this id is already used by a call in progress",
      );
    }
  }

  /** A result object, marked complete and signed for a 2026-era request. */
  #replyResult(
    id: RequestId,
    result: CallToolResult | Record<string, unknown>,
    scope: RequestScope,
  ): void {
    const body = scope.modern
      ? completeResult(result as Record<string, unknown>, this.#info)
      : result;
    // A big text or image is escaped as it is written, never copied into one reply string.
    this.#writer.send(jsonLine(resultHead(id), body, "}"));
  }

  #replyJson(id: RequestId, resultJson: string): void {
    this.#writer.send(resultLine(id, resultJson));
  }

  /** The one place an error becomes a reply: JSON-RPC errors as they are, the rest -32603. */
  #fail(id: RequestId | null, error: unknown): void {
    if (!(error instanceof JsonRpcError)) {
      this.#log.error("Internal error while handling a request", error);
      error = new JsonRpcError(
        INTERNAL_ERROR,
        "Internal error: the server failed to handle this request",
      );
    }
    this.#writer.send(errorLine(id, error as JsonRpcError));
  }
}

/** The note that replaces log notifications dropped because the client read them too slowly. */
function logsDroppedNote(dropped: number): string {
  return notificationLine("notifications/message", {
    level: "warning",
    logger: "tooldrop",
    data:
      `${dropped} log message(s) dropped: tools logged faster than the client read`,
  });
}

function idText(id: RequestId): string {
  return typeof id === "object" ? id.rawJSON : JSON.stringify(id);
}

function errorName(error: unknown): string {
  try {
    if (error instanceof Error) return error.name;
  } catch {
    // fall through
  }
  return describeError(error, 100);
}

/** Waits for `promise` at most `ms`; the timer never outlives the wait. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}
