/**
 * @module
 * Start-up lint for tools: what clients reject outright (errors that stop the server) and what
 * makes a tool harder for the model to use (warnings on stderr), and whether a tool may join the
 * others (`admitTool`). Each message names the file. Free of zod: the listing cache admits its
 * tools with it in the server's thread (./listing.ts).
 */

import {
  descriptorJson,
  duplicateNameError,
  MAX_QUALIFIED_NAME,
  qualifiedName,
  type Tool,
} from "../tool/served.ts";
import { paramHeaderProblems } from "../tool/param_headers.ts";
import { describeThrown } from "../util/describe.ts";

/** Claude Code cuts tool descriptions (and server instructions) at 2 KB. */
export const MAX_DESCRIPTION_BYTES = 2048;

/** What is wrong with a tool: errors stop the server, warnings are logged. */
export interface LintReport {
  errors: string[];
  warnings: string[];
}

/**
 * Whether a checked tool may join the tools in `byName` (adding it there): not when another
 * has its name or its lint finds an error; each problem goes to `errors`, lint notes to
 * `warnings`.
 */
export function admitTool(
  tool: Tool,
  into: {
    byName: Map<string, Tool>;
    serverName: string;
    errors: string[];
    warnings: string[];
  },
): boolean {
  const other = into.byName.get(tool.name);
  if (other) {
    into.errors.push(duplicateNameError(tool, other));
    return false;
  }
  const lint = lintTool(tool, into.serverName);
  into.warnings.push(...lint.warnings);
  if (lint.errors.length > 0) {
    into.errors.push(...lint.errors);
    return false;
  }
  into.byName.set(tool.name, tool);
  return true;
}

/** Lints one tool, served under `serverName` (the name clients register the server as). */
export function lintTool(tool: Tool, serverName: string): LintReport {
  const errors: string[] = [];
  const warnings: string[] = [];
  const where = `tool "${tool.source}"`;
  const qualified = qualifiedName(serverName, tool.name);
  if (qualified.length > MAX_QUALIFIED_NAME) {
    errors.push(
      `Cannot load ${where}: Claude Code calls it "${qualified}", ${qualified.length} characters, over the API's limit of ${MAX_QUALIFIED_NAME}; shorten the tool's name to at most ${
        MAX_QUALIFIED_NAME - qualified.length + tool.name.length
      } characters (or the server's)`,
    );
  }
  const descriptionBytes = bytesOver(
    tool.descriptor.description,
    MAX_DESCRIPTION_BYTES,
  );
  if (descriptionBytes !== undefined) {
    warnings.push(
      `In ${where}: the description is ${descriptionBytes} bytes; Claude Code cuts it at ${MAX_DESCRIPTION_BYTES}, so keep what matters first or shorten it`,
    );
  }
  // The schemas are walked only when their JSON (serialized once, for `tools/list` too) names a
  // "$ref": a folder of a thousand tools starts lint in the interpreter, where a walk of every
  // schema costs ~20 ms and the search of a string next to nothing.
  let json: string;
  try {
    json = descriptorJson(tool.descriptor);
  } catch (error) {
    // A BigInt or a cycle in `_meta` or `annotations`: no client could read the list.
    errors.push(
      `Cannot load ${where}: its tools/list entry cannot be written as JSON: ${
        describeThrown(error)
      }`,
    );
    return { errors, warnings };
  }
  const refsPossible = json.includes('"$ref"');
  if (json.includes('"x-mcp-header"')) {
    for (const problem of paramHeaderProblems(tool.descriptor.inputSchema)) {
      errors.push(`Cannot load ${where}: ${problem}`);
    }
  }
  for (const field of ["inputSchema", "outputSchema"] as const) {
    const schema = tool.descriptor[field];
    if (!schema || !refsPossible) continue;
    const refs = collectRefs(schema);
    const unresolved = refs.filter((ref) =>
      resolvePointer(schema, ref) === undefined
    );
    if (unresolved.length > 0) {
      errors.push(
        `Cannot load ${where}: its ${field} has a "$ref" that points nowhere (${
          unresolved.map((r) => JSON.stringify(r)).join(", ")
        }); define the schema inline instead of by reference`,
      );
    } else if (refs.length > 0) {
      warnings.push(
        `In ${where}: its ${field} uses "$ref", which some clients cannot resolve (Gemini CLI, Copilot); prefer plain nested z.object schemas over z.lazy or registered ones`,
      );
    }
  }
  const properties = tool.descriptor.inputSchema.properties;
  if (typeof properties === "object" && properties !== null) {
    const bare = Object.entries(
      properties as Record<string, Record<string, unknown>>,
    )
      .filter(([, schema]) => typeof schema?.description !== "string")
      .map(([name]) => JSON.stringify(name));
    if (bare.length > 0) {
      warnings.push(
        `In ${where}: ${bare.join(", ")} ${
          bare.length > 1 ? "have" : "has"
        } no description; add .describe("…") so the model knows what to pass`,
      );
    }
  }
  return { errors, warnings };
}

/**
 * The UTF-8 length of `text` when it is over `limit` bytes, else undefined; counted only when it
 * could be (a UTF-16 code unit takes at most 3 bytes).
 */
function bytesOver(text: string, limit: number): number | undefined {
  if (text.length * 3 <= limit) return undefined;
  const bytes = new TextEncoder().encode(text).length;
  return bytes > limit ? bytes : undefined;
}

/** Every `$ref` string anywhere in a schema. */
function collectRefs(schema: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 64 || typeof schema !== "object" || schema === null) return out;
  if (Array.isArray(schema)) {
    for (const item of schema) collectRefs(item, out, depth + 1);
    return out;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$ref" && typeof value === "string") out.push(value);
    else collectRefs(value, out, depth + 1);
  }
  return out;
}

/** Resolves a local JSON pointer (`#`, `#/$defs/x`) inside `root`; undefined when it cannot. */
function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(1).split("/").slice(1)) {
    const part = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll(
      "~0",
      "~",
    );
    if (typeof node !== "object" || node === null || !(part in node)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
