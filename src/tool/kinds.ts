/**
 * @module
 * What prompts and resources share, free of zod (the server's thread imports it): `KindError`,
 * the JSON-RPC error a failed `prompts/get`, `resources/read` or `completion/complete` answers
 * with; the context `get` and `read` see; and completions.
 */

import type { Root, SampleRequest, SampleResult, ToolContext } from "./tool.ts";
import { ToolError } from "./tool.ts";
import type { Completer } from "./prompt.ts";
import { isPlainObject } from "../util/is.ts";
import { describeError, textOf } from "../util/describe.ts";
import type { LogLevel } from "../util/log.ts";

/** A failed get, read or completion, with its JSON-RPC code; `not_found`: the era's own code. */
export type KindErrorCode = -32602 | -32603 | "not_found";

/**
 * Why a `prompts/get`, `resources/read` or `completion/complete` failed, as the client is to be
 * answered: -32602 (the request was bad), -32603 (the prompt or resource failed) or `not_found`
 * (-32002 in 2025-11-25, -32602 in 2026-07-28). Internal to tooldrop: never given to user code.
 */
export class KindError extends Error {
  /** The JSON-RPC error code, or `not_found`. */
  readonly code: KindErrorCode;
  /** The error's `data`, e.g. `{ uri }` for `not_found`. */
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: KindErrorCode,
    message: string,
    data?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KindError";
    this.code = code;
    this.data = data;
  }
}

/**
 * What a throw from `get`, `read` or a completer answers: a `KindError` as it is; a
 * `ToolError` -32602 with its message (the caller's input is what is wrong); anything else
 * -32603 `Internal error: <label> failed: …`, the thrown value kept as `cause` (its stack is for
 * stderr). `label` names the failing piece: `prompt "review"`.
 */
export function toKindError(error: unknown, label: string): KindError {
  try {
    if (error instanceof KindError) return error;
    if (error instanceof ToolError) {
      const { message } = error;
      return new KindError(
        -32602,
        typeof message === "string" ? message : describeError(message),
      );
    }
  } catch {
    // `instanceof` met a Proxy whose trap throws, or a getter threw: it is none of ours.
  }
  return new KindError(
    -32603,
    `Internal error: ${label} failed: ${describeError(error)}`,
    undefined,
    { cause: error },
  );
}

/** What a `completion/complete` asks of one prompt or template. */
export interface CompleteRequest {
  /** The argument (prompt) or variable (template) being typed. */
  argument: string;
  /** What the user has typed of it so far. */
  value: string;
  /** The arguments or variables resolved already. */
  arguments: Readonly<Record<string, string>>;
}

/** A `completion/complete` result body. */
export interface CompleteBody {
  /** The values, best first; `total` is absent when there is no completer. */
  completion: { values: string[]; total?: number; hasMore: boolean };
}

/** Values a completion sends at most, as the spec allows; `total` says how many there were. */
export const MAX_COMPLETIONS = 100;

/** Characters kept of each completion value. */
export const MAX_COMPLETION_CHARS = 4_096;

/**
 * Checks a definition's `complete` field against the names it may complete (`what`:
 * "argument" or "variable"); returns the completers by name.
 */
export function checkCompleters(
  complete: unknown,
  names: readonly string[],
  what: "argument" | "variable",
  fail: (problem: string) => never,
): Map<string, Completer> {
  const completers = new Map<string, Completer>();
  if (complete === undefined) return completers;
  if (!isPlainObject(complete)) {
    return fail(
      `"complete" must be an object of functions by ${what} name, like { ${
        names[0] ?? "name"
      }: (value) => ["suggestion"] }`,
    );
  }
  for (const [name, completer] of Object.entries(complete)) {
    if (!names.includes(name)) {
      fail(
        `"complete" has "${textOf(name, 30)}", which is not ${
          names.length === 0
            ? `an ${what} (it has none)`
            : `one of its ${what}s (${names.join(", ")})`
        }; complete only those`,
      );
    }
    if (typeof completer !== "function") {
      fail(
        `"complete.${name}" must be a function, like (value) => ["suggestion"]`,
      );
    }
    completers.set(name, completer as Completer);
  }
  return completers;
}

/**
 * Runs the completer of `request.argument` and shapes its values: at most `MAX_COMPLETIONS`
 * (then `total` and `hasMore: true`), each cut to `MAX_COMPLETION_CHARS`. An argument without
 * a completer completes to nothing; one that is not among `names` is -32602; a completer that
 * returns anything but an array of strings is -32603. What a completer throws passes through.
 */
export async function runCompleter(
  completers: ReadonlyMap<string, Completer>,
  names: readonly string[],
  request: CompleteRequest,
  ctx: ToolContext,
  label: string,
  what: "argument" | "variable",
): Promise<CompleteBody> {
  const { argument } = request;
  const completer = completers.get(argument);
  if (!completer) {
    if (!names.includes(argument)) {
      throw new KindError(
        -32602,
        `Invalid params: ${label} has no ${what} "${textOf(argument, 30)}"`,
      );
    }
    return { completion: { values: [], hasMore: false } };
  }
  const values: unknown = await completer(request.value, {
    arguments: Object.freeze({ ...request.arguments }),
    signal: ctx.signal,
  });
  const whose = `the completer of "${argument}" in ${label}`;
  if (!Array.isArray(values)) {
    throw new KindError(
      -32603,
      `Internal error: ${whose} returned ${
        kindOf(values)
      }; return an array of strings`,
    );
  }
  const bad = values.findIndex((value) => typeof value !== "string");
  if (bad !== -1) {
    throw new KindError(
      -32603,
      `Internal error: ${whose} returned ${
        kindOf(values[bad])
      } at [${bad}]; return an array of strings`,
    );
  }
  return {
    completion: {
      values: (values.slice(0, MAX_COMPLETIONS) as string[]).map((value) =>
        value.length > MAX_COMPLETION_CHARS
          ? value.slice(0, MAX_COMPLETION_CHARS)
          : value
      ),
      total: values.length,
      hasMore: values.length > MAX_COMPLETIONS,
    },
  };
}

/**
 * What kind of value user code returned, for an error: `a number`, `null`, `an array`, `bytes`
 * (a Uint8Array), `a DataView`.
 */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  // Bytes of another kind: named, so that the message can say to give a Uint8Array.
  const type = ArrayBuffer.isView(value) || value instanceof ArrayBuffer
    ? Object.prototype.toString.call(value).slice(8, -1)
    : typeof value;
  // "a Uint16Array": a capital U is said "you".
  return `${/^[aeiouAEIO]/.test(type) ? "an" : "a"} ${type}`;
}

/** A value echoed into an error: a string quoted and bounded, anything else its kind. */
export function shown(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(textOf(value, 30))
    : kindOf(value);
}

/**
 * The context `get` and `read` see: the call's own, with `toolName` the prompt's or resource's
 * name and, for a read, the URI. Forwards to the call's context (its members read private
 * state, so it cannot be copied or used as a prototype).
 */
export class KindContext implements ToolContext {
  readonly #ctx: ToolContext;
  readonly #name: string;
  /** The URI being read; empty for a prompt. */
  readonly uri: string;

  constructor(ctx: ToolContext, name: string, uri = "") {
    this.#ctx = ctx;
    this.#name = name;
    this.uri = uri;
  }

  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  get toolName(): string {
    return this.#name;
  }

  get client(): ToolContext["client"] {
    return this.#ctx.client;
  }

  log(level: LogLevel, message: string): void {
    this.#ctx.log(level, message);
  }

  progress(done: number, total?: number, message?: string): void {
    this.#ctx.progress(done, total, message);
  }

  roots(): Promise<Root[] | undefined> {
    return this.#ctx.roots();
  }

  // deno-lint-ignore no-explicit-any
  elicit(request: any): Promise<any> {
    return this.#ctx.elicit(request);
  }

  sample(request: SampleRequest): Promise<SampleResult> {
    return this.#ctx.sample(request);
  }
}
