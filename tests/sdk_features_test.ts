/**
 * End-to-end, legacy era: the official SDK client uses progress, logging, structured output,
 * argument coercion and roots against `deno task start` serving a folder of test tools.
 */

import assert from "node:assert/strict";
import {
  Client,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  StdioClientTransport,
} from "./sdk.ts";
import { serverArgs, tempDir } from "./spawn.ts";

const TOOLS = {
  "count.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Counts to n, reporting progress and logging.",
      input: z.object({ n: z.number().int().describe("How far") }),
      output: z.object({ counted: z.number() }),
      run: async ({ n }, ctx) => {
        for (let i = 1; i <= n; i++) {
          await new Promise((r) => setTimeout(r, 1));
          ctx.progress(i, n, "at " + i);
          ctx.log("info", "counted " + i);
        }
        return { counted: n };
      },
    });
  `,
  "sum.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Adds numbers.",
      input: z.object({ values: z.array(z.number()).describe("Numbers") }),
      run: ({ values }) => String(values.reduce((a, b) => a + b, 0)),
    });
  `,
  "roots.ts": `
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Lists the client's roots.",
      run: async (_args, ctx) => (await ctx.roots() ?? []).map((r) => r.uri).join(","),
    });
  `,
};

Deno.test("the SDK client gets progress, log messages, structured output, coerced arguments and roots", async () => {
  await using tools = await tempDir(TOOLS);
  const client = new Client(
    { name: "tooldrop-features", version: "1.0.0" },
    { capabilities: { roots: { listChanged: true } } },
  );
  client.setRequestHandler(ListRootsRequestSchema, () => ({
    roots: [{ uri: "file:///work/project", name: "Project" }],
  }));
  const logs: string[] = [];
  client.setNotificationHandler(
    LoggingMessageNotificationSchema,
    (n: { params: { data: unknown } }) => void logs.push(String(n.params.data)),
  );
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      args: serverArgs(tools.path),
      env: Deno.env.toObject(),
      stderr: "pipe",
    }),
  );
  try {
    assert.deepEqual(client.getServerCapabilities(), {
      tools: { listChanged: true },
      logging: {},
    });
    await client.setLoggingLevel("info");

    const progress: number[] = [];
    const counted = await client.callTool(
      { name: "count", arguments: { n: 5 } },
      undefined,
      {
        onprogress: (p: { progress: number }) => void progress.push(p.progress),
      },
    );
    assert.deepEqual(counted.structuredContent, { counted: 5 });
    assert.deepEqual(counted.content, [{
      type: "text",
      text: '{"counted":5}',
    }]);
    // The last update can go missing on the client's side: the SDK hands a progress
    // notification to its handler a microtask late, and a reply read from the same chunk
    // removes the handler first. So: some updates, in order, none beyond the total.
    assert.ok(
      progress.length > 0 && progress.every((p) => p >= 1 && p <= 5),
      `progress: ${progress}`,
    );
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    assert.deepEqual(logs, [
      "counted 1",
      "counted 2",
      "counted 3",
      "counted 4",
      "counted 5",
    ]);

    const sum = await client.callTool({
      name: "sum",
      arguments: { values: "[1,2,3]" },
    });
    assert.deepEqual(sum.content, [{ type: "text", text: "6" }]);

    const roots = await client.callTool({ name: "roots", arguments: {} });
    assert.deepEqual(roots.content, [{
      type: "text",
      text: "file:///work/project",
    }]);
  } finally {
    await client.close();
  }
});
