/**
 * @module
 * A client's configuration file as JSON with comments: reading it (saying what is wrong, and
 * where, when it does not parse) and setting one server entry in its text, touching only what
 * must change so comments, formatting and the other servers stay as they were.
 */

import {
  findNodeAtLocation,
  parse,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import type { ConfigTarget } from "./clients.ts";
import { isPlainObject } from "../../util/is.ts";

/** A client configuration file, read. */
export interface ConfigFile {
  /** The text, `{}` for a file that does not exist yet or is empty. */
  text: string;
  /** The servers object, if any. */
  servers: Record<string, unknown> | undefined;
}

/** Parses a config file's text (JSON with comments); throws a message saying what is wrong. */
export function readConfig(
  text: string,
  target: Pick<ConfigTarget, "path" | "at">,
): ConfigFile {
  if (text.trim() === "") text = "{}\n";
  const errors: ParseError[] = [];
  const root = parse(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const line = text.slice(0, offset).split("\n").length;
    throw new Error(
      `${target.path} is not valid JSON (${
        printParseErrorCode(error)
      } on line ${line}); fix it, then run this again`,
    );
  }
  if (!isPlainObject(root)) {
    throw new Error(
      `${target.path} does not hold a JSON object; fix it, then run this again`,
    );
  }
  let servers: unknown = root;
  for (const [depth, key] of target.at.entries()) {
    servers = (servers as Record<string, unknown>)[key];
    if (servers === undefined) break;
    if (!isPlainObject(servers)) {
      throw new Error(
        `${
          keyPath(target.at.slice(0, depth + 1))
        } in ${target.path} is not an object; fix it, then run this again`,
      );
    }
  }
  return { text, servers: servers as Record<string, unknown> | undefined };
}

/** `"mcpServers"`, or `"projects" → "/home/ada/notes" → "mcpServers"`. */
function keyPath(keys: readonly string[]): string {
  return keys.map((key) => JSON.stringify(key)).join(" → ");
}

/**
 * Sets `path` (one key or more deep) to `value`, touching only the text that must change: a new
 * property goes on its own line after the last one (after any comment ending that line), in
 * the indentation the file uses; an existing value is replaced where it stands; objects missing
 * on the way are added with it.
 */
export function setEntry(
  text: string,
  path: string[],
  value: unknown,
): string {
  const root = parseTree(text)!;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const unit = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  const lineIndent = (offset: number) => {
    const start = text.lastIndexOf("\n", offset - 1) + 1;
    return /^[ \t]*/.exec(text.slice(start))![0];
  };
  const json = (v: unknown, indent: string) =>
    JSON.stringify(v, null, unit).replaceAll("\n", `${eol}${indent}`);
  const existing = findNodeAtLocation(root, path);
  if (existing) {
    const before = text.slice(
      existing.offset,
      existing.offset + existing.length,
    );
    const replacement = before.includes("\n")
      ? json(value, lineIndent(existing.offset))
      : JSON.stringify(value); // it was on one line: keep it there
    return text.slice(0, existing.offset) + replacement +
      text.slice(existing.offset + existing.length);
  }
  // The deepest object on the way that exists; what is missing below it is added whole.
  let depth = path.length - 1;
  let object = findNodeAtLocation(root, path.slice(0, depth));
  while (depth > 0 && object?.type !== "object") {
    depth--;
    object = depth === 0
      ? root
      : findNodeAtLocation(root, path.slice(0, depth));
  }
  if (object?.type !== "object") object = root;
  const key = path[depth]!;
  const inserted = path.slice(depth + 1).reduceRight<unknown>(
    (inner, name) => ({ [name]: inner }),
    value,
  );
  const children = object.children ?? [];
  const close = object.offset + object.length - 1; // the "}"
  const last = children.at(-1);
  if (!last) {
    const outer = lineIndent(object.offset);
    const indent = outer + unit;
    return `${text.slice(0, object.offset + 1)}${eol}${indent}${
      JSON.stringify(key)
    }: ${json(inserted, indent)}${eol}${outer}${text.slice(close)}`;
  }
  const end = last.offset + last.length;
  const between = text.slice(end, close);
  const comma = /^\s*,/.test(between.replace(/\/\*[^]*?\*\/|\/\/[^\n]*/g, ""));
  const newline = between.indexOf("\n");
  if (newline < 0) {
    // All on one line: stay on it.
    return `${text.slice(0, end)}, ${JSON.stringify(key)}: ${
      JSON.stringify(inserted)
    }${text.slice(end)}`;
  }
  const indent = lineIndent(last.offset);
  const at = end + newline - (text[end + newline - 1] === "\r" ? 1 : 0);
  const property = `${eol}${indent}${JSON.stringify(key)}: ${
    json(inserted, indent)
  }${comma ? "," : ""}`;
  return comma
    ? text.slice(0, at) + property + text.slice(at)
    : `${text.slice(0, end)},${text.slice(end, at)}${property}${
      text.slice(at)
    }`;
}

/** True when `a` and `b` are the same JSON, whatever the order of their keys. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value).sort().map((
      k,
    ) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}
