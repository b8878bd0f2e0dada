/**
 * @module
 * Runs `tools/call` requests concurrently but bounded: a cap on calls running at once (the rest
 * wait in order), cancellation by request id, a timeout per tool, and exactly one reply per call
 * (none for a call the client cancelled), which for a 2026-era call that asked the client for
 * input is the retry's (./call_inputs.ts). (Over 300 lines: the life of a call from start to
 * its one reply — queue, run, await, abort, finish — reads best in one place.)
 */

import { checkArguments } from "./arguments.ts";
import { Call, type CallChannel } from "./call.ts";
import { Deadlines } from "./deadlines.ts";
import type { InputExchange, Retried } from "./call_inputs.ts";
import { failureResult, whoOf } from "./_call_failure.ts";
import type { RequestScope } from "./era.ts";
import { describeError } from "../util/describe.ts";
import { idKey, type RequestId } from "./jsonrpc.ts";
import { errorResult, toCallToolResult } from "./result.ts";
import type { CallToolResult } from "../tool/tool.ts";
import type { Tool } from "../tool/served.ts";
import { isThenable } from "../util/is.ts";

/**
 * Answers a call's request with its result: `CallRunnerOptions.respond` for a tool; for a
 * prompt, resource or completer, what turns its body or error into the method's reply.
 */
export type Answer = (
  id: RequestId,
  result: CallToolResult,
  scope: RequestScope,
) => void;

/** Options for a {@link CallRunner}. */
export interface CallRunnerOptions extends Omit<CallChannel, "input"> {
  /** Calls running at once; later ones wait their turn. */
  maxConcurrent: number;
  /**
   * Receives each call's one result. Never called for a call the client cancelled. May throw
   * when the result cannot be sent as JSON (a BigInt, a throwing `toJSON` or getter); the call
   * is then answered with an error result instead.
   */
  respond: Answer;
  /** Answers a 2026-era request with `resultType: "input_required"` and this body. */
  respondInput: (
    id: RequestId,
    body: Record<string, unknown>,
    scope: RequestScope,
  ) => void;
  /**
   * False while replies are waiting to be written beyond the output's high-water mark: calls
   * then wait their turn instead of starting, so a client that does not read cannot make the
   * server hold more than `maxConcurrent` results.
   */
  mayStart: () => boolean;
  /** Resolves once the output has caught up (when `mayStart` said no). */
  outputDrained: () => Promise<void>;
  /** The key request states are signed with, shared by instances; default a random one. */
  stateKey?: Uint8Array<ArrayBuffer> | undefined;
}

/** Runs tool calls; see the module documentation. */
export class CallRunner {
  readonly #inFlight = new Map<string | number | bigint, Call>();
  readonly #waiting: Call[] = [];
  readonly #options: CallRunnerOptions;
  readonly #channel: CallChannel;
  /** The 2026 era's suspended calls, loaded when a tool first asks the client or a retry comes. */
  #exchange: InputExchange | undefined;
  #exchangeLoading: Promise<InputExchange> | undefined;
  readonly #deadlines = new Deadlines();
  #running = 0;
  #seq = 0;
  #ended: Array<() => void> = [];
  #waitingForOutput = false;
  #startingWaiting = false;

  constructor(options: CallRunnerOptions) {
    this.#options = options;
    this.#channel = {
      ...options,
      input: async (call, method, params) =>
        (await this.#loadExchange()).ask(call, method, params),
    };
  }

  #loadExchange(): Promise<InputExchange> {
    const options = this.#options;
    return this.#exchangeLoading ??= import("./call_inputs.ts").then((
      { CallInputs, InputExchange },
    ) =>
      this.#exchange = new InputExchange({
        log: options.log,
        respondInput: (call, body) =>
          options.respondInput(call.id, body, call.scope),
        respond: (call, result) => this.#respond(call, result),
        detach: (call) => {
          if (this.#inFlight.get(call.key) === call) {
            this.#inFlight.delete(call.key);
          }
        },
        attach: (call) => {
          if (this.#inFlight.has(call.key)) return false;
          this.#track(call);
          return true;
        },
        inUse: (id) => this.#inFlight.has(idKey(id)),
        rerun: (id, retry, answers) =>
          this.start(
            id,
            retry.runnable,
            retry.args,
            retry.scope,
            retry.answer,
            {
              answers,
              inputs: CallInputs,
            },
          ),
      }, options.stateKey)
    );
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
    answer?: Answer,
    preset?: {
      answers: Record<string, unknown>;
      inputs: typeof import("./call_inputs.ts").CallInputs;
    },
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
      this.#channel,
    );
    call.answer = answer;
    if (preset) {
      // Run again from another instance's state: its questions are answered as it asks them.
      call.inputs = new preset.inputs();
      call.inputs.preset = preset.answers;
    }
    if (this.#running < this.#options.maxConcurrent && this.#mayStart()) {
      this.#run(call);
    } else {
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

  /**
   * Cancels the call with this id, if it is in flight: its signal aborts and it gets no reply.
   * The id is free again at once: the client may reuse it in its very next line.
   */
  cancel(id: RequestId): boolean {
    const call = this.#inFlight.get(idKey(id));
    if (!call) return false;
    this.#inFlight.delete(call.key);
    if (call.started) call.abort("cancelled");
    else {
      call.ended = "cancelled";
      this.#finish(call, null);
    }
    return true;
  }

  /**
   * A 2026-era retry of a call that asked the client for input: resumes the call with the
   * client's answers, answering this request. Rejects with the JSON-RPC error to send (a state
   * that fails its check, a call that has ended, an id in use).
   */
  resume(
    id: RequestId,
    retry: Retried,
  ): Promise<void> {
    return this.#loadExchange().then((exchange) => exchange.resume(id, retry));
  }

  /** Stops every call: running ones abort and answer that the server is shutting down. */
  stopAll(): void {
    this.#exchange?.stopAll();
    for (const call of [...this.#inFlight.values()]) {
      if (call.started) call.abort("shutdown");
      else {
        call.ended = "shutdown";
        this.#finish(call, failureResult(call, undefined, this.#options.log));
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

  /** Whether the output has room for another call's result. */
  #mayStart(): boolean {
    if (this.#options.mayStart()) return true;
    if (!this.#waitingForOutput) {
      this.#waitingForOutput = true;
      void this.#options.outputDrained().then(() => {
        this.#waitingForOutput = false;
        this.#startWaiting();
      });
    }
    return false;
  }

  #run(call: Call): void {
    this.#running++;
    call.started = true;
    if (this.#options.log.enabled("debug")) call.startedAt = performance.now();
    const remote = call.tool.remote;
    let value: unknown;
    try {
      if (remote) {
        // Checked, run and shaped in the tool's worker; the result comes back ready.
        call.remote = remote.start(
          call.args,
          call.context,
          (result) =>
            call.ended ? this.#stopped(call) : this.#finish(call, result),
        );
        if (call.done) return; // answered at once (its worker could not run it)
        return this.#await(call);
      }
      // A prompt's, resource's or completer's runnable checks what it is given itself.
      const check = call.tool.reply
        ? { ok: true as const, value: call.args }
        : checkArguments(call.tool, call.args);
      if (!check.ok) return this.#finish(call, errorResult(check.message));
      value = call.tool.definition.run(check.value, call.context);
      if (!isThenable(value)) return this.#complete(call, value); // a `then` getter may throw too
    } catch (error) {
      return this.#finish(call, failureResult(call, error, this.#options.log));
    }
    this.#await(call);
    // Resolving a promise with the thenable calls its `then` in a later job, where anything it
    // throws becomes a rejection: nothing the tool returned can throw into the runner.
    new Promise((resolve) => resolve(value)).then(
      (result) =>
        call.ended ? this.#stopped(call) : this.#complete(call, result),
      (error) =>
        call.ended
          ? this.#stopped(call)
          : this.#finish(call, failureResult(call, error, this.#options.log)),
    );
  }

  /**
   * Makes a call that did not end at once findable, timed and abortable: once aborted it
   * answers why (timed out, shut down) in a later job, whatever its tool does after.
   */
  #await(call: Call): void {
    this.#track(call);
    this.#deadlines.add(call);
    call.onAbort = this.#onAbort;
  }

  readonly #onAbort = (call: Call) => queueMicrotask(() => this.#stopped(call));

  /** Ends an aborted call, once, with why it stopped (timed out, shut down). */
  #stopped(call: Call): void {
    if (!call.done) {
      this.#finish(call, failureResult(call, undefined, this.#options.log));
    }
  }

  #complete(call: Call, value: unknown): void {
    // A reply's body, sent as it is (its runnable shaped it).
    if (call.tool.reply) return this.#finish(call, value as CallToolResult);
    let result: CallToolResult;
    try {
      result = toCallToolResult(value, call.tool.output);
    } catch (error) {
      this.#options.log.warn(
        `Tool "${call.tool.name}" returned an invalid result: ${
          describeError(error)
        }`,
      );
      result = failureResult(call, error, this.#options.log);
    }
    this.#finish(call, result);
  }

  /**
   * Ends a call once; `result` is sent unless the client cancelled it (then it may be null).
   * Never throws, so the call's slot is always given back.
   */
  #finish(call: Call, result: CallToolResult | null): void {
    if (call.done) return;
    call.done = true;
    this.#deadlines.remove(call);
    // A cancelled call's id may already belong to a newer call.
    if (this.#inFlight.get(call.key) === call) this.#inFlight.delete(call.key);
    if (call.started) this.#running--;
    if (call.startedAt > 0) {
      const outcome = call.ended ?? (result?.isError ? "error" : "ok");
      this.#options.log.debug(
        `call "${call.tool.name}" ${outcome} in ${
          (performance.now() - call.startedAt).toFixed(1)
        } ms`,
      );
    }
    if (
      result && call.ended !== "cancelled" &&
      !this.#exchange?.hold(call, result)
    ) this.#respond(call, result);
    this.#startWaiting();
    if (this.#ended.length > 0) {
      const waiters = this.#ended;
      this.#ended = [];
      for (const resolve of waiters) resolve();
    }
  }

  /**
   * Starts waiting calls while there are free slots and room in the output. A call that ends
   * as it starts calls this again from within: the loop already running takes its slot, so
   * the stack does not grow with the queue.
   */
  #startWaiting(): void {
    if (this.#startingWaiting) return;
    this.#startingWaiting = true;
    try {
      while (
        this.#running < this.#options.maxConcurrent &&
        this.#waiting.length > 0 && this.#mayStart()
      ) {
        const next = this.#waiting.shift()!;
        if (!next.done) this.#run(next);
      }
    } finally {
      this.#startingWaiting = false;
    }
  }

  /** Sends a call's result; one that cannot be sent as JSON becomes an error result. */
  #respond(call: Call, result: CallToolResult): void {
    try {
      (call.answer ?? this.#options.respond)(call.id, result, call.scope);
    } catch (error) {
      const why = `${
        whoOf(call)
      } returned a result that cannot be sent as JSON: ${describeError(error)}`;
      this.#options.log.warn(why);
      (call.answer ?? this.#options.respond)(
        call.id,
        errorResult(why),
        call.scope,
      );
    }
  }
}
