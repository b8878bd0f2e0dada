/**
 * The bounds on a server's workers: pre-warming starts at most MAX_PREWARMED of them, and at most
 * MAX_IDLE_WORKERS run without a call (starting one more stops the least recently called idle
 * one). Each permission set is a worker, so tools that declare different env variables stand in
 * for a folder with many permission sets.
 */

import assert from "node:assert/strict";
import { loadToolDir } from "../src/loading/discover.ts";
import {
  MAX_IDLE_WORKERS,
  MAX_PREWARMED,
  WorkerHost,
} from "../src/loading/worker/host.ts";
import { quietContext } from "./wire.ts";
import { ToolSet } from "../src/tool/served.ts";
import { Logger } from "../src/util/log.ts";
import { tempDir } from "./spawn.ts";

/** `count` tools, each declaring its own env variable (so each is its own worker). */
function tools(count: number): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `t${i}.ts`,
      `let calls = 0;
export default {
  description: "Counts its calls in its worker.",
  permissions: { env: ["TOOLDROP_TEST_${i}"] },
  run: () => String(++calls),
};
`,
    ]),
  );
}

/** A host over `count` such tools; disposing closes it and removes the folder. */
async function hosted(count: number) {
  const dir = await tempDir(tools(count));
  const log = new Logger({ level: "error", write: () => {} });
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({ toolsDir, log });
  const loaded = await loadToolDir(toolsDir, {
    attach: (tool, file) => host.attach(tool, file),
  });
  assert.deepEqual(loaded.errors, []);
  const set = new ToolSet(loaded.tools);
  return {
    host,
    /** The text of a call of tool `i`. */
    async call(i: number): Promise<string> {
      const result = await set.get(`t${i}`)!.remote!.run({}, quietContext());
      const block = result.content[0];
      return block?.type === "text" ? block.text : JSON.stringify(result);
    },
    async [Symbol.asyncDispose]() {
      host.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("pre-warming starts at most MAX_PREWARMED workers", async () => {
  await using server = await hosted(MAX_PREWARMED + 3);
  assert.equal(server.host.prewarm(), MAX_PREWARMED);
  assert.equal(server.host.liveWorkers, MAX_PREWARMED);
  // A second pre-warm adds none: the bound counts running workers.
  assert.equal(server.host.prewarm(), 0);
  // The others start at their first call.
  assert.equal(await server.call(MAX_PREWARMED + 2), "1");
  assert.equal(server.host.liveWorkers, MAX_PREWARMED + 1);
});

Deno.test("starting a worker while MAX_IDLE_WORKERS sit idle stops the least recently called one", async () => {
  await using server = await hosted(MAX_IDLE_WORKERS + 1);
  for (let i = 0; i < MAX_IDLE_WORKERS; i++) {
    assert.equal(await server.call(i), "1");
  }
  assert.equal(server.host.liveWorkers, MAX_IDLE_WORKERS);
  // Tool 0 is called again: tool 1's worker is now the least recently called.
  assert.equal(await server.call(0), "2");
  assert.equal(await server.call(MAX_IDLE_WORKERS), "1");
  assert.equal(server.host.liveWorkers, MAX_IDLE_WORKERS);
  assert.equal(server.host.startedWorkers, MAX_IDLE_WORKERS + 1);
  // Tool 0 kept its worker (its count goes on); tool 1's was stopped (its count starts again).
  assert.equal(await server.call(0), "3");
  assert.equal(await server.call(1), "1");
});
