/**
 * @module
 * Big strings of results cross from a tool worker as bytes, moved rather than copied: the worker
 * writes each as the UTF-8 of its JSON text (`encodeResult`), transfers the bytes, and the
 * server's thread puts an `EncodedString` in its place (`placeEncoded`), which the writer writes
 * as it is. A 2 MB text then exists once on the server's thread, as bytes, and is never
 * escaped or encoded there; the reply's bytes are exactly what `JSON.stringify` would give.
 */

import type { EncodedResult } from "./protocol.ts";
import {
  EncodedString,
  escapePieces,
  MAX_DEPTH,
} from "../../server/json_line.ts";
import type { CallToolResult } from "../../tool/tool.ts";
import { isPlainObject } from "../../util/is.ts";

/** Strings of at least this many UTF-16 units cross as bytes. */
export const ENCODED_CHARS = 64 * 1024;

type Path = Array<string | number>;

/**
 * `result` with its big strings (in plain objects and arrays, as deep as the writer looks) as
 * bytes; undefined when it has none. `result` itself is not changed: the objects on the way to a
 * big string are copied (a tool may return the same object again).
 */
export function encodeResult(
  result: CallToolResult,
): EncodedResult | undefined {
  const at: Path[] = [];
  const json: Uint8Array[] = [];
  let stripped: unknown;
  try {
    stripped = strip(result, 0, [], at, json);
  } catch {
    return undefined; // a getter that throws: the result crosses as it is, or fails there
  }
  if (json.length === 0) return undefined;
  return { result: stripped as CallToolResult, at, json };
}

/** The buffers of an encoded result, to transfer with it. */
export function buffersOf(value: unknown): ArrayBuffer[] {
  if (!isEncoded(value)) return [];
  return value.json.map((bytes) => bytes.buffer as ArrayBuffer);
}

/** True for an `EncodedResult` (a result itself has `content`, never `json`). */
export function isEncoded(value: unknown): value is EncodedResult {
  return isPlainObject(value) && Array.isArray(value.json);
}

/** `value` with its big strings replaced by "", their paths and bytes pushed to `at` and `json`. */
function strip(
  value: unknown,
  depth: number,
  path: Path,
  at: Path[],
  json: Uint8Array[],
): unknown {
  if (typeof value === "string") {
    if (value.length < ENCODED_CHARS) return value;
    at.push([...path]);
    json.push(encodeJsonString(value));
    return "";
  }
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) {
    return value;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      path.push(i);
      const out = strip(item, depth + 1, path, at, json);
      path.pop();
      if (out !== item) (copy ??= value.slice())[i] = out;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  // Own enumerable keys: what a structured clone (and JSON) takes.
  for (const key of Object.keys(record)) {
    const item = record[key];
    path.push(key);
    const out = strip(item, depth + 1, path, at, json);
    path.pop();
    if (out !== item) (copy ??= { ...record })[key] = out;
  }
  return copy ?? value;
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of `JSON.stringify(text)`, escaped and encoded a piece at a time. */
export function encodeJsonString(text: string): Uint8Array {
  // Enough for ASCII without escapes, the common case; grown by half when short.
  let buffer = new ArrayBuffer(text.length + 2);
  let bytes = new Uint8Array(buffer);
  let used = 0;
  for (const piece of escapePieces(text)) {
    let rest = piece;
    for (;;) {
      const { read, written } = encoder.encodeInto(rest, bytes.subarray(used));
      used += written;
      if (read === rest.length) break;
      rest = rest.slice(read);
      buffer = buffer.transfer(
        Math.max(used + rest.length * 3, Math.ceil(buffer.byteLength * 1.5)),
      );
      bytes = new Uint8Array(buffer);
    }
  }
  // Unused room would travel with the buffer: trim it when it is more than an eighth.
  if (buffer.byteLength - used > used / 8) buffer = buffer.transfer(used);
  return new Uint8Array(buffer, 0, used);
}

/**
 * The result an encoded one stands for on the server's thread, with an `EncodedString` in place
 * of each big string; undefined when it is malformed (a path that does not lead to a "" it
 * owns, bytes that are not bytes).
 */
export function placeEncoded(value: EncodedResult): unknown {
  const { result, at, json } = value;
  if (!Array.isArray(at) || at.length !== json.length) return undefined;
  for (let i = 0; i < at.length; i++) {
    const path = at[i];
    const bytes = json[i];
    if (!Array.isArray(path) || !(bytes instanceof Uint8Array)) {
      return undefined;
    }
    let parent: unknown = result;
    for (let k = 0; k + 1 < path.length; k++) {
      parent = ownField(parent, path[k]);
    }
    const key = path.at(-1);
    if (ownField(parent, key) !== "") return undefined;
    (parent as Record<string, unknown>)[key as string] = new EncodedString(
      bytes,
    );
  }
  return result;
}

/** `parent[key]` when it is an own field of an object or array; else undefined. */
function ownField(parent: unknown, key: unknown): unknown {
  if (
    typeof parent !== "object" || parent === null ||
    (typeof key !== "string" && typeof key !== "number") ||
    !Object.hasOwn(parent, key)
  ) return undefined;
  return (parent as Record<string, unknown>)[key];
}

const decoder = new TextDecoder();

/**
 * `value` with each `EncodedString` turned back into its string, for a caller that reads the
 * result rather than writing it (`ToolWorker.run`). Changes `value` in place; returns it.
 */
export function decodeStrings<T>(value: T, depth = 0): T {
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH + 1) {
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (item instanceof EncodedString) {
      record[key] = JSON.parse(decoder.decode(item.bytes));
    } else decodeStrings(item, depth + 1);
  }
  return value;
}
