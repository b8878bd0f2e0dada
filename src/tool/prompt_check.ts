/**
 * @module
 * Checks a prompt definition and builds what serves it: its `prompts/list` entry and the
 * functions that check, call and shape a `prompts/get` and a `completion/complete`. Also the
 * pieces resource_check.ts shares: `KindError`, the context `get`/`read` see, completions.
 */

import { z } from "zod";
import type {
  ContentBlock,
  Root,
  SampleRequest,
  SampleResult,
  ToolContext,
} from "./tool.ts";
import { ToolError } from "./tool.ts";
import type {
  Completer,
  PromptArgument,
  PromptDescriptor,
  PromptListing,
} from "./prompt.ts";
import type { ToolPermissions } from "./permissions.ts";
import { DEFAULT_TIMEOUT_MS } from "./served.ts";
import { isZodObject, nameProblem, sharedFieldsProblem } from "./toolset.ts";
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
  if (error instanceof KindError) return error;
  if (error instanceof ToolError) {
    const { message } = error;
    return new KindError(
      -32602,
      typeof message === "string" ? message : describeError(message),
    );
  }
  return new KindError(
    -32603,
    `Internal error: ${label} failed: ${describeError(error)}`,
    undefined,
    { cause: error },
  );
}

/** zod issues as one line; the server passes its own (`describeIssues`, bounded). */
export type DescribeIssues = (issues: readonly z.core.$ZodIssue[]) => string;

/** A checked prompt: its listing and the functions that serve it. */
export interface CheckedPrompt {
  /** Its `prompts/list` entry and what runs it. */
  readonly listing: PromptListing;
  /** Where it came from, for messages: `prompts/review.ts`. */
  readonly source: string;
  /** How messages name it: `prompt "review"`. */
  readonly label: string;
  /**
   * Checks `args` (`prompts/get`'s `arguments`, already known to be an object of strings)
   * against `args`, calls `get` and shapes what it returned into a `GetPromptResult` body.
   * Rejects with a `KindError` for bad arguments (-32602) or a return that is not a prompt
   * (-32603); what `get` throws passes through unchanged (see `toKindError`).
   */
  get(
    args: Readonly<Record<string, unknown>>,
    ctx: ToolContext,
  ): Promise<GetPromptBody>;
  /** Runs the completer of `request.argument` (see `CompleteRequest`). */
  complete(request: CompleteRequest, ctx: ToolContext): Promise<CompleteBody>;
}

/** A `prompts/get` result body. */
export interface GetPromptBody {
  /** The prompt's description for this use, when `get` gave one. */
  description?: string;
  /** Its messages, every content a block. */
  messages: { role: "user" | "assistant"; content: ContentBlock }[];
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
 * Milliseconds a completer may run at most (less when the prompt's or resource's `timeoutMs`
 * is less): it runs as the user types, and a client waits for it before showing anything.
 */
export const COMPLETE_TIMEOUT_MS = 5_000;

const NO_ARGS = z.object({});

/**
 * Checks that `definition` is a prompt and builds it. `defaultName` is the file's stem;
 * `describeIssues` words bad arguments (the server's field-naming text; a plain one if absent).
 * Throws an `Error` whose message names `source` and says how to fix it.
 */
export function createPrompt(
  definition: unknown,
  defaultName: string,
  source: string,
  describeIssues: DescribeIssues = listIssues,
): CheckedPrompt {
  const fail = (problem: string): never => {
    throw new Error(`Cannot load prompt "${source}": ${problem}`);
  };
  if (typeof definition !== "object" || definition === null) {
    return fail(
      "it has no default export; end the file with `export default definePrompt({ description, get })`",
    );
  }
  const def = definition as Record<string, unknown>;
  if (typeof def.get !== "function") {
    fail(
      `the default export has no "get" function; add \`get: (args, ctx) => "the prompt's text"\``,
    );
  }
  if (typeof def.description !== "string" || def.description.trim() === "") {
    fail(
      `"description" is missing; say what the prompt is for, for the user to read`,
    );
  }
  const name = def.name === undefined ? defaultName : def.name;
  const badName = nameProblem(name, def.name === undefined);
  if (badName) fail(badName);
  if (def.args !== undefined && !isZodObject(def.args)) {
    fail(
      `"args" must be a zod object schema, like z.object({ code: z.string() })`,
    );
  }
  const shared = sharedFieldsProblem(def);
  if (shared) fail(shared);
  const args = (def.args as z.ZodObject | undefined) ?? NO_ARGS;
  const listed = def.args === undefined
    ? undefined
    : promptArguments(args, fail);
  const names = listed?.map((argument) => argument.name) ?? [];
  const completers = checkCompleters(def.complete, names, "argument", fail);

  const label = `prompt "${name as string}"`;
  const descriptor: PromptDescriptor = {
    name: name as string,
    ...(typeof def.title === "string" ? { title: def.title } : {}),
    description: def.description as string,
    ...(listed ? { arguments: listed } : {}),
    ...(def.icons ? { icons: def.icons as unknown[] } : {}),
    ...(def._meta ? { _meta: def._meta as Record<string, unknown> } : {}),
  };
  const get = def.get as (
    args: unknown,
    ctx: ToolContext,
  ) => unknown;
  return {
    listing: {
      name: name as string,
      descriptor,
      permissions: def.permissions as ToolPermissions | undefined,
      timeoutMs: (def.timeoutMs as number | undefined) ?? DEFAULT_TIMEOUT_MS,
      completes: [...completers.keys()],
    },
    source,
    label,
    async get(given, ctx) {
      const parsed = args.safeParse(given);
      if (!parsed.success) {
        throw new KindError(
          -32602,
          `Invalid params: arguments of ${label}: ${
            describeIssues(parsed.error.issues)
          }`,
        );
      }
      const value = await get.call(
        definition,
        parsed.data,
        new KindContext(ctx, name as string),
      );
      return shapePrompt(value, label);
    },
    complete: (request, ctx) =>
      runCompleter(completers, names, request, ctx, label, "argument"),
  };
}

/** The error for two prompts with one name, naming both files. */
export function duplicatePromptError(
  prompt: { source: string; listing: PromptListing },
  other: { source: string },
): string {
  return `Cannot load prompt "${prompt.source}": the name "${prompt.listing.name}" is already used by "${other.source}"; rename one of them or set "name"`;
}

/** `prompts/list`'s `arguments` from the JSON Schema of `args`: each a string, in order. */
function promptArguments(
  args: z.ZodObject,
  fail: (problem: string) => never,
): PromptArgument[] {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(args, { io: "input", unrepresentable: "any" });
  } catch (error) {
    return fail(
      `"args" cannot be described as JSON Schema (${
        describeError(error)
      }); use z.string() fields`,
    );
  }
  const properties = isPlainObject(json.properties) ? json.properties : {};
  const required = Array.isArray(json.required) ? json.required : [];
  return Object.entries(properties).map(([name, property]) => {
    const schema = isPlainObject(property) ? property : {};
    if (schema.type !== "string") {
      fail(
        `argument "${name}" is not a string (prompt arguments arrive as strings); make it z.string() and parse it in get`,
      );
    }
    return {
      name,
      ...(typeof schema.title === "string" ? { title: schema.title } : {}),
      ...(typeof schema.description === "string"
        ? { description: schema.description }
        : {}),
      required: required.includes(name),
    };
  });
}

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

/** What kind of value user code returned, for an error: `a number`, `null`, `an array`. */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes";
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? "an" : "a"} ${type}`;
}

/** A value echoed into an error: a string quoted and bounded, anything else its kind. */
function shown(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(textOf(value, 30))
    : kindOf(value);
}

const PROMPT_RETURNS =
  "return a string, a message { role, content }, an array of messages or { description, messages }";

/**
 * What `get` returned, as a `GetPromptResult` body: a string is one user message, a message
 * one message, a string `content` one text block. Throws a -32603 `KindError` naming the flaw.
 */
function shapePrompt(value: unknown, label: string): GetPromptBody {
  const invalid = (what: string) =>
    new KindError(-32603, `Internal error: ${label} returned ${what}`);
  if (typeof value === "string") {
    return {
      messages: [{ role: "user", content: { type: "text", text: value } }],
    };
  }
  if (Array.isArray(value)) {
    return {
      messages: value.map((m, i) => shapeMessage(m, `message [${i}]`, invalid)),
    };
  }
  if (isPlainObject(value)) {
    if ("messages" in value) {
      const { description, messages } = value;
      if (!Array.isArray(messages)) {
        throw invalid(
          `"messages" as ${kindOf(messages)}; make it an array of messages`,
        );
      }
      if (description !== undefined && typeof description !== "string") {
        throw invalid(
          `"description" as ${kindOf(description)}; make it a string`,
        );
      }
      return {
        ...(description === undefined ? {} : { description }),
        messages: messages.map((m, i) =>
          shapeMessage(m, `messages[${i}]`, invalid)
        ),
      };
    }
    if ("role" in value) {
      return { messages: [shapeMessage(value, "message", invalid)] };
    }
  }
  throw invalid(`${kindOf(value)}; ${PROMPT_RETURNS}`);
}

function shapeMessage(
  value: unknown,
  at: string,
  invalid: (what: string) => KindError,
): GetPromptBody["messages"][number] {
  if (!isPlainObject(value)) {
    throw invalid(`${kindOf(value)} as ${at}; a message is { role, content }`);
  }
  const { role, content } = value;
  if (role !== "user" && role !== "assistant") {
    throw invalid(
      `an invalid ${at}: "role" is ${shown(role)}; use "user" or "assistant"`,
    );
  }
  if (typeof content === "string") {
    return { role, content: { type: "text", text: content } };
  }
  const problem = blockProblem(content);
  if (problem) throw invalid(`an invalid ${at}: "content" ${problem}`);
  return { role, content: content as ContentBlock };
}

const BLOCK_FIELDS: Record<string, readonly string[]> = {
  text: ["text"],
  image: ["data", "mimeType"],
  audio: ["data", "mimeType"],
  resource_link: ["uri", "name"],
  resource: ["resource"],
};

/** What is wrong with a content block (checked as a tool's are), or undefined. */
function blockProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) {
    return `is ${kindOf(value)}; make it a string or a content block`;
  }
  const type = value.type;
  const fields = typeof type === "string" && Object.hasOwn(BLOCK_FIELDS, type)
    ? BLOCK_FIELDS[type]!
    : undefined;
  if (!fields) {
    return `needs a "type" of ${Object.keys(BLOCK_FIELDS).join(", ")}`;
  }
  if (type === "resource") {
    const resource = value.resource;
    return isPlainObject(resource) && typeof resource.uri === "string" &&
        (typeof resource.text === "string" || typeof resource.blob === "string")
      ? undefined
      : `is a "resource" block without a "resource" of a "uri" and a "text" or "blob" string`;
  }
  const missing = fields.filter((field) => typeof value[field] !== "string");
  return missing.length === 0
    ? undefined
    : `is ${
      /^[aeiou]/.test(type as string) ? "an" : "a"
    } "${type}" block without ${
      missing.map((field) => `"${field}"`).join(" and ")
    } as ${missing.length > 1 ? "strings" : "a string"}`;
}

/** zod issues as `code: required (expected string); …`: the fallback of `DescribeIssues`. */
function listIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.slice(0, 10).map((issue) => {
    const where = issue.path.map(String).join(".") || "arguments";
    const missing = issue.code === "invalid_type" &&
      issue.message.endsWith("received undefined");
    return `${where}: ${
      missing ? `required (expected ${issue.expected})` : textOf(issue.message)
    }`;
  }).join("; ");
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
