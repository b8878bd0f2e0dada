/**
 * Hostile tool files under hot reload: a file whose top-level await never settles, or that loops
 * at its top level, is reported (its probe worker is terminated) and later changes still reload;
 * odd throw values, symbolic links and URL-like names are handled as at start-up, and every
 * message names the real folder.
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { ToolReloader } from "../../src/loading/reload.ts";
import type { Tool } from "../../src/tool/served.ts";
import { tempDir } from "../spawn.ts";
import { memoryLog } from "../wire.ts";
import { NEVER_SETTLES, tapLog, TOOL, within } from "./tool_files.ts";

const dirUrl = (path: string) => pathToFileURL(`${path}/`);

/** What these tests need of a tool: its listing; its calls would run in a worker. */
const attach = (tool: Tool) => tool;

Deno.test("watch: a file whose top-level await does not settle is reported, and later changes still reload", async () => {
  await using dir = await tempDir({ "a.ts": TOOL() });
  const { log, text, waitFor } = tapLog();
  const reloader = new ToolReloader({
    dir: dirUrl(dir.path),
    serverName: "tooldrop",
    log,
    loadTimeoutMs: 200,
    attach,
  });
  const stop = new AbortController();
  const updates = reloader.watch(stop.signal)[Symbol.asyncIterator]();
  try {
    await reloader.load();
    const next = updates.next();
    await Deno.writeTextFile(`${dir.path}/hang.ts`, NEVER_SETTLES);
    await within(
      waitFor(/did not finish loading within 200 ms/),
      "the report of hang.ts",
    ).catch((error) => {
      throw new Error(`${error.message}; the log so far:\n${text()}`);
    });
    assert.ok(
      text().includes(
        `Cannot load tool "${dir.path}/hang.ts": its module did not finish loading within 200 ms (a top-level await that never settles?); it is not served until it loads`,
      ),
      text(),
    );
    await Deno.writeTextFile(`${dir.path}/good.ts`, TOOL());
    const { value } = await within(next, "the update after good.ts");
    assert.deepEqual(value?.tools.map((t: { name: string }) => t.name), [
      "a",
      "good",
    ]);
  } finally {
    stop.abort();
  }
  assert.equal((await updates.next()).done, true);
});

Deno.test("watch: a file that loops at its top level or exits there is reported, and the server's thread goes on reloading", async () => {
  await using dir = await tempDir({ "a.ts": TOOL() });
  const { log, text, waitFor } = tapLog();
  const reloader = new ToolReloader({
    dir: dirUrl(dir.path),
    serverName: "tooldrop",
    log,
    loadTimeoutMs: 200,
    attach,
  });
  const stop = new AbortController();
  const updates = reloader.watch(stop.signal)[Symbol.asyncIterator]();
  try {
    await reloader.load();
    const next = updates.next();
    await Deno.writeTextFile(`${dir.path}/loop.ts`, "while (true) {}\n");
    await within(waitFor(/loop\.ts.*a loop at its top level/), "loop.ts");
    assert.ok(
      text().includes(
        `Cannot load tool "${dir.path}/loop.ts": it did not finish loading within 1200 ms (a loop at its top level?), or a file loaded with it did not: "${dir.path}/loop.ts"; it is not served until it loads`,
      ),
      text(),
    );
    await Deno.writeTextFile(`${dir.path}/exit.ts`, "Deno.exit(3);\n");
    await within(waitFor(/exit\.ts": it ended its worker/), "exit.ts");
    assert.ok(
      text().includes(
        `Cannot load tool "${dir.path}/exit.ts": it ended its worker while loading (Deno.exit, process.exit or close() at its top level); it is not served until it loads`,
      ),
      text(),
    );
    await Deno.writeTextFile(`${dir.path}/good.ts`, TOOL());
    const { value } = await within(next, "the update after good.ts");
    assert.deepEqual(value?.tools.map((t: { name: string }) => t.name), [
      "a",
      "good",
    ]);
  } finally {
    stop.abort();
  }
  assert.equal((await updates.next()).done, true);
});

Deno.test("reload reports a file that throws a null-prototype object, naming it, and keeps the previous version", async () => {
  await using dir = await tempDir({ "a.ts": TOOL() });
  const { log, lines } = memoryLog();
  const reloader = new ToolReloader({
    dir: dirUrl(dir.path),
    serverName: "tooldrop",
    log,
    attach,
  });
  await reloader.load();
  await Deno.writeTextFile(`${dir.path}/a.ts`, "throw Object.create(null);");
  assert.equal(await reloader.reload(["a.ts"]), false);
  assert.deepEqual(reloader.tools.tools.map((t) => t.name), ["a"]);
  assert.match(
    lines.join(""),
    new RegExp(
      `Cannot load tool "${
        RegExp.escape(dir.path)
      }/a.ts": it failed to import: a thrown object: .*; the previous version keeps serving`,
    ),
  );
});

Deno.test("the reloader loads a symbolic link to a tool file and warns about one to nothing, naming it", async () => {
  await using dir = await tempDir({
    "tools/a.ts": TOOL(),
    "real/b.ts": TOOL(),
  });
  const tools = `${dir.path}/tools`;
  await Deno.symlink(`${dir.path}/real/b.ts`, `${tools}/b.ts`);
  await Deno.symlink(`${dir.path}/gone.ts`, `${tools}/dangling.ts`);
  const { log, lines } = memoryLog();
  const reloader = new ToolReloader({
    dir: dirUrl(tools),
    serverName: "tooldrop",
    log,
    attach,
  });
  assert.deepEqual((await reloader.load()).tools.map((t) => t.name), [
    "a",
    "b",
  ]);
  const warning =
    `Skipping "${tools}/dangling.ts": it is a symbolic link to "${dir.path}/gone.ts", which does not exist; fix or remove the link`;
  assert.ok(lines.join("").includes(warning), lines.join(""));

  // The link's target goes away: the tool is dropped, with the same warning.
  await Deno.remove(`${dir.path}/real/b.ts`);
  lines.length = 0;
  assert.equal(await reloader.reload(["b.ts"]), true);
  assert.deepEqual(reloader.tools.tools.map((t) => t.name), ["a"]);
  assert.match(
    lines.join(""),
    /Skipping ".*\/tools\/b.ts": it is a symbolic link to ".*\/real\/b.ts", which does not exist/,
  );
  assert.match(lines.join(""), /Removed tool "b"/);
});

Deno.test("the reloader loads tool files named like URLs (node:fs.ts, https:jsr.io#.ts) as local files", async () => {
  await using dir = await tempDir({
    "https:jsr.io#.ts": TOOL(`name: "local_jsr",`),
    "node:fs.ts": TOOL(`name: "local_fs",`),
  });
  const { log, lines } = memoryLog();
  const reloader = new ToolReloader({
    dir: dirUrl(dir.path),
    serverName: "tooldrop",
    log,
    attach,
  });
  const tools = await within(reloader.load(), "the reloader's load");
  assert.deepEqual(tools.tools.map((t) => t.name), ["local_jsr", "local_fs"]);
  await Deno.writeTextFile(
    `${dir.path}/node:fs.ts`,
    TOOL(`name: "local_fs", title: "Edited",`),
  );
  assert.equal(
    await within(reloader.reload(["node:fs.ts"]), "the reload"),
    true,
  );
  assert.equal(reloader.tools.get("local_fs")?.descriptor.title, "Edited");
  assert.doesNotMatch(lines.join(""), /Cannot load/);
});
