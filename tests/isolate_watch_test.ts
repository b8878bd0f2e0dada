/**
 * `serve --watch --isolate` and pre-warming, at the wire: a saved tool file answers with its new
 * code on the next call from a new worker (the old one ends), a helper change restarts the
 * workers, list_changed still arrives, and a tool's worker starts before its first call.
 */

import assert from "node:assert/strict";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { ServerProcess, tempDir } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";

/** A tool that replies its version, its helper's value, and whether it runs in a worker. */
const tool = (version: string) => `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { helper } from "./_helper.ts";
export default defineTool({
  description: "Replies its version.",
  input: z.object({}),
  run: () => ${
  JSON.stringify(version)
} + " " + helper + " " + typeof WorkerGlobalScope,
});
`;

const helper = (value: string) =>
  `export const helper = ${JSON.stringify(value)};\n`;

/** Starts `serve --isolate` (with `more` arguments) over `files`, logging at debug. */
async function serving(files: Record<string, string>, more: string[] = []) {
  const dir = await tempDir(files);
  const server = new ServerProcess([
    ...isolatedArgs(dir.path, []),
    "--log-level",
    "debug",
    ...more,
  ]);
  await server.send(initialize(1), initialized(), listTools(2));
  await server.reply(2);
  return {
    server,
    path: dir.path,
    /** The text of call `id` of tool `name`. */
    async call(id: number, name: string): Promise<string> {
      await server.send(call(id, name, {}));
      const { result } = await server.reply(id) as {
        result: { content: { text: string }[] };
      };
      return result.content.map((block) => block.text).join("");
    },
    async [Symbol.asyncDispose]() {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // it has exited already
      }
      await server.child.status;
      await server.closeStdin().catch(() => {});
      await Promise.all([server.stdout.done, server.stderr.done]);
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** How many times `pattern` occurs in `text`. */
function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern, "g"))?.length ?? 0;
}

Deno.test("serve --watch --isolate: a saved tool runs its new code in a new worker, and a helper change restarts the workers", async () => {
  await using running = await serving({
    "a.ts": tool("v1"),
    "_helper.ts": helper("h1"),
  }, ["--watch"]);
  const { server, path } = running;
  await server.stderr.waitFor(/Pre-warming 1 worker\(s\)/);
  assert.equal(await running.call(3, "a"), "v1 h1 function");

  const saved = performance.now();
  await Deno.writeTextFile(`${path}/a.ts`, tool("v2"));
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  const ms = performance.now() - saved;
  await server.stderr.waitFor(/Reloaded tool "a"/);
  assert.match(server.stderr.text, /The worker of "[^"]*a\.ts" ended \(idle\)/);
  assert.equal(await running.call(4, "a"), "v2 h1 function");

  await Deno.writeTextFile(`${path}/_helper.ts`, helper("h2"));
  await server.stderr.waitFor(
    /_helper\.ts changed: restarted the tools' workers \(1 running\)/,
  );
  assert.equal(await running.call(5, "a"), "v2 h2 function");
  const log = server.stderr.text;
  assert.ok(count(log, /ended \(idle\)/) >= 2, "at least one per change");
  assert.equal(
    count(log, /Started a worker/) - count(log, /ended \(idle\)/),
    1,
    "one worker left: every one replaced has ended",
  );
  await server.closeStdin();
  assert.equal((await server.child.status).code, 0);
  // deno-lint-ignore no-console
  console.log(`  saved → list_changed: ${ms.toFixed(0)} ms`);
});

Deno.test("serve --isolate: after tools/list the tools' worker starts before the first call, which uses it", async () => {
  await using running = await serving({
    "a.ts": tool("v1"),
    "_helper.ts": helper("h1"),
  });
  const { server } = running;
  await server.stderr.waitFor(/Pre-warming 1 worker\(s\)/);
  assert.match(server.stderr.text, /Started a worker for "[^"]*a\.ts"/);
  assert.equal(await running.call(3, "a"), "v1 h1 function");
  assert.equal(count(server.stderr.text, /Started a worker/), 1);
  await server.closeStdin();
  assert.equal((await server.child.status).code, 0);
});
