/**
 * @module
 * One tool call in flight (`Call`) and what its tool sees of it (`CallContext`): the abort
 * signal, logging to stderr and the client, progress notifications and the client's roots.
 * Nothing reaches the client for a call once it has ended. `Deadlines` times calls out with one
 * timer per timeout length, not one per call.
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
import type { Root, ToolContext } from "../tool/tool.ts";
import type { Tool } from "../tool/served.ts";

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
  /** Counts log notifications dropped before they were queued (see `RemoteContext`). */
  notifyLogsDropped: (count: number) => void;
  /** The least severe level the client wants tool logs at, if any. */
  clientLogLevel: (scope: RequestScope) => LogLevel | undefined;
  roots: (
    scope: RequestScope,
    signal: AbortSignal,
  ) => Promise<Root[] | undefined>;
}

/**
 * What a call's context offers a runner in another thread (a tool worker) besides `ToolContext`.
 * Such a runner holds a bounded number of log messages while this thread is behind, drops the
 * oldest beyond that, and says how many here.
 */
export interface RemoteContext extends ToolContext {
  /** `count` log messages at `level` were dropped before they reached this thread. */
  logsDropped(level: LogLevel, count: number): void;
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
  #controller: AbortController | undefined;

  constructor(
    readonly id: RequestId,
    readonly key: string | number | bigint,
    readonly seq: number,
    readonly tool: Tool,
    readonly args: Record<string, unknown>,
    readonly scope: RequestScope,
    channel: CallChannel,
  ) {
    this.context = new CallContext(this, channel);
  }

  /** Created on first use: most calls to synchronous tools never need one. */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  /** True while the call may still send messages to the client. */
  get live(): boolean {
    return !this.done && this.ended === undefined;
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

/** The calls of one timeout length, oldest first: they time out in the order they started. */
interface Lane {
  readonly ms: number;
  oldest: Call | undefined;
  newest: Call | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Times calls out. Calls with the same timeout expire in the order they started, so each
 * timeout length needs one timer, armed for its oldest call: a call costs two links, not a
 * timer.
 */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();

  /** Aborts `call` with "timeout" once its tool's `timeoutMs` has passed, unless removed. */
  add(call: Call): void {
    const ms = call.tool.timeoutMs;
    let lane = this.#lanes.get(ms);
    if (!lane) {
      lane = { ms, oldest: undefined, newest: undefined, timer: undefined };
      this.#lanes.set(ms, lane);
    }
    call.deadline = performance.now() + ms;
    call.lane = lane;
    call.older = lane.newest;
    if (lane.newest) lane.newest.newer = call;
    else lane.oldest = call;
    lane.newest = call;
    if (lane.timer === undefined) this.#arm(lane, ms);
  }

  /** Forgets `call` (it ended); its lane's timer stops when no call is left. */
  remove(call: Call): void {
    const lane = call.lane;
    if (!lane) return;
    call.lane = undefined;
    if (call.older) call.older.newer = call.newer;
    else lane.oldest = call.newer;
    if (call.newer) call.newer.older = call.older;
    else lane.newest = call.older;
    call.older = call.newer = undefined;
    if (!lane.oldest && lane.timer !== undefined) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
  }

  #arm(lane: Lane, ms: number): void {
    lane.timer = setTimeout(() => this.#expire(lane), ms);
  }

  /** Times out every call of `lane` whose deadline has passed; re-arms for the next. */
  #expire(lane: Lane): void {
    lane.timer = undefined;
    const now = performance.now();
    let call = lane.oldest;
    while (call && call.deadline <= now) {
      this.remove(call);
      call.abort("timeout");
      call = lane.oldest;
    }
    // An abort may have started a call that armed a timer for itself: re-arm for the oldest.
    if (lane.timer !== undefined) clearTimeout(lane.timer);
    lane.timer = undefined;
    const oldest = lane.oldest;
    if (oldest) {
      this.#arm(lane, Math.max(1, Math.ceil(oldest.deadline - now)));
    }
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
    return this.#channel.roots(this.#call.scope, this.#call.signal);
  }
}
