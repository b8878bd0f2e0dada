/**
 * @module
 * Runs calls inside a tool worker as src/server/call_runner.ts runs them in-thread: arguments
 * checked, `run` called with the call's context, the result shaped, a failure described for the
 * model. A call whose tool's file is not imported yet waits for that import
 * (./_tool_imports.ts), and an abort meanwhile ends it at once. What ends or is said in one turn
 * of the event loop (results, logs, progress) leaves in one `turn` message, through
 * ./_outbox.ts; a result's big strings leave as bytes (./_encoded.ts). (Over 300 lines: one call's
 * path through the worker, its wait for its file, its context and its three ends, shares the
 * pending-call state; the outbox, encoding and imports are already their own files.)
 */

import {
  type CallOrder,
  CLIENT_MARK,
  type PackedCalls,
  type ToWorker,
} from "./protocol.ts";
import { failureResult, kindFailureResult } from "./_failure.ts";
import { Outbox, type Post } from "./_outbox.ts";
import { ENCODED_CHARS, encodeResult } from "./_encoded.ts";
import { runnableLabel } from "../../server/kind_failure.ts";
import { checkArguments } from "../../server/arguments.ts";
import { errorResult, toCallToolResult } from "../../server/result.ts";
import {
  type CallToolResult,
  type ClientInfo,
  type Root,
  type SampleRequest,
  type SampleResult,
  type ToolContext,
  ToolError,
} from "../../tool/tool.ts";
import { elicit, sample } from "../../tool/client_requests.ts";
import type { Tool } from "../../tool/served.ts";
import { describeError, textOf } from "../../util/describe.ts";
import { isThenable } from "../../util/is.ts";
import { isLogLevel, type Logger, type LogLevel } from "../../util/log.ts";

/** Characters of one `ctx.log` message sent; the rest is cut (as in-thread). */
const MAX_LOG_CHARS = 64 * 1024;

/** Requests to the client this worker's calls may wait on at once. */
const MAX_PENDING_ASKS = 256;
/** Before the server's thread names the client: nothing declared. */
const NO_CLIENT: ClientInfo = {
  name: undefined,
  version: undefined,
  capabilities: {},
};

type Answer = Extract<ToWorker, { type: "answer" }>;

/** The worker's tools, as ./_tool_imports.ts imports them. */
export interface WorkerTools {
  /** The tool named `name` when its file is imported already. */
  get(name: string): Tool | undefined;
  /**
   * The tool once its file is imported, the error naming its file, or undefined (no file
   * defines it); a promise of one of those while its file, or the files it may be in, import.
   */
  find(
    name: string,
  ): Tool | string | undefined | Promise<Tool | string | undefined>;
}

/** A call waiting for its tool's file to be imported. */
interface Waiting {
  readonly packed: boolean;
}

/** The calls of one worker: started by `calls`, aborted by `abort`, answered in `turn`s. */
export class WorkerCalls {
  readonly #tools: WorkerTools;
  readonly #outbox: Outbox;
  readonly #log: Logger;
  readonly #live = new Map<number, LiveCall>();
  readonly #waiting = new Map<number, Waiting>();
  readonly #asks = new Map<number, PendingAsk>();
  #askSeq = 0;
  /** The client of the calls being started (`ctx.client`), as the last message named it. */
  #client: ClientInfo = NO_CLIENT;
  /** True while `run` starts a batch: it sends what ends at once itself. */
  #starting = false;

  /** `post` sends a message to the server's thread; `log` writes to stderr. */
  constructor(tools: WorkerTools, post: Post, log: Logger) {
    this.#tools = tools;
    this.#log = log;
    this.#outbox = new Outbox(post, (error, who) => {
      const why = `${who} returned a result that cannot be sent: ${
        describeError(error)
      }`;
      log.warn(why);
      return errorResult(why);
    });
  }

  /** Starts every call; the results of those that end at once leave together. */
  run(calls: readonly CallOrder[]): void {
    this.#starting = true;
    try {
      for (const order of calls) {
        if (order.client) this.#client = order.client;
        this.#start(order.id, order.tool, order.args, false);
      }
    } finally {
      this.#starting = false;
    }
    this.#outbox.flush();
  }

  /** `run` for calls sent packed; their results leave packed. */
  runPacked(packed: PackedCalls): void {
    this.#starting = true;
    try {
      for (let i = 0; i + 2 < packed.length; i += 3) {
        if (packed[i] === CLIENT_MARK) {
          this.#client = packed[i + 1] as ClientInfo;
          i -= 1; // a pair, not a triple
          continue;
        }
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
    this.#outbox.flush();
  }

  /** The server's thread handled a turn that asked for an `ack`. */
  ack(): void {
    this.#outbox.ack();
  }

  /** Sends what waits now, acknowledged or not: the worker is ending. */
  flush(): void {
    this.#outbox.flush(true);
  }

  /**
   * Aborts call `id`'s signal with this reason; a call still waiting for its file ends now with
   * `message`, as one that never reached the worker would. Nothing for a call that has ended.
   */
  abort(id: number, name: string, message: string): void {
    const waiting = this.#waiting.get(id);
    if (waiting) {
      this.#waiting.delete(id);
      return this.#end(id, waiting.packed, errorResult(message));
    }
    this.#live.get(id)?.controller.abort(new DOMException(message, name));
  }

  /** Settles the request to the client that `answer` answers. */
  answer(answer: Answer): void {
    const pending = this.#asks.get(answer.request);
    if (!pending) return;
    this.#asks.delete(answer.request);
    if (answer.error === undefined) return pending.resolve(answer.result);
    pending.reject(
      answer.name === "AbortError" || answer.name === "TimeoutError"
        ? new DOMException(answer.error, answer.name)
        : new ToolError(answer.error),
    );
  }

  /** Sends the client a request of `call`'s (through the server's thread); its result. */
  ask(
    call: LiveCall,
    method: string,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    const signal = call.controller.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    if (call.ended) {
      return Promise.reject(
        new ToolError("Cannot ask the client: the call has ended"),
      );
    }
    if (this.#asks.size >= MAX_PENDING_ASKS) {
      return Promise.reject(
        new ToolError(
          `Too many requests to the client at once (${MAX_PENDING_ASKS}); await one before sending another`,
        ),
      );
    }
    let json: Record<string, unknown>;
    try {
      // Only JSON reaches the client: anything else would fail the whole turn's message.
      json = JSON.parse(JSON.stringify(params));
    } catch (error) {
      return Promise.reject(
        new TypeError(
          `The request to the client is not JSON: ${describeError(error)}`,
        ),
      );
    }
    const request = ++this.#askSeq;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#asks.delete(request);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#asks.set(request, {
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
      this.#outbox.ask(call.id, request, method, json);
    });
  }

  /** `ctx.log` of `call`: to the server's thread while it runs, to stderr after. */
  log(call: LiveCall, level: LogLevel, message: string): void {
    if (!call.ended) this.#outbox.log(call.id, level, message);
    else this.#log.log(level, `[${call.tool.name}] ${message}`);
  }

  /** `ctx.progress` of `call`, while it runs. */
  progress(
    call: LiveCall,
    done: number,
    total?: number,
    message?: string,
  ): void {
    if (!call.ended) this.#outbox.progress(call.id, done, total, message);
  }

  #start(
    id: number,
    name: string,
    args: Record<string, unknown>,
    packed: boolean,
  ): void {
    const client = this.#client;
    const tool = this.#tools.get(name);
    if (tool) return this.#run(id, tool, args, packed, client);
    const found = this.#tools.find(name);
    if (!(found instanceof Promise)) {
      return this.#found(id, name, found, args, packed, client);
    }
    // Its file is still importing: the call starts once it is in, unless aborted meanwhile.
    const waiting: Waiting = { packed };
    this.#waiting.set(id, waiting);
    const settle = (found: Tool | string | undefined) => {
      if (this.#waiting.get(id) !== waiting) return; // aborted: answered
      this.#waiting.delete(id);
      this.#found(id, name, found, args, packed, client);
    };
    found.then(settle, (error) =>
      settle(
        `Cannot call tool "${textOf(name, 30)}": ${describeError(error)}`,
      ));
  }

  /** Runs the tool found for a call, or ends it with why there is none. */
  #found(
    id: number,
    name: string,
    found: Tool | string | undefined,
    args: Record<string, unknown>,
    packed: boolean,
    client: ClientInfo,
  ): void {
    if (typeof found === "object") {
      return this.#run(id, found, args, packed, client);
    }
    this.#end(
      id,
      packed,
      errorResult(
        found ??
          `Cannot call tool "${textOf(name, 30)}": this worker does not run it`,
      ),
    );
  }

  #run(
    id: number,
    tool: Tool,
    args: Record<string, unknown>,
    packed: boolean,
    client: ClientInfo,
  ): void {
    // A prompt's, resource's or completer's runnable checks what it is given itself.
    const check = tool.reply
      ? { ok: true as const, value: args }
      : checkArguments(tool, args);
    if (!check.ok) return this.#end(id, packed, errorResult(check.message));
    const call = new LiveCall(id, packed, tool, client, this);
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
    // A runnable's body is its reply's result as it is (the server's thread answers with it).
    if (call.tool.reply) {
      return this.#end(call.id, call.packed, value as CallToolResult, call);
    }
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
    this.#end(call.id, call.packed, result, call);
  }

  #fail(call: LiveCall, error: unknown): void {
    this.#end(
      call.id,
      call.packed,
      call.tool.reply
        ? kindFailureResult(call.tool, error, this.#log)
        : failureResult(call.tool, call.controller.signal, error, this.#log),
      call,
    );
  }

  #end(
    id: number,
    packed: boolean,
    result: CallToolResult,
    call?: LiveCall,
  ): void {
    if (call) call.ended = true;
    this.#live.delete(id);
    // A body has no `content`; an error envelope more than its text.
    const text = packed && !call?.tool.reply ? textOnly(result) : undefined;
    // The common case first: a short text crosses as it is, with nothing to look through.
    const value = text !== undefined && text.length < ENCODED_CHARS
      ? text
      : encodeResult(result) ?? text ?? result;
    this.#outbox.result(
      id,
      value,
      packed,
      !this.#starting,
      call ? runnableLabel(call.tool) : undefined,
    );
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

interface PendingAsk {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** One call running in this worker. */
class LiveCall {
  readonly controller = new AbortController();
  readonly context: ToolContext;
  lastProgress = -Infinity;
  /** True once its result is made: what it says after goes to stderr, or nowhere. */
  ended = false;

  constructor(
    readonly id: number,
    /** Whether its result leaves packed. */
    readonly packed: boolean,
    readonly tool: Tool,
    /** `ctx.client`. */
    readonly client: ClientInfo,
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
    this.#calls.log(
      this.#call,
      isLogLevel(level) ? level : "info",
      textOf(message, MAX_LOG_CHARS),
    );
  }

  progress(done: number, total?: number, message?: string): void {
    const call = this.#call;
    // What the server's thread would drop anyway does not cross.
    if (
      typeof done !== "number" || !Number.isFinite(done) ||
      done <= call.lastProgress
    ) return;
    call.lastProgress = done;
    this.#calls.progress(
      call,
      done,
      typeof total === "number" && Number.isFinite(total) ? total : undefined,
      typeof message === "string" ? message : undefined,
    );
  }

  get client(): ClientInfo {
    return this.#call.client;
  }

  roots(): Promise<Root[] | undefined> {
    // The server's thread asks as in-thread (legacy: roots/list, cached; 2026: input_required).
    return this.#calls.ask(this.#call, "roots/list", {}) as Promise<
      Root[] | undefined
    >;
  }

  // deno-lint-ignore no-explicit-any
  elicit(request: any): Promise<any> {
    return elicit(
      (method, params) => this.#calls.ask(this.#call, method, params),
      this.client,
      request,
    );
  }

  sample(request: SampleRequest): Promise<SampleResult> {
    return sample(
      (method, params) => this.#calls.ask(this.#call, method, params),
      this.client,
      request,
    );
  }
}
