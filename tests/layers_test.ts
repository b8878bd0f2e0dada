import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  checkLayers,
  checkProcessEdge,
  checkToolImports,
  formatViolation,
  importsOf,
  lex,
  REACHES_INTO_SRC,
  readScripts,
  type Violation,
} from "./layers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const IMPORTS: Record<string, string> = {
  tooldrop: "./src/mod.ts",
  zod: "npm:zod@^4.6.7",
  "jsonc-parser": "npm:jsonc-parser@^3.3.1",
  "@modelcontextprotocol/sdk": "npm:@modelcontextprotocol/sdk@1.32.2",
};

/** src/**, main.ts and deno.json's import map, as they are on disk now. */
async function project() {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`));
  const files = await readScripts(ROOT, "src");
  files.set("main.ts", await Deno.readTextFile(`${ROOT}/main.ts`));
  return { files, imports: (config.imports ?? {}) as Record<string, string> };
}

/** A test beside the tools (skipped by discovery): not a tool file, so held to no rule. */
function isTestFile(name: string): boolean {
  return /(?:^|[._])test\.[mc]?[jt]sx?$/.test(name);
}

/** Fails listing every break, one "<file>:<line>: <rule>: …" line each. */
function assertNone(violations: Violation[], what: string): void {
  if (violations.length === 0) return;
  throw new Error(
    `${what}: ${violations.length} break(s)\n${
      violations.map(formatViolation).join("\n")
    }`,
  );
}

/** The formatted breaks of a check over in-memory files. */
function breaks(
  check: (
    files: ReadonlyMap<string, string>,
    imports: Record<string, string>,
  ) => Violation[],
  files: Record<string, string>,
): string[] {
  return check(new Map(Object.entries(files)), IMPORTS).map(formatViolation);
}

// The project as it is: these are the tests that fail when the layout is broken.

Deno.test("every import in src/ and main.ts points down the layers", async () => {
  const { files, imports } = await project();
  assert.ok(files.size > 20, "src/ was not read");
  assertNone(checkLayers(files, imports), "Layer order");
});

Deno.test("only the writer, print and main.ts touch stdout; only main.ts touches stdin, args, exit and the guards", async () => {
  const { files, imports } = await project();
  assertNone(checkProcessEdge(files, imports), "Process edge");
});

Deno.test("no file in the project's tools/ reaches into tooldrop's src/", async () => {
  // Only this rule: tools/ is the user's folder, and no valid tool breaks it (issue 15).
  const { imports } = await project();
  const tools = await readScripts(ROOT, "tools", isTestFile);
  assertNone(
    checkToolImports(tools, "tools", imports).filter((v) =>
      v.message === REACHES_INTO_SRC
    ),
    "Tool imports",
  );
});

Deno.test("the framework tests' fixture tools keep every rule for tool imports", async () => {
  // What the tests serve in place of tools/: held to the whole rule, as an example tool is.
  const { imports } = await project();
  const tools = await readScripts(ROOT, "tests/fixtures/tools");
  assert.deepEqual([...tools.keys()], [
    "tests/fixtures/tools/_manifest.ts",
    "tests/fixtures/tools/echo.ts",
    "tests/fixtures/tools/get_cwd.ts",
  ]);
  assertNone(
    checkToolImports(tools, "tests/fixtures/tools", imports),
    "Fixture tool imports",
  );
});

// The checker itself, on fixtures: a checker that always passes fails these.

Deno.test("lex blanks comments, strings and regex bodies, keeping offsets, lines and template code", () => {
  const source = [
    "/** Ends with `Deno.exit`. */",
    'const a = "Deno.exit"; // Deno.exit',
    "const b = /Deno\\.exit\\//g.test(a) ? 1 : 2 / 3;",
    "const c = `Deno.exit ${Deno.args[0]} \\` x ${`${Deno.stdin}`}`;",
    "const d = 'it\\'s'; /* Deno.exit",
    "*/ Deno.exit(1);",
  ].join("\n");
  const { code, strings } = lex(source);
  assert.equal(code.length, source.length);
  assert.equal(code.split("\n").length, 6);
  assert.deepEqual(code.match(/Deno\.\w+/g), [
    "Deno.args",
    "Deno.stdin",
    "Deno.exit",
  ]);
  assert.ok(code.includes("2 / 3"), "a division is not a regex");
  const values = [...strings.values()].map((s) => s.value);
  assert.deepEqual(values.slice(0, 1), ["Deno.exit"]);
  assert.ok(values.includes("it's"));
});

Deno.test("importsOf finds static, re-export, side-effect, type and literal dynamic imports", () => {
  const source = `/**
 * @example
 * import { serve } from "./docs_only.ts";
 */
import { a } from "./a.ts";
import type { B } from "../b.ts";
import * as c from 'node:fs';
import "./side.ts";
export { d } from "./d.ts";
export * from "./e.ts";
import json from "../../deno.json" with { type: "json" };
const f = await import("./f.ts");
const g = await import(
  \`./g.ts\`
);
type H = typeof import("./h.ts");
const late = import(url);
const templated = import(\`./\${name}.ts\`);
const text = \`import { defineTool } from "tooldrop";\`;
const said = 'import "./not.ts"';
const here = import.meta.url;
`;
  assert.deepEqual(importsOf(source), [
    { specifier: "./a.ts", line: 5 },
    { specifier: "../b.ts", line: 6 },
    { specifier: "node:fs", line: 7 },
    { specifier: "./side.ts", line: 8 },
    { specifier: "./d.ts", line: 9 },
    { specifier: "./e.ts", line: 10 },
    { specifier: "../../deno.json", line: 11 },
    { specifier: "./f.ts", line: 12 },
    { specifier: "./g.ts", line: 14 },
    { specifier: "./h.ts", line: 16 },
  ]);
});

Deno.test("rule 1 passes imports that point down the layers", () => {
  assert.deepEqual(
    breaks(checkLayers, {
      "main.ts":
        'import { runCli } from "./src/cli/mod.ts";\nconst m = () => import("./tools/_manifest.ts");',
      "src/mod.ts":
        'export { defineTool } from "./tool/tool.ts";\nexport { loadToolDir } from "./loading/discover.ts";',
      "src/server.ts":
        'export { serve } from "./server/serve.ts";\nexport type { Tool } from "./mod.ts";',
      "src/cli/mod.ts":
        'import { a } from "./io.ts";\nimport { b } from "../loading/load.ts";\nimport { parse } from "jsonc-parser";',
      "src/cli/install/mod.ts": 'import { print } from "../io.ts";',
      "src/loading/load.ts":
        'import { z } from "zod";\nimport { c } from "../server/serve.ts";\nimport { join } from "node:path";',
      "src/server/protocol.ts": 'import { t } from "../tool/tool.ts";',
      "src/tool/tool.ts":
        'import type { z } from "zod";\nimport { log } from "../util/log.ts";',
      "src/util/log.ts": 'import { isPlainObject } from "./is.ts";',
      "src/server/lines.ts": 'import { split } from "./_line_splitter.ts";',
    }),
    [],
  );
});

Deno.test("rule 1 names each import that points up the layers, out of src/ or into another folder's private file", () => {
  assert.deepEqual(
    breaks(checkLayers, {
      "main.ts":
        'import { serve } from "./src/server/serve.ts";\nimport { z } from "zod";',
      "src/mod.ts": 'export { runCli } from "./cli/mod.ts";',
      "src/server/serve.ts":
        '\nimport type { Io } from "../cli/io.ts";\nimport { load } from "../loading/load.ts";',
      "src/util/describe.ts": 'import type { Tool } from "../tool/toolset.ts";',
      "src/loading/load.ts":
        'import { defineTool } from "tooldrop";\nimport { main } from "../../main.ts";\nimport { call } from "../../tests/wire.ts";\nimport { run } from "../../bench/client.ts";',
      "src/helpers.ts": "export const x = 1;",
      "src/server/json.ts":
        'import { parse } from "jsonc-parser";\nimport { Client } from "@modelcontextprotocol/sdk";\nimport { z } from "npm:zod@4";\nimport { p } from "https://deno.land/std/path/mod.ts";\nimport { q } from "jsr:@std/path";',
      "src/util/is.ts": 'import { z } from "zod";',
      "src/cli/serve.ts": 'import { Input } from "../server/_input.ts";',
    }),
    [
      'main.ts:1: layers: main.ts may import only src/cli/ ("./src/server/serve.ts")',
      'main.ts:2: layers: main.ts may import only src/cli/ ("zod")',
      'src/mod.ts:1: layers: entry imports cli/, a layer above it ("./cli/mod.ts")',
      'src/server/serve.ts:2: layers: server/ imports cli/, a layer above it ("../cli/io.ts")',
      'src/server/serve.ts:3: layers: server/ imports loading/, a layer above it ("../loading/load.ts")',
      'src/util/describe.ts:1: layers: util/ imports tool/, a layer above it ("../tool/toolset.ts")',
      'src/loading/load.ts:1: layers: loading/ imports the public entry src/mod.ts ("tooldrop")',
      'src/loading/load.ts:2: layers: src/ imports main.ts ("../../main.ts")',
      'src/loading/load.ts:3: layers: src/ imports tests/ outside src/ ("../../tests/wire.ts")',
      'src/loading/load.ts:4: layers: src/ imports bench/ outside src/ ("../../bench/client.ts")',
      'src/helpers.ts:1: layers: not in a layer folder of src/ nor an entry file ("src/helpers.ts")',
      'src/server/json.ts:1: layers: package "jsonc-parser" is only for cli/ ("jsonc-parser")',
      'src/server/json.ts:2: layers: package "@modelcontextprotocol/sdk" is for tests and bench only ("@modelcontextprotocol/sdk")',
      `src/server/json.ts:3: layers: a direct npm: specifier; use deno.json's name ("npm:zod@4")`,
      'src/server/json.ts:4: layers: not a project file, package or node: ("https://deno.land/std/path/mod.ts")',
      'src/server/json.ts:5: layers: not a project file, package or node: ("jsr:@std/path")',
      'src/util/is.ts:1: layers: package "zod" is only for tool/, server/, loading/, cli/, entry ("zod")',
      'src/cli/serve.ts:1: layers: imports src/server/_input.ts, private to src/server/ ("../server/_input.ts")',
    ],
  );
});

Deno.test("rule 2 takes tooldrop, zod, npm:, node:, mapped names and helpers in the folder, and names the rest", async () => {
  const root = await Deno.makeTempDir({ prefix: "tooldrop_layers_" });
  try {
    const write = async (path: string, text: string) => {
      await Deno.mkdir(`${root}/${path.replace(/\/[^/]*$/, "")}`, {
        recursive: true,
      });
      await Deno.writeTextFile(`${root}/${path}`, text);
    };
    await write(
      "tools/good.ts",
      `import { defineTool } from "tooldrop";
import { z } from "zod";
import * as v4 from "zod/v4";
import ky from "npm:ky@1";
import { join } from "node:path";
import { parse } from "jsonc-parser";
import { shout } from "./_helper.ts";
import { more } from "./lib/_more.ts";
/** Not "../src/tool/tool.ts", which tools must not import. */
export default defineTool({ run: async () => (await import("./_helper.ts")).shout("x") });
`,
    );
    await write("tools/_helper.ts", 'export { more } from "./lib/_more.ts";');
    await write("tools/lib/_more.ts", 'import { shout } from "../_helper.ts";');
    await write(
      "tools/reach.ts",
      'import { defineTool } from "../src/tool/tool.ts";\nimport { serve } from "../src/server/serve.ts";',
    );
    await write(
      "tools/remote.ts",
      'import { a } from "https://example.com/a.ts";\nimport { b } from "jsr:@std/path";\nimport { c } from "unmapped";',
    );
    await write("tools/outside.ts", 'import { x } from "../lib/x.ts";');
    const files = await readScripts(root, "tools");
    assert.equal(files.size, 6);
    const found = checkToolImports(files, "tools", IMPORTS);
    assert.deepEqual(found.map(formatViolation), [
      'tools/outside.ts:1: tool imports: leaves its tools folder ("../lib/x.ts")',
      `tools/reach.ts:1: tool imports: ${REACHES_INTO_SRC} ("../src/tool/tool.ts")`,
      `tools/reach.ts:2: tool imports: ${REACHES_INTO_SRC} ("../src/server/serve.ts")`,
      'tools/remote.ts:1: tool imports: not tooldrop, zod, npm:, node:, a mapped name or a helper ("https://example.com/a.ts")',
      'tools/remote.ts:2: tool imports: not tooldrop, zod, npm:, node:, a mapped name or a helper ("jsr:@std/path")',
      'tools/remote.ts:3: tool imports: not tooldrop, zod, npm:, node:, a mapped name or a helper ("unmapped")',
    ]);
    // The filter the project's tools/ is held to catches the reach into src/ and only that.
    assert.deepEqual(
      found.filter((v) => v.message === REACHES_INTO_SRC).map((v) => v.file),
      ["tools/reach.ts", "tools/reach.ts"],
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("rule 3 names writes to stdout outside the writer and print, and ignores docs, strings and types", () => {
  assert.deepEqual(
    breaks(checkProcessEdge, {
      "src/server/fast.ts": "await Deno.stdout.write(bytes);",
      "src/cli/list.ts":
        "await io.stdout.write(bytes);\nawait writeTo(io.stdout, bytes);\nawait stream.pipeTo(io.stdout);",
      "src/cli/node.ts":
        'import { stdout } from "node:process";\nprocess.stdout.write("x");\nfs.writeSync(1, bytes);\nDeno.openSync("/dev/stdout", { write: true });',
      "src/server/writer.ts":
        "/** A writer such as `Deno.stdout`. */\nexport async function writeTo(sink, bytes) { await sink.write(bytes); }",
      "src/cli/io.ts":
        "export interface Io { stdout: ByteSink }\nexport async function print(io, text) { await writeTo(io.stdout, text); }",
      "src/cli/serve.ts":
        '/** Serves on `Deno.stdout`: `process.stdout.write` lands on stderr. */\nconst help = "Deno.stdout.write(x)";\nserve({ writable: io.stdout });\nconst out = new LineWriter(io.stdout, stop);',
      "src/cli/doctor.ts":
        "let process: Deno.ChildProcess;\nconst lines = readLineBatches(process.stdout, {});\nconst { stdout } = await command.output();",
      "main.ts": "const stdout = Deno.stdout;",
    }),
    [
      "src/server/fast.ts:1: stdout: only main.ts touches Deno.stdout (Deno.stdout)",
      "src/cli/list.ts:1: stdout: writes to stdout outside the writer and print (stdout.write)",
      "src/cli/list.ts:2: stdout: writes to stdout outside the writer and print (writeTo(io.stdout)",
      "src/cli/list.ts:3: stdout: writes to stdout outside the writer and print (pipeTo(io.stdout)",
      'src/cli/node.ts:1: stdout: imports Node\'s stdout ("node:process")',
      "src/cli/node.ts:2: stdout: touches Node's process.stdout (process.stdout)",
      "src/cli/node.ts:3: stdout: writes to stdout outside the writer and print (writeSync(1,)",
      'src/cli/node.ts:4: stdout: opens stdout by path ("/dev/stdout")',
    ],
  );
});

Deno.test("rule 4 names Deno.stdin, Deno.args, Deno.exit and guard installs outside main.ts, and ignores docs", () => {
  const edge = {
    "src/cli/mod.ts":
      'const code = Deno.args.length;\nDeno.exit(code);\nconst input = Deno.stdin;\nconst { exit } = Deno;\nimport { protectProcess } from "../util/guards.ts";',
    "src/cli/serve.ts":
      'import { redirectConsole } from "../util/_console.ts";\nObject.defineProperty(Deno, "stdout", { value: Deno.stderr });\nglobalThis.console = quiet;\nconsole.log = () => {};\nObject.assign(globalThis.console, methods);\nObject.defineProperty(process, "stdout", { get });',
    "src/loading/import_tool.ts":
      '/** So a command ends with `Deno.exit`, as main.ts does. */\nconst note = "Deno.args";\nif (Deno.build.os === "windows" || x === globalThis.y) {}',
    "src/util/guards.ts":
      'import { redirectConsole } from "./_console.ts";\nObject.defineProperty(process, "stdout", { get });',
    "main.ts":
      'import { protectProcess } from "./src/util/guards.ts";\nObject.defineProperty(Deno, "stdout", { value: Deno.stderr });\nconst args = Deno.args;\nDeno.exit(0);',
  };
  assert.deepEqual(
    breaks(checkProcessEdge, edge).filter((line) =>
      line.includes(": process edge: ")
    ),
    [
      "src/cli/mod.ts:1: process edge: only main.ts touches Deno.stdin, Deno.args and Deno.exit (Deno.args)",
      "src/cli/mod.ts:2: process edge: only main.ts touches Deno.stdin, Deno.args and Deno.exit (Deno.exit)",
      "src/cli/mod.ts:3: process edge: only main.ts touches Deno.stdin, Deno.args and Deno.exit (Deno.stdin)",
      "src/cli/mod.ts:4: process edge: only main.ts touches Deno.stdin, Deno.args and Deno.exit ({ exit } = Deno)",
      'src/cli/mod.ts:5: process edge: only main.ts installs the global guards ("../util/guards.ts")',
      'src/cli/serve.ts:1: process edge: only main.ts installs the global guards ("../util/_console.ts")',
      "src/cli/serve.ts:2: process edge: redefines a global: only main.ts installs the guards (Object.defineProperty(Deno)",
      "src/cli/serve.ts:3: process edge: redefines a global: only main.ts installs the guards (globalThis.console =)",
      "src/cli/serve.ts:4: process edge: redefines a global: only main.ts installs the guards (console.log =)",
      "src/cli/serve.ts:5: process edge: redefines a global: only main.ts installs the guards (Object.assign(globalThis.console)",
      "src/cli/serve.ts:6: process edge: redefines a global: only main.ts installs the guards (Object.defineProperty(process)",
    ],
  );
});
