/**
 * @module
 * RFC 6570 URI templates, level 1 only (`notes://{dir}/{name}`): parsed once, matched against a
 * requested URI and expanded from parameters. Free of zod: the server's thread matches URIs here.
 */

/** A parsed level-1 template. */
export interface UriTemplate {
  /** The template as written. */
  readonly text: string;
  /** Its variables, in the order they appear. */
  readonly variables: readonly string[];
  /**
   * The variables' percent-decoded values when `uri` is one this template makes, else
   * undefined. A value is one or more characters other than `/`, `?` and `#`; one that does not
   * decode, or decodes to `.` or `..`, to text holding `/`, `\` or NUL, or to text with a lone
   * surrogate (sent raw; escaped, it does not decode), does not match: a parameter never climbs
   * out of a folder (`notes://%2E%2E%2Fsecret`), nor names one file as another (a path turns a
   * lone surrogate into U+FFFD: `a\uD800` would read the file `a\uFFFD`).
   */
  match(uri: string): Record<string, string> | undefined;
  /**
   * The URI for `params`, each value percent-encoded but for unreserved characters
   * (RFC 6570 §3.2.2); a missing variable expands to nothing, as the RFC says.
   */
  expand(params: Readonly<Record<string, string>>): string;
}

/** A variable's name: letters, digits and `_` (RFC 6570's varchar, without `.` and escapes). */
const NAME = /^[A-Za-z0-9_]+$/;
/** Operators of levels 2–4 (`{+x}`, `{#x}`, `{.x}`, `{/x}`, `{;x}`, `{?x}`, `{&x}`) and reserved. */
const OPERATORS = "+#./;?&=,!@|";
/** Characters a URI cannot hold as they are besides controls and space (RFC 6570 §2.1). */
const NOT_LITERAL = `"'<>\\^\`|`;
/** Where a variable's value stops: the next path, query or fragment delimiter. */
const DELIMITERS = /[/?#]/;

/**
 * Parses a level-1 template; returns what is wrong, naming the column (from 1), when `text` is
 * not one: an operator, a modifier, a list, nesting, an unbalanced brace, a repeated or badly
 * named variable, two variables with nothing between them (a URI would split two ways), a
 * character a URI cannot hold, or no variable at all.
 *
 * @example
 * ```ts
 * const template = parseTemplate("notes://{name}");
 * if (typeof template === "string") throw new Error(template);
 * template.match("notes://todo"); // { name: "todo" }
 * template.expand({ name: "a b" }); // "notes://a%20b"
 * ```
 */
export function parseTemplate(text: string): UriTemplate | string {
  /** Literal text before each variable, then the text after the last one. */
  const literals: string[] = [];
  const variables: string[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    const column = i + 1;
    if (char === "}") return `column ${column}: "}" closes no "{"`;
    if (char === "%") {
      if (!/^%[0-9A-Fa-f]{2}$/.test(text.slice(i, i + 3))) {
        return `column ${column}: "%" must start an escape of two hex digits, like %20`;
      }
      literal += text.slice(i, i + 3);
      i += 3;
      continue;
    }
    if (char !== "{") {
      const code = char.charCodeAt(0);
      if (code <= 0x20 || code === 0x7f || NOT_LITERAL.includes(char)) {
        return `column ${column}: ${
          JSON.stringify(char)
        } cannot appear in a URI; percent-encode it`;
      }
      literal += char;
      i++;
      continue;
    }
    const close = text.indexOf("}", i + 1);
    const open = text.indexOf("{", i + 1);
    if (close === -1) return `column ${column}: "{" is not closed`;
    if (open !== -1 && open < close) {
      return `column ${open + 1}: "{" inside a variable; templates do not nest`;
    }
    const name = text.slice(i + 1, close);
    const problem = nameProblem(name, variables);
    if (problem) return `column ${column}: "{${name}}" ${problem}`;
    if (variables.length > 0 && literal === "") {
      return `column ${column}: "{${name}}" follows "{${
        variables.at(-1)
      }}" with nothing between; put a literal such as "/" between them, so that a URI splits one way`;
    }
    literals.push(literal);
    variables.push(name);
    literal = "";
    i = close + 1;
  }
  if (variables.length === 0) {
    return `it has no variable; a fixed address is a "uri", not a template`;
  }
  literals.push(literal);
  return new LevelOneTemplate(text, variables, literals);
}

function nameProblem(
  name: string,
  seen: readonly string[],
): string | undefined {
  if (name === "") return "names no variable";
  if (OPERATORS.includes(name[0]!)) {
    return `uses the operator "${
      name[0]
    }" (RFC 6570 level 2–4); only plain {name} variables are supported`;
  }
  if (name.includes(",")) {
    return "lists several variables (level 3); give each its own {name}";
  }
  if (/[:*]/.test(name)) {
    return "has a modifier (level 4); only plain {name} variables are supported";
  }
  if (!NAME.test(name)) {
    return `is not a variable name of letters, digits and "_"`;
  }
  if (seen.includes(name)) {
    return "appears twice; each variable may appear once";
  }
  return undefined;
}

class LevelOneTemplate implements UriTemplate {
  readonly text: string;
  readonly variables: readonly string[];
  /** `literals[i]` comes before `variables[i]`; the last one ends the template. */
  readonly #literals: readonly string[];

  constructor(text: string, variables: string[], literals: string[]) {
    this.text = text;
    this.variables = variables;
    this.#literals = literals;
  }

  /**
   * Matches in one pass, without backtracking (a long URI cannot make it slow): each variable
   * ends where the literal after it first occurs, the last one where the template's final
   * literal ends the URI.
   */
  match(uri: string): Record<string, string> | undefined {
    const literals = this.#literals;
    const last = literals.at(-1)!;
    if (!uri.startsWith(literals[0]!) || !uri.endsWith(last)) return undefined;
    const end = uri.length - last.length;
    const values: string[] = [];
    let at = literals[0]!.length;
    for (let v = 0; v < this.variables.length; v++) {
      const next = v + 1 < this.variables.length ? literals[v + 1]! : undefined;
      const stop = next === undefined ? end : uri.indexOf(next, at + 1);
      if (stop === -1 || stop <= at || stop > end) return undefined;
      const value = paramValue(uri.slice(at, stop));
      if (value === undefined) return undefined;
      values.push(value);
      at = stop + (next?.length ?? 0);
    }
    if (at !== end) return undefined;
    // fromEntries defines each key, so a variable named "__proto__" is a key like any other.
    return Object.fromEntries(
      this.variables.map((name, v) => [name, values[v]!]),
    );
  }

  expand(params: Readonly<Record<string, string>>): string {
    let uri = this.#literals[0]!;
    this.variables.forEach((name, v) => {
      const value = Object.hasOwn(params, name) ? params[name] : undefined;
      uri += encodeUnreserved(String(value ?? "")) + this.#literals[v + 1]!;
    });
    return uri;
  }
}

/** A variable's decoded value, or undefined when it must not match (see `UriTemplate.match`). */
function paramValue(raw: string): string | undefined {
  if (DELIMITERS.test(raw)) return undefined;
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return undefined; // "%zz", a lone "%", or bytes that are not UTF-8
  }
  if (
    value === "." || value === ".." || value.includes("/") ||
    value.includes("\\") || value.includes("\0") || !value.isWellFormed()
  ) {
    return undefined;
  }
  return value;
}

/** Percent-encodes all but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`). */
function encodeUnreserved(value: string): string {
  return encodeURIComponent(value.toWellFormed()).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
