/**
 * @module
 * Validates a call's arguments against the tool's zod schema. Arguments that fail only because
 * a client sent a JSON string where the schema wants an array, object, number, integer or
 * boolean (Claude Code does this intermittently) are parsed and checked again. Failures become
 * one message for the model that names every bad field.
 */

import type { z } from "zod";
import type { Tool } from "../tool/served.ts";
import { isPlainObject } from "../util/is.ts";

/** The outcome of validating arguments: the parsed value, or a message naming the fields. */
export type ArgumentCheck =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; message: string };

/** Validates `args` (already known to be an object) for `tool`, coercing stringified JSON. */
export function checkArguments(
  tool: Tool,
  args: Record<string, unknown>,
): ArgumentCheck {
  let parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    const coerced = coerce(args, tool.descriptor.inputSchema, 0);
    if (coerced !== args) parsed = tool.input.safeParse(coerced);
  }
  if (parsed.success) return { ok: true, value: parsed.data };
  // A tool without `input` lists `additionalProperties: false` and refuses any key (tool/toolset.ts).
  const none = tool.definition.input === undefined
    ? "; it takes no arguments: send {}"
    : "";
  return {
    ok: false,
    message: `Invalid arguments for tool "${tool.name}": ${
      describeIssues(parsed.error.issues)
    }${none}`,
  };
}

type JsonSchema = Record<string, unknown>;

const MAX_DEPTH = 32;

/**
 * Returns `value` with every string that the schema does not allow as a string, but that parses
 * as JSON of an allowed type, replaced by the parsed value. Copies only what changes.
 *
 * @example
 * ```ts
 * coerce({ ids: "[1,2]" }, { type: "object", properties: { ids: { type: "array" } } }, 0);
 * // → { ids: [1, 2] }
 * ```
 */
export function coerce(
  value: unknown,
  schema: unknown,
  depth: number,
): unknown {
  if (depth > MAX_DEPTH || typeof schema !== "object" || schema === null) {
    return value;
  }
  const s = schema as JsonSchema;
  if (typeof value === "string") {
    const types = acceptedTypes(s);
    if (types && !types.has("string")) {
      const parsed = parseAs(value, types);
      if (parsed !== undefined) return coerce(parsed, s, depth + 1);
    }
    return value;
  }
  const branch = pickBranch(s, value);
  if (Array.isArray(value) && typeof branch.items === "object") {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = coerce(item, branch.items, depth + 1);
      if (next !== item) (out ??= [...value])[i] = next;
    });
    return out ?? value;
  }
  if (isPlainObject(value) && isPlainObject(branch.properties)) {
    let out: Record<string, unknown> | undefined;
    for (const [key, propSchema] of Object.entries(branch.properties)) {
      if (!(key in value)) continue;
      const next = coerce(value[key], propSchema, depth + 1);
      if (next !== value[key]) (out ??= { ...value })[key] = next;
    }
    return out ?? value;
  }
  return value;
}

/** The JSON types a schema accepts, or undefined when it does not say (accept anything). */
function acceptedTypes(schema: JsonSchema): Set<string> | undefined {
  const types = new Set<string>();
  const add = (s: unknown): boolean => {
    if (typeof s !== "object" || s === null) return false;
    const node = s as JsonSchema;
    if (typeof node.type === "string") types.add(node.type);
    else if (Array.isArray(node.type)) {
      for (const t of node.type) types.add(String(t));
    } else if ("const" in node) types.add(jsonType(node.const));
    else if (Array.isArray(node.enum)) {
      for (const v of node.enum) types.add(jsonType(v));
    } else if (Array.isArray(node.anyOf ?? node.oneOf)) {
      return ((node.anyOf ?? node.oneOf) as unknown[]).every(add);
    } else return false;
    return true;
  };
  return add(schema) ? types : undefined;
}

/** Parses `text` as JSON and keeps it only when its type is one the schema accepts. */
function parseAs(text: string, types: Set<string>): unknown {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const type = jsonType(parsed);
  if (types.has(type)) return parsed;
  if (type === "number" && types.has("integer") && Number.isInteger(parsed)) {
    return parsed;
  }
  return undefined;
}

/** For a union schema, the member that fits the value's JSON type; else the schema itself. */
function pickBranch(schema: JsonSchema, value: unknown): JsonSchema {
  const members = schema.anyOf ?? schema.oneOf;
  if (!Array.isArray(members)) return schema;
  const type = jsonType(value);
  return (members.find((m) =>
    isPlainObject(m) && m.type === type
  ) as JsonSchema) ?? schema;
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const MAX_ISSUE_CHARS = 200;
/**
 * The message echoes what the client sent, so it is bounded: the issues described (an array of
 * 10 000 wrong items has 10 000), the unknown keys named in one, and the characters of each key.
 */
const MAX_ISSUES = 10;
const MAX_KEYS = 5;
const MAX_KEY_CHARS = 30;

/** zod issues as one line for a person or a model: `a: expected number; b: required`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const described = issues.slice(0, MAX_ISSUES).map(describeIssue).join("; ");
  const more = issues.length - MAX_ISSUES;
  return more > 0 ? `${described}; and ${more} more` : described;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? "arguments" : formatPath(issue.path);
  let what = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "invalid_type" && what.endsWith("received undefined")) {
    what = `required (expected ${issue.expected})`;
  }
  if (issue.code === "unrecognized_keys") {
    const { keys } = issue;
    const more = keys.length - MAX_KEYS;
    return `unexpected ${keys.length > 1 ? "fields" : "field"} ${
      keys.slice(0, MAX_KEYS).map((key) => JSON.stringify(keyText(key))).join(
        ", ",
      )
    }${more > 0 ? ` and ${more} more` : ""}${
      issue.path.length > 0 ? ` in ${where}` : ""
    }`;
  }
  return `${where}: ${
    what.length > MAX_ISSUE_CHARS ? `${what.slice(0, MAX_ISSUE_CHARS)}…` : what
  }`;
}

/** `["items", 0, "name"]` → `items[0].name`. */
function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? keyText(part) : `.${keyText(part)}`;
  }
  return out;
}

/** A key as the message shows it: at most MAX_KEY_CHARS characters, then "…". */
function keyText(key: PropertyKey): string {
  const text = String(key);
  return text.length > MAX_KEY_CHARS
    ? `${text.slice(0, MAX_KEY_CHARS)}…`
    : text;
}
