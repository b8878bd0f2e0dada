/**
 * `deno task dev` end to end, on a copy of the project: tools reload in place, server code
 * changes restart the server without the client losing its session, a broken server is
 * reported to requests until it is fixed, the manifest follows the tools folder, and a request
 * that comes during a restart gets exactly one reply.
 */

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { projectCopy, ROOT, ServerProcess } from "./spawn.ts";
import { initializeRequest } from "./wire.ts";
import { call, initialize, initialized, ping } from "./requests.ts";

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
  await server.send(initializeRequest(1, "2025-06-18"));
  assert.equal(
    ((await server.reply(1)).result as { protocolVersion: string })
      .protocolVersion,
    "2025-06-18",
  );
  await server.send({ jsonrpc: "2.0", method: "notifications/initialized" });
  await server.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  await server.reply(2);

  // A call in flight when server code changes is answered, and the client is told to re-list.
  await server.send({
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name: "slow", arguments: {} },
  });
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
  await server.send({
    jsonrpc: "2.0",
    id: 4,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "still here" } },
  });
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
    (await Deno.readTextFile(`${ROOT}/tools/echo.ts`)).replace(
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
  await server.send({ jsonrpc: "2.0", id: 5, method: "ping" });
  const down = (await server.reply(5)).error as { message: string };
  assert.match(down.message, /the server is not running/);
  await Deno.writeTextFile(`${project.path}/src/server/protocol.ts`, good);
  await server.stderr.waitFor(/(?:dev: serving[^]*){4}/);
  await server.send({ jsonrpc: "2.0", id: 6, method: "ping" });
  assert.deepEqual((await server.reply(6)).result, {});

  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

Deno.test("dev: a request that comes while a restart ends the old server gets one reply, from the new one", async () => {
  await using project = await projectCopy({ "tools/stuck.ts": STUCK });
  const devArgs = denoJson.tasks.dev.split(" ").slice(1);
  const server = new ServerProcess(
    devArgs.map((a) => (a === "main.ts" ? `${project.path}/main.ts` : a)),
    { cwd: project.path },
  );
  await server.send(initialize(1, "2025-06-18"), initialized());
  await server.reply(1);
  // The old server cannot end by itself: the restart waits out its grace, then kills it.
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
      text:
        "The call did not finish: src/server/protocol.ts changed. The server restarts itself in development; call the tool again.",
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
