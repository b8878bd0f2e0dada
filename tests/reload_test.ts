/**
 * Hot reload: the reloader keeps the last good version of every tool file, learns what a changed
 * file lists in a probe worker (never importing it in this thread), reloads the tool files a
 * changed helper touches and no others, and a server run with --watch tells its client about
 * each change without restarting.
 */

import assert from "node:assert/strict";
import { type ReloaderOptions, ToolReloader } from "../src/loading/reload.ts";
import { writeListing } from "../src/loading/listing.ts";
import { Prober, probeTools } from "../src/loading/worker/probe.ts";
import type { ToolFile } from "../src/loading/worker/protocol.ts";
import { WorkerHost } from "../src/loading/worker/host.ts";
import { watchPaths } from "../src/loading/watch.ts";
import { memoryLog, quietContext } from "./wire.ts";
import { initialize, initialized, listTools } from "./requests.ts";
import { ROOT, serverArgs, ServerProcess, tempDir } from "./spawn.ts";

/**
 * A tool that replies `reply`; it refuses to be evaluated outside a worker, so a reload that
 * imported it in this thread would fail.
 */
const tool = (reply: string, name = "", imports = "") => `
import { z } from "zod";
import { defineTool } from "tooldrop";
${imports}
if (typeof WorkerGlobalScope === "undefined") {
  throw new Error("evaluated in the server's thread");
}
export default defineTool({
  ${name ? `name: ${JSON.stringify(name)},` : ""}
  description: "Replies ${reply}.",
  input: z.object({}),
  run: () => ${JSON.stringify(reply)},
});
`;

/** A reloader over the folder `path` whose tools run in a host's workers, as serving does. */
function reloading(path: string, options: Partial<ReloaderOptions> = {}) {
  const dir = new URL(`file://${path}/`);
  const { log, lines } = memoryLog();
  const host = new WorkerHost({ toolsDir: dir, log });
  const reloader = new ToolReloader({
    dir,
    serverName: "tooldrop",
    log,
    attach: (t, file) => host.attach(t, file),
    detach: (file) => host.detach(file),
    ...options,
  });
  return {
    reloader,
    host,
    text: () => lines.join(""),
    lines,
    /** What tool `name` replies now, from its worker; undefined when it is not served. */
    async reply(name: string): Promise<unknown> {
      const found = reloader.tools.get(name);
      if (!found) return undefined;
      const result = await found.remote!.run({}, quietContext());
      return result.content.map((b) => b.type === "text" ? b.text : "").join(
        "",
      );
    },
    [Symbol.dispose]: () => host.close(),
  };
}

/** The real probe, recording the files of each call: one call is one probe worker. */
function countingProbe(log = memoryLog().log) {
  const probes: string[][] = [];
  return {
    probes,
    probe: (files: ToolFile[]) => {
      probes.push(files.map((file) => file.source.replace(/^.*\//, "")));
      return probeTools(files, { log });
    },
  };
}

Deno.test("a broken file is reported and left out at load; the others serve", async () => {
  await using dir = await tempDir({
    "good.ts": tool("good"),
    "broken.ts": "export default {",
    "shapeless.ts": "export default 42;",
  });
  using t = reloading(dir.path);
  const tools = await t.reloader.load();
  assert.deepEqual(tools.tools.map((t) => t.name), ["good"]);
  assert.match(
    t.text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/broken.ts": it failed to import: .*it is not served until it loads`,
    ),
  );
  assert.match(
    t.text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/shapeless.ts": it has no default export`,
    ),
  );
  assert.equal(await t.reply("good"), "good");
});

Deno.test("reload picks up new code, keeps the previous version of a broken edit, drops a deleted file", async () => {
  await using dir = await tempDir({ "a.ts": tool("one") });
  using t = reloading(dir.path);
  await t.reloader.load();
  assert.equal(await t.reply("a"), "one");

  await Deno.writeTextFile(`${dir.path}/a.ts`, tool("two"));
  assert.equal(await t.reloader.reload(["a.ts"]), true);
  assert.equal(await t.reply("a"), "two");
  assert.equal(
    t.reloader.tools.get("a")?.descriptor.description,
    "Replies two.",
  );

  await Deno.writeTextFile(`${dir.path}/a.ts`, "export default defineTool({");
  assert.equal(await t.reloader.reload(["a.ts"]), false);
  assert.equal(await t.reply("a"), "two");
  assert.match(
    t.text(),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/a.ts": .*; the previous version keeps serving`,
    ),
  );

  await Deno.writeTextFile(`${dir.path}/b.ts`, tool("b", "a"));
  assert.equal(await t.reloader.reload(["b.ts"]), false);
  assert.ok(
    t.text().includes(`the name "a" is already used by "${dir.path}/a.ts"`),
  );
  assert.deepEqual(t.reloader.tools.tools.map((t) => t.name), ["a"]);

  await Deno.remove(`${dir.path}/a.ts`);
  assert.equal(await t.reloader.reload(["a.ts", "README.md"]), true);
  assert.deepEqual(t.reloader.tools.tools.map((t) => t.name), []);
  assert.ok(t.text().includes(`Removed tool "a" (${dir.path}/a.ts)`));
  assert.doesNotMatch(t.text(), /evaluated in the server's thread/);
});

Deno.test("a helper change reloads, in one probe, exactly the tool files that import it, directly or through other helpers", async () => {
  await using dir = await tempDir({
    "a.ts": tool("a", "", 'import "./_one.ts";'),
    "b.ts": tool("b", "", 'import "./lib/two.ts";'),
    "c.ts": tool("c"),
    "_one.ts": 'export * from "./lib/two.ts";\n',
    "lib/two.ts": "export const two = 2;\n",
    "_alone.ts": "export const alone = 1;\n",
  });
  const { probes, probe } = countingProbe();
  using t = reloading(dir.path, { probe });
  await t.reloader.load();
  assert.deepEqual(probes, [["a.ts", "b.ts", "c.ts"]], "one probe at load");

  await Deno.writeTextFile(`${dir.path}/lib/two.ts`, "export const two = 3;\n");
  // Their listings did not change: no new tool set to announce.
  assert.equal(await t.reloader.reload(["lib/two.ts"]), false);
  assert.deepEqual(probes[1], ["a.ts", "b.ts"]);
  assert.match(
    t.text(),
    /lib\/two\.ts changed: reloading what imports it: ".*\/a\.ts", ".*\/b\.ts"\n/,
  );
  assert.match(t.text(), /Reloaded tool "a" .*; its listing is unchanged/);

  await Deno.writeTextFile(`${dir.path}/_one.ts`, "export const one = 1;\n");
  await Deno.writeTextFile(`${dir.path}/c.ts`, tool("c2"));
  assert.equal(await t.reloader.reload(["_one.ts", "c.ts"]), true);
  assert.deepEqual(probes[2], ["a.ts", "c.ts"], "a saved file and an importer");

  // a no longer imports lib/two.ts through _one.ts: only b is reloaded now.
  assert.equal(await t.reloader.reload(["lib/two.ts"]), false);
  assert.deepEqual(probes[3], ["b.ts"]);

  assert.equal(await t.reloader.reload(["_alone.ts", "notes.md"]), false);
  assert.equal(probes.length, 4, "nothing imports them: no probe");
  assert.match(t.text(), /_alone\.ts changed, which no tool file imports/);
  assert.doesNotMatch(t.text(), /notes\.md/);
});

Deno.test("a helper change that alters a tool's listing counts as a change; a broken helper keeps the previous version", async () => {
  const described = (text: string) =>
    `export const description = ${JSON.stringify(text)};\n`;
  await using dir = await tempDir({
    "a.ts": `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { description } from "./_text.ts";
export default defineTool({ description, input: z.object({}), run: () => description });
`,
    "_text.ts": described("First."),
  });
  using t = reloading(dir.path);
  await t.reloader.load();
  assert.equal(await t.reply("a"), "First.");

  await Deno.writeTextFile(`${dir.path}/_text.ts`, described("Second."));
  assert.equal(await t.reloader.reload(["_text.ts"]), true);
  assert.equal(t.reloader.tools.get("a")?.descriptor.description, "Second.");
  assert.equal(await t.reply("a"), "Second.", "its worker was replaced");

  await Deno.writeTextFile(`${dir.path}/_text.ts`, "export const = ;\n");
  assert.equal(await t.reloader.reload(["_text.ts"]), false);
  assert.equal(t.reloader.tools.get("a")?.descriptor.description, "Second.");
  assert.equal(await t.reply("a"), "Second.", "its worker kept the old code");
  assert.match(
    t.text(),
    /Cannot load tool ".*\/a\.ts": it failed to import: .*; the previous version keeps serving/,
  );

  // A broken tool file that a new helper fixes loads once the helper is saved.
  await Deno.writeTextFile(
    `${dir.path}/b.ts`,
    'export { default } from "./_b.ts";\n',
  );
  assert.equal(await t.reloader.reload(["b.ts"]), false);
  await Deno.writeTextFile(`${dir.path}/_b.ts`, tool("b"));
  assert.equal(await t.reloader.reload(["_b.ts"]), true);
  assert.equal(await t.reply("b"), "b");
});

Deno.test("load lists from a current listing cache without a probe, and a helper change still reloads its importers", async () => {
  await using dir = await tempDir({
    "a.ts": tool("a", "", 'import "./_one.ts";'),
    "b.ts": tool("b"),
    "_one.ts": "export const one = 1;\n",
  });
  await writeListing(new URL(`file://${dir.path}/`), { log: memoryLog().log });
  const { probes, probe } = countingProbe();
  using t = reloading(dir.path, { probe });
  assert.deepEqual(
    (await t.reloader.load()).tools.map((t) => t.name),
    ["a", "b"],
  );
  assert.deepEqual(probes, []);
  assert.equal(await t.reply("a"), "a");
  await Deno.writeTextFile(`${dir.path}/_one.ts`, "export const one = 2;\n");
  assert.equal(await t.reloader.reload(["_one.ts"]), false);
  assert.deepEqual(probes, [["a.ts"]]);
});

Deno.test("watch yields the new tool set when a file is added, and probes a burst of saves once", async () => {
  await using dir = await tempDir({ "a.ts": tool("a") });
  const { probes, probe } = countingProbe();
  using t = reloading(dir.path, { probe });
  const stop = new AbortController();
  const updates = t.reloader.watch(stop.signal)[Symbol.asyncIterator]();
  await t.reloader.load();
  const next = updates.next();
  await Deno.writeTextFile(`${dir.path}/b.ts`, tool("b"));
  const { value } = await next;
  assert.deepEqual(value?.tools.map((t: { name: string }) => t.name), [
    "a",
    "b",
  ]);

  await Promise.all(
    ["c", "d", "e"].map((name) =>
      Deno.writeTextFile(`${dir.path}/${name}.ts`, tool(name))
    ),
  );
  let names: string[] = [];
  while (names.length < 5) {
    const { value } = await updates.next();
    names = value?.tools.map((t: { name: string }) => t.name) ?? [];
  }
  assert.deepEqual(probes.slice(2), [["c.ts", "d.ts", "e.ts"]]);
  stop.abort();
  assert.equal((await updates.next()).done, true);
});

Deno.test("the probe worker started ahead reads a file as it is when probed; once idle it stops and lets the process end", async () => {
  await using dir = await tempDir({ "a.ts": tool("one") });
  const file = {
    url: new URL(`file://${dir.path}/a.ts`).href,
    source: "tools/a.ts",
    stem: "a",
  };
  const prober = new Prober({ log: memoryLog().log });
  try {
    assert.deepEqual(
      (await prober.probe([file])).map((t) =>
        "descriptor" in t && t.descriptor?.description
      ),
      ["Replies one."],
    );
    // The worker for the next probe has started; the file changes after it did.
    await Deno.writeTextFile(`${dir.path}/a.ts`, tool("two"));
    assert.deepEqual(
      (await prober.probe([file])).map((t) =>
        "descriptor" in t && t.descriptor?.description
      ),
      ["Replies two."],
    );
  } finally {
    prober.close();
  }
  // In a process of its own: a worker left waiting would keep it alive past the limit.
  const script = `
import { Prober } from ${
    JSON.stringify(
      new URL("../src/loading/worker/probe.ts", import.meta.url).href,
    )
  };
import { Logger } from ${
    JSON.stringify(new URL("../src/util/log.ts", import.meta.url).href)
  };
const prober = new Prober({ log: new Logger({ level: "error", write: () => {} }), idleMs: 100 });
const [tool] = await prober.probe([${JSON.stringify(file)}]);
console.log(tool.name);
`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${ROOT}/deno.json`, script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const limit = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const output = await child.output();
  clearTimeout(limit);
  assert.equal(
    new TextDecoder().decode(output.stdout),
    "a\n",
    new TextDecoder().decode(output.stderr),
  );
  assert.equal(output.code, 0, "it ended by itself, not killed");
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
