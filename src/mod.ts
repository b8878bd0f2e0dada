/**
 * @module
 * tooldrop's public API, imported by tool files as `"tooldrop"`: `defineTool`, `ToolError` and
 * the types a tool touches; `serve` for embedding the server in another program.
 */

export { defineTool, ToolError } from "./tool.ts";
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
} from "./tool.ts";
export type { LogLevel } from "./log.ts";
export type { PermissionKind, ToolPermissions } from "./permissions.ts";
export { serve, type ServeOptions } from "./server.ts";
export { callTool, type InvokeOptions, type Progress } from "./invoke.ts";
export { type Tool, ToolSet } from "./toolset.ts";
export { checkModules, loadToolDir } from "./discover.ts";
