/**
 * @module
 * The `x-mcp-header` extension of the 2026-07-28 Streamable HTTP transport: an argument whose
 * schema names a header (`.meta({ "x-mcp-header": "Region" })`) is mirrored by an HTTP client
 * into `Mcp-Param-Region`, so that a load balancer can route on it, and the server checks that
 * the header says what the body says (../server/http/guard.ts). Clients leave out a tool whose
 * annotations break the spec's constraints, so start-up stops on them (`paramHeaderProblems`).
 */

import { isPlainObject } from "../util/is.ts";

/** One argument mirrored in a header. */
export interface ParamHeader {
  /** The `{name}` of `Mcp-Param-{name}`, as the schema writes it. */
  readonly name: string;
  /** The argument's path in `arguments`: a chain of property names. */
  readonly path: readonly string[];
  /** Its type, which sets how the header is compared with the body. */
  readonly type: HeaderType;
}

/** The types a mirrored argument may have (a `number` may not: its text is not one value). */
type HeaderType = "string" | "integer" | "boolean";

const KEY = "x-mcp-header";
const TYPES: ReadonlySet<string> = new Set(["string", "integer", "boolean"]);
/** An HTTP field-name token (RFC 9110 5.1: `1*tchar`). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Nesting followed at most: a schema deeper than this has no header below it. */
const MAX_DEPTH = 64;

/**
 * What breaks the spec's constraints on the `x-mcp-header` annotations of `schema` (a tool's
 * `inputSchema`), a sentence each, naming the argument: one that is not reached through a chain
 * of `properties` alone, that is not a string, integer or boolean, whose name is not a header
 * token, or two whose names differ only in case. Empty when there are none.
 */
export function paramHeaderProblems(schema: unknown): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const visit = (
    node: unknown,
    path: readonly string[],
    outside: string | undefined,
    depth: number,
  ): void => {
    if (depth > MAX_DEPTH || typeof node !== "object" || node === null) {
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) {
        visit(item, path, outside ?? "an array", depth + 1);
      }
      return;
    }
    const record = node as Record<string, unknown>;
    if (Object.hasOwn(record, KEY)) {
      const problem = annotationProblem(record, path, outside, seen);
      if (problem) problems.push(problem);
    }
    for (const [key, value] of Object.entries(record)) {
      if (key === KEY) continue;
      if (key === "properties" && isPlainObject(value)) {
        for (const [name, property] of Object.entries(value)) {
          visit(property, [...path, name], outside, depth + 1);
        }
      } else visit(value, path, outside ?? key, depth + 1);
    }
  };
  visit(schema, [], undefined, 0);
  return problems;
}

/** What is wrong with one annotated schema node, or undefined when it is a valid header. */
function annotationProblem(
  node: Record<string, unknown>,
  path: readonly string[],
  outside: string | undefined,
  seen: Map<string, string>,
): string | undefined {
  const where = path.length > 0
    ? JSON.stringify(path.join("."))
    : "the input schema itself";
  if (outside !== undefined || path.length === 0) {
    return `${where} has an "x-mcp-header"${
      outside === undefined ? "" : ` inside ${JSON.stringify(outside)}`
    }; clients leave such a tool out, so put it only on an argument reached through "properties"`;
  }
  const name = node[KEY];
  if (typeof name !== "string" || !TOKEN.test(name)) {
    return `${where} has "x-mcp-header" ${
      JSON.stringify(name)
    }, which is not a header name (letters, digits and !#$%&'*+-.^_\`|~); clients leave such a tool out`;
  }
  const type = node.type;
  if (typeof type !== "string" || !TYPES.has(type)) {
    return `${where} has "x-mcp-header" but is ${
      typeof type === "string" ? `a ${type}` : "of no single type"
    }; clients leave such a tool out, so mirror only a string, integer or boolean argument`;
  }
  const lower = name.toLowerCase();
  const other = seen.get(lower);
  if (other !== undefined) {
    return `"x-mcp-header" names ${JSON.stringify(other)} and ${
      JSON.stringify(name)
    } are the same header; give each argument its own`;
  }
  seen.set(lower, name);
  return undefined;
}

/** Each schema's headers, found once. */
const HEADERS = new WeakMap<object, readonly ParamHeader[]>();

/**
 * The arguments `schema` (a tool's `inputSchema`, checked by `paramHeaderProblems` at load)
 * mirrors in headers, found at its first use; none for a schema that is not an object.
 */
export function paramHeaders(schema: unknown): readonly ParamHeader[] {
  if (!isPlainObject(schema)) return [];
  let headers = HEADERS.get(schema);
  if (headers) return headers;
  const found: ParamHeader[] = [];
  const visit = (node: unknown, path: string[], depth: number): void => {
    if (depth > MAX_DEPTH || !isPlainObject(node)) return;
    const name = node[KEY];
    if (
      path.length > 0 && typeof name === "string" && TOKEN.test(name) &&
      typeof node.type === "string" && TYPES.has(node.type)
    ) {
      found.push({ name, path, type: node.type as HeaderType });
    }
    if (isPlainObject(node.properties)) {
      for (const [key, property] of Object.entries(node.properties)) {
        visit(property, [...path, key], depth + 1);
      }
    }
  };
  visit(schema, [], 0);
  headers = found;
  HEADERS.set(schema, headers);
  return headers;
}

/**
 * The text a client puts in the header for `value` (the argument at a header's path): a string
 * as it is, an integer in decimal, a boolean as `true` or `false`; undefined for a value with
 * no header (absent or null) or of a type no header carries (the call's own check refuses it).
 */
export function headerText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    return String(value);
  }
  return undefined;
}

/** The value at `path` in `args`, or undefined. */
export function valueAt(args: unknown, path: readonly string[]): unknown {
  let node = args;
  for (const key of path) {
    if (!isPlainObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}
