/**
 * @module
 * `read <uri>`: reads one resource from the shell through the same server a client talks to,
 * its `read` in its worker as served: prints text as it is and summarizes bytes (their size and
 * type; --json has them base64-encoded); exit 1 when the read fails or finds nothing there.
 */

import { type Io, servedFolders, tooldropCommand } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { base64Bytes, listed, request } from "./prompt.ts";
import {
  type ReadResourceResult,
  replyFailure,
} from "../loading/call_kinds.ts";
import type { ToolSet } from "../tool/served.ts";

/** `read <uri>`: reads the resource; prints what it holds; exit 1 when the read fails. */
export async function runRead(io: Io, options: CliOptions): Promise<number> {
  const [uri, extra] = options.positionals;
  if (uri === undefined || extra !== undefined) {
    io.stderr(`Usage: ${tooldropCommand(io)} read <uri>\n`);
    return USAGE_ERROR;
  }
  return await request(io, options, {
    refusal: "Cannot read the resource",
    method: "resources/read",
    params: { uri },
    unknown: (tools) => unmatched(tools, uri, io),
    text: (result) => contentsText(result as unknown as ReadResourceResult),
  });
}

/**
 * What the server says of a URI no resource or template matches, and what there is; undefined
 * when one matches (its read may still find nothing: the server says so, exit 1).
 */
function unmatched(tools: ToolSet, uri: string, io: Io): string | undefined {
  const { resources } = tools.resources;
  if (tools.resources.find(uri)) return undefined;
  const addresses = resources.map(({ descriptor }) =>
    "uri" in descriptor ? descriptor.uri : descriptor.uriTemplate
  );
  // The server's words for it: -32002 "Resource not found", with the URI.
  return `${replyFailure({ message: "Resource not found", data: { uri } })}\n${
    capitalized(listed("resources", addresses, servedFolders(io).resourcesDir))
  }`;
}

function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/**
 * What was read, for a person: text as it is (with a final newline), bytes as one line of their
 * size and type; several items each under a `==> uri <==` line, as `tail` heads files.
 */
function contentsText({ contents }: ReadResourceResult): string {
  const several = contents.length > 1;
  return contents.map((item) => {
    const body = "text" in item
      ? item.text.endsWith("\n") || item.text === ""
        ? item.text
        : `${item.text}\n`
      : `${base64Bytes(item.blob)} bytes of ${
        item.mimeType ?? "application/octet-stream"
      } (--json has them, base64-encoded)\n`;
    return several ? `==> ${item.uri} <==\n${body}` : body;
  }).join(several ? "\n" : "");
}
