/**
 * @module
 * tooldrop for embedding, imported as `"tooldrop/server"`: `serve` speaks MCP over any pair of
 * byte streams (`Deno.stdin` and `Deno.stdout`, or in-memory streams in a test) with the tools
 * of a `ToolSet`, and `loadToolDir` and `checkModules` turn a folder of tool files, or modules
 * already imported, into checked tools with every problem named. Writing tools is `"tooldrop"`.
 *
 * @example Serve one request from memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { defineTool } from "tooldrop";
 * import { checkModules, serve, ToolSet } from "tooldrop/server";
 *
 * const echo = defineTool({
 *   description: 'Returns the text unchanged. Example: {"text": "hi"}',
 *   input: z.object({ text: z.string().describe("The text to send back") }),
 *   run: ({ text }) => text,
 * });
 * // loadToolDir(new URL("./tools/", import.meta.url)) does the same for a folder.
 * const { tools, errors } = checkModules([["echo.ts", { default: echo }]]);
 * assert.deepEqual(errors, []);
 *
 * const request = {
 *   jsonrpc: "2.0",
 *   id: 1,
 *   method: "tools/call",
 *   params: { name: "echo", arguments: { text: "hi" } },
 * };
 * const replies: string[] = [];
 * await serve({
 *   readable: ReadableStream.from([new TextEncoder().encode(`${JSON.stringify(request)}\n`)]),
 *   writable: new WritableStream({ write: (bytes) => void replies.push(new TextDecoder().decode(bytes)) }),
 *   tools: new ToolSet(tools),
 * });
 * assert.deepEqual(JSON.parse(replies.join("")).result.content, [{ type: "text", text: "hi" }]);
 * ```
 */

export { serve, type ServeOptions } from "./server/serve.ts";
export type { FileWatcher } from "./server/resource_updates.ts";
export type { ByteReader, ByteSource } from "./server/lines.ts";
export type { ByteSink, ByteWriter, TextSink } from "./server/writer.ts";
export type { ServerInfo } from "./server/protocol.ts";
export {
  type AnyToolDefinition,
  type RemoteRunner,
  type Tool,
  type ToolDescriptor,
  ToolSet,
} from "./tool/mod.ts";
export { servePrompt } from "./tool/prompt_check.ts";
export { serveResource } from "./tool/resource_check.ts";
export {
  PromptSet,
  ResourceSet,
  type ServedPrompt,
  type ServedResource,
} from "./tool/served_kinds.ts";
export type { ReplyKind } from "./tool/served.ts";
export type { PromptArgument, PromptDescriptor } from "./tool/prompt.ts";
export type {
  ResourceDescriptor,
  ResourceTemplateDescriptor,
} from "./tool/resource.ts";
export type { UriTemplate } from "./tool/uri_template.ts";
export type { ServedKinds } from "./server/protocol.ts";
export {
  checkModules,
  type LoadOptions,
  type LoadResult,
  loadToolDir,
} from "./loading/mod.ts";
export { Logger, type LoggerOptions, type LogLevel } from "./util/log.ts";
