/**
 * End-to-end: the server as a real process — what reaches stdout, EOF, signals and a closed pipe.
 */

import assert from "node:assert/strict";
import { call, initialize, listTools, ping } from "./requests.ts";
import {
  DENO_WORD,
  projectCopy,
  serverArgs,
  ServerProcess,
  tempDir,
} from "./spawn.ts";

const SLEEPER = `
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Sleeps 30 s and ignores cancellation.",
  timeoutMs: 120_000,
  run: () => {
    console.error("SLEEPING");
    return new Promise((resolve) => setTimeout(() => resolve("woke"), 30_000));
  },
});
`;

/**
 * A server whose SLEEPER call (id 1) is in flight: its tool said it started (a ping answered
 * is not enough: the handshake and ping are answered before the tools load, and on a loaded
 * machine the call may still wait for them).
 */
async function sleepInFlight(toolsPath: string): Promise<ServerProcess> {
  const server = new ServerProcess(serverArgs(toolsPath));
  await server.send(call(1, "sleep"));
  await server.stderr.waitFor(/SLEEPING/);
  await server.send(ping(2));
  await server.reply(2);
  return server;
}

Deno.test("stdout carries only protocol lines while tools print, reject and throw", async () => {
  await using tools = await tempDir({
    "noisy.ts": `
      import process from "node:process";
      import { defineTool } from "tooldrop";
      console.log("printed while importing");
      export default defineTool({
        description: "Misbehaves in every way it can.",
        run: () => {
          console.log("log"); console.info("info"); console.table([{ a: 1 }]); console.dir({ b: 2 });
          console.count(); console.time("t"); console.timeEnd("t"); console.debug("debug");
          Deno.stdout.writeSync(new TextEncoder().encode("raw Deno.stdout write\\n"));
          process.stdout.write("raw process.stdout write\\n");
          Promise.reject(new Error("nobody handles this"));
          setTimeout(() => { throw new Error("thrown from a timer"); }, 0);
          return "done";
        },
      });
    `,
  });
  const server = new ServerProcess(serverArgs(tools.path));
  await server.send(call(1, "noisy"));
  assert.deepEqual(await server.reply(1), {
    jsonrpc: "2.0",
    id: 1,
    result: { content: [{ type: "text", text: "done" }] },
  });
  await server.stderr.waitFor(/thrown from a timer/);
  await server.send(ping(2));
  await server.reply(2);
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
  for (const line of server.stdout.lines) {
    assert.doesNotThrow(() => JSON.parse(line), line);
  }
  assert.equal(server.stdout.lines.length, 2);
  for (
    const text of [
      "printed while importing",
      "raw Deno.stdout write",
      "raw process.stdout write",
      "nobody handles this",
      "the server keeps running",
    ]
  ) {
    assert.ok(
      server.stderr.text.includes(text),
      `stderr lacks "${text}":\n${server.stderr.text}`,
    );
  }
});

Deno.test("at stdin EOF the server stops a call that would take 30 s, replies, and exits 0", async () => {
  await using tools = await tempDir({ "sleep.ts": SLEEPER });
  const server = await sleepInFlight(tools.path);
  await server.closeStdin();
  const { code, ms } = await server.exit();
  assert.equal(code, 0);
  assert.deepEqual(await server.reply(1), {
    jsonrpc: "2.0",
    id: 1,
    result: {
      content: [{
        type: "text",
        text: 'Tool "sleep" was stopped: the server is shutting down',
      }],
      isError: true,
    },
  });
  // deno-lint-ignore no-console -- a figure for the reader of the test log, not an assertion
  console.log(
    `exited ${ms.toFixed(0)} ms after EOF with a 30 s call in flight`,
  );
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`on ${signal} the server stops in-flight calls, replies, and exits 0`, async () => {
    await using tools = await tempDir({ "sleep.ts": SLEEPER });
    const server = await sleepInFlight(tools.path);
    server.child.kill(signal);
    const { code } = await server.exit();
    assert.equal(code, 0);
    assert.match(
      JSON.stringify(await server.reply(1)),
      /the server is shutting down/,
    );
  });
}

Deno.test("when the client closes the server's stdout (EPIPE) it exits 0 without a stack trace", async () => {
  const server = new ServerProcess(serverArgs());
  await server.send(ping(1));
  await server.reply(1);
  await server.stdout.cancel(); // the reading end of the server's stdout goes away
  for (let id = 2; id < 50; id++) {
    try {
      await server.send(ping(id));
    } catch {
      break; // the server is gone and stdin is closed: that is the point
    }
  }
  const { code } = await server.exit();
  assert.equal(code, 0);
  assert.doesNotMatch(server.stderr.text, /Uncaught|error:|\n\s+at /);
  assert.match(server.stderr.text, /the client closed its end of stdout/);
});

Deno.test("without read access to src/, the server answers initialize, names the flag to add and refuses tool requests", async () => {
  await using copy = await projectCopy();
  await using elsewhere = await tempDir({});
  const server = new ServerProcess([
    "run",
    "--no-prompt",
    `--allow-read=.,${copy.path}/tools`, // src/ left out: its modules load when first needed
    `${copy.path}/main.ts`,
  ], { cwd: elsewhere.path });
  // Together: serving stops once the tools fail to load, so a later request would go unread.
  await server.send(initialize(1), listTools(2));
  assert.ok("result" in await server.reply(1));
  const refused = await server.reply(2) as { error?: { code: number } };
  assert.equal(refused.error?.code, -32603);
  await server.closeStdin();
  await server.exit();
  assert.ok(
    server.stderr.text.includes(
      `--allow-read=.,${copy.path}/src,${copy.path}/tools (\`${DENO_WORD} task --config ${copy.path}/deno.json tooldrop install\` registers the server that way)`,
    ),
    server.stderr.text,
  );
  assert.ok(!server.stderr.text.includes("nothing handled it"));
});

Deno.test("the start-up log line names at most 20 tools of a large folder, then how many more", async () => {
  const files: Record<string, string> = {};
  for (let i = 1; i <= 25; i++) {
    files[`t${String(i).padStart(2, "0")}.ts`] = `
import { defineTool } from "tooldrop";
export default defineTool({ description: "Tool ${i}.", run: () => "ok" });
`;
  }
  await using tools = await tempDir(files);
  const server = new ServerProcess(serverArgs(tools.path));
  await server.send(initialize(1), listTools(2));
  await server.reply(2);
  await server.stderr.waitFor(/serving 25 tool\(s\)/);
  const names = Array.from(
    { length: 20 },
    (_, i) => `t${String(i + 1).padStart(2, "0")}`,
  );
  assert.match(
    server.stderr.text,
    new RegExp(
      `serving 25 tool\\(s\\) on stdio: ${names.join(", ")} and 5 more\\n`,
    ),
  );
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});
