/**
 * @module
 * Checks a tool definition's shape and turns it into a `Tool` with its `tools/list` entry; a
 * `ToolSet` holds the tools of one server by name, with the list reply prepared once. (Over 300
 * lines: a tool's two origins — a definition checked here, or a listing whose calls run in a
 * worker — build the one `Tool` shape, best read together.)
 */

import { z } from "zod";
import type {
  AnyToolDefinition,
  CallToolResult,
  InputSchema,
  OutputSchema,
  ToolContext,
} from "./tool.ts";
import { isTimerMs, MAX_TIMER_MS } from "../util/timer.ts";
import { permissionsProblem, type ToolPermissions } from "./permissions.ts";
import { isPlainObject } from "../util/is.ts";

/** Milliseconds a call may run before it is aborted, unless the tool sets `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What the Claude API (and so Claude Code) accepts as a tool name. */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A tool's entry in a `tools/list` result. */
export interface ToolDescriptor {
  /** The name the client calls. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What the tool does, for the model. */
  description: string;
  /** The arguments' JSON Schema, as a caller sends them. */
  inputSchema: Record<string, unknown>;
  /** The structured result's JSON Schema, when the tool declares one. */
  outputSchema?: Record<string, unknown>;
  /** Hints about the tool's behaviour. */
  annotations?: Record<string, unknown>;
  /** Icons for client UIs. */
  icons?: unknown[];
  /** Extra fields for the client. */
  _meta?: Record<string, unknown>;
}

/** A checked tool, ready to serve. */
export interface Tool {
  /** The name the client calls: the definition's `name`, else the file's stem. */
  readonly name: string;
  /** Where it came from, for messages: `tools/echo.ts`. */
  readonly source: string;
  /** The definition as the tool file exports it. */
  readonly definition: AnyToolDefinition;
  /** The arguments' schema; an empty object schema when the tool takes none. */
  readonly input: InputSchema;
  /** The structured result's schema, when the tool declares one. */
  readonly output: OutputSchema | undefined;
  /** Milliseconds a call may run before it is aborted. */
  readonly timeoutMs: number;
  /** The Deno permissions it declares beyond the base set. */
  readonly permissions: ToolPermissions | undefined;
  /** Its entry in a `tools/list` result. */
  readonly descriptor: ToolDescriptor;
  /** Where its calls run when not in this thread (a worker); unset: `definition.run`, here. */
  readonly remote?: RemoteRunner | undefined;
}

/**
 * Runs a tool's calls outside this thread, in a worker with the tool's own permissions: the
 * arguments are checked and the result shaped there, as `definition.run`'s would be here.
 */
export interface RemoteRunner {
  /**
   * Runs one call with arguments that are a JSON object; resolves to its result, already
   * shaped, and never rejects (a tool that fails or ends its worker resolves to an error
   * result). `context` is the call's own: its signal, logs, progress and roots.
   */
  run(
    args: Record<string, unknown>,
    context: ToolContext,
  ): Promise<CallToolResult>;
  /**
   * Starts one call as `run` does, without a promise or a listener on `context.signal` (the
   * call runner's fast path): `done` receives its result once, perhaps before `start` returns;
   * the call is aborted through the returned handle, not the signal.
   */
  start(
    args: Record<string, unknown>,
    context: ToolContext,
    done: (result: CallToolResult) => void,
  ): { abort(reason: DOMException): void };
}

const NO_ARGUMENTS = z.object({});
const NO_ARGUMENTS_SCHEMA = {
  type: "object",
  properties: {},
  additionalProperties: false,
};

/**
 * Checks that `definition` is a tool and builds it. `defaultName` is the file's stem.
 * Throws an `Error` whose message names `source` and says how to fix it.
 */
export function createTool(
  definition: unknown,
  defaultName: string,
  source: string,
): Tool {
  const fail = (problem: string): never => {
    throw new Error(`Cannot load tool "${source}": ${problem}`);
  };
  if (typeof definition !== "object" || definition === null) {
    return fail(
      "it has no default export; end the file with `export default defineTool({ description, input, run })`",
    );
  }
  const def = definition as Record<string, unknown>;
  if (typeof def.run !== "function") {
    fail(
      `the default export has no "run" function; add \`run: (args, ctx) => "result"\``,
    );
  }
  if (typeof def.description !== "string" || def.description.trim() === "") {
    fail(
      `"description" is missing; say what the tool does, for the model to read`,
    );
  }
  const name = def.name === undefined ? defaultName : def.name;
  if (typeof name !== "string" || !TOOL_NAME_PATTERN.test(name)) {
    fail(
      `the name ${
        JSON.stringify(name)
      } is not 1 to 64 letters, digits, "_" or "-"; ${
        def.name === undefined ? "rename the file" : 'change "name"'
      }`,
    );
  }
  if (def.input !== undefined && !isZodObject(def.input)) {
    fail(
      `"input" must be a zod object schema, like z.object({ text: z.string() })`,
    );
  }
  if (def.output !== undefined && !isZodObject(def.output)) {
    fail(
      `"output" must be a zod object schema, like z.object({ count: z.number() })`,
    );
  }
  if (def.icons !== undefined && !Array.isArray(def.icons)) {
    fail(`"icons" must be an array of { src, mimeType?, sizes? }`);
  }
  const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!isTimerMs(timeoutMs)) {
    // A timer overflows past 2^31-1 ms and fires at once: such a tool would time out every call.
    fail(
      `"timeoutMs" must be a positive number of milliseconds, a whole number from 1 to ${MAX_TIMER_MS} (about 24 days); it is ${
        typeof timeoutMs === "number" ? timeoutMs : `a ${typeof timeoutMs}`
      }`,
    );
  }
  for (const field of ["annotations", "_meta"]) {
    const value = def[field];
    if (
      value !== undefined &&
      !isPlainObject(value)
    ) {
      fail(`"${field}" must be an object`);
    }
  }
  if (def.permissions !== undefined) {
    const problem = permissionsProblem(def.permissions);
    if (problem) fail(problem);
  }
  if (def.title !== undefined && typeof def.title !== "string") {
    fail(`"title" must be a string`);
  }

  const input = (def.input as InputSchema | undefined) ?? NO_ARGUMENTS;
  const output = def.output as OutputSchema | undefined;
  const inputSchema = def.input === undefined
    ? NO_ARGUMENTS_SCHEMA
    : jsonSchema(input, "input", fail);
  const descriptor: ToolDescriptor = {
    name: name as string,
    ...(typeof def.title === "string" ? { title: def.title } : {}),
    description: def.description as string,
    inputSchema,
    ...(output ? { outputSchema: jsonSchema(output, "output", fail) } : {}),
    ...(def.annotations
      ? { annotations: def.annotations as Record<string, unknown> }
      : {}),
    ...(def.icons ? { icons: def.icons as unknown[] } : {}),
    ...(def._meta ? { _meta: def._meta as Record<string, unknown> } : {}),
  };
  return {
    name: name as string,
    source,
    definition: definition as AnyToolDefinition,
    input,
    output,
    timeoutMs: timeoutMs as number,
    permissions: def.permissions as ToolPermissions | undefined,
    descriptor,
  };
}

function isZodObject(value: unknown): value is InputSchema {
  const zod = (value as { _zod?: { def?: { type?: unknown } } } | null)?._zod;
  return typeof (value as { safeParse?: unknown })?.safeParse === "function" &&
    zod?.def?.type === "object";
}

/**
 * The JSON Schema of `input` as a caller sees it (fields with defaults are optional), or of
 * `output` as the tool produces it.
 */
function jsonSchema(
  schema: InputSchema,
  field: "input" | "output",
  fail: (problem: string) => never,
): Record<string, unknown> {
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: field }) as Record<string, unknown>;
  } catch (error) {
    return fail(
      `"${field}" cannot be described as JSON Schema (${
        error instanceof Error ? error.message : String(error)
      }); use JSON types such as z.string() instead`,
    );
  }
  delete json.$schema; // Gemini and some proxies reject it; 2020-12 is the default dialect.
  for (const keyword of ["oneOf", "anyOf", "allOf"]) {
    if (field === "input" && keyword in json) {
      fail(
        `"input" has a top-level "${keyword}", which the Claude API rejects; use one z.object with optional fields`,
      );
    }
  }
  return json;
}

/** A tool as the listing cache knows it: what `tools/list` shows and how its calls are run. */
export interface ToolListing {
  readonly name: string;
  readonly descriptor: ToolDescriptor;
  readonly permissions: ToolPermissions | undefined;
  readonly timeoutMs: number;
}

/**
 * A tool known only from its listing, whose calls run in a worker (`remote`): its module is not
 * imported in this thread, so its `definition` and schemas here are stand-ins that no call uses.
 */
export function listedTool(
  listing: ToolListing,
  source: string,
  remote: RemoteRunner,
): Tool {
  const run = () => {
    throw new Error(
      `Cannot run tool "${listing.name}" in this thread: its calls run in its worker`,
    );
  };
  return {
    name: listing.name,
    source,
    definition: {
      description: listing.descriptor.description,
      run,
    } as unknown as AnyToolDefinition,
    input: NO_ARGUMENTS,
    output: undefined,
    timeoutMs: listing.timeoutMs,
    permissions: listing.permissions,
    descriptor: listing.descriptor,
    remote,
  };
}

/** The Claude API's limit on a tool name, prefix `mcp__<server>__` included. */
export const MAX_QUALIFIED_NAME = 64;

/** The name Claude Code calls a tool by, `mcp__<server>__<tool>`; the API takes 64 at most. */
export function qualifiedName(serverName: string, toolName: string): string {
  return `mcp__${serverName}__${toolName}`;
}

/** Whether the tool's qualified name fits the Claude API's limit. */
export function qualifiedNameFits(
  serverName: string,
  toolName: string,
): boolean {
  return qualifiedName(serverName, toolName).length <= MAX_QUALIFIED_NAME;
}

/** The error for two tools with one name, naming both files. */
export function duplicateNameError(tool: Tool, other: Tool): string {
  return `Cannot load tool "${tool.source}": the name "${tool.name}" is already used by "${other.source}"; rename one of them or set "name"`;
}

/** The tools of one server, by name, with the `tools/list` result serialized once. */
export class ToolSet {
  readonly #byName = new Map<string, Tool>();
  readonly #tools: readonly Tool[];
  #listJson: string | undefined;

  /** Throws when two tools share a name, naming both files. */
  constructor(tools: readonly Tool[]) {
    for (const tool of tools) {
      const other = this.#byName.get(tool.name);
      if (other) {
        throw new Error(duplicateNameError(tool, other));
      }
      this.#byName.set(tool.name, tool);
    }
    this.#tools = tools;
  }

  /** The tool named `name`, if there is one. */
  get(name: string): Tool | undefined {
    return this.#byName.get(name);
  }

  /** The tools in their stable order (by file name). */
  get tools(): readonly Tool[] {
    return this.#tools;
  }

  /** The `tools/list` result as JSON text, built on first use. */
  get listJson(): string {
    return this.#listJson ??= JSON.stringify({
      tools: this.#tools.map((t) => t.descriptor),
    });
  }
}
