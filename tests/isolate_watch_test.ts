/**
 * `serve --watch` and pre-warming, at the wire: a saved tool file answers with its new code on
 * the next call from a new worker (the old one ends) and is never evaluated in the server's
 * thread; a helper change restarts only the workers of the tools that import it (another tool's
 * state survives), with list_changed only when what they list changed; and a tool's worker
 * starts before its first call.
 */

import assert from "node:assert/strict";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { ServerProcess, tempDir } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";

/** What a tool module prints when it is evaluated outside a worker: in the server's thread. */
const MARK = "EVALUATED IN THE SERVER'S THREAD";

/**
 * A tool that replies its version, its helper's value, and whether it runs in a worker; its
 * top-level code prints MARK when it runs outside one.
 */
const tool = (version: string) => `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { helper } from "./_helper.ts";
if (typeof WorkerGlobalScope === "undefined") {
  Deno.stderr.writeSync(new TextEncoder().encode(${
  JSON.stringify(MARK)
} + ": a.ts\\n"));
}
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

/** A tool in a permission group of its own that counts its calls in its module. */
const COUNTER = `
import { z } from "zod";
import { defineTool } from "tooldrop";
let calls = 0;
export default defineTool({
  description: "Counts its calls.",
  input: z.object({}),
  permissions: { env: ["HOME"] },
  run: () => String(++calls),
});
`;

/** A tool whose description is its helper's. */
const DESCRIBED = `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { description } from "./_text.ts";
export default defineTool({ description, input: z.object({}), run: () => description });
`;

const text = (value: string) =>
  `export const description = ${JSON.stringify(value)};\n`;

/** Starts `serve` (with `more` arguments) over `files`, logging at debug. */
async function serving(files: Record<string, string>, more: string[] = []) {
  const dir = await tempDir(files);
  const server = new ServerProcess([
    ...isolatedArgs(dir.path, [{ env: ["HOME"] }]),
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

Deno.test("serve --watch: a saved tool runs its new code in a new worker, never in the server's thread; a helper change restarts only its importers' workers", async () => {
  await using running = await serving({
    "a.ts": tool("v1"),
    "_helper.ts": helper("h1"),
    "n.ts": COUNTER,
  }, ["--watch"]);
  const { server, path } = running;
  await server.stderr.waitFor(/Pre-warming 2 worker\(s\)/);
  assert.equal(await running.call(3, "a"), "v1 h1 function");
  assert.equal(await running.call(4, "n"), "1");
  assert.equal(await running.call(5, "n"), "2");

  const saved = performance.now();
  await Deno.writeTextFile(`${path}/a.ts`, tool("v2"));
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  const ms = performance.now() - saved;
  await server.stderr.waitFor(/Reloaded tool "a"/);
  assert.match(server.stderr.text, /The worker of "[^"]*a\.ts" ended \(idle\)/);
  assert.equal(await running.call(6, "a"), "v2 h1 function");

  await Deno.writeTextFile(`${path}/_helper.ts`, helper("h2"));
  await server.stderr.waitFor(
    /_helper\.ts changed: reloading what imports it: "[^"]*\/a\.ts"\n/,
  );
  await server.stderr.waitFor(/Reloaded tool "a" .*; its listing is unchanged/);
  assert.equal(await running.call(7, "a"), "v2 h2 function");
  assert.equal(await running.call(8, "n"), "3", "n's worker kept its state");
  const log = server.stderr.text;
  assert.equal(
    count(log, /The worker of "[^"]*n\.ts" ended/),
    0,
    "n's worker was never replaced",
  );
  assert.equal(count(log, /The worker of "[^"]*a\.ts" ended \(idle\)/), 2);
  // The lists are the same after the helper change: no notification for it.
  assert.equal(
    server.stdout.lines.filter((l) => l.includes("list_changed")).length,
    1,
  );
  assert.ok(!log.includes(MARK), log);
  await server.closeStdin();
  assert.equal((await server.child.status).code, 0);
  // deno-lint-ignore no-console
  console.log(`  saved → list_changed: ${ms.toFixed(0)} ms`);
});

Deno.test("serve --watch: a helper that changes a tool's description sends list_changed, and tools/list shows it", async () => {
  await using running = await serving({
    "d.ts": DESCRIBED,
    "_text.ts": text("First."),
  }, ["--watch"]);
  const { server, path } = running;
  await server.stderr.waitFor(/watching .* for changes/);
  const saved = performance.now();
  await Deno.writeTextFile(`${path}/_text.ts`, text("Second."));
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  const ms = performance.now() - saved;
  await server.send(listTools(3));
  const list = (await server.reply(3)).result as {
    tools: { name: string; description: string }[];
  };
  assert.deepEqual(list.tools.map((t) => [t.name, t.description]), [
    ["d", "Second."],
  ]);
  assert.equal(await running.call(4, "d"), "Second.");
  assert.doesNotMatch(server.stderr.text, /restart/i);
  await server.closeStdin();
  assert.equal((await server.child.status).code, 0);
  // deno-lint-ignore no-console
  console.log(`  helper saved → list_changed: ${ms.toFixed(0)} ms`);
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
