/**
 * @module
 * Text for values that come from outside: what a client sent, what a tool threw or returned.
 * Every function here is total: a Proxy, a throwing getter or `toString`, a null-prototype
 * object or an array nested thousands deep gets a description, never an exception.
 */

/** Characters kept of a value echoed into a message, unless the caller says otherwise. */
const DEFAULT_MAX_CHARS = 200;

/** At most `max` characters of text about `value`: a string as it is, anything else as JSON. */
export function textOf(value: unknown, max = DEFAULT_MAX_CHARS): string {
  try {
    if (typeof value === "string") return shorten(value, max);
    if (typeof value === "object" && value !== null) {
      const json = JSON.stringify(value); // throws on cycles, BigInts, depth
      return shorten(json ?? Object.prototype.toString.call(value), max);
    }
    return shorten(String(value), max);
  } catch {
    return kindOf(value);
  }
}

/**
 * `Name: message` for an error, with what caused it (`TypeError: fetch failed (caused by: error
 * sending request for url …: dns error: …)`), or text about any other thrown value; at most
 * `max` characters. A wrapper such as `fetch failed` says nothing without its cause.
 */
export function describeError(error: unknown, max = 500): string {
  try {
    if (error instanceof Error) {
      const { name, message } = error;
      const text = `${typeof name === "string" ? name : "Error"}: ${
        textOf(message, max)
      }`;
      return shorten(`${text}${causes(error, max - text.length)}`, max);
    }
  } catch {
    // A getter threw, or `instanceof` met a Proxy that refuses: describe it from outside.
  }
  return textOf(error, max);
}

/** How many links of an error's `cause` chain a description follows. */
const MAX_CAUSES = 3;

/**
 * ` (caused by: …)` for each link of `error`'s cause chain, up to `MAX_CAUSES` and about `room`
 * characters; a plain `Error` is named by its message alone. Empty when there is no cause, or
 * no room left.
 */
function causes(error: Error, room: number): string {
  let text = "";
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES && text.length < room; depth++) {
    try {
      if (!(current instanceof Error) || !("cause" in current)) break;
      const cause: unknown = current.cause;
      if (cause === undefined || cause === current || cause === error) break;
      let said: string;
      if (cause instanceof Error) {
        const { name, message } = cause;
        said = name === "Error" || typeof name !== "string"
          ? textOf(message, room)
          : `${name}: ${textOf(message, room)}`;
      } else {
        said = textOf(cause, room);
      }
      text += ` (caused by: ${said})`;
      current = cause;
    } catch {
      break; // a Proxy or a throwing getter: what was said so far stands
    }
  }
  return text;
}

/**
 * One line describing any thrown value: an error's message, else what kind of value it is and
 * its text (`a thrown object: {}`). Never throws, whatever the value: a null-prototype object, a
 * proxy, an object whose `toString` or `message` throws.
 */
export function describeThrown(value: unknown): string {
  let text: string | undefined;
  try {
    text = errorText(value);
  } catch {
    // a proxy or a throwing getter: described from outside below
  }
  text ??= `a thrown ${typeof value}: ${textOf(value, 300)}`;
  return text.trim().split("\n", 1)[0]!.trimEnd();
}

/** An error's message, or its name when the message is empty; undefined for other values. */
function errorText(value: unknown): string | undefined {
  if (!(value instanceof Error)) return undefined;
  const { message, name } = value;
  if (typeof message === "string" && message.trim() !== "") return message;
  return typeof name === "string" && name !== ""
    ? `${name} with no message`
    : undefined;
}

/**
 * What the log shows of a detail: an error's stack (inspected, with its `[cause]`, when it has
 * one), or the value inspected; never throws.
 */
export function logDetail(detail: unknown): string {
  try {
    if (detail instanceof Error && detail.cause === undefined) {
      const stack = detail.stack;
      if (typeof stack === "string") return stack;
    }
    if (typeof detail === "string") return detail;
    return Deno.inspect(detail, { depth: 4, colors: false });
  } catch {
    return describeError(detail);
  }
}

/** Names a log line or a message lists at most: a folder may hold a thousand tools. */
const MAX_NAMES = 20;

/**
 * `names` joined with ", ", the first `max` of them, then "and N more": a line that names what
 * a folder holds stays short however much it holds.
 */
export function nameList(names: readonly string[], max = MAX_NAMES): string {
  const shown = names.slice(0, max).join(", ");
  const more = names.length - max;
  return more > 0 ? `${shown} and ${more} more` : shown;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** The last resort: what kind of value it is, read without calling any of its code. */
function kindOf(value: unknown): string {
  try {
    if (Array.isArray(value)) return "(an array that cannot be shown)";
  } catch {
    // A revoked Proxy.
  }
  return `(a${
    typeof value === "object" ? "n" : ""
  } ${typeof value} that cannot be shown)`;
}
