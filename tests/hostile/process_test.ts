/**
 * The server as a real process under hostile conditions (issue 12, items 1, 4-8): a flood of
 * pending calls, tools that reach for stdout every way they can, replies at shutdown, a client
 * that reads neither stdout nor stderr, and memory where memory is the point.
 */

import assert from "node:assert/strict";
import { call, initialize, listTools, ping, setLevel } from "../requests.ts";
import { serverArgs, ServerProcess, tempDir } from "../spawn.ts";

/** Peak resident memory of `server` so far, in MiB (Linux); undefined elsewhere. */
function peakRssMiB(server: ServerProcess): number | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${server.child.pid}/status`);
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return kb / 1024;
  } catch {
    return undefined;
  }
}

/** Reads the peak memory of `server` so far, stops it with SIGTERM, then asserts the peak. */
async function stopAndAssertPeak(
  server: ServerProcess,
  boundMiB: number,
): Promise<void> {
  const peak = peakRssMiB(server);
  server.child.kill("SIGTERM");
  await server.closeStdin();
  await server.exit(10_000);
  if (peak === undefined) return skip("no /proc here to read RSS");
  assert.ok(peak < boundMiB, `peak RSS ${peak.toFixed(0)} MiB`);
}

const TOOLS = {
  "nap.ts": `
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Sleeps 10 ms.",
      run: () => new Promise((resolve) => setTimeout(() => resolve("rested"), 10)),
    });`,
  "big.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Returns that many characters, after a turn of the event loop.",
      input: z.object({ chars: z.number() }),
      // A flat string: "x".repeat() would build a rope of a few nodes that takes no memory.
      run: async ({ chars }) => {
        await new Promise((r) => setTimeout(r, 1));
        return new TextDecoder().decode(new Uint8Array(chars).fill(120));
      },
    });`,
  "chatty.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Logs that many debug messages.",
      input: z.object({ times: z.number() }),
      run: async ({ times }, ctx) => {
        for (let i = 0; i < times; i++) {
          ctx.log("debug", "a debug message from a tool that logs far too much: " + i);
          if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 0));
        }
        ctx.log("warning", "chatty is done");
        return "said it all";
      },
    });`,
};

const INITIALIZE = initialize(0);

/** One clear line for a check this platform cannot make. */
function skip(why: string): void {
  // deno-lint-ignore no-console
  console.log(`SKIP: ${why}`);
}
const PING = ping("ping");

Deno.test("2,000 pending calls pause reading without spinning: all are answered, then a ping", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new ServerProcess(serverArgs(tools.path));
  const calls = Array.from({ length: 2000 }, (_, id) => call(id + 1, "nap"));
  await server.send(...calls, PING);
  await server.stdout.waitFor(/^(?:.*\n){2001}/, 60_000);
  const ids = new Set(server.stdout.lines.map((l) => JSON.parse(l).id));
  assert.equal(ids.size, 2001);
  await server.closeStdin();
  assert.equal((await server.exit(10_000)).code, 0);
});

const STDOUT_ROUTES = `
  import process from "node:process";
  import { stdout as namedStdout } from "node:process";
  import fs from "node:fs";
  import { defineTool } from "tooldrop";
  const captured = process.stdout;
  function everyRoute(when) {
    captured.write("captured process.stdout " + when + "\\n");
    namedStdout.write("node:process stdout " + when + "\\n");
    process.stdout.write("process.stdout " + when + "\\n");
    fs.writeSync(1, "fs.writeSync(1) " + when + "\\n");
    fs.write(1, "fs.write(1) " + when + "\\n", () => {});
    fs.createWriteStream("", { fd: 1, autoClose: false }).write("createWriteStream fd 1 " + when + "\\n");
    Deno.stdout.writeSync(new TextEncoder().encode("Deno.stdout " + when + "\\n"));
    console.log("console.log " + when);
  }
  everyRoute("at import");
  export default defineTool({
    description: "Writes to stdout every way it can.",
    run: async () => {
      everyRoute("in run");
      await new Promise((r) => setTimeout(r, 20));
      return "done";
    },
  });
`;

for (const mode of ["start", "serve --watch"]) {
  Deno.test(`under ${mode}, no route a tool takes to stdout reaches the protocol stream`, async () => {
    await using tools = await tempDir({ "noisy.ts": STDOUT_ROUTES });
    const args = serverArgs(tools.path);
    if (mode !== "start") args.push(...mode.split(" "));
    const server = new ServerProcess(args);
    await server.send(INITIALIZE, call(1, "noisy"));
    await server.stdout.waitFor(/"id":1,/);
    await server.stderr.waitFor(/createWriteStream fd 1 in run/);
    await server.send(PING);
    await server.stdout.waitFor(/"id":"ping"/);
    await server.closeStdin();
    assert.equal((await server.exit(10_000)).code, 0);
    for (const line of server.stdout.lines) {
      assert.doesNotThrow(() => JSON.parse(line), `not protocol: ${line}`);
    }
    for (
      const route of [
        "captured process.stdout",
        "node:process stdout",
        "fs.writeSync(1)",
        "fs.write(1)",
        "createWriteStream fd 1",
        "Deno.stdout",
        "console.log",
      ]
    ) {
      assert.ok(
        server.stderr.text.includes(`${route} at import`) &&
          server.stderr.text.includes(`${route} in run`),
        `${route} did not land on stderr:\n${server.stderr.text}`,
      );
    }
  });
}

Deno.test("five 2 MB replies to calls made just before EOF all arrive whole", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new ServerProcess(serverArgs(tools.path));
  await server.send(
    ...[1, 2, 3, 4, 5].map((id) => call(id, "big", { chars: 2_000_000 })),
  );
  await server.closeStdin();
  assert.equal((await server.exit(20_000)).code, 0);
  const { text } = server.stdout;
  assert.ok(text.endsWith("\n"), "stdout ends inside a line");
  const replies = server.stdout.lines.map((l) => JSON.parse(l));
  assert.deepEqual(replies.map((r) => r.id).sort(), [1, 2, 3, 4, 5]);
  for (const reply of replies) {
    assert.equal(reply.result.content[0].text.length, 2_000_000);
  }
});

/** A server whose stdout nobody reads yet, once its tool has returned `chars` characters. */
async function unreadReply(
  toolsPath: string,
  chars: number,
): Promise<ServerProcess> {
  const server = new ServerProcess(
    [...serverArgs(toolsPath), "--log-level", "debug"],
    { unread: ["stdout"] },
  );
  await server.send(call(1, "big", { chars }));
  await server.stderr.waitFor(/call "big" ok/);
  return server;
}

Deno.test("a client that starts reading 0.6 s after EOF still gets its 200 KB reply", async () => {
  await using tools = await tempDir(TOOLS);
  // The reply is on its way: 64 KiB of it fill the pipe, the rest waits for the client.
  const server = await unreadReply(tools.path, 200_000);
  await server.closeStdin();
  // The scenario itself, not synchronization: the client is late to read.
  await new Promise((resolve) => setTimeout(resolve, 600));
  const stdout = server.stdout;
  assert.equal((await server.exit(20_000)).code, 0);
  assert.equal(stdout.lines.length, 1);
  assert.equal(
    JSON.parse(stdout.lines[0]!).result.content[0].text.length,
    200_000,
  );
});

Deno.test("SIGTERM ends the process while a 2 MB reply waits for a client that does not read", async () => {
  await using tools = await tempDir(TOOLS);
  const server = await unreadReply(tools.path, 2_000_000);
  // Reading pauses behind the 2 MB nobody reads.
  await server.send(PING);
  server.child.kill("SIGTERM");
  assert.equal((await server.exit(5_000)).code, 0);
  await server.closeStdin().catch(() => {}); // the reader is gone
});

Deno.test("SIGTERM ends the process while a tool module's top-level await never settles", async () => {
  await using tools = await tempDir({
    "stuck.ts": `await new Promise(() => {}); export default {};`,
  });
  const server = new ServerProcess(serverArgs(tools.path));
  await server.send(INITIALIZE, listTools(1));
  await server.stdout.waitFor(/"id":0,/);
  server.child.kill("SIGTERM");
  // Well before the 10 s load timeout: the signal does not wait for the load.
  await server.exit(5_000);
});

Deno.test("300 calls returning 2 MB each to a client that does not read keep the server's memory bounded", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new ServerProcess(serverArgs(tools.path), {
    unread: ["stdout"],
  });
  await server.send(
    ...Array.from(
      { length: 300 },
      (_, i) => call(i, "big", { chars: 2_000_000 }),
    ),
  );
  // The window in which the unbounded server grew past 1 GiB.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  // 64 calls at once × 2 MB, plus the runtime: well under this bound.
  await stopAndAssertPeak(server, 400);
});

Deno.test("a tool logging a million debug messages to a client that does not read keeps memory bounded", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new ServerProcess(serverArgs(tools.path), {
    unread: ["stdout"],
  });
  await server.send(
    INITIALIZE,
    setLevel(1, "debug"),
    call(2, "chatty", { times: 1_000_000 }),
  );
  await server.stderr.waitFor(/chatty is done/, 60_000);
  await stopAndAssertPeak(server, 250);
});

Deno.test("a client that never reads stderr does not block serving: 1,000 initializes and a ping are answered", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new ServerProcess(serverArgs(tools.path), {
    unread: ["stderr"],
  });
  await server.send(
    ...Array.from({ length: 1000 }, (_, id) => initialize(id)),
    PING,
  );
  await server.stdout.waitFor(/"id":"ping"/, 30_000);
  assert.equal(server.stdout.lines.length, 1001);
  await server.closeStdin();
  assert.equal((await server.exit(10_000)).code, 0);
});
