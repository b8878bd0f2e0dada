/**
 * @module
 * One tool call in flight (`Call`) and what its tool sees of it (`CallContext`): the abort
 * signal, logging to stderr and the client, progress notifications and the client's roots.
 * Nothing reaches the client for a call once it has ended (./deadlines.ts times calls out).
 */

import { textOf } from "../util/describe.ts";
import type { RequestScope } from "./era.ts";
import { notificationLine, type RequestId } from "./jsonrpc.ts";
import {
  isLogLevel,
  levelRank,
  type Logger,
  type LogLevel,
} from "../util/log.ts";
import type {
  CallToolResult,
  ClientInfo,
  Root,
  SampleRequest,
  SampleResult,
  ToolContext,
} from "../tool/tool.ts";
import type { Tool } from "../tool/served.ts";
import { isPlainObject } from "../util/is.ts";
import type { CallInputs } from "./call_inputs.ts";
import { readRoots } from "./session.ts";
import type { Lane } from "./deadlines.ts";

/** Where a tagged log notification names its request (see `ServeOptions.tagLogs`). */
export const LOG_REQUEST_KEY = "tooldrop/request";

/** Characters of one log message kept; the rest is cut. */
const MAX_LOG_CHARS = 64 * 1024;

/** Why a call stopped before its tool returned. */
export type EndReason = "cancelled" | "timeout" | "shutdown";

/** What a call needs from the server to talk to the client. */
export interface CallChannel {
  log: Logger;
  /** Queues a notification; a `key` lets a newer one replace it while it waits. */
  notify: (line: string, key?: string) => void;
  /** Queues a log notification, which may be dropped when too many wait (see `LineWriter`). */
  notifyLog: (line: string) => void;
  /** Whether a log notification carries its request's id (`LOG_REQUEST_KEY` in `_meta`). */
  tagLogs: boolean;
  /** Counts log notifications dropped before they were queued (see `RemoteContext`). */
  notifyLogsDropped: (count: number) => void;
  /** The least severe level the client wants tool logs at, if any. */
  clientLogLevel: (scope: RequestScope) => LogLevel | undefined;
  /** Legacy era: the client's roots, asked with a `roots/list` request. */
  roots: (
    scope: RequestScope,
    signal: AbortSignal,
  ) => Promise<Root[] | undefined>;
  /** Legacy era: sends the client a request (elicitation, sampling) with no time limit. */
  request: (
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
  ) => Promise<unknown>;
  /** The client of a request, as `ctx.client` gives it. */
  clientOf: (scope: RequestScope) => ClientInfo;
  /**
   * 2026-07-28 era: asks the client for input (a multi round-trip request); resolves to the
   * client's answer when it retries the call with it.
   */
  input: (
    call: Call,
    method: string,
    params: Record<string, unknown>,
  ) => Promise<unknown>;
}

/**
 * What a call's context offers a runner in another thread (a tool worker) besides `ToolContext`.
 * Such a runner holds a bounded number of log messages while this thread is behind, drops the
 * oldest beyond that, and says how many here.
 */
export interface RemoteContext extends ToolContext {
  /** `count` log messages at `level` were dropped before they reached this thread. */
  logsDropped(level: LogLevel, count: number): void;
  /** Sends the client one request of the tool's (`ctx.elicit`, `ctx.sample`); its result. */
  request(method: string, params: Record<string, unknown>): Promise<unknown>;
}

/** How a call that runs elsewhere (a worker) is told it was aborted. */
export interface AbortHandle {
  abort(reason: DOMException): void;
}

/** One call in flight. */
export class Call {
  readonly context: ToolContext;
  started = false;
  /** True once the runner keeps it by id (see `CallRunner`). */
  tracked = false;
  done = false;
  ended: EndReason | undefined;
  startedAt = 0;
  lastProgress = -Infinity;
  /** Told when the call is aborted: its remote run, if any. */
  remote: AbortHandle | undefined;
  /** Called once the call is aborted (after its signal and its remote run were). */
  onAbort: ((call: Call) => void) | undefined;
  /** When it times out, in `performance.now()` ms, while `Deadlines` holds it. */
  deadline = 0;
  /** Its neighbours in its `Deadlines` lane. */
  older: Call | undefined;
  newer: Call | undefined;
  lane: Lane | undefined;
  /** The input it asked the client for (2026-07-28 era), once it has asked. */
  inputs: CallInputs | undefined;
  /** How its request is answered, when not as a tool call's (a prompt's, a resource's). */
  answer:
    | ((
      id: RequestId,
      result: CallToolResult,
      scope: RequestScope,
    ) => void)
    | undefined;
  #controller: AbortController | undefined;

  /**
   * `id`, `key` and `scope` are the request's the call answers: a call that asked the client
   * for input is answered on the request that retries it with that input.
   */
  constructor(
    public id: RequestId,
    public key: string | number | bigint,
    readonly seq: number,
    readonly tool: Tool,
    readonly args: Record<string, unknown>,
    public scope: RequestScope,
    channel: CallChannel,
  ) {
    this.context = new CallContext(this, channel);
  }

  /** Created on first use: most calls to synchronous tools never need one. */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /**
   * True while the call may still send messages to the client: not while it waits for a retry
   * (no request of the client's is open for it then).
   */
  get live(): boolean {
    return !this.done && this.ended === undefined && !this.inputs?.suspended;
  }

  /**
   * Aborts the call: its signal (when something made one), its remote run, then `onAbort`.
   * The first reason stays.
   */
  abort(reason: EndReason): void {
    this.ended ??= reason;
    const message = reason === "timeout"
      ? `Tool "${this.tool.name}" timed out after ${this.tool.timeoutMs} ms`
      : reason === "cancelled"
      ? "The client cancelled the call"
      : "The server is shutting down";
    const error = new DOMException(
      message,
      reason === "timeout" ? "TimeoutError" : "AbortError",
    );
    (this.#controller ??= new AbortController()).abort(error);
    this.remote?.abort(error);
    this.onAbort?.(this);
  }
}

class CallContext implements RemoteContext {
  readonly #call: Call;
  readonly #channel: CallChannel;

  constructor(call: Call, channel: CallChannel) {
    this.#call = call;
    this.#channel = channel;
  }

  get signal(): AbortSignal {
    return this.#call.signal;
  }

  get toolName(): string {
    return this.#call.tool.name;
  }

  log(level: LogLevel, message: string): void {
    const lvl = isLogLevel(level) ? level : "info";
    const text = textOf(message, MAX_LOG_CHARS);
    const { log, clientLogLevel, notifyLog } = this.#channel;
    log.log(lvl, `[${this.toolName}] ${text}`);
    if (!this.#call.live) return;
    const threshold = clientLogLevel(this.#call.scope);
    if (threshold !== undefined && levelRank(lvl) >= levelRank(threshold)) {
      notifyLog(
        notificationLine("notifications/message", {
          level: lvl,
          logger: this.toolName,
          data: text,
          ...(this.#channel.tagLogs
            ? { _meta: { [LOG_REQUEST_KEY]: this.#call.id } }
            : {}),
        }),
      );
    }
  }

  logsDropped(level: LogLevel, count: number): void {
    if (!(count > 0)) return;
    const lvl = isLogLevel(level) ? level : "info";
    const { log, clientLogLevel, notifyLogsDropped } = this.#channel;
    log.log(
      lvl,
      `[${this.toolName}] ${count} log message(s) dropped: the tool logged faster than the server's thread took them`,
    );
    if (!this.#call.live) return;
    const threshold = clientLogLevel(this.#call.scope);
    if (threshold !== undefined && levelRank(lvl) >= levelRank(threshold)) {
      notifyLogsDropped(count);
    }
  }

  progress(done: number, total?: number, message?: string): void {
    const call = this.#call;
    const token = call.scope.progressToken;
    if (token === undefined || !call.live) return;
    if (
      typeof done !== "number" || !Number.isFinite(done) ||
      done <= call.lastProgress
    ) return;
    call.lastProgress = done;
    const params: Record<string, unknown> = {
      progressToken: token,
      progress: done,
    };
    if (typeof total === "number" && Number.isFinite(total)) {
      params.total = total;
    }
    // `message` came with 2025-03-26; older clients get none.
    if (typeof message === "string" && call.scope.version >= "2025-03-26") {
      params.message = message;
    }
    this.#channel.notify(
      notificationLine("notifications/progress", params),
      `progress:${call.seq}`,
    );
  }

  roots(): Promise<Root[] | undefined> {
    const call = this.#call;
    if (!call.scope.modern) return this.#channel.roots(call.scope, call.signal);
    if (!isPlainObject(call.scope.clientCapabilities?.roots)) {
      return Promise.resolve(undefined);
    }
    return this.#channel.input(call, "roots/list", {}).then(readRoots);
  }

  get client(): ClientInfo {
    return this.#channel.clientOf(this.#call.scope);
  }

  request(method: string, params: Record<string, unknown>): Promise<unknown> {
    const call = this.#call;
    return call.scope.modern
      ? this.#channel.input(call, method, params)
      : this.#channel.request(method, params, call.signal);
  }

  // Loaded when a tool first asks: most servers never do.
  // deno-lint-ignore no-explicit-any
  async elicit(request: any): Promise<any> {
    const { elicit } = await import("../tool/client_requests.ts");
    return elicit((m, p) => this.request(m, p), this.client, request);
  }

  async sample(request: SampleRequest): Promise<SampleResult> {
    const { sample } = await import("../tool/client_requests.ts");
    return sample((m, p) => this.request(m, p), this.client, request);
  }
}
