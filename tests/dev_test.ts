/**
 * `deno task dev` end to end. On a copy of the project: tools reload in place, server code
 * changes restart the server without the client losing its session, a broken server is
 * reported to requests until it is fixed, the manifest follows the tools folder, and a request
 * that comes during a restart gets exactly one reply. In this process, over a stand-in child
 * that lets a test hold a reply or a start exactly (no sleeps): an initialize a restart catches
 * unanswered gets its reply, and a restart asked for during the first start waits for it.
 * Over 300 lines because both harnesses drive the same supervisor and belong together.
 */

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import {
  devSession,
  FIXTURE_TOOLS,
  projectCopy,
  ServerProcess,
  tempDir,
} from "./spawn.ts";
import { Collector, deferred, fakeIo } from "./wire.ts";
import {
  call,
  initialize,
  initialized,
  jsonLines,
  listTools,
  ping,
  request,
} from "./requests.ts";
import { runDev } from "../src/cli/dev/mod.ts";
import { parseArgs } from "../src/cli/options.ts";

const SLOW = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Waits a long time.",
  input: z.object({}),
  run: (_args, ctx) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve("late"), 30_000);
    ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  }),
});
`;

// Blocks its whole server (no reply, no exit) until the supervisor kills it after its grace.
const STUCK = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Blocks the server.",
  input: z.object({}),
  run: () => {
    Deno.stderr.writeSync(new TextEncoder().encode("stuck: blocking\\n"));
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000);
    return "late";
  },
});
`;

Deno.test("dev: tools reload in place; server code restarts it and the session survives", async () => {
  await using project = await projectCopy({ "tools/slow.ts": SLOW });
  const devArgs = denoJson.tasks.dev.split(" ").slice(1);
  const server = new ServerProcess(
    devArgs.map((a) => (a === "main.ts" ? `${project.path}/main.ts` : a)),
    { cwd: project.path },
  );
  await server.send(initialize(1, "2025-06-18"));
  assert.equal(
    ((await server.reply(1)).result as { protocolVersion: string })
      .protocolVersion,
    "2025-06-18",
  );
  await server.send(initialized(), listTools(2));
  await server.reply(2);

  // A call in flight when server code changes is answered, and the client is told to re-list.
  await server.send(call(3, "slow", {}));
  await server.stderr.waitFor(/serving 3 tool\(s\)/);
  await Deno.writeTextFile(
    `${project.path}/src/server/protocol.ts`,
    "\n// edited\n",
    { append: true },
  );
  const slow = (await server.reply(3)).result as { isError: boolean };
  assert.equal(slow.isError, true);
  await server.stderr.waitFor(
    /src\/server\/protocol.ts changed; restarting the server/,
  );
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  await server.send(call(4, "echo", { text: "still here" }));
  assert.deepEqual((await server.reply(4)).result, {
    content: [{ type: "text", text: "still here" }],
  });
  // The replayed handshake is not passed on: the client sees one initialize reply.
  assert.equal(
    server.stdout.lines.filter((l) => l.includes('"protocolVersion"')).length,
    1,
  );

  // A new tool file is served without a restart, and the manifest follows the folder.
  await Deno.writeTextFile(
    `${project.path}/tools/greet.ts`,
    (await Deno.readTextFile(`${FIXTURE_TOOLS}/echo.ts`)).replace(
      "Echo",
      "Greet",
    ),
  );
  await server.stderr.waitFor(/Loaded tool "greet"/);
  await server.stderr.waitFor(/dev: updated tools\/_manifest.ts/);
  assert.match(
    await Deno.readTextFile(`${project.path}/tools/_manifest.ts`),
    /"greet.ts"/,
  );

  // Server code that does not even load: requests get an error that says so, until fixed.
  const good = await Deno.readTextFile(
    `${project.path}/src/server/protocol.ts`,
  );
  await Deno.writeTextFile(
    `${project.path}/src/server/protocol.ts`,
    `${good}\n}}}`,
  );
  await server.stderr.waitFor(/the server exited \(code 1\)/);
  await server.send(ping(5));
  const down = (await server.reply(5)).error as { message: string };
  assert.match(down.message, /the server is not running/);
  await Deno.writeTextFile(`${project.path}/src/server/protocol.ts`, good);
  await server.stderr.waitFor(/(?:dev: serving[^]*){4}/);
  await server.send(ping(6));
  assert.deepEqual((await server.reply(6)).result, {});

  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

/** A tool whose description and reply are its helper's word; it counts its calls. */
const SAY = `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { permissions, word } from "./_word.ts";
let calls = 0;
export default defineTool({
  description: "Says " + word + ".",
  input: z.object({}),
  permissions,
  run: () =>
    word + " " + ++calls + (permissions ? " " + Deno.env.get("TOOLDROP_TEST_WORD") : ""),
});
`;

/** The helper: the word, and the permissions it makes the tool declare. */
const word = (text: string, permissions?: unknown) =>
  `export const word = ${JSON.stringify(text)};
export const permissions = ${JSON.stringify(permissions)};
`;

Deno.test("dev: a helper change reloads the tools that import it in the same server (the client sees the new description, the listing cache follows), unless they need new permissions", async () => {
  await using project = await projectCopy({
    "tools/say.ts": SAY,
    "tools/_word.ts": word("one"),
  });
  const devArgs = denoJson.tasks.dev.split(" ").slice(1);
  const server = new ServerProcess(
    [
      ...devArgs.map((a) => (a === "main.ts" ? `${project.path}/main.ts` : a)),
      "--log-level",
      "debug",
    ],
    { cwd: project.path, env: { TOOLDROP_TEST_WORD: "granted" } },
  );
  await server.send(initialize(1), initialized(), listTools(2));
  await server.reply(2);
  await server.stderr.waitFor(/serving 3 tool\(s\)/);
  await server.send(call(4, "say", {}));
  assert.deepEqual((await server.reply(4)).result, {
    content: [{ type: "text", text: "one 1" }],
  });

  const saved = performance.now();
  await Deno.writeTextFile(`${project.path}/tools/_word.ts`, word("two"));
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  const ms = performance.now() - saved;
  await server.send(listTools(5), call(6, "say", {}));
  const list = (await server.reply(5)).result as {
    tools: { name: string; description: string }[];
  };
  assert.equal(
    list.tools.find((t) => t.name === "say")?.description,
    "Says two.",
  );
  assert.deepEqual((await server.reply(6)).result, {
    content: [{ type: "text", text: "two 1" }],
  });
  // The same server: no restart, and the listing cache has the new description once quiet.
  await server.stderr.waitFor(/dev: updated tools\/\.listing\.json/);
  const cache = JSON.parse(
    await Deno.readTextFile(`${project.path}/tools/.listing.json`),
  );
  assert.equal(cache.tools["say.ts"]?.descriptor.description, "Says two.");
  assert.equal(server.stderr.text.match(/dev: serving/g)?.length, 1);
  assert.doesNotMatch(server.stderr.text, /restarting the server/);

  // A helper change that makes the tool need a permission the server lacks restarts it, with it.
  await Deno.writeTextFile(
    `${project.path}/tools/_word.ts`,
    word("three", { env: ["TOOLDROP_TEST_WORD"] }),
  );
  await server.stderr.waitFor(
    /tools\/say\.ts needs more permissions: restarting the server/,
  );
  await server.stderr.waitFor(/(?:dev: serving[^]*){2}/);
  await server.send(call(7, "say", {}));
  assert.deepEqual((await server.reply(7)).result, {
    content: [{ type: "text", text: "three 1 granted" }],
  });
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
  // deno-lint-ignore no-console
  console.log(`  helper saved → list_changed (dev): ${ms.toFixed(0)} ms`);
});

/** A tool that spins in a loop, so its worker is terminated with its thread still busy. */
const SPIN = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Spins forever.",
  input: z.object({}),
  timeoutMs: 200,
  run: () => {
    while (true) {}
  },
});
`;

Deno.test("dev: a worker terminated while stuck in a loop restarts the server (ending the thread that spins) once no call is in flight", async () => {
  await using project = await projectCopy({ "tools/spin.ts": SPIN });
  const server = await devSession(project.path);
  await server.send(call(2, "spin", {}));
  assert.deepEqual((await server.reply(2)).result, {
    content: [{
      type: "text",
      text: 'Tool "spin" timed out after 200 ms and was stopped',
    }],
    isError: true,
  });
  await server.stderr.waitFor(
    /stuck in a loop and keeps a CPU core busy: restarting the server/,
  );
  await server.stderr.waitFor(/(?:dev: serving[^]*){2}/);
  await server.send(call(3, "echo", { text: "after" }));
  assert.deepEqual((await server.reply(3)).result, {
    content: [{ type: "text", text: "after" }],
  });
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

Deno.test("dev: a request that comes while a restart ends the old server gets one reply, from the new one", async () => {
  await using project = await projectCopy({ "tools/stuck.ts": STUCK });
  const server = await devSession(project.path);
  // A call that blocks its worker: the old server ends it after its stop grace and answers it
  // itself, while the supervisor waits for that server to end.
  await server.send(call(2, "stuck", {}));
  await server.stderr.waitFor(/stuck: blocking/);
  await Deno.writeTextFile(
    `${project.path}/src/server/protocol.ts`,
    "\n// edited\n",
    { append: true },
  );
  // Logged as the restart begins, before the old server is asked to end: what is sent now is
  // read while the supervisor waits out that server's 2 s grace.
  await server.stderr.waitFor(/protocol.ts changed; restarting the server/);
  await server.send(call(3, "echo", { text: "once" }), ping(4));

  assert.deepEqual((await server.reply(2)).result, {
    content: [{
      type: "text",
      text: 'Tool "stuck" was stopped: the server is shutting down',
    }],
    isError: true,
  });
  assert.deepEqual((await server.reply(3)).result, {
    content: [{ type: "text", text: "once" }],
  });
  assert.deepEqual((await server.reply(4)).result, {});
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
  for (const id of [1, 2, 3, 4]) {
    const replies = server.stdout.lines.filter((line) =>
      line.startsWith(`{"jsonrpc":"2.0","id":${id},`)
    );
    assert.equal(replies.length, 1, `replies to ${id}:\n${replies.join("\n")}`);
  }
});

// A stand-in for the server child: says when it starts and ends, and answers each request with
// {}, except an initialize until src/answer.ts exists: that one it only says it holds.
const FAKE_CHILD = `
const encoder = new TextEncoder();
const say = (message) => Deno.stdout.writeSync(encoder.encode(JSON.stringify(message) + "\\n"));
const answering = () => {
  try {
    return Deno.statSync(new URL("./src/answer.ts", import.meta.url)).isFile;
  } catch {
    return false;
  }
};
say({ jsonrpc: "2.0", method: "test/started" });
let text = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  text += chunk;
  for (let end = text.indexOf("\\n"); end >= 0; end = text.indexOf("\\n")) {
    const { id, method } = JSON.parse(text.slice(0, end));
    text = text.slice(end + 1);
    if (id === undefined) continue;
    if (method === "initialize" && !answering()) {
      say({ jsonrpc: "2.0", method: "test/held", params: { id } });
    } else say({ jsonrpc: "2.0", id, result: {} });
  }
}
say({ jsonrpc: "2.0", method: "test/ended" });
`;

/** A project whose main.ts is the stand-in child, with `files` besides. */
function fakeProject(files: Record<string, string> = {}) {
  return tempDir({
    "main.ts": FAKE_CHILD,
    "deno.json": `{ "lock": false }`,
    "tools/.keep": "",
    "src/.keep": "",
    ...files,
  });
}

/**
 * The dev supervisor run in this process on `project`, with the test as its client; `onLog`
 * sees each log line as it is written, in the same turn.
 */
function supervise(
  project: string,
  onLog?: (text: string) => void,
  args: string[] = ["dev"],
) {
  const encoder = new TextEncoder();
  const logged = new Collector();
  const log = logged.writable.getWriter();
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const client = input.writable.getWriter();
  const { io, out } = fakeIo(args, {}, {
    entry: new URL(`file://${project}/main.ts`),
    toolsDir: new URL(`file://${project}/tools/`),
    stdin: input.readable,
    stderr: (text) => {
      onLog?.(text);
      void log.write(encoder.encode(text));
    },
  });
  const exit = runDev(io, parseArgs(args));
  return {
    out,
    logged,
    send: (...messages: unknown[]) =>
      client.write(encoder.encode(jsonLines(...messages))),
    /** Resolves once `tap` has written a line matching `pattern`, `times` times. */
    async until(tap: Collector, pattern: RegExp, times = 1): Promise<void> {
      while (tap.lines.filter((line) => pattern.test(line)).length < times) {
        await tap.line(tap.lines.length);
      }
    },
    /** Ends the client's input; resolves to the supervisor's exit code. */
    async close(): Promise<number> {
      await client.close();
      return await exit;
    },
  };
}

Deno.test("dev: an initialize a restart catches unanswered gets its one reply, from the new server", async () => {
  await using project = await fakeProject();
  const dev = supervise(project.path);
  await dev.send(initialize(1, "2025-06-18"));
  await dev.until(dev.out, /test\/held/);
  // Server code, and the new server answers initialize.
  await Deno.writeTextFile(`${project.path}/src/answer.ts`, "export {};\n");
  await dev.until(dev.logged, /dev: serving/, 2);
  await dev.send(ping(2));
  await dev.until(dev.out, /"id":2,/);
  assert.equal(await dev.close(), 0);
  assert.deepEqual(dev.out.lines, [
    `{"jsonrpc":"2.0","method":"test/started"}`,
    `{"jsonrpc":"2.0","method":"test/held","params":{"id":1}}`,
    `{"jsonrpc":"2.0","method":"test/ended"}`,
    `{"jsonrpc":"2.0","method":"test/started"}`,
    `{"jsonrpc":"2.0","id":1,"result":{}}`,
    `{"jsonrpc":"2.0","id":2,"result":{}}`,
    `{"jsonrpc":"2.0","method":"test/ended"}`,
  ]);
});

/** The channel between the test and the tool below: a probe worker shares no globals with it. */
const HOLD = "tooldrop-dev-test-hold";

// Imported in the supervisor's probe worker (in this process) as each start reads the tools'
// permissions: it says so on the channel and waits there until the test lets it go.
const HOLDING_TOOL = `
const channel = new BroadcastChannel(${JSON.stringify(HOLD)});
channel.postMessage("reached");
await new Promise((resolve) => {
  channel.onmessage = (event) => event.data === "release" && resolve();
});
channel.close();
export default {};
`;

Deno.test("dev: a restart asked for during the first start waits for it: one server at a time, each ended", async () => {
  await using project = await fakeProject({ "tools/hold.ts": HOLDING_TOOL });
  const reached = deferred();
  let released = false;
  const channel = new BroadcastChannel(HOLD);
  const release = () => {
    released = true;
    channel.postMessage("release");
  };
  // The first start is held until released; later ones (a restart, the listing cache) are not.
  channel.onmessage = (event) => {
    if (event.data !== "reached") return;
    reached.resolve();
    if (released) channel.postMessage("release");
  };
  try {
    const dev = supervise(project.path, (text) => {
      // Logged just before the watcher asks for the restart, in the same turn.
      if (text.includes("dev: updated tools/_manifest.ts")) release();
    });
    await reached.promise;
    // Server code (asks for a restart), then a new tool (renews the manifest, which lets go).
    await Deno.writeTextFile(`${project.path}/lib.ts`, "export {};\n");
    await Deno.writeTextFile(`${project.path}/tools/more.ts`, "export {};\n");
    await dev.until(dev.logged, /dev: serving/, 2);
    await dev.send(ping(1));
    await dev.until(dev.out, /"id":1,/);
    assert.equal(await dev.close(), 0);
    assert.match(dev.logged.text, /lib\.ts changed; restarting the server/);
    assert.deepEqual(dev.out.lines, [
      `{"jsonrpc":"2.0","method":"test/started"}`,
      `{"jsonrpc":"2.0","method":"test/ended"}`,
      `{"jsonrpc":"2.0","method":"test/started"}`,
      `{"jsonrpc":"2.0","id":1,"result":{}}`,
      `{"jsonrpc":"2.0","method":"test/ended"}`,
    ]);
  } finally {
    channel.close();
  }
});

Deno.test("dev: a prompt file added to prompts/ reloads in place and renews the manifest (the binary lists it), with no restart", async () => {
  await using project = await projectCopy({
    "prompts/hello.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({ description: "Says hello.", get: () => "hello" });
`,
  });
  const server = await devSession(project.path);
  await server.stderr.waitFor(/dev: serving/);
  // Once the first load is over: a file written while it runs may be in it already, and the
  // change it makes then is none (no list_changed), which a loaded machine showed.
  await server.send(request(2, "prompts/list"));
  assert.match(JSON.stringify(await server.reply(2)), /"name":"hello"/);
  await Deno.writeTextFile(
    `${project.path}/prompts/bye.ts`,
    `import { definePrompt } from "tooldrop";
export default definePrompt({ description: "Says bye.", get: () => "bye" });
`,
  );
  await server.stdout.waitFor(/notifications\/prompts\/list_changed/);
  await server.stderr.waitFor(/dev: updated tools\/_manifest.ts/);
  const manifest = await Deno.readTextFile(
    `${project.path}/tools/_manifest.ts`,
  );
  assert.match(manifest, /"\.\.\/prompts\/bye\.ts"/);
  assert.match(manifest, /"\.\.\/prompts\/hello\.ts"/);
  assert.equal(server.stderr.text.match(/dev: serving/g)?.length, 1);
  assert.doesNotMatch(server.stderr.text, /restarting the server/);
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});
