/**
 * @module
 * Validates a call's arguments against the tool's zod schema and, when they fail, writes one
 * message for the model that names every bad field and what it expected.
 */

import type { z } from "zod";

/** The outcome of validating arguments: the parsed value, or a message naming the fields. */
export type ArgumentCheck =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; message: string };

/** Validates `args` (already known to be an object) against `schema`. */
export function checkArguments(
  toolName: string,
  schema: z.ZodObject,
  args: Record<string, unknown>,
): ArgumentCheck {
  const parsed = schema.safeParse(args);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    message: `Invalid arguments for tool "${toolName}": ${
      parsed.error.issues.map(describeIssue).join("; ")
    }`,
  };
}

const MAX_ISSUE_CHARS = 200;

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? "arguments" : formatPath(issue.path);
  let what = issue.message.replace(/^Invalid input: /, "");
  if (issue.code === "invalid_type" && what.endsWith("received undefined")) {
    what = `required (expected ${issue.expected})`;
  }
  if (issue.code === "unrecognized_keys") {
    return `unexpected ${issue.keys.length > 1 ? "fields" : "field"} ${
      issue.keys.map((k) => JSON.stringify(k)).join(", ")
    }${issue.path.length > 0 ? ` in ${where}` : ""}`;
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
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}
