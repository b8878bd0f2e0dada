/**
 * Hostile tool files at load: a top-level await that never settles, values thrown that cannot
 * be turned into text, symbolic links, file names that read as URLs, a timeout a timer cannot
 * hold. Loading always ends, and every message names the file by the folder it is really in.
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { checkModules, loadToolDir } from "../../src/loading/discover.ts";
import { declaredPermissions, loadTools } from "../../src/loading/load.ts";
import { renderManifest } from "../../src/loading/manifest.ts";
import { createTool } from "../../src/tool/toolset.ts";
import { initialize, listTools } from "../requests.ts";
import { serverArgs, ServerProcess, tempDir } from "../spawn.ts";
import { memoryLog } from "../wire.ts";
import {
  closedGate,
  NEVER_SETTLES,
  TOOL,
  WAITS_FOR_GATE,
  within,
} from "./tool_files.ts";

const dirUrl = (path: string) => pathToFileURL(`${path}/`);

Deno.test("a tool file whose top-level await does not settle is reported by name after the load timeout; the others load", async () => {
  await using dir = await tempDir({
    "good.ts": TOOL(),
    "hang.ts": WAITS_FOR_GATE,
  });
  using _gate = closedGate();
  const { tools, errors } = await within(
    loadToolDir(dirUrl(dir.path), { loadTimeoutMs: 200 }),
    "loadToolDir",
  );
  assert.deepEqual(tools.map((t) => t.name), ["good"]);
  assert.deepEqual(errors, [
    `Cannot load tool "${dir.path}/hang.ts": its module did not finish loading within 200 ms (a top-level await that never settles?)`,
  ]);
});

Deno.test("loadTools refuses a set with a file that did not finish loading, naming it and its folder", async () => {
  await using dir = await tempDir({
    "good.ts": TOOL(),
    "hang.ts": WAITS_FOR_GATE,
  });
  using _gate = closedGate();
  const { log, lines } = memoryLog();
  const tools = await within(
    loadTools({
      toolsDir: dirUrl(dir.path),
      serverName: "tooldrop",
      log,
      loadTimeoutMs: 200,
    }),
    "loadTools",
  );
  assert.equal(tools, undefined);
  const text = lines.join("");
  assert.ok(
    text.includes(
      `Cannot load tool "${dir.path}/hang.ts": its module did not finish loading within 200 ms`,
    ),
    text,
  );
  assert.ok(
    text.includes(
      `Not serving: fix the tool file(s) above, or move them out of ${dir.path}/`,
    ),
    text,
  );
});

Deno.test("TOOLDROP_LOAD_TIMEOUT_MS sets the load timeout; a value that is not a timer's is ignored with a warning", async () => {
  await using dir = await tempDir({ "hang.ts": WAITS_FOR_GATE });
  await using good = await tempDir({ "good.ts": TOOL() });
  using _gate = closedGate();
  const load = async (value: string, toolsPath: string) => {
    const { log, lines } = memoryLog();
    Deno.env.set("TOOLDROP_LOAD_TIMEOUT_MS", value);
    try {
      const tools = await within(
        loadTools({ toolsDir: dirUrl(toolsPath), serverName: "tooldrop", log }),
        "loadTools",
      );
      return { tools, text: lines.join("") };
    } finally {
      Deno.env.delete("TOOLDROP_LOAD_TIMEOUT_MS");
    }
  };
  const timed = await load("150", dir.path);
  assert.equal(timed.tools, undefined);
  assert.match(timed.text, /did not finish loading within 150 ms/);

  for (const bad of ["abc", "0", "2147483648"]) {
    const ignored = await load(bad, good.path);
    assert.deepEqual(ignored.tools?.tools.map((t) => t.name), ["good"]);
    assert.ok(
      ignored.text.includes(
        `Ignoring TOOLDROP_LOAD_TIMEOUT_MS="${bad}": use a whole number of milliseconds from 1 to 2147483647`,
      ),
      ignored.text,
    );
  }
});

Deno.test("serve with a tool whose top-level await never settles reports it and exits 1 instead of hanging", async () => {
  await using dir = await tempDir({
    "good.ts": TOOL(),
    "hang.ts": NEVER_SETTLES,
  });
  const args = serverArgs(dir.path).map((flag) =>
    flag.startsWith("--allow-env=") ? `${flag},TOOLDROP_LOAD_TIMEOUT_MS` : flag
  );
  const server = new ServerProcess(args, {
    env: { TOOLDROP_LOAD_TIMEOUT_MS: "300" },
  });
  await server.send(initialize(1), listTools(2));
  await server.closeStdin();
  const { code } = await server.exit(20_000);
  const stderr = server.stderr.text;
  assert.equal(code, 1, stderr);
  assert.match(
    server.stdout.text,
    /\{"jsonrpc":"2.0","id":2,"error":\{"code":-32603,"message":"Internal error: the server's tools failed to load/,
  );
  assert.ok(
    stderr.includes(
      `Cannot load tool "${dir.path}/hang.ts": its module did not finish loading within 300 ms (a top-level await that never settles?)`,
    ),
    stderr,
  );
  assert.doesNotMatch(stderr, /Top-level await promise never resolved/);
});

Deno.test("a tool that throws a value with no text (null prototype, throwing toString, a symbol) at import is reported naming the file", async () => {
  await using dir = await tempDir({
    "good.ts": TOOL(),
    "null_proto.ts": "throw Object.create(null);",
    "bad_string.ts":
      "throw { toString() { throw new Error('no text for you'); } };",
    "symbol.ts": "throw Symbol('odd');",
    "proxy.ts":
      "throw new Proxy({}, { getPrototypeOf() { throw 1; }, ownKeys() { throw 2; }, get() { throw 3; } });",
    "getter.ts":
      "export default { description: 'x', get run() { throw Object.create(null); } };",
  });
  const { tools, errors } = await loadToolDir(dirUrl(dir.path));
  assert.deepEqual(tools.map((t) => t.name), ["good"]);
  // The text after "a thrown object: " is describe.ts's; what matters here is the file's name.
  const folder = RegExp.escape(dir.path);
  const expected = [
    /bad_string.ts": it failed to import: a thrown object: \S/,
    /getter.ts": reading its default export failed: a thrown object: \S/,
    /null_proto.ts": it failed to import: a thrown object: \S/,
    /proxy.ts": it failed to import: a thrown object: \S/,
    /symbol.ts": it failed to import: a thrown symbol: Symbol\(odd\)$/,
  ];
  assert.equal(errors.length, expected.length, errors.join("\n"));
  expected.forEach((pattern, i) =>
    assert.match(
      errors[i]!,
      new RegExp(`^Cannot load tool "${folder}/${pattern.source}`),
    )
  );
});

Deno.test("messages name the folder the tools are in: relative to the working directory inside it, its full path outside", async () => {
  await using dir = await tempDir({
    "my tools/broken.ts": "export default 42;",
  });
  const toolsDir = dirUrl(`${dir.path}/my tools`);
  const outside = await loadToolDir(toolsDir);
  assert.match(
    outside.errors[0]!,
    new RegExp(
      `^Cannot load tool "${
        RegExp.escape(dir.path)
      }/my tools/broken.ts": it has no default export`,
    ),
  );
  const cwd = Deno.cwd();
  Deno.chdir(dir.path);
  try {
    const inside = await loadToolDir(toolsDir);
    assert.match(
      inside.errors[0]!,
      /^Cannot load tool "my tools\/broken.ts": /,
    );
    const { log, lines } = memoryLog();
    await loadTools({ toolsDir, serverName: "tooldrop", log });
    assert.match(lines.join(""), /Cannot load tool "my tools\/broken.ts": /);
    assert.match(lines.join(""), /or move them out of my tools\/\n/);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("a symbolic link to a tool file loads; one to a folder or to nothing is skipped with a warning naming it", async () => {
  await using dir = await tempDir({
    "tools/good.ts": TOOL(),
    "real/shared.ts": TOOL(),
  });
  await Deno.symlink(
    `${dir.path}/real/shared.ts`,
    `${dir.path}/tools/linked.ts`,
  );
  await Deno.symlink(`${dir.path}/real`, `${dir.path}/tools/folder.ts`);
  await Deno.symlink(`${dir.path}/gone.ts`, `${dir.path}/tools/dangling.ts`);
  const { tools, errors, warnings } = await loadToolDir(
    dirUrl(`${dir.path}/tools`),
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(tools.map((t) => t.name), ["good", "linked"]);
  assert.deepEqual(
    warnings.filter((w) => w.startsWith("Skipping")),
    [
      `Skipping "${dir.path}/tools/dangling.ts": it is a symbolic link to "${dir.path}/gone.ts", which does not exist; fix or remove the link`,
      `Skipping "${dir.path}/tools/folder.ts": it is a symbolic link to a folder, not a file; link the tool file itself`,
    ].sort(),
  );
});

Deno.test("tool files named like URLs (node:fs.ts, https:jsr.io#.ts) load as local files: scan, permissions and manifest", async () => {
  const files = {
    "good.ts": TOOL(),
    "https:jsr.io#.ts": TOOL(
      `name: "local_jsr", permissions: { env: ["JSR_VAR"] },`,
    ),
    "node:fs.ts": TOOL(`name: "local_fs", permissions: { env: ["FS_VAR"] },`),
  };
  await using dir = await tempDir(files);
  const { tools, errors } = await within(
    loadToolDir(dirUrl(dir.path)),
    "loadToolDir",
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(tools.map((t) => t.name), ["good", "local_jsr", "local_fs"]);
  assert.equal(tools[2]!.source, `${dir.path}/node:fs.ts`);

  assert.deepEqual(
    await within(declaredPermissions(dirUrl(dir.path)), "declaredPermissions"),
    [
      { env: ["JSR_VAR"] },
      { env: ["FS_VAR"] },
    ],
  );

  const manifest = renderManifest(Object.keys(files));
  assert.match(manifest, /from "\.\/https%3Ajsr\.io%23\.ts";/);
  assert.match(manifest, /from "\.\/node%3Afs\.ts";/);
  await Deno.writeTextFile(`${dir.path}/_manifest.ts`, manifest);
  const { toolModules } = await within(
    import(`${dirUrl(dir.path).href}_manifest.ts`),
    "the manifest's import",
  );
  const fromManifest = checkModules(toolModules);
  assert.deepEqual(fromManifest.errors, []);
  assert.deepEqual(fromManifest.tools.map((t) => t.name), [
    "good",
    "local_jsr",
    "local_fs",
  ]);
});

Deno.test("timeoutMs must be a whole number of milliseconds a timer can hold, 1 to 2147483647; the error names the file", async () => {
  const tool = (timeoutMs: unknown) =>
    createTool(
      { description: "d", run: () => "", timeoutMs },
      "t",
      "tools/t.ts",
    );
  assert.equal(tool(2147483647).timeoutMs, 2147483647);
  assert.equal(tool(1).timeoutMs, 1);
  for (const bad of [2 ** 31, 2 ** 53, 0, -5, 1.5, Infinity, NaN, "100", 10n]) {
    assert.throws(
      () => tool(bad),
      /^Error: Cannot load tool "tools\/t.ts": "timeoutMs" must be a positive number of milliseconds, a whole number from 1 to 2147483647 \(about 24 days\); it is /,
      String(bad),
    );
  }
  await using dir = await tempDir({ "huge.ts": TOOL("timeoutMs: 2 ** 31,") });
  const { tools, errors } = await loadToolDir(dirUrl(dir.path));
  assert.deepEqual(tools, []);
  assert.deepEqual(errors, [
    `Cannot load tool "${dir.path}/huge.ts": "timeoutMs" must be a positive number of milliseconds, a whole number from 1 to 2147483647 (about 24 days); it is 2147483648`,
  ]);
});
