import assert from "node:assert/strict";
import { checkModules, loadToolDir } from "../src/loading/discover.ts";
import { isToolFile } from "../src/loading/tool_files.ts";
import { checkManifest, renderManifest } from "../src/loading/manifest.ts";

/** A temporary tools folder holding `files`; removed after `fn`. */
async function withToolDir(
  files: Record<string, string>,
  fn: (dir: URL) => Promise<void>,
): Promise<void> {
  const path = await Deno.makeTempDir({ prefix: "tooldrop-tools-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${path}/${name}`, text);
    }
    await fn(new URL(`file://${path}/`));
  } finally {
    await Deno.remove(path, { recursive: true });
  }
}

const GOOD = (extra = "") => `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "A tool.",
  input: z.object({ q: z.string() }),
  ${extra}
  run: ({ q }) => q,
});
`;

Deno.test("isToolFile skips _private files, tests, declarations and non-scripts", () => {
  const yes = ["echo.ts", "a-b.mts", "x.js", "y.mjs", "test_helper.ts"];
  const no = [
    "_manifest.ts",
    "_util.ts",
    "echo_test.ts",
    "echo.test.ts",
    "types.d.ts",
    "README.md",
    ".hidden.ts",
    "x.json",
  ];
  for (const name of yes) assert.equal(isToolFile(name), true, name);
  for (const name of no) assert.equal(isToolFile(name), false, name);
});

Deno.test("loadToolDir loads tools sorted by file name and names them after the file", async () => {
  await withToolDir({
    "zeta.ts": GOOD(),
    "alpha.ts": GOOD(),
    "Beta.ts": GOOD(),
    "_helper.ts": "export const x = 1;",
    "alpha_test.ts": "throw new Error('never imported');",
  }, async (dir) => {
    const { tools, errors } = await loadToolDir(dir);
    assert.deepEqual(errors, []);
    assert.deepEqual(tools.map((t) => t.name), ["Beta", "alpha", "zeta"]);
    // Named by the folder they came from: here a temporary one, outside the working directory.
    assert.equal(
      tools[1]!.source,
      `${decodeURIComponent(dir.pathname)}alpha.ts`,
    );
  });
});

Deno.test("a tool's name field overrides its file name", async () => {
  await withToolDir({ "file.ts": GOOD('name: "custom",') }, async (dir) => {
    const { tools } = await loadToolDir(dir);
    assert.equal(tools[0]!.name, "custom");
  });
});

Deno.test("every broken file is reported with its name and the fix, the good ones still load", async () => {
  await withToolDir({
    "good.ts": GOOD(),
    "nodefault.ts": "export const tool = 1;",
    "norun.ts": `export default { description: "x" };`,
    "nodesc.ts": `export default { run: () => "" };`,
    "bad name.ts": GOOD(),
    "badinput.ts":
      `export default { description: "x", input: { q: "string" }, run: () => "" };`,
    // .meta() merges keywords into the JSON Schema: here a top-level anyOf.
    "union.ts": GOOD().replace(
      "z.object({ q: z.string() })",
      "z.object({ q: z.string() }).meta({ anyOf: [{ required: ['q'] }] })",
    ),
    "date.ts": GOOD().replace("z.string()", "z.date()"),
    "timeout.ts": GOOD("timeoutMs: -5,"),
    "syntax.ts": "export default {{{",
    "throws.ts": "throw new Error('database is down');",
  }, async (dir) => {
    const { tools, errors } = await loadToolDir(dir);
    assert.deepEqual(tools.map((t) => t.name), ["good"]);
    const folder = decodeURIComponent(dir.pathname);
    const byFile = (file: string) =>
      errors.find((e) => e.startsWith(`Cannot load tool "${folder}${file}"`));
    assert.match(
      byFile("nodefault.ts")!,
      /it has no default export; end the file with `export default defineTool/,
    );
    assert.match(byFile("norun.ts")!, /no "run" function/);
    assert.match(byFile("nodesc.ts")!, /"description" is missing/);
    assert.match(
      byFile("bad name.ts")!,
      /the name "bad name" is not 1 to 64 letters.*; rename the file/,
    );
    assert.match(byFile("badinput.ts")!, /"input" must be a zod object schema/);
    assert.match(
      byFile("union.ts")!,
      /top-level "anyOf", which the Claude API rejects/,
    );
    assert.match(byFile("date.ts")!, /cannot be described as JSON Schema/);
    assert.match(
      byFile("timeout.ts")!,
      /"timeoutMs" must be a positive number/,
    );
    assert.match(byFile("syntax.ts")!, /it failed to import: /);
    assert.match(
      byFile("throws.ts")!,
      /it failed to import: .*database is down/,
    );
    assert.equal(errors.length, 10);
  });
});

Deno.test("checkModules reads the manifest's [file, module] pairs like a scan would", () => {
  const definition = { description: "d", run: () => "" };
  const { tools, errors } = checkModules([["one.ts", { default: definition }], [
    "two.ts",
    {},
  ]]);
  assert.deepEqual(tools.map((t) => t.name), ["one"]);
  assert.deepEqual(errors.length, 1);
});

Deno.test("renderManifest imports each tool file statically", () => {
  assert.equal(
    renderManifest(["a.ts", "b-c.ts"]).split("\n").slice(4).join("\n"),
    `import * as $0 from "./a.ts";
import * as $1 from "./b-c.ts";

export const toolModules: ReadonlyArray<readonly [string, unknown]> = [
  ["a.ts", $0],
  ["b-c.ts", $1],
];
`,
  );
  assert.match(
    renderManifest([]),
    /export const toolModules: ReadonlyArray<readonly \[string, unknown\]> = \[\];\n$/,
  );
});

Deno.test("the fixtures' _manifest.ts lists exactly the files in their folder", async () => {
  // Not the project's tools/: that folder is the user's, and `deno task compile` regenerates its
  // manifest before it builds (`new`, `dev` and `deno task manifest` keep it current meanwhile).
  const fixture = await checkManifest(
    new URL("./fixtures/tools/", import.meta.url),
  );
  assert.equal(
    fixture.current,
    true,
    "tests/fixtures/tools/_manifest.ts is out of date: run `deno task tooldrop manifest --tools tests/fixtures/tools`",
  );
});

Deno.test("the manifest loads the same tools a scan of its folder finds", async () => {
  const dir = new URL("./fixtures/tools/", import.meta.url);
  const { toolModules } = await import("./fixtures/tools/_manifest.ts");
  const fromManifest = checkModules(toolModules);
  const fromScan = await loadToolDir(dir);
  assert.deepEqual(fromManifest.errors, []);
  assert.deepEqual(
    fromManifest.tools.map((t) => t.descriptor),
    fromScan.tools.map((t) => t.descriptor),
  );
});

Deno.test("checkManifest notices a new tool file in the folder", async () => {
  await withToolDir({ "a.ts": GOOD() }, async (dir) => {
    await Deno.writeTextFile(
      new URL("_manifest.ts", dir),
      renderManifest(["a.ts"]),
    );
    assert.equal((await checkManifest(dir)).current, true);
    await Deno.writeTextFile(new URL("b.ts", dir), GOOD());
    assert.equal((await checkManifest(dir)).current, false);
  });
});
