/**
 * @module
 * Runs `tools/call` requests concurrently but bounded: a cap on calls running at once (the rest
 * wait in order), cancellation by request id, a timeout per tool, and exactly one reply per call
 * (none for a call the client cancelled).
 */

import { checkArguments } from "./args.ts";
import { Call, type CallChannel } from "./context.ts";
import type { RequestScope } from "./era.ts";
import { excerpt, idKey, type RequestId } from "./jsonrpc.ts";
import { errorResult, toCallToolResult } from "./result.ts";
import type { CallToolResult } from "./tool.ts";
import { ToolError } from "./tool.ts";
import type { Tool } from "./toolset.ts";

/** Options for a {@link CallRunner}. */
export interface CallRunnerOptions extends CallChannel {
  /** Calls running at once; later ones wait their turn. */
  maxConcurrent: number;
  /** Receives each call's one result. Never called for a call the client cancelled. */
  respond: (id: RequestId, result: CallToolResult, scope: RequestScope) => void;
}

/** Runs tool calls; see the module documentation. */
export class CallRunner {
  readonly #inFlight = new Map<string | number | bigint, Call>();
  readonly #waiting: Call[] = [];
  readonly #options: CallRunnerOptions;
  #running = 0;
  #seq = 0;
  #ended: Array<() => void> = [];

  constructor(options: CallRunnerOptions) {
    this.#options = options;
  }

  /** Calls running or waiting (a call to a synchronous tool is over before anyone can ask). */
  get size(): number {
    return this.#inFlight.size;
  }

  /**
   * Starts (or queues) a call whose arguments are an object. Returns false, doing nothing, when
   * a call with the same id is still in flight.
   */
  start(
    id: RequestId,
    tool: Tool,
    args: Record<string, unknown>,
    scope: RequestScope,
  ): boolean {
    const key = idKey(id);
    if (this.#inFlight.has(key)) return false;
    const call = new Call(
      id,
      key,
      this.#seq++,
      tool,
      args,
      scope,
      this.#options,
    );
    if (this.#running < this.#options.maxConcurrent) this.#run(call);
    else {
      this.#track(call);
      this.#waiting.push(call);
    }
    return true;
  }

  /**
   * Makes a call findable by id (to cancel it, and to refuse its id to another call). A call
   * that finishes before it yields the thread is never tracked: nothing can reach it meanwhile.
   */
  #track(call: Call): void {
    call.tracked = true;
    this.#inFlight.set(call.key, call);
  }

  /** Cancels the call with this id, if it is in flight: its signal aborts and it gets no reply. */
  cancel(id: RequestId): boolean {
    const call = this.#inFlight.get(idKey(id));
    if (!call) return false;
    if (call.started) call.abort("cancelled");
    else {
      call.ended = "cancelled";
      this.#finish(call, null);
    }
    return true;
  }

  /** Stops every call: running ones abort and answer that the server is shutting down. */
  stopAll(): void {
    for (const call of [...this.#inFlight.values()]) {
      if (call.started) call.abort("shutdown");
      else {
        call.ended = "shutdown";
        this.#finish(call, this.#failure(call, undefined));
      }
    }
  }

  /** Resolves the next time a call ends. */
  nextEnd(): Promise<void> {
    return new Promise((resolve) => this.#ended.push(resolve));
  }

  /** Resolves when no call is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await this.nextEnd();
  }

  #run(call: Call): void {
    this.#running++;
    call.started = true;
    if (this.#options.log.enabled("debug")) call.startedAt = performance.now();
    let value: unknown;
    try {
      const check = checkArguments(call.tool, call.args);
      if (!check.ok) return this.#finish(call, errorResult(check.message));
      value = call.tool.definition.run(check.value, call.context);
    } catch (error) {
      return this.#finish(call, this.#failure(call, error));
    }
    if (!isThenable(value)) return this.#complete(call, value);
    this.#track(call);
    call.armTimeout();
    untilAborted(value, call.signal).then(
      (result) => this.#complete(call, result),
      (error) => this.#finish(call, this.#failure(call, error)),
    );
  }

  #complete(call: Call, value: unknown): void {
    let result: CallToolResult;
    try {
      result = toCallToolResult(value, call.tool.output);
    } catch (error) {
      this.#options.log.warn(
        `Tool "${call.tool.name}" returned an invalid result: ${
          (error as Error).message
        }`,
      );
      result = this.#failure(call, error);
    }
    this.#finish(call, result);
  }

  /** Ends a call once; `result` is sent unless the client cancelled it (then it may be null). */
  #finish(call: Call, result: CallToolResult | null): void {
    if (call.done) return;
    call.done = true;
    call.disarm();
    if (call.tracked) this.#inFlight.delete(call.key);
    if (call.started) this.#running--;
    if (call.startedAt > 0) {
      const outcome = call.ended ?? (result?.isError ? "error" : "ok");
      this.#options.log.debug(
        `call "${call.tool.name}" ${outcome} in ${
          (performance.now() - call.startedAt).toFixed(1)
        } ms`,
      );
    }
    if (result && call.ended !== "cancelled") {
      this.#options.respond(call.id, result, call.scope);
    }
    while (
      this.#running < this.#options.maxConcurrent && this.#waiting.length > 0
    ) {
      const next = this.#waiting.shift()!;
      if (!next.done) this.#run(next);
    }
    if (this.#ended.length > 0) {
      const waiters = this.#ended;
      this.#ended = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** The result the model sees when a call failed; unexpected errors go to the log with stacks. */
  #failure(call: Call, error: unknown): CallToolResult {
    const name = call.tool.name;
    const { log } = this.#options;
    if (call.ended === "timeout") {
      log.warn(`Tool "${name}" timed out after ${call.tool.timeoutMs} ms`);
      return errorResult(
        `Tool "${name}" timed out after ${call.tool.timeoutMs} ms and was stopped`,
      );
    }
    if (call.ended === "shutdown") {
      return errorResult(
        `Tool "${name}" was stopped: the server is shutting down`,
      );
    }
    if (error instanceof ToolError) return errorResult(error.message);
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      log.warn(`Tool "${name}" was denied a permission: ${error.message}`);
      return errorResult(
        `Tool "${name}" is not allowed to do this: ${error.message}`,
      );
    }
    log.error(`Tool "${name}" threw`, error);
    const detail = error instanceof Error
      ? `${error.name}: ${error.message}`
      : String(error);
    return errorResult(`Tool "${name}" failed: ${excerpt(detail, 500)}`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** Settles with `promise`, or rejects with the abort reason as soon as `signal` aborts. */
function untilAborted(
  promise: PromiseLike<unknown>,
  signal: AbortSignal,
): Promise<unknown> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
