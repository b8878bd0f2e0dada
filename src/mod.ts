/**
 * @module
 * tooldrop for tool authors, imported by every file in `tools/` as `"tooldrop"`: `defineTool`
 * declares a tool (its arguments typed from a zod schema), `definePrompt` a prompt and
 * `defineResource` a resource (its parameters typed from its URI template), `ToolError` tells
 * the model what went wrong, the types describe what `run` gets (its context) and may return
 * (MCP content), and `callTool` calls a tool as a client would, for its tests: its file as
 * served, in a worker with only the permissions it declares (`toolFile`), or a definition in
 * the test's thread; `getPrompt` and `readResource` do the same for a prompt and a resource.
 * Embedding the server in another program is `"tooldrop/server"`.
 *
 * @example A tool and its test
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { callTool, defineTool, ToolError } from "tooldrop";
 *
 * // tools/word_count.ts ends with `export default defineTool({ … })`.
 * const wordCount = defineTool({
 *   description: 'Counts the words in a text. Example: {"text": "one two three"}',
 *   input: z.object({ text: z.string().describe("The text to count words in") }),
 *   annotations: { readOnlyHint: true },
 *   run: ({ text }) => {
 *     if (text.trim() === "") throw new ToolError("The text is empty; pass some words");
 *     return `${text.trim().split(/\s+/).length} words`;
 *   },
 * });
 *
 * const result = await callTool(wordCount, { text: "one two three" });
 * assert.deepEqual(result.content, [{ type: "text", text: "3 words" }]);
 * ```
 */

export {
  type AudioContent,
  type CallArgs,
  type CallToolResult,
  type ClientInfo,
  type CompleteContext,
  type Completer,
  type Completers,
  type ContentAnnotations,
  type ContentBlock,
  type ContentBlockBase,
  definePrompt,
  defineResource,
  defineTool,
  type ElicitForm,
  type ElicitResult,
  type ElicitUrl,
  type EmbeddedResource,
  type Icon,
  type ImageContent,
  type InputSchema,
  type OutputSchema,
  type PermissionKind,
  type PromptContext,
  type PromptDefinition,
  type PromptMessage,
  type PromptReturn,
  type ReadReturn,
  type ResourceAnnotations,
  type ResourceCache,
  type ResourceCommon,
  type ResourceContent,
  type ResourceContents,
  type ResourceContext,
  type ResourceLink,
  type Root,
  type RunArgs,
  type RunReturn,
  type SampleRequest,
  type SampleResult,
  type SamplingContent,
  type SamplingMessage,
  type StaticResource,
  type StringArgs,
  type SubscribeContext,
  type TemplateParams,
  type TemplateResource,
  type TemplateVariables,
  type TextContent,
  type ToolAnnotations,
  type ToolContext,
  type ToolDefinition,
  ToolError,
  type ToolPermissions,
  type ToolReturn,
} from "./tool/mod.ts";
export { callTool, type FileTool, toolFile } from "./loading/call_tool.ts";
export {
  getPrompt,
  type GetPromptResult,
  readResource,
  type ReadResourceResult,
} from "./loading/call_kinds.ts";
// Types only: a tool worker loads this module, and the server behind `callTool` is imported on
// its first call (src/loading/call_tool.ts).
export type { CallToolOptions, Progress, TestClient } from "./server/invoke.ts";
export type { LogLevel } from "./util/log.ts";
