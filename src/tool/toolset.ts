/**
 * @module
 * Checks a tool definition's shape and turns it into a `Tool` with its `tools/list` entry (zod
 * describes its schemas as JSON Schema). The `Tool` and `ToolSet` shapes, the name rules and
 * `listedTool` live in the zod-free ./served.ts and are re-exported here, so that code which
 * checks definitions imports one module, and `serve --isolate` lists tools without zod.
 */

import { z } from "zod";
import type { AnyToolDefinition, InputSchema, OutputSchema } from "./tool.ts";
import { isTimerMs, MAX_TIMER_MS } from "../util/timer.ts";
import { permissionsProblem, type ToolPermissions } from "./permissions.ts";
import { isPlainObject } from "../util/is.ts";
import {
  DEFAULT_TIMEOUT_MS,
  type Tool,
  TOOL_NAME_PATTERN,
  type ToolDescriptor,
} from "./served.ts";

/**
 * A tool without `input` takes `{}` only: it lists the schema MCP 2025-11-25 recommends for a
 * tool with no parameters ("explicitly accepts only empty objects") and refuses a call with any
 * key, naming it, as it lists. A tool with `input` lists what its zod object does with an unknown
 * key: `z.object` drops it (listed without `additionalProperties`), `z.strictObject` refuses it
 * (`additionalProperties: false`), `z.looseObject` passes it on (`additionalProperties: {}`).
 */
const NO_ARGUMENTS = z.strictObject({});
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
  const badName = nameProblem(name, def.name === undefined);
  if (badName) fail(badName);
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
  const shared = sharedFieldsProblem(def);
  if (shared) fail(shared);
  const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS;

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

/**
 * What is wrong with the name of a tool or prompt (`fromFile`: the file's stem, as no "name" is
 * set), or undefined when it is fine.
 */
export function nameProblem(
  name: unknown,
  fromFile: boolean,
): string | undefined {
  if (typeof name === "string" && TOOL_NAME_PATTERN.test(name)) {
    return undefined;
  }
  return `the name ${
    JSON.stringify(name)
  } is not 1 to 64 letters, digits, "_" or "-"; ${
    fromFile ? "rename the file" : 'change "name"'
  }`;
}

/**
 * The first problem with the fields tools, prompts and resources share (`icons`, `timeoutMs`,
 * `annotations`, `_meta`, `permissions`, `title`), or undefined when they are fine.
 */
export function sharedFieldsProblem(
  def: Record<string, unknown>,
): string | undefined {
  if (def.icons !== undefined && !Array.isArray(def.icons)) {
    return `"icons" must be an array of { src, mimeType?, sizes? }`;
  }
  const timeoutMs = def.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!isTimerMs(timeoutMs)) {
    // A timer overflows past 2^31-1 ms and fires at once: such a tool would time out every call.
    return `"timeoutMs" must be a positive number of milliseconds, a whole number from 1 to ${MAX_TIMER_MS} (about 24 days); it is ${
      typeof timeoutMs === "number" ? timeoutMs : `a ${typeof timeoutMs}`
    }`;
  }
  for (const field of ["annotations", "_meta"]) {
    const value = def[field];
    if (value !== undefined && !isPlainObject(value)) {
      return `"${field}" must be an object`;
    }
  }
  if (def.permissions !== undefined) {
    const problem = permissionsProblem(def.permissions);
    if (problem) return problem;
  }
  if (def.title !== undefined && typeof def.title !== "string") {
    return `"title" must be a string`;
  }
  return undefined;
}

/** Whether `value` is a zod object schema (of this zod or another copy of it). */
export function isZodObject(value: unknown): value is InputSchema {
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
  // Gemini and some proxies reject $schema, and 2020-12 is the default dialect; an input that
  // declares it (`.meta({ $schema })`, SEP-1613) keeps it.
  if (z.globalRegistry.get(schema)?.$schema === undefined) delete json.$schema;
  for (const keyword of ["oneOf", "anyOf", "allOf"]) {
    if (field === "input" && keyword in json) {
      fail(
        `"input" has a top-level "${keyword}", which the Claude API rejects; use one z.object with optional fields`,
      );
    }
  }
  return json;
}
