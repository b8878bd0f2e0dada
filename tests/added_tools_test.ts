/**
 * The user's tools/ is theirs: on a copy of the project, `new` adds a tool, the README's "Your
 * first tool" is followed as written, a tool file comes by hand (with a helper and permissions
 * of its own), and the framework's tests that once read tools/ still pass there, beside the
 * user's tests in tools/, with `deno fmt --check` and `deno lint` clean. The framework's tests
 * serve tests/fixtures/tools/, never tools/.
 */

import assert from "node:assert/strict";
import { ROOT, tempDir } from "./spawn.ts";

/** What the project is, for this test: the files a clone has that the tests need. */
const PROJECT = ["main.ts", "deno.json", "deno.lock", "src", "tools", "tests"];

/** The framework's test files that read the project's tools/ before they had fixtures. */
const FRAMEWORK_TESTS = [
  "tests/commands_test.ts",
  "tests/cli_test.ts",
  "tests/install_test.ts",
  "tests/sdk_client_test.ts",
  "tests/dev_test.ts",
  "tests/discover_test.ts",
  "tests/process_test.ts",
  "tests/tools_test.ts",
  "tests/layers_test.ts",
  "tests/list_path_test.ts",
];

/** A tool written by hand, unlike the template: a helper, and permissions it declares. */
const SLUG = `import { z } from "zod";
import { defineTool } from "tooldrop";
import { slugify } from "./_slug.ts";

export default defineTool({
  description: 'Turns a title into a slug. Example: {"title": "Hello, World"}',
  input: z.object({ title: z.string().describe("The title") }),
  permissions: { net: ["api.example.com"], env: ["EXAMPLE_TOKEN"] },
  run: ({ title }) => slugify(title),
});
`;

const SLUG_HELPER = `/** Lower-case words joined by "-". */
export function slugify(text: string): string {
  return text.toLowerCase().match(/[a-z0-9]+/g)?.join("-") ?? "";
}
`;

/**
 * The README's "Your first tool": the tool `new` makes, the files its code blocks fill (each
 * the last `tools/….ts` named before it), and the `call` it shows with its output.
 */
async function firstTool() {
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const section = readme.split(/^## /m).find((part) =>
    part.startsWith("Your first tool")
  );
  assert.ok(section, 'README.md has no "Your first tool" section');
  const name = /^deno task tooldrop new (\w+)/m.exec(section)?.[1];
  const files: Record<string, string> = {};
  for (const block of section.matchAll(/^```ts\n([^]*?)^```$/gm)) {
    const before = section.slice(0, block.index);
    const file = [...before.matchAll(/`(tools\/\w+\.ts)`/g)].at(-1)?.[1];
    assert.ok(file, `no file is named before:\n${block[1]}`);
    files[file] = block[1]!;
  }
  const call = /^\$ deno task tooldrop call (\w+) '([^']*)'\n(.*)$/m.exec(
    section,
  );
  assert.ok(name && call, "the section shows no `new` or no `call`");
  assert.deepEqual(Object.keys(files).sort(), [
    `tools/${name}.ts`,
    `tools/${name}_test.ts`,
  ]);
  const [, tool, args, output] = call;
  return { name, files, call: { tool: tool!, args: args!, output } };
}

/** Copies `from` into `to`, folders recursively. */
async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (info.isFile) return await Deno.copyFile(from, to);
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** Runs deno with `args` in `cwd`; resolves to its exit code, stdout and all its output. */
async function deno(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; text: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const out = decoder.decode(stdout);
  return { code, stdout: out, text: out + decoder.decode(stderr) };
}

Deno.test("after `new hello`, the README's first tool and a tool file added by hand, the framework's tests and the user's pass, and fmt and lint are clean", async () => {
  const readme = await firstTool();
  await using copy = await tempDir({});
  for (const name of PROJECT) {
    await copyTree(`${ROOT}/${name}`, `${copy.path}/${name}`);
  }
  for (const name of ["hello", readme.name]) {
    const created = await deno(copy.path, "task", "tooldrop", "new", name);
    assert.equal(created.code, 0, created.text);
  }
  for (const [file, text] of Object.entries(readme.files)) {
    await Deno.writeTextFile(`${copy.path}/${file}`, text);
  }
  const { tool, args, output } = readme.call;
  const called = await deno(copy.path, "task", "tooldrop", "call", tool, args);
  assert.equal(called.stdout, `${output}\n`, called.text);
  await Deno.writeTextFile(`${copy.path}/tools/slug.ts`, SLUG);
  await Deno.writeTextFile(`${copy.path}/tools/_slug.ts`, SLUG_HELPER);
  // A file added by hand, not by `new` or `dev`: the manifest follows once asked (README).
  const manifest = await deno(copy.path, "task", "manifest");
  assert.equal(manifest.code, 0, manifest.text);

  // The user's files are type-checked here; the framework's are where the whole suite runs.
  const checked = await deno(
    copy.path,
    "check",
    "--lock=tests/deno.lock",
    "tools/",
  );
  assert.equal(checked.code, 0, checked.text);
  const tested = await deno(
    copy.path,
    "test",
    "--allow-all",
    "--no-prompt",
    "--no-check",
    "--lock=tests/deno.lock",
    ...FRAMEWORK_TESTS,
    "tools/",
  );
  assert.equal(tested.code, 0, tested.text);
  assert.match(tested.text, /\nok \| \d+ passed \| 0 failed/);
  // The user's tests ran too: the examples', the scaffolded one and the README's.
  const userTests = { echo: 2, get_cwd: 1, hello: 2, [readme.name]: 2 };
  for (const [file, count] of Object.entries(userTests)) {
    assert.match(
      tested.text,
      new RegExp(`running ${count} tests? from \\./tools/${file}_test\\.ts`),
    );
  }

  for (const check of [["fmt", "--check"], ["lint"]]) {
    const { code, text } = await deno(copy.path, ...check);
    assert.equal(code, 0, `deno ${check.join(" ")}:\n${text}`);
  }
});
