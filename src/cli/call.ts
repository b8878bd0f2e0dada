/**
 * @module
 * `call <tool> [json]`: runs one tool from the shell through the same server a client talks to;
 * prints its result, progress on stderr, and exits 1 when the result is an error.
 */

import { type Io, print } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { commandLogger, loadForCommand } from "./_load.ts";
import { invokeTool } from "../server/invoke.ts";
import type { ContentBlock } from "../tool/tool.ts";
import { isPlainObject } from "../util/is.ts";

/** `call <tool> [json]`: runs one tool; prints its result; exit 1 when it is an error. */
export async function runCall(io: Io, options: CliOptions): Promise<number> {
  const [name, json, extra] = options.positionals;
  if (name === undefined || extra !== undefined) {
    io.stderr(
      `Usage: tooldrop call <tool> ['{"argument": "value"}']\n`,
    );
    return USAGE_ERROR;
  }
  let args: unknown = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch {
      args = undefined;
    }
    if (!isPlainObject(args)) {
      io.stderr(
        `The arguments must be one JSON object, like '{"text": "hello"}'; got ${json}\n`,
      );
      return USAGE_ERROR;
    }
  }
  const tools = await loadForCommand(io, options);
  if (!tools) return 1;
  if (!tools.get(name)) {
    io.stderr(
      `There is no tool "${name}"; the tools are: ${
        tools.tools.map((t) => t.name).join(", ") || "(none)"
      }\n`,
    );
    return USAGE_ERROR;
  }
  const result = await invokeTool(tools, name, args, {
    log: commandLogger(io, options),
    signal: io.signal,
    onProgress: ({ progress, total, message }) =>
      io.stderr(
        `progress ${progress}${total === undefined ? "" : `/${total}`}${
          message ? ` ${message}` : ""
        }\n`,
      ),
  });
  if (options.json) {
    await print(io, `${JSON.stringify(result)}\n`);
  } else {
    const text = result.content.map(blockText).join("");
    if (result.isError) io.stderr(text);
    else await print(io, text);
  }
  return result.isError ? 1 : 0;
}

function blockText(block: ContentBlock): string {
  if (block.type === "text") {
    return block.text.endsWith("\n") ? block.text : `${block.text}\n`;
  }
  return `${JSON.stringify(block)}\n`;
}
