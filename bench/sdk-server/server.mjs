// The reference: the official MCP TypeScript SDK (McpServer over stdio) serving the same two
// tools as tooldrop, written the way the SDK's README shows. Run by bench/bench.ts.
import process from "node:process";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "sdk-bench", version: "1.0.0" });

server.registerTool(
  "echo",
  {
    description: "Returns the given text unchanged.",
    inputSchema: { text: z.string().describe("The text to send back") },
    annotations: { readOnlyHint: true },
  },
  ({ text }) => ({ content: [{ type: "text", text }] }),
);

server.registerTool(
  "get_cwd",
  {
    description: "Returns the server's working directory.",
    annotations: { readOnlyHint: true },
  },
  () => ({ content: [{ type: "text", text: process.cwd() }] }),
);

await server.connect(new StdioServerTransport());
