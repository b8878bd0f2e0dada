/**
 * @module
 * Runs calls inside a tool worker as src/server/call_runner.ts runs them in-thread: arguments
 * checked, `run` called with the call's context, the result shaped, a failure described for the
 * model. Results that end in one turn of the event loop leave in one `results` message (one
 * `packed` message for calls that came packed). (Over 300 lines: the calls, their context and
 * their results in both shapes are one piece; splitting them would only add imports.)
 */

import { setImmediate } from "node:timers";
import type {
  CallOrder,
  FromWorker,
  PackedCalls,
  PackedResults,
  ToWorker,
} from "./protocol.ts";
import { failureResult } from "./_failure.ts";
import { checkArguments } from "../../server/arguments.ts";
import { errorResult, toCallToolResult } from "../../server/result.ts";
import type { CallToolResult, Root, ToolContext } from "../../tool/tool.ts";
import type { Tool } from "../../tool/served.ts";
import { describeError, textOf } from "../../util/describe.ts";
import { isThenable } from "../../util/is.ts";
import { isLogLevel, type Logger, type LogLevel } from "../../util/log.ts";

/** Characters of one `ctx.log` message sent; the rest is cut (as in-thread). */
const MAX_LOG_CHARS = 64 * 1024;

type RootsAnswer = Extract<ToWorker, { type: "roots" }>;
type Result = { id: number; result: CallToolResult };

/** The calls of one worker: started by `calls`, aborted by `abort`, answered with `results`. */
export class WorkerCalls {
  readonly #tools: ReadonlyMap<string, Tool>;
  readonly #post: (message: FromWorker) => void;
  readonly #log: Logger;
  readonly #live = new Map<number, LiveCall>();
  readonly #roots = new Map<number, PendingRoots>();
  #rootsSeq = 0;
  #done: Result[] = [];
  #packedDone: PackedResults = [];
  #flushQueued = false;
  /** True while `run` starts a batch: it posts what ends at once itself. */
  #starting = false;

  /** `post` sends a message to the server's thread; `log` writes to stderr. */
  constructor(
    tools: ReadonlyMap<string, Tool>,
    post: (message: FromWorker) => void,
    log: Logger,
  ) {
    this.#tools = tools;
    this.#post = post;
    this.#log = log;
  }

  /** Starts every call; the results of those that end at once leave together. */
  run(calls: readonly CallOrder[]): void {
    this.#starting = true;
    try {
      for (const order of calls) {
        this.#start(order.id, order.tool, order.args, false);
      }
    } finally {
      this.#starting = false;
    }
    this.flush();
  }

  /** `run` for calls sent packed; their results leave packed. */
  runPacked(packed: PackedCalls): void {
    this.#starting = true;
    try {
      for (let i = 0; i + 2 < packed.length; i += 3) {
        this.#start(
          packed[i] as number,
          packed[i + 1] as string,
          packed[i + 2] as Record<string, unknown>,
          true,
        );
      }
    } finally {
      this.#starting = false;
    }
    this.flush();
  }

  /** Aborts call `id`'s signal with this reason; nothing for a call that already ended. */
  abort(id: number, name: string, message: string): void {
    this.#live.get(id)?.controller.abort(new DOMException(message, name));
  }

  /** Settles the `ctx.roots()` that asked for `request`. */
  answerRoots(answer: RootsAnswer): void {
    const pending = this.#roots.get(answer.request);
    if (!pending) return;
    this.#roots.delete(answer.request);
    if (answer.error !== undefined) pending.reject(new Error(answer.error));
    else pending.resolve(answer.roots);
  }

  /** Asks the server's thread for the client's roots, for `call`. */
  roots(call: LiveCall): Promise<Root[] | undefined> {
    const signal = call.controller.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    const request = ++this.#rootsSeq;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#roots.delete(request);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#roots.set(request, {
        resolve: (roots) => {
          signal.removeEventListener("abort", onAbort);
          resolve(roots);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
      this.#post({ type: "roots", id: call.id, request });
    });
  }

  /** Posts a message for a live call (its logs and progress). */
  send(message: FromWorker): void {
    this.#post(message);
  }

  #start(
    id: number,
    name: string,
    args: Record<string, unknown>,
    packed: boolean,
  ): void {
    const tool = this.#tools.get(name);
    if (!tool) {
      return this.#end(
        id,
        packed,
        errorResult(
          `Cannot call tool "${textOf(name, 30)}": this worker does not run it`,
        ),
      );
    }
    const check = checkArguments(tool, args);
    if (!check.ok) return this.#end(id, packed, errorResult(check.message));
    const call = new LiveCall(id, packed, tool, this);
    this.#live.set(call.id, call);
    let value: unknown;
    try {
      value = tool.definition.run(check.value, call.context);
      if (!isThenable(value)) return this.#complete(call, value);
    } catch (error) {
      return this.#fail(call, error);
    }
    // Resolving a promise with the thenable calls its `then` in a later job, where anything it
    // throws becomes a rejection.
    new Promise((resolve) => resolve(value)).then(
      (result) => this.#complete(call, result),
      (error) => this.#fail(call, error),
    );
  }

  #complete(call: LiveCall, value: unknown): void {
    let result: CallToolResult;
    try {
      result = toCallToolResult(value, call.tool.output);
    } catch (error) {
      this.#log.warn(
        `Tool "${call.tool.name}" returned an invalid result: ${
          describeError(error)
        }`,
      );
      return this.#fail(call, error);
    }
    this.#end(call.id, call.packed, result);
  }

  #fail(call: LiveCall, error: unknown): void {
    this.#end(
      call.id,
      call.packed,
      failureResult(call.tool, call.controller.signal, error, this.#log),
    );
  }

  #end(id: number, packed: boolean, result: CallToolResult): void {
    this.#live.delete(id);
    if (!packed) this.#done.push({ id, result });
    else this.#packedDone.push(id, textOnly(result) ?? result);
    if (this.#flushQueued || this.#starting) return;
    this.#flushQueued = true;
    // Everything that ends in this turn of the event loop leaves in the same message. Node's
    // setImmediate runs in ~3 µs; a 0 ms setTimeout waits ~2 ms in Deno 2.9.6.
    setImmediate(() => this.flush());
  }

  /** Posts the results that ended since the last `results` message, if any. */
  flush(): void {
    this.#flushQueued = false;
    if (this.#packedDone.length > 0) {
      const packed = this.#packedDone;
      this.#packedDone = [];
      try {
        this.#post({ type: "packed", results: packed });
      } catch {
        // One result cannot be cloned (a function in structuredContent): send the others.
        for (let i = 0; i + 1 < packed.length; i += 2) {
          this.#postOne(
            packed[i] as number,
            true,
            packed[i + 1] as string | CallToolResult,
          );
        }
      }
    }
    if (this.#done.length === 0) return;
    const results = this.#done;
    this.#done = [];
    try {
      this.#post({ type: "results", results });
    } catch {
      for (const { id, result } of results) this.#postOne(id, false, result);
    }
  }

  #postOne(id: number, packed: boolean, result: string | CallToolResult): void {
    const message = (result: string | CallToolResult): FromWorker =>
      packed ? { type: "packed", results: [id, result] } : {
        type: "results",
        results: [{ id, result: result as CallToolResult }],
      };
    try {
      this.#post(message(result));
    } catch (error) {
      const why = `Tool returned a result that cannot be sent: ${
        describeError(error)
      }`;
      this.#log.warn(why);
      this.#post(message(errorResult(why)));
    }
  }
}

/** The text of a result that is one text block and nothing else; else undefined. */
function textOnly(result: CallToolResult): string | undefined {
  const { content } = result;
  if (content.length !== 1) return undefined;
  const block = content[0]!;
  if (block.type !== "text" || typeof block.text !== "string") return undefined;
  for (const key in result) if (key !== "content") return undefined;
  for (const key in block) {
    if (key !== "type" && key !== "text") return undefined;
  }
  return block.text;
}

interface PendingRoots {
  resolve: (roots: Root[] | undefined) => void;
  reject: (error: unknown) => void;
}

/** One call running in this worker. */
class LiveCall {
  readonly controller = new AbortController();
  readonly context: ToolContext;
  lastProgress = -Infinity;

  constructor(
    readonly id: number,
    /** Whether its result leaves packed. */
    readonly packed: boolean,
    readonly tool: Tool,
    calls: WorkerCalls,
  ) {
    this.context = new WorkerContext(this, calls);
  }
}

/** What a tool sees of its call in a worker: the same `ToolContext` as in-thread. */
class WorkerContext implements ToolContext {
  readonly #call: LiveCall;
  readonly #calls: WorkerCalls;

  constructor(call: LiveCall, calls: WorkerCalls) {
    this.#call = call;
    this.#calls = calls;
  }

  get signal(): AbortSignal {
    return this.#call.controller.signal;
  }

  get toolName(): string {
    return this.#call.tool.name;
  }

  log(level: LogLevel, message: string): void {
    this.#calls.send({
      type: "log",
      id: this.#call.id,
      level: isLogLevel(level) ? level : "info",
      message: textOf(message, MAX_LOG_CHARS),
    });
  }

  progress(done: number, total?: number, message?: string): void {
    const call = this.#call;
    // What the server's thread would drop anyway does not cross.
    if (
      typeof done !== "number" || !Number.isFinite(done) ||
      done <= call.lastProgress
    ) return;
    call.lastProgress = done;
    this.#calls.send({
      type: "progress",
      id: call.id,
      done,
      ...(typeof total === "number" && Number.isFinite(total) ? { total } : {}),
      ...(typeof message === "string" ? { message } : {}),
    });
  }

  roots(): Promise<Root[] | undefined> {
    return this.#calls.roots(this.#call);
  }
}
