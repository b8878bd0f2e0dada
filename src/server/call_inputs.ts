/**
 * @module
 * Input a tool asks the client for in the 2026-07-28 era, where a server sends the client no
 * requests of its own: the multi round-trip pattern. When a running call asks (`ctx.roots()`),
 * its request is answered with `resultType: "input_required"`, the requests it made, and a
 * signed `requestState`; the call stays suspended where it awaited. The client retries the
 * call with its answers and that state under a new id: the call resumes with the answers, and
 * its result (or its next question) answers the retry. On stdio the call is simply kept; a
 * suspended call keeps its timeout and its concurrency slot, so it cannot wait forever. A
 * result it ends with while suspended is kept a minute for the retry to receive.
 *
 * Behind a load balancer the retry may reach another instance (sharing the state key): the
 * state carries the answers the call had so far, and that instance runs the call again from the
 * start with them, each question answered at once as the tool asks it again, in the same order.
 * (A state may then be used more than once, until it expires; within one instance it is not.)
 * (Over 300 lines: asking, suspending, resuming and running again share the suspended calls and
 * their states, and must agree on them.)
 */

import type { Call } from "./call.ts";
import {
  idKey,
  INVALID_PARAMS,
  JsonRpcError,
  type RequestId,
} from "./jsonrpc.ts";
import type { RequestScope } from "./era.ts";
import { callBinding, RequestStates } from "./request_state.ts";
import { type CallToolResult, ToolError } from "../tool/tool.ts";
import { describeError } from "../util/describe.ts";
import type { Logger } from "../util/log.ts";

/** How long a result a suspended call ended with waits for the client's retry. */
const HELD_MS = 60_000;
/** Results waiting for a retry at once; beyond this the oldest is dropped. */
const MAX_HELD = 256;
/** Questions one call may have waiting for answers at once. */
const MAX_PENDING_INPUTS = 16;
/** Characters of answers a state carries at most; beyond, only this instance can resume it. */
const MAX_CARRIED_CHARS = 64 * 1024;

/** One question of a call: what it asked, and how its answer reaches the tool. */
interface PendingInput {
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** What one call asked the client for, and where it stands. */
export class CallInputs {
  /** Asked and not yet answered, by the key the client answers under. */
  readonly pending = new Map<string, PendingInput>();
  /** Its number in this server run once it has asked: what its request state names. */
  number = 0;
  /** How many times it was answered `input_required`: the round its latest state names. */
  round = 0;
  /** An `input_required` reply is being prepared. */
  asking = false;
  /** Its request was answered with `input_required`: it waits for the client's retry. */
  suspended = false;
  /** The result it ended with while suspended, for the retry. */
  held: CallToolResult | undefined;
  heldTimer: ReturnType<typeof setTimeout> | undefined;
  /** Every answer it was given, by key: what its next state carries. */
  readonly answered: Record<string, unknown> = {};
  /** Answers a run again starts with (another instance's state), by key, until asked. */
  preset: Record<string, unknown> | undefined;
  #keys = 0;

  /** A key unique within the call: `roots-1`, `elicitation-2`, … */
  nextKey(method: string): string {
    return `${method.split("/")[0]}-${++this.#keys}`;
  }
}

/** What the exchange needs from the runner of the calls. */
export interface ExchangeHooks {
  readonly log: Logger;
  /** Answers the call's current request with `input_required` and this body. */
  respondInput(call: Call, body: Record<string, unknown>): void;
  /** Answers the call's current request with the result it ended with. */
  respond(call: Call, result: CallToolResult): void;
  /** The call no longer answers its request: forget its id. */
  detach(call: Call): void;
  /** The call answers its (new) request: find it by its id. False when the id is taken. */
  attach(call: Call): boolean;
  /** Whether a call is in flight under this id. */
  inUse(id: RequestId): boolean;
  /**
   * Runs `retry`'s request again from the start as a new call answering `id`, its questions
   * answered from `answers` as it asks them; false when the id is taken.
   */
  rerun(
    id: RequestId,
    retry: Retried,
    answers: Record<string, unknown>,
  ): boolean;
}

/** A retry as the exchange gets it: the request, its state and answers, and what runs it. */
export interface Retried {
  tool: string;
  args: Record<string, unknown>;
  scope: RequestScope;
  state: string;
  responses: Record<string, unknown> | undefined;
  /** What runs the request (a tool, a prompt's get, a resource's read). */
  runnable: import("../tool/served.ts").Tool;
  /** How its reply is given, when not as a tool call's. */
  answer?:
    | ((id: RequestId, result: CallToolResult, scope: RequestScope) => void)
    | undefined;
}

/** The suspended calls of one connection; see the module documentation. */
export class InputExchange {
  readonly #hooks: ExchangeHooks;
  readonly #states: RequestStates;
  /** This run's name in its states: a state of another run is not resumed here, but run again. */
  readonly #run = crypto.randomUUID();
  /** Suspended calls, and ended ones whose result waits for the retry, by number. */
  readonly #suspended = new Map<number, Call>();
  #numbers = 0;
  #held = 0;

  /** `stateKey`: the key states are signed with, shared by instances (see RequestStates). */
  constructor(hooks: ExchangeHooks, stateKey?: Uint8Array<ArrayBuffer>) {
    this.#hooks = hooks;
    this.#states = new RequestStates(Date.now, stateKey);
  }

  /** Asks the client `method` for `call`; resolves to its answer, rejects when the call ends. */
  ask(
    call: Call,
    method: string,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    if (!call.live && !call.inputs?.suspended) {
      return Promise.reject(
        new ToolError("Cannot ask the client for input: the call has ended"),
      );
    }
    const inputs = call.inputs ??= new CallInputs();
    if (inputs.pending.size >= MAX_PENDING_INPUTS) {
      return Promise.reject(
        new ToolError(
          `Too many questions to the client at once (${MAX_PENDING_INPUTS}); await one before asking another`,
        ),
      );
    }
    const key = inputs.nextKey(method);
    if (inputs.preset && Object.hasOwn(inputs.preset, key)) {
      // Run again with the answers of an earlier run: asked in the same order, answered at once.
      const value = inputs.preset[key];
      delete inputs.preset[key];
      inputs.answered[key] = value;
      return Promise.resolve(value);
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const signal = call.signal;
    const onAbort = () => {
      inputs.pending.delete(key);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    inputs.pending.set(key, {
      method,
      params,
      resolve: (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      reject,
    });
    this.#askSoon(call, inputs);
    return promise;
  }

  /**
   * Keeps the result of a call that ended while suspended for the client's retry; false when
   * the call is not suspended (its request is open: answer it).
   */
  hold(call: Call, result: CallToolResult): boolean {
    const inputs = call.inputs;
    if (!inputs?.suspended) return false;
    inputs.pending.clear();
    inputs.held = result;
    this.#held++;
    inputs.heldTimer = setTimeout(() => this.#forget(call), HELD_MS);
    Deno.unrefTimer(inputs.heldTimer);
    if (this.#held > MAX_HELD) {
      for (const oldest of this.#suspended.values()) {
        if (oldest.inputs?.held) {
          this.#hooks.log.warn(
            `The result of tool "${oldest.tool.name}" was dropped: more than ${MAX_HELD} results waited for the client to retry their calls`,
          );
          this.#forget(oldest);
          break;
        }
      }
    }
    return true;
  }

  /**
   * The client's retry of a suspended call under a new `id`: checks `state`, gives the tool the
   * answers, and makes the call answer this request. Rejects with the JSON-RPC error to send.
   */
  async resume(id: RequestId, retry: Retried): Promise<void> {
    const opened = await this.#states.open(
      retry.state,
      callBinding(retry.tool, retry.args, retry.scope.principal),
    );
    if ("refused" in opened) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "requestState" ${opened.refused}; call the tool again without it`,
      );
    }
    if (opened.run !== this.#run) return this.#rerun(id, retry, opened.answers);
    const call = this.#suspended.get(opened.call);
    const inputs = call?.inputs;
    // A state of an earlier round of this call was used already: the call asked again since.
    if (!call || !inputs || opened.round !== inputs.round) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: the call this "requestState" resumes has ended and its result was given or dropped; call the tool again without it`,
      );
    }
    if (this.#hooks.inUse(id)) {
      throw new JsonRpcError(
        -32600,
        "Invalid request: this id is already used by a call in progress",
      );
    }
    this.#suspended.delete(opened.call);
    inputs.suspended = false;
    call.id = id;
    call.key = idKey(id);
    call.scope = retry.scope;
    call.lastProgress = -Infinity; // a new progress token
    const held = inputs.held;
    if (held) {
      this.#held--;
      clearTimeout(inputs.heldTimer);
      inputs.held = undefined;
      return this.#hooks.respond(call, held);
    }
    this.#hooks.attach(call);
    const responses = retry.responses ?? {};
    for (const [key, pending] of [...inputs.pending]) {
      if (!Object.hasOwn(responses, key)) continue;
      inputs.pending.delete(key);
      inputs.answered[key] = responses[key];
      pending.resolve(responses[key]);
    }
    // What the retry did not answer is asked again (with what the tool asks meanwhile).
    if (inputs.pending.size > 0) this.#askSoon(call, inputs);
  }

  /**
   * A state another instance gave (same key, another run): the request runs again here with the
   * answers it carries and those of this retry.
   */
  #rerun(
    id: RequestId,
    retry: Retried,
    carried: Record<string, unknown> | undefined,
  ): void {
    if (!carried) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "requestState" was given by another instance and its answers were too big to carry; call the tool again without it`,
      );
    }
    const answers: Record<string, unknown> = Object.create(null);
    Object.assign(answers, carried, retry.responses ?? {});
    if (!this.#hooks.rerun(id, retry, answers)) {
      throw new JsonRpcError(
        -32600,
        "Invalid request: this id is already used by a call in progress",
      );
    }
  }

  /** Aborts every suspended call (the server is stopping). */
  stopAll(): void {
    for (const call of [...this.#suspended.values()]) {
      if (call.inputs?.held) this.#forget(call);
      else call.abort("shutdown");
    }
  }

  /** Questions asked in one turn (`Promise.all`) go out in one reply. */
  #askSoon(call: Call, inputs: CallInputs): void {
    if (inputs.asking || inputs.suspended) return;
    inputs.asking = true;
    setTimeout(() => void this.#ask(call, inputs), 0);
  }

  async #ask(call: Call, inputs: CallInputs): Promise<void> {
    try {
      if (!call.live || inputs.pending.size === 0) return;
      inputs.number ||= ++this.#numbers;
      const carried =
        JSON.stringify(inputs.answered).length <= MAX_CARRIED_CHARS;
      const requestState = await this.#states.seal(
        {
          run: this.#run,
          call: inputs.number,
          round: ++inputs.round,
          expires: Date.now() + call.tool.timeoutMs + HELD_MS,
          ...(carried ? { answers: inputs.answered } : {}),
        },
        callBinding(call.tool.name, call.args, call.scope.principal),
      );
      // Ended meanwhile: its result has answered the request.
      if (!call.live || inputs.pending.size === 0) return;
      const inputRequests: Record<string, unknown> = {};
      for (const [key, { method, params }] of inputs.pending) {
        inputRequests[key] = { method, params };
      }
      this.#hooks.respondInput(call, { inputRequests, requestState });
      this.#hooks.detach(call);
      inputs.suspended = true;
      this.#suspended.set(inputs.number, call);
    } catch (error) {
      this.#hooks.log.error(
        `Cannot ask the client for input for tool "${call.tool.name}"`,
        error,
      );
      const failure = new ToolError(
        `Cannot ask the client for input: ${describeError(error)}`,
      );
      for (const pending of inputs.pending.values()) pending.reject(failure);
      inputs.pending.clear();
    } finally {
      inputs.asking = false;
    }
  }

  #forget(call: Call): void {
    const inputs = call.inputs;
    if (!inputs || this.#suspended.get(inputs.number) !== call) return;
    this.#suspended.delete(inputs.number);
    if (inputs.held) {
      this.#held--;
      clearTimeout(inputs.heldTimer);
      inputs.held = undefined;
    }
  }
}
