// The reference over HTTP: the official MCP TypeScript SDK's Streamable HTTP server in stateless
// mode (`sessionIdGenerator: undefined`), serving tooldrop's echo and get_cwd tools and the
// benchmark's progress tool. Written as the SDK's own stateless example
// (examples/server/simpleStatelessStreamableHttp.js) does it: `createMcpExpressApp()` (Express,
// JSON body parser, Host validation for loopback) and a new McpServer and transport for each
// request, since a stateless transport cannot be reused. Without that example's per-request
// console.log. Run by bench/bench.ts as `node server_http.mjs <port>`.
import process from "node:process";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createMcpExpressApp } from "@modelcontextprotocol/sdk/server/express.js";
import { z } from "zod";

function getServer() {
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
  server.registerTool(
    "progress",
    {
      description: "Reports progress `count` times, then returns done.",
      inputSchema: { count: z.number().int().min(1).max(10000) },
    },
    async ({ count }, extra) => {
      const progressToken = extra._meta?.progressToken;
      if (progressToken !== undefined) {
        for (let i = 1; i <= count; i++) {
          await extra.sendNotification({
            method: "notifications/progress",
            params: { progressToken, progress: i, total: count },
          });
        }
      }
      return { content: [{ type: "text", text: "done" }] };
    },
  );
  return server;
}

const app = createMcpExpressApp();
app.post("/mcp", async (req, res) => {
  const server = getServer();
  try {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
    res.on("close", () => {
      transport.close();
      server.close();
    });
  } catch (error) {
    console.error("Error handling MCP request:", error);
    if (!res.headersSent) {
      res.status(500).json({
        jsonrpc: "2.0",
        error: { code: -32603, message: "Internal server error" },
        id: null,
      });
    }
  }
});

const port = Number(process.argv[2] ?? 3000);
app.listen(port, "127.0.0.1", (error) => {
  if (error) {
    console.error("Failed to start server:", error);
    process.exit(1);
  }
  console.error(`listening on http://127.0.0.1:${port}/mcp`);
});
process.on("SIGTERM", () => process.exit(0));
