/**
 * @module
 * `call <tool> [json]`: runs one tool from the shell through the same server a client talks to;
 * prints its result, progress on stderr, and exits 1 when the result is an error.
 */

import { type Io, print, tooldropCommand } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { commandLogger, loadForCommand } from "./_load.ts";
import { type InvokeOptions, invokeTool } from "../server/invoke.ts";
import type { ContentBlock } from "../tool/tool.ts";
import { isPlainObject } from "../util/is.ts";
import { textOf } from "../util/describe.ts";

/** What to pass instead, after a parse error: the shell eats unquoted JSON's double quotes. */
const ARGUMENTS_HINT =
  `Pass one JSON object, in single quotes for the shell: '{"text": "hello"}'`;
/** Characters of the arguments shown on each side of where parsing failed. */
const EXCERPT_CHARS = 30;

/** `call <tool> [json]`: runs one tool; prints its result; exit 1 when it is an error. */
export async function runCall(io: Io, options: CliOptions): Promise<number> {
  const given = await nameAndArguments(io, options, "tool");
  if (!given) return USAGE_ERROR;
  const { name, args } = given;
  const tools = await loadForCommand(
    io,
    options,
    `Cannot call tool "${textOf(name, EXCERPT_CHARS)}"`,
  );
  if (!tools) return 1;
  if (!tools.get(name)) {
    io.stderr(
      `There is no tool "${name}"; the tools are: ${
        tools.tools.map((t) => t.name).join(", ") || "(none)"
      }\n`,
    );
    return USAGE_ERROR;
  }
  const result = await invokeTool(
    tools,
    name,
    args,
    invokeOptions(io, options),
  );
  if (options.json) {
    await print(io, `${JSON.stringify(result)}\n`);
  } else {
    const text = result.content.map(blockText).join("");
    if (result.isError) io.stderr(text);
    else await print(io, text);
  }
  return result.isError ? 1 : 0;
}

/**
 * How a command runs its one request (`call`, `prompt`, `read`): warnings on stderr, cancelled
 * by a signal, progress on stderr as `progress 2/5 message`.
 */
export function invokeOptions(io: Io, options: CliOptions): InvokeOptions {
  return {
    log: commandLogger(io, options),
    signal: io.signal,
    onProgress: ({ progress, total, message }) =>
      io.stderr(
        `progress ${progress}${total === undefined ? "" : `/${total}`}${
          message ? ` ${message}` : ""
        }\n`,
      ),
  };
}

/**
 * What follows the command, `<what> [json]`: the name and the arguments, one JSON object (`{}`
 * when absent); else undefined, once stderr has the usage line, or where the JSON fails to
 * parse, or what it is instead (`call` and `prompt` take theirs so).
 */
export async function nameAndArguments(
  io: Io,
  options: CliOptions,
  what: string,
): Promise<{ name: string; args: Record<string, unknown> } | undefined> {
  const [name, json, extra] = options.positionals;
  if (name === undefined || extra !== undefined) {
    io.stderr(
      `Usage: ${
        tooldropCommand(io)
      } ${options.command} <${what}> ['{"argument": "value"}']\n`,
    );
    return undefined;
  }
  if (json === undefined) return { name, args: {} };
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (error) {
    io.stderr(`${await parseProblem(json, error)}\n${ARGUMENTS_HINT}\n`);
    return undefined;
  }
  if (isPlainObject(args)) return { name, args };
  io.stderr(
    `The arguments must be one JSON object, like '{"text": "hello"}'; got ${
      args === null
        ? "null"
        : `${Array.isArray(args) ? "an array" : `a ${typeof args}`}: ${
          textOf(json.trim(), EXCERPT_CHARS)
        }`
    }\n`,
  );
  return undefined;
}

/**
 * Why `text` is not JSON and where, with the line it failed on and a caret under the place:
 *
 * ```text
 * Cannot parse the arguments as JSON at line 1, column 2: expected property name or '}'
 *   {text: "hi"}
 *    ^
 * ```
 */
async function parseProblem(text: string, error: unknown): Promise<string> {
  // V8 says what is wrong, and where for most errors ("… in JSON at position 1 (line 1 column
  // 2)"); not for an unexpected token ("Unexpected token 'h', "hello" is not valid JSON").
  if (text.trim() === "") {
    return "Cannot parse the arguments as JSON: they are empty";
  }
  const message = error instanceof Error ? error.message : String(error);
  const what = message
    .replace(/ in JSON at position \d+.*$/s, "")
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, "");
  let offset = Number(/ at position (\d+)/.exec(message)?.[1] ?? NaN);
  if (/end of JSON input/.test(message)) offset = text.length;
  if (Number.isNaN(offset)) {
    // Only when JSON.parse failed: jsonc-parser finds the offending token's offset.
    const { parse } = await import("jsonc-parser");
    const errors: import("jsonc-parser").ParseError[] = [];
    parse(text, errors, { disallowComments: true, allowTrailingComma: false });
    offset = errors[0]?.offset ?? 0;
  }
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  const lineEnd = text.indexOf("\n", offset);
  const line = [...text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd)];
  const column = [...text.slice(lineStart, offset)].length;
  const from = Math.max(0, column - EXCERPT_CHARS);
  const to = Math.min(line.length, column + EXCERPT_CHARS);
  // One column a character, so that the caret stands under it: tabs and other controls show as
  // spaces.
  const excerpt = `${from > 0 ? "…" : ""}${
    line.slice(from, to).map((c) => c < " " || c === "\x7f" ? " " : c).join("")
  }${to < line.length ? "…" : ""}`;
  const caret = " ".repeat(column - from + (from > 0 ? 1 : 0));
  return `Cannot parse the arguments as JSON at line ${
    before.split("\n").length
  }, column ${column + 1}: ${what.charAt(0).toLowerCase()}${what.slice(1)}
  ${excerpt}
  ${caret}^`;
}

function blockText(block: ContentBlock): string {
  if (block.type === "text") {
    return block.text.endsWith("\n") ? block.text : `${block.text}\n`;
  }
  return `${JSON.stringify(block)}\n`;
}
