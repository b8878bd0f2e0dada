/**
 * End-to-end: the official MCP SDK client drives `deno task start` as a real child process.
 */

import assert from "node:assert/strict";
import { Client, StdioClientTransport } from "./sdk.ts";
import {
  FIXTURE_TOOLS,
  projectCopy,
  ROOT,
  serverArgs,
  tempDir,
} from "./spawn.ts";

interface Connected {
  client: Client;
  stderr: () => string;
  waitForStderr: (pattern: RegExp) => Promise<void>;
  [Symbol.asyncDispose]: () => Promise<void>;
}

/** Spawns the server the way a client's config would and connects the SDK client to it. */
async function connect(args: string[], cwd = ROOT): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args,
    cwd,
    env: Deno.env.toObject(),
    stderr: "pipe",
  });
  let stderr = "";
  const waiters: Array<() => void> = [];
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
    for (const wake of waiters.splice(0)) wake();
  });
  const client = new Client({ name: "tooldrop-e2e", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    waitForStderr: async (pattern) => {
      while (!pattern.test(stderr)) {
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    [Symbol.asyncDispose]: () => client.close(),
  };
}

const text = (result: unknown) =>
  ((result as { content: Array<{ text: string }> }).content[0]!).text;

Deno.test("the SDK client lists the tools and calls echo and get_cwd over deno task start", async () => {
  // A copy of tooldrop with the fixture tools in its tools/: the project's own are the user's.
  await using copy = await projectCopy();
  await using server = await connect(["task", "start"], copy.path);
  const { client } = server;
  assert.equal(client.getServerVersion()?.name, "tooldrop");
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t: { name: string }) => t.name), [
    "echo",
    "get_cwd",
  ]);
  assert.deepEqual(tools[0]!.inputSchema, {
    type: "object",
    properties: {
      text: { type: "string", description: "The text to send back" },
    },
    required: ["text"],
  });
  const unicode = "héllo ✓ 😀 \u0000 \n line two";
  assert.equal(
    text(await client.callTool({ name: "echo", arguments: { text: unicode } })),
    unicode,
  );
  // deno task runs in the folder of deno.json, so that is the server's working directory here.
  assert.equal(
    text(await client.callTool({ name: "get_cwd", arguments: {} })),
    copy.path,
  );
  const bad = await client.callTool({ name: "echo", arguments: { text: 42 } });
  assert.equal(bad.isError, true);
  assert.match(text(bad), /text: expected string, received number/);
  assert.equal((await client.ping()).constructor, Object);
});

Deno.test("the SDK client gets 100 concurrent calls answered, each with its own text", async () => {
  await using server = await connect(serverArgs());
  const texts = Array.from(
    { length: 100 },
    (_, i) => `call ${i} `.repeat(i + 1),
  );
  const results = await Promise.all(
    texts.map((t) =>
      server.client.callTool({ name: "echo", arguments: { text: t } })
    ),
  );
  assert.deepEqual(results.map(text), texts);
});

Deno.test("cancelling through the SDK client aborts the tool's signal and the server keeps serving", async () => {
  await using tools = await tempDir({
    "wait.ts": `
      import { defineTool } from "tooldrop";
      export default defineTool({
        description: "Waits until cancelled.",
        run: (_args, ctx) => new Promise((_resolve, reject) => {
          ctx.log("info", "waiting");
          ctx.signal.addEventListener("abort", () => {
            ctx.log("info", "aborted: " + ctx.signal.reason.message);
            reject(ctx.signal.reason);
          });
        }),
      });
    `,
    "echo.ts": await Deno.readTextFile(`${FIXTURE_TOOLS}/echo.ts`),
  });
  await using server = await connect(serverArgs(tools.path));
  const controller = new AbortController();
  const call = server.client.callTool(
    { name: "wait", arguments: {} },
    undefined,
    {
      signal: controller.signal,
    },
  );
  await server.waitForStderr(/\[wait\] waiting/);
  controller.abort("user pressed Esc");
  await assert.rejects(call, /user pressed Esc|AbortError|aborted/i);
  await server.waitForStderr(/\[wait\] aborted: The client cancelled the call/);
  assert.equal(
    text(
      await server.client.callTool({
        name: "echo",
        arguments: { text: "still here" },
      }),
    ),
    "still here",
  );
});

Deno.test("a tool file dropped into tools/ answers a real client with no other change", async () => {
  // A copy of the project, so the real tools/ is not touched.
  const shout = `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Upper-cases text.",
      input: z.object({ text: z.string() }),
      run: ({ text }) => text.toUpperCase(),
    });
  `;
  await using copy = await projectCopy({ "tools/shout.ts": shout });
  const manifestBefore = await Deno.readTextFile(
    `${copy.path}/tools/_manifest.ts`,
  );
  await using server = await connect(["task", "start"], copy.path);
  const { tools } = await server.client.listTools();
  assert.deepEqual(tools.map((t: { name: string }) => t.name), [
    "echo",
    "get_cwd",
    "shout",
  ]);
  assert.equal(
    text(
      await server.client.callTool({
        name: "shout",
        arguments: { text: "hey" },
      }),
    ),
    "HEY",
  );
  assert.equal(
    await Deno.readTextFile(`${copy.path}/tools/_manifest.ts`),
    manifestBefore,
  );
});

Deno.test("started from another folder, the server finds tools/ next to main.ts and reports that folder as its cwd", async () => {
  await using copy = await projectCopy();
  await using elsewhere = await tempDir({
    "tools/decoy.ts": "export default 1;",
  });
  await using server = await connect(
    [
      "run",
      "--no-prompt",
      `--allow-read=.,${copy.path}/src,${copy.path}/tools`, // as `tooldrop install` grants
      `${copy.path}/main.ts`,
    ],
    elsewhere.path,
  );
  const { tools } = await server.client.listTools();
  assert.deepEqual(tools.map((t: { name: string }) => t.name), [
    "echo",
    "get_cwd",
  ]);
  assert.equal(
    text(await server.client.callTool({ name: "get_cwd", arguments: {} })),
    elsewhere.path,
  );
});
