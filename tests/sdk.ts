/**
 * @module
 * The official MCP SDK's client, which end-to-end tests drive the server with. Imported here
 * by its full npm specifier, pinned, so that it stays out of the import map and the lock file
 * that `deno task start` resolves (tests use tests/deno.lock).
 */

export { Client } from "npm:@modelcontextprotocol/sdk@1.32.2/client/index.js";
export { StdioClientTransport } from "npm:@modelcontextprotocol/sdk@1.32.2/client/stdio.js";
export {
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
export {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "npm:@modelcontextprotocol/sdk@1.32.2/types.js";
