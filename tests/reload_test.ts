/**
 * Hot reload: the reloader keeps the last good version of every tool file, and a server run
 * with --watch tells its client about each change without restarting.
 */

import assert from "node:assert/strict";
import { ToolReloader } from "../src/loading/reload.ts";
import { watchPaths } from "../src/loading/watch.ts";
import { memoryLog } from "./wire.ts";
import { initialize, initialized, listTools } from "./requests.ts";
import { serverArgs, ServerProcess, tempDir } from "./spawn.ts";

const tool = (reply: string, name = "") => `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  ${name ? `name: ${JSON.stringify(name)},` : ""}
  description: "Replies ${reply}.",
  input: z.object({}),
  run: () => ${JSON.stringify(reply)},
});
`;

async function reply(reloader: ToolReloader, name: string): Promise<unknown> {
  const found = reloader.tools.get(name);
  return found ? await found.definition.run({}, {} as never) : undefined;
}

Deno.test("a broken file is reported and left out at load; the others serve", async () => {
  await using dir = await tempDir({
    "good.ts": tool("good"),
    "broken.ts": "export default {",
    "shapeless.ts": "export default 42;",
  });
  const { log, lines } = memoryLog();
  const text = () => lines.join("");
  const reloader = new ToolReloader({
    dir: new URL(`file://${dir.path}/`),
    serverName: "tooldrop",
    log,
  });
  const tools = await reloader.load();
  assert.deepEqual(tools.tools.map((t) => t.name), ["good"]);
  assert.match(
    text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/broken.ts": it failed to import: .*it is not served until it loads`,
    ),
  );
  assert.match(
    text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/shapeless.ts": it has no default export`,
    ),
  );
});

Deno.test("reload picks up new code, keeps the previous version of a broken edit, drops a deleted file", async () => {
  await using dir = await tempDir({ "a.ts": tool("one") });
  const { log, lines } = memoryLog();
  const text = () => lines.join("");
  const reloader = new ToolReloader({
    dir: new URL(`file://${dir.path}/`),
    serverName: "tooldrop",
    log,
  });
  await reloader.load();
  assert.equal(await reply(reloader, "a"), "one");

  await Deno.writeTextFile(`${dir.path}/a.ts`, tool("two"));
  assert.equal(await reloader.reload(["a.ts"]), true);
  assert.equal(await reply(reloader, "a"), "two");

  await Deno.writeTextFile(`${dir.path}/a.ts`, "export default defineTool({");
  assert.equal(await reloader.reload(["a.ts"]), false);
  assert.equal(await reply(reloader, "a"), "two");
  assert.match(
    text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/a.ts": .*; the previous version keeps serving`,
    ),
  );

  await Deno.writeTextFile(`${dir.path}/b.ts`, tool("b", "a"));
  assert.equal(await reloader.reload(["b.ts"]), false);
  assert.ok(
    text().includes(`the name "a" is already used by "${dir.path}/a.ts"`),
  );
  assert.deepEqual(reloader.tools.tools.map((t) => t.name), ["a"]);

  await Deno.remove(`${dir.path}/a.ts`);
  assert.equal(await reloader.reload(["a.ts", "README.md"]), true);
  assert.deepEqual(reloader.tools.tools.map((t) => t.name), []);
  assert.ok(text().includes(`Removed tool "a" (${dir.path}/a.ts)`));
});

Deno.test("watch yields the new tool set when a file is added, and reports helper code changes", async () => {
  await using dir = await tempDir({ "a.ts": tool("a") });
  const { log } = memoryLog();
  const others: string[][] = [];
  const reloader = new ToolReloader({
    dir: new URL(`file://${dir.path}/`),
    serverName: "tooldrop",
    log,
    onOtherChange: (paths) => others.push(paths),
  });
  const stop = new AbortController();
  const updates = reloader.watch(stop.signal)[Symbol.asyncIterator]();
  await reloader.load();
  const next = updates.next();
  await Deno.writeTextFile(`${dir.path}/b.ts`, tool("b"));
  const { value } = await next;
  assert.deepEqual(value?.tools.map((t: { name: string }) => t.name), [
    "a",
    "b",
  ]);

  const after = updates.next();
  await Deno.writeTextFile(`${dir.path}/_shared.ts`, "export const x = 1;");
  await Deno.writeTextFile(`${dir.path}/c.ts`, tool("c"));
  await after;
  assert.deepEqual(others.flat().filter((p) => p === "_shared.ts"), [
    "_shared.ts",
  ]);
  stop.abort();
  assert.equal((await updates.next()).done, true);
});

Deno.test("watchPaths yields settled batches of the kept paths, relative to the root, and ends when aborted", async () => {
  await using dir = await tempDir({ "sub/keep.ts": "" });
  const stop = new AbortController();
  const batches = watchPaths(`${dir.path}/`, {
    signal: stop.signal,
    settleMs: 20,
    filter: (path) => path.endsWith(".ts"),
  })[Symbol.asyncIterator]();
  const seen = new Set<string>();
  const next = batches.next();
  await Deno.writeTextFile(`${dir.path}/skip.txt`, "x");
  await Deno.writeTextFile(`${dir.path}/a.ts`, "x");
  await Deno.writeTextFile(`${dir.path}/sub/keep.ts`, "x");
  for (let step = next; seen.size < 2; step = batches.next()) {
    const { value } = await step;
    assert.ok(value && value.length === new Set(value).size, String(value));
    for (const path of value) seen.add(path);
  }
  assert.deepEqual([...seen].sort(), ["a.ts", "sub/keep.ts"]);
  const last = batches.next();
  stop.abort();
  assert.equal((await last).done, true);
});

Deno.test("serve --watch: a new, changed and deleted tool reaches the client with list_changed, same process", async () => {
  await using dir = await tempDir({ "a.ts": tool("first") });
  const server = new ServerProcess([...serverArgs(dir.path), "--watch"]);
  await server.send(initialize(1));
  await server.reply(1);
  await server.send(initialized(), listTools(2));
  await server.reply(2);
  await server.stderr.waitFor(/watching .* for changes/);

  const changes = () =>
    server.stdout.lines.filter((l) => l.includes("list_changed")).length;
  const saved = performance.now();
  await Deno.writeTextFile(`${dir.path}/b.ts`, tool("second"));
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  const ms = performance.now() - saved;
  await server.send({
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name: "b", arguments: {} },
  });
  assert.deepEqual((await server.reply(3)).result, {
    content: [{ type: "text", text: "second" }],
  });

  await Deno.writeTextFile(`${dir.path}/a.ts`, tool("edited"));
  await server.stderr.waitFor(/Reloaded tool "a"/);
  await server.send({
    jsonrpc: "2.0",
    id: 4,
    method: "tools/call",
    params: { name: "a", arguments: {} },
  });
  assert.deepEqual((await server.reply(4)).result, {
    content: [{ type: "text", text: "edited" }],
  });

  await Deno.remove(`${dir.path}/b.ts`);
  await server.stderr.waitFor(/Removed tool "b"/);
  await server.send({ jsonrpc: "2.0", id: 5, method: "tools/list" });
  const list = (await server.reply(5)).result as { tools: { name: string }[] };
  assert.deepEqual(list.tools.map((t) => t.name), ["a"]);
  assert.ok(changes() >= 3, `list_changed sent ${changes()} time(s)`);

  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
  // deno-lint-ignore no-console
  console.log(`  saved → list_changed: ${ms.toFixed(0)} ms`);
});
