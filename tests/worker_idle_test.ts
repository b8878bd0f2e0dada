/**
 * Idle workers give their memory back: a tool's worker that has had no call for
 * TOOLDROP_WORKER_IDLE_MS (default 5 minutes) stops, and the next call starts a new one.
 */

import assert from "node:assert/strict";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { ServerProcess, tempDir } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";
import { EARLY_FILES, writeListing } from "../src/loading/listing.ts";
import { Logger } from "../src/util/log.ts";

/** A tool that counts its calls in its worker's memory. */
const COUNTER = `
import { z } from "zod";
import { defineTool } from "tooldrop";
let calls = 0;
export default defineTool({
  description: "Counts its calls.",
  input: z.object({}),
  run: () => String(++calls),
});
`;

/** A server over `path` whose workers idle out after 300 ms, past its tools/list (id 2). */
async function listed(path: string): Promise<ServerProcess> {
  const server = new ServerProcess(
    [
      // The process reads the knob only where it may (as TOOLDROP_LOAD_TIMEOUT_MS).
      ...isolatedArgs(path, []).map((flag) =>
        flag.startsWith("--allow-env=")
          ? `${flag},TOOLDROP_WORKER_IDLE_MS`
          : flag
      ),
      "--log-level",
      "debug",
    ],
    { env: { TOOLDROP_WORKER_IDLE_MS: "300" } },
  );
  await server.send(initialize(1), initialized(), listTools(2));
  await server.reply(2);
  return server;
}

Deno.test("a worker idle for TOOLDROP_WORKER_IDLE_MS stops, and the next call runs in a new one", async () => {
  await using dir = await tempDir({ "counter.ts": COUNTER });
  const server = await listed(dir.path);
  const text = async (id: number) => {
    await server.send(call(id, "counter", {}));
    const { result } = await server.reply(id) as {
      result: { content: { text: string }[] };
    };
    return result.content[0]!.text;
  };
  // Two calls in a row share the worker (its module state counts both).
  assert.equal(await text(3), "1");
  assert.equal(await text(4), "2");
  await server.stderr.waitFor(
    /The worker of "[^"]*counter\.ts" ended \(idle\)/,
  );
  // A new worker: the module is evaluated again.
  assert.equal(await text(5), "1");
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

Deno.test("a pre-warmed worker that gets no call stops after TOOLDROP_WORKER_IDLE_MS, and a later call starts a new one", async () => {
  await using dir = await tempDir({ "counter.ts": COUNTER });
  const server = await listed(dir.path);
  // Started after tools/list, before any call; it stops with none.
  await server.stderr.waitFor(/Pre-warming 1 worker\(s\)/);
  await server.stderr.waitFor(
    /The worker of "[^"]*counter\.ts" ended \(idle\)/,
  );
  await server.send(call(3, "counter", {}));
  const { result } = await server.reply(3) as {
    result: { content: { text: string }[] };
  };
  assert.equal(result.content[0]!.text, "1");
  assert.equal(
    server.stderr.text.match(/Started a worker for/g)?.length,
    2,
    server.stderr.text,
  );
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

Deno.test("a large folder's worker, started before the tools/list reply, stops after TOOLDROP_WORKER_IDLE_MS without a call", async () => {
  // Its idle clock starts after the first replies (no timer on the way to tools/list), and it
  // still runs out when no call comes.
  const files: Record<string, string> = {};
  for (let i = 0; i < EARLY_FILES; i++) {
    files[`c${String(i).padStart(3, "0")}.ts`] = COUNTER;
  }
  await using dir = await tempDir(files);
  await writeListing(new URL(`file://${dir.path}/`), {
    log: new Logger({ level: "error", write: () => {} }),
  });
  const server = await listed(dir.path);
  // Logged before the tools/list reply, but stderr is read apart from stdout.
  await server.stderr.waitFor(/Started 1 worker\(s\) early/);
  await server.stderr.waitFor(/The worker of "[^"]*c000\.ts".* ended \(idle\)/);
  assert.equal(
    server.stderr.text.match(/Started a worker for/g)?.length,
    1,
    server.stderr.text,
  );
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});
