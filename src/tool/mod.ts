/**
 * @module
 * The tool layer: the contract a tool author touches — `defineTool`, `ToolError`, the context a
 * tool runs with, the MCP content types it returns and the Deno permissions it declares; the
 * same for prompts (`definePrompt`) and resources (`defineResource`, URI templates) — and
 * the checked `Tool` and `ToolSet` the server serves. It imports only `util/` and zod: nothing
 * here knows how tools are served (`server/`), found and imported (`loading/`) or run from
 * the shell (`cli/`).
 */

export {
  type AudioContent,
  type CallToolResult,
  type ContentAnnotations,
  type ContentBlock,
  type ContentBlockBase,
  type EmbeddedResource,
  type ImageContent,
  type ResourceContents,
  type ResourceLink,
  type TextContent,
  type ToolReturn,
} from "./content.ts";
export {
  type AnyToolDefinition,
  type CallArgs,
  type ClientInfo,
  defineTool,
  type ElicitForm,
  type ElicitResult,
  type ElicitUrl,
  type Icon,
  type InputSchema,
  type OutputSchema,
  type Root,
  type RunArgs,
  type RunReturn,
  type SampleRequest,
  type SampleResult,
  type SamplingContent,
  type SamplingMessage,
  type ToolAnnotations,
  type ToolContext,
  type ToolDefinition,
  ToolError,
} from "./tool.ts";
export { createTool } from "./toolset.ts";
export {
  type CompleteContext,
  type Completer,
  type Completers,
  definePrompt,
  type PromptArgument,
  type PromptContext,
  type PromptDefinition,
  type PromptDescriptor,
  type PromptListing,
  type PromptMessage,
  type PromptReturn,
  type StringArgs,
} from "./prompt.ts";
export {
  defineResource,
  type ReadReturn,
  type ResourceAnnotations,
  type ResourceCache,
  type ResourceCommon,
  type ResourceContent,
  type ResourceContext,
  type ResourceDescriptor,
  type ResourceListing,
  type ResourceTemplateDescriptor,
  type StaticResource,
  type SubscribeContext,
  type TemplateParams,
  type TemplateResource,
  type TemplateVariables,
} from "./resource.ts";
// Not re-exported: uri_template.ts, prompt_check.ts and resource_check.ts (createPrompt,
// createResource, KindError), which server/ and loading/ import by file. src/mod.ts, which every
// tool worker loads, imports this module, and a worker that serves only tools should not load
// them (about 3 ms each start).
export {
  DEFAULT_TIMEOUT_MS,
  duplicateNameError,
  MAX_QUALIFIED_NAME,
  qualifiedName,
  qualifiedNameFits,
  type RemoteRunner,
  type Tool,
  TOOL_NAME_PATTERN,
  type ToolDescriptor,
  ToolSet,
} from "./served.ts";
export {
  BASE_PERMISSIONS,
  missingPermissions,
  PERMISSION_KINDS,
  permissionFlags,
  type PermissionKind,
  permissionsProblem,
  RUNTIME_FLAGS,
  serverFlags,
  type ToolPermissions,
  unionPermissions,
} from "./permissions.ts";
