/**
 * @module
 * One tool call in flight (`Call`) and what its tool sees of it (`CallContext`): the abort
 * signal, logging to stderr and the client, progress notifications and the client's roots.
 * Nothing reaches the client for a call once it has ended.
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
import type { Tool } from "../tool/toolset.ts";

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
  /** The least severe level the client wants tool logs at, if any. */
  clientLogLevel: (scope: RequestScope) => LogLevel | undefined;
  roots: (
    scope: RequestScope,
    signal: AbortSignal,
  ) => Promise<Root[] | undefined>;
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
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

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

  armTimeout(): void {
    this.#timer = setTimeout(() => this.abort("timeout"), this.tool.timeoutMs);
  }

  abort(reason: EndReason): void {
    this.ended ??= reason;
    const message = reason === "timeout"
      ? `Tool "${this.tool.name}" timed out after ${this.tool.timeoutMs} ms`
      : reason === "cancelled"
      ? "The client cancelled the call"
      : "The server is shutting down";
    (this.#controller ??= new AbortController()).abort(
      new DOMException(
        message,
        reason === "timeout" ? "TimeoutError" : "AbortError",
      ),
    );
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }
}

class CallContext implements ToolContext {
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
