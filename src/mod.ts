/**
 * @module
 * tooldrop's public API, imported by tool files as `"tooldrop"`: `defineTool`, `ToolError` and
 * the types a tool touches; `serve` for embedding the server in another program.
 */

export { defineTool, ToolError } from "./tool/tool.ts";
export type {
  AudioContent,
  CallToolResult,
  ContentAnnotations,
  ContentBlock,
  EmbeddedResource,
  ImageContent,
  InputSchema,
  ResourceLink,
  TextContent,
  ToolAnnotations,
  ToolContext,
  ToolDefinition,
  ToolReturn,
} from "./tool/tool.ts";
export type { LogLevel } from "./util/log.ts";
export type { PermissionKind, ToolPermissions } from "./tool/permissions.ts";
export { serve, type ServeOptions } from "./server/serve.ts";
export {
  callTool,
  type InvokeOptions,
  type Progress,
} from "./server/invoke.ts";
export { type Tool, ToolSet } from "./tool/toolset.ts";
export { checkModules, loadToolDir } from "./loading/discover.ts";
