/**
 * @module
 * JSON text for replies that hold big strings (a file's text, an image's base64): the strings
 * stay out of the text and are escaped piece by piece as they are written, so a 50 MiB reply is
 * never built, copied and encoded whole; strings a tool worker sent already encoded
 * (`EncodedString`) are written as the bytes they are. The bytes written are exactly
 * `JSON.stringify`'s.
 */

/** Strings longer than this (in UTF-16 units) are escaped while written. */
export const BIG_STRING_CHARS = 1024 * 1024;

/** A string value to write as `JSON.stringify(value)` would, a piece at a time. */
export interface BigString {
  readonly big: string;
}

/**
 * A string already written as JSON: the UTF-8 bytes of `JSON.stringify(text)`, quotes included.
 * A tool worker sends its results' big strings so, moved rather than copied, and the writer
 * writes the bytes as they are. Where a result holds one, `jsonLine` writes it as that string.
 */
export class EncodedString {
  /** `bytes` must not change after this: they are written later, as they are. */
  constructor(readonly bytes: Uint8Array) {}
}

/** JSON text in parts: text as it is, big strings to escape when written, and encoded ones. */
export interface JsonParts {
  readonly parts: ReadonlyArray<string | BigString | EncodedString>;
  /** Characters in all, about: for the writer's backlog. */
  readonly chars: number;
}

/**
 * How deep the search for big strings goes; deeper ones are stringified with the rest. A worker
 * encodes strings no deeper than this (an `EncodedString` deeper would not be found).
 */
export const MAX_DEPTH = 32;

/**
 * `JSON.stringify(value)` wrapped in `before` and `after`: a string, or parts when the value
 * holds a big string or an `EncodedString` (found in plain objects and arrays).
 *
 * @example
 * ```ts
 * const line = jsonLine('{"result":', { text: "a".repeat(2 ** 21) }, "}");
 * typeof line === "string" ? line.length : line.parts.length; // 3 parts: text, big, text
 * ```
 */
export function jsonLine(
  before: string,
  value: unknown,
  after: string,
): string | JsonParts {
  if (!holdsBigString(value, 0)) {
    return `${before}${JSON.stringify(value)}${after}`;
  }
  const bigs: Array<string | EncodedString> = [];
  const mark = `\u0000big-string-${crypto.randomUUID()}:`;
  const json = JSON.stringify(
    value,
    (_key, field) =>
      (typeof field === "string" && field.length > BIG_STRING_CHARS) ||
        field instanceof EncodedString
        ? `${mark}${bigs.push(field) - 1}`
        : field,
  );
  const quotedMark = `"${JSON.stringify(mark).slice(1, -1)}`;
  const parts: Array<string | BigString | EncodedString> = [];
  let text = before;
  let chars = before.length + after.length;
  let from = 0;
  for (let at = json.indexOf(quotedMark); at !== -1;) {
    const end = json.indexOf('"', at + quotedMark.length);
    const big = bigs[Number(json.slice(at + quotedMark.length, end))]!;
    if (typeof big === "string") {
      parts.push(text + json.slice(from, at), { big });
      chars += at - from + big.length + 2;
    } else {
      parts.push(text + json.slice(from, at), big);
      chars += at - from + big.bytes.length;
    }
    text = "";
    from = end + 1;
    at = json.indexOf(quotedMark, from);
  }
  parts.push(text + json.slice(from) + after);
  return { parts, chars: chars + json.length - from };
}

function holdsBigString(value: unknown, depth: number): boolean {
  if (typeof value === "string") return value.length > BIG_STRING_CHARS;
  if (value instanceof EncodedString) return true;
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) {
    return false;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (holdsBigString(value[i], depth + 1)) return true;
    }
    return false;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const key in value) {
    if (holdsBigString((value as Record<string, unknown>)[key], depth + 1)) {
      return true;
    }
  }
  return false;
}

const decoder = new TextDecoder();

/** The whole text of a line in parts, as one string (for a reader that takes text, not bytes). */
export function lineText(line: JsonParts): string {
  let text = "";
  for (const part of line.parts) {
    text += typeof part === "string"
      ? part
      : part instanceof EncodedString
      ? decoder.decode(part.bytes)
      : JSON.stringify(part.big);
  }
  return text;
}

/** Units escaped at a time: JSON.stringify of a piece is small and short-lived. */
const PIECE_CHARS = 16 * 1024;

/**
 * Yields the JSON text of `value` (quotes included) one piece at a time; joined, the pieces
 * equal `JSON.stringify(value)`.
 */
export function* escapePieces(value: string): Generator<string> {
  yield '"';
  for (let start = 0; start < value.length;) {
    const end = pieceEnd(value, start, PIECE_CHARS);
    yield JSON.stringify(value.slice(start, end)).slice(1, -1);
    start = end;
  }
  yield '"';
}

/**
 * Where a piece of `text` of about `size` units from `start` ends: never between the two halves
 * of a surrogate pair, so each piece encodes (or escapes) as its part of the whole would.
 */
export function pieceEnd(text: string, start: number, size: number): number {
  const end = Math.min(text.length, start + size);
  const last = text.charCodeAt(end - 1);
  return end < text.length && last >= 0xd800 && last < 0xdc00 ? end - 1 : end;
}
