/**
 * @module
 * Checks a prompt definition and builds what serves it: its `prompts/list` entry and the
 * functions that check, call and shape a `prompts/get` and a `completion/complete` (with the
 * zod-free pieces in ./kinds.ts).
 * (Over 300 lines: every check a prompt definition gets, with the message it gives, and the
 * shaping of what `get` returns, which those checks mirror, read best side by side.)
 */

import { z } from "zod";
import type { ContentBlock, ToolContext } from "./tool.ts";
import type {
  PromptArgument,
  PromptDescriptor,
  PromptListing,
} from "./prompt.ts";
import type { ToolPermissions } from "./permissions.ts";
import { DEFAULT_TIMEOUT_MS } from "./served.ts";
import { isZodObject, nameProblem, sharedFieldsProblem } from "./toolset.ts";
import { type ServedPrompt, servedPrompt } from "./served_kinds.ts";
import {
  checkCompleters,
  type CompleteBody,
  type CompleteRequest,
  KindContext,
  KindError,
  kindOf,
  runCompleter,
  shown,
} from "./kinds.ts";
import { isPlainObject } from "../util/is.ts";
import { describeError, textOf } from "../util/describe.ts";

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
    if (name === "__proto__") {
      // zod copies each field into a new object, where this key sets the prototype instead.
      fail(
        `an argument cannot be named "__proto__": get would never receive it; rename it`,
      );
    }
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
 * A prompt definition as a server serves it in this thread (embedding, tests): checked as a
 * file's would be, `name` standing in for the file's stem.
 */
export function servePrompt(definition: unknown, name: string): ServedPrompt {
  return servedPrompt(createPrompt(definition, name, `prompts/${name}.ts`));
}
