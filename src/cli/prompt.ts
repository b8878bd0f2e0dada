/**
 * @module
 * `prompt <name> [json]`: gets one prompt from the shell through the same server a client talks
 * to, its `get` in its worker as served, and prints its messages, each role and then its text
 * (other content summarized); exit 1 when the get fails. Also what `read` shares with it.
 */

import { type Io, print, servedFolders } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { loadForCommand } from "./_load.ts";
import { invokeOptions, nameAndArguments } from "./call.ts";
import { invokeRequest } from "../server/invoke.ts";
import { replyFailure } from "../loading/call_kinds.ts";
import type { GetPromptResult } from "../loading/call_kinds.ts";
import { folderLabel } from "../loading/tool_files.ts";
import type { ContentBlock } from "../tool/tool.ts";
import type { ToolSet } from "../tool/served.ts";
import { textOf } from "../util/describe.ts";

/** Characters of a name or URI echoed into a message. */
const EXCERPT_CHARS = 30;

/** `prompt <name> [json]`: gets the prompt; prints its messages; exit 1 when it fails. */
export async function runPrompt(io: Io, options: CliOptions): Promise<number> {
  const given = await nameAndArguments(io, options, "name");
  if (!given) return USAGE_ERROR;
  const { name, args } = given;
  return await request(io, options, {
    refusal: `Cannot get prompt ${JSON.stringify(textOf(name, EXCERPT_CHARS))}`,
    method: "prompts/get",
    params: { name, arguments: args },
    unknown: (tools) =>
      tools.prompts.get(name)
        ? undefined
        : `There is no prompt ${JSON.stringify(textOf(name, EXCERPT_CHARS))}; ${
          listed(
            "prompts",
            tools.prompts.prompts.map((p) => p.name),
            servedFolders(io).promptsDir,
          )
        }`,
    text: (result) => messagesText(result as unknown as GetPromptResult),
  });
}

/** What `request` sends, and how it reads the reply. */
export interface KindRequest {
  /** What a broken folder stops: `Cannot get prompt "review"`. */
  refusal: string;
  method: string;
  params: Record<string, unknown>;
  /** Why nothing loaded answers the request (a usage error), or undefined. */
  unknown: (tools: ToolSet) => string | undefined;
  /** The result as a person reads it. */
  text: (result: Record<string, unknown>) => string;
}

/**
 * Loads the folders as `serve` does and sends one request: prints its result (the exact one
 * with --json), or its error on stderr with exit 1; exit 2 when `unknown` says what is missing.
 */
export async function request(
  io: Io,
  options: CliOptions,
  kind: KindRequest,
): Promise<number> {
  const tools = await loadForCommand(io, options, kind.refusal);
  if (!tools) return 1;
  const unknown = kind.unknown(tools);
  if (unknown !== undefined) {
    io.stderr(`${unknown}\n`);
    return USAGE_ERROR;
  }
  const reply = await invokeRequest(
    tools,
    kind.method,
    kind.params,
    invokeOptions(io, options),
  );
  if (reply.error) {
    io.stderr(`${replyFailure(reply.error)}\n`);
    return 1;
  }
  await print(
    io,
    options.json
      ? `${JSON.stringify(reply.result)}\n`
      : kind.text(reply.result),
  );
  return 0;
}

/** `the prompts are: a, b`, or where there are none: `there are no prompts in prompts/`. */
export function listed(
  what: "prompts" | "resources",
  names: readonly string[],
  folder: URL,
): string {
  return names.length > 0
    ? `the ${what} are: ${names.join(", ")}`
    : `there are no ${what} in ${folderLabel(folder)}`;
}

/** A prompt's messages for a person: each role, then its text indented; blank lines between. */
function messagesText(result: GetPromptResult): string {
  const parts = result.messages.map(({ role, content }) =>
    `${role}:\n${indented(blockText(content))}`
  );
  if (result.description !== undefined) {
    parts.unshift(`description: ${result.description}\n`);
  }
  return parts.join("\n");
}

/** A block as text: a text block's own, anything else one bracketed line that summarizes it. */
function blockText(block: ContentBlock): string {
  switch (block.type) {
    case "text":
      return block.text;
    case "image":
    case "audio":
      return `[${block.type}: ${block.mimeType}, ${
        base64Bytes(block.data)
      } bytes]`;
    case "resource_link":
      return `[link: ${block.uri}${
        block.mimeType ? `, ${block.mimeType}` : ""
      }]`;
    case "resource": {
      const { resource } = block;
      return `[resource: ${resource.uri}${
        resource.mimeType ? `, ${resource.mimeType}` : ""
      }, ${
        "text" in resource
          ? `${resource.text.length} characters`
          : `${base64Bytes(resource.blob)} bytes`
      }]`;
    }
    default:
      return `[${(block as { type: string }).type}]`;
  }
}

/** How many bytes base64 `data` holds. */
export function base64Bytes(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.floor(data.length * 3 / 4) - padding;
}

/** Each line of `text` indented by two spaces (empty lines left empty), ending in a newline. */
function indented(text: string): string {
  return `${
    text.replace(/\n$/, "").split("\n").map((line) => line ? `  ${line}` : "")
      .join("\n")
  }\n`;
}
