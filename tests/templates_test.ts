/**
 * `new --template`: on one copy of the project, each template writes a tool and its test that
 * are fmt-, lint- and type-clean, load, and whose tests pass as written (in their workers, with
 * only the permissions they declare, and leaving no files behind); and `new` refuses names the
 * loader would skip or clients would reject, saying why.
 */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { TEMPLATES } from "../src/cli/new.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, projectCopy, ROOT, tempDir } from "./spawn.ts";

const ENTRY = new URL("../main.ts", import.meta.url);

/**
 * A name for each template, of lengths that give the three layouts of the test's `toolFile`
 * line (up to 8 characters, up to 43, longer) and, for http, an import of the tool's HOSTS that
 * spans lines; the longest is the most the default server name leaves (49).
 */
const NAMES: Record<typeof TEMPLATES[number], string> = {
  files: "read_file",
  command: "git_read",
  sqlite: "query_the_project_database_read_only_and_at_most_",
  http: "fetch_from_the_allowed_hosts_with_a_long_name",
};

/** The tests each template's test file holds. */
const TEST_COUNTS = { files: 4, command: 4, sqlite: 3, http: 4 };

/** Runs deno with `args` in `cwd`; resolves to its exit code and all its output. */
async function deno(cwd: string, ...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, text: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("new --template writes, for each template, a tool and a test that are fmt, lint and type clean, load, and pass", async () => {
  assert.equal(NAMES.sqlite.length, 49);
  await using copy = await projectCopy({
    "tests/deno.lock": await Deno.readTextFile(`${ROOT}/tests/deno.lock`),
  });
  const toolsDir = new URL(`file://${copy.path}/tools/`);
  for (const template of TEMPLATES) {
    const name = NAMES[template];
    const created = fakeIo(["new", name, "--template", template], {}, {
      toolsDir,
      entry: ENTRY,
    });
    assert.equal(await runCli(created.io), 0, created.errors.join(""));
    assert.equal(
      created.errors.join(""),
      `Created tools/${name}.ts and its test, tools/${name}_test.ts (and updated tools/_manifest.ts).
Next: read it and adjust the constants at its top. It declares permissions: a registered
server gets them when you run \`deno task tooldrop install\` again.
\`deno task dev\` serves it and reloads it on every save; \`deno task test\` runs its test.
`,
    );
  }

  // They load: the server lists each, with what it declares.
  const listed = fakeIo(["list", "--json"], {}, { toolsDir });
  assert.equal(await runCli(listed.io), 0, listed.errors.join(""));
  const { tools } = JSON.parse(listed.out.text);
  assert.deepEqual(
    tools.map((tool: { name: string }) => tool.name).sort(),
    ["echo", "get_cwd", ...Object.values(NAMES)].sort(),
  );

  const files = Object.values(NAMES).flatMap((name) => [
    `tools/${name}.ts`,
    `tools/${name}_test.ts`,
  ]);
  const tested = await cleanAndPassing(copy.path, files);
  for (const template of TEMPLATES) {
    const count = TEST_COUNTS[template];
    assert.match(
      tested.text,
      new RegExp(
        `running ${count} tests from \\./tools/${NAMES[template]}_test\\.ts`,
      ),
    );
  }
  const total = Object.values(TEST_COUNTS).reduce((a, b) => a + b);
  assert.match(
    tested.text,
    new RegExp(`\nok \\| ${total} passed \\| 0 failed`),
  );
  // The tests' folders and databases inside the working directory are gone.
  const left = [];
  for await (const entry of Deno.readDir(copy.path)) {
    if (entry.name.startsWith(".test-")) left.push(entry.name);
  }
  assert.deepEqual(left, []);
});

Deno.test("new refuses names the loader skips or clients reject, and unknown templates, saying why", async () => {
  await using dir = await tempDir({});
  const toolsDir = new URL(`file://${dir.path}/`);
  const refusals: [string[], string][] = [
    [
      ["new", "_helper"],
      '"_helper" starts with "_": the loader skips tools/_*.ts, which are helpers for tools to import; pick a name without the "_"',
    ],
    [
      ["new", "foo_test"],
      '"foo_test" is the name of a test: the loader takes tools/*_test.ts (and test.ts) for tests, not tools; pick another name (new writes the tool\'s test itself, as tools/<name>_test.ts)',
    ],
    [
      ["new", "test"],
      '"test" is the name of a test: the loader takes tools/*_test.ts (and test.ts) for tests, not tools; pick another name (new writes the tool\'s test itself, as tools/<name>_test.ts)',
    ],
    [
      ["new", "has space"],
      'A tool name is 1 to 49 letters, digits, "_" or "-" (clients call it mcp__tooldrop__<name>, at most 64 characters); "has space" is not',
    ],
    [
      ["new", "a".repeat(50)],
      `"${
        "a".repeat(50)
      }" is 50 characters, over the 49 a tool name may have here: clients call it mcp__tooldrop__<name>, which the Claude API takes up to 64 characters long; pick a shorter name`,
    ],
    // The limit follows the server's name: 64 - "mcp__" - name - "__".
    [
      ["new", "--name", "team-tools-server", "b".repeat(41)],
      `"${
        "b".repeat(41)
      }" is 41 characters, over the 40 a tool name may have here: clients call it mcp__team-tools-server__<name>, which the Claude API takes up to 64 characters long; pick a shorter name`,
    ],
    [
      ["new", "--name", "s".repeat(57), "x"],
      `The server name "${
        "s".repeat(57)
      }" leaves no room for a tool name in mcp__${
        "s".repeat(57)
      }__<name> (64 characters at most); pass a shorter --name`,
    ],
    [
      ["new", "x", "--template", "nope"],
      'Unknown template "nope"; use one of files, command, sqlite, http, or no --template for a minimal tool',
    ],
  ];
  for (const [args, message] of refusals) {
    const refused = fakeIo(args, {}, { toolsDir, entry: ENTRY });
    assert.equal(await runCli(refused.io), 2, args.join(" "));
    assert.equal(refused.errors.join(""), `${message}\n`);
  }
  const fits = fakeIo(
    ["new", "--name", "team-tools-server", "b".repeat(40)],
    {},
    {
      toolsDir,
      entry: ENTRY,
    },
  );
  assert.equal(await runCli(fits.io), 0, fits.errors.join(""));
  const written = [];
  for await (const entry of Deno.readDir(dir.path)) written.push(entry.name);
  assert.deepEqual(written.sort(), [
    ".listing.json",
    "_manifest.ts",
    `${"b".repeat(40)}.ts`,
    `${"b".repeat(40)}_test.ts`,
  ]);
});

Deno.test("--help shows new's --template and its choices", async () => {
  const help = fakeIo(["--help"]);
  assert.equal(await runCli(help.io), 0);
  assert.match(
    help.out.text,
    /\n {2}new <name> \[--template T\] +write tools\/<name>\.ts and its test, tools\/<name>_test\.ts;\n +T: files, command, sqlite or http/,
  );
});

/** Names for `new --prompt` and `new --resource`: short, and the longest the loader takes (64). */
const KIND_NAMES = ["review", "x".repeat(64)];

Deno.test("new --prompt and new --resource write a file and a test that are fmt, lint and type clean, load, and pass", async () => {
  await using copy = await projectCopy({
    "tests/deno.lock": await Deno.readTextFile(`${ROOT}/tests/deno.lock`),
  });
  const toolsDir = new URL(`file://${copy.path}/tools/`);
  const files: string[] = [];
  for (const kind of ["prompt", "resource"] as const) {
    for (const [i, name] of KIND_NAMES.entries()) {
      const created = fakeIo(["new", `--${kind}`, name], {}, {
        toolsDir,
        entry: ENTRY,
      });
      assert.equal(await runCli(created.io), 0, created.errors.join(""));
      const folder = `${copy.path}/${kind}s/`;
      const shows = kind === "prompt"
        ? `prompt ${name} '{"code": "x = 1"}'\` shows what it gives`
        : `read docs://${name}/start\` shows what it reads`;
      assert.equal(
        created.errors.join(""),
        `Created ${folder}${name}.ts and its test, ${folder}${name}_test.ts.
Next: write its description, ${
          kind === "prompt" ? "args and get" : "uriTemplate and read"
        }.
\`${DENO_WORD} task tooldrop ${shows}; \`deno task test\` runs its test.
${
          i === 0
            ? `${folder} is new: a server serves it from its next start (a registered one after \`${DENO_WORD} task tooldrop install\` again).\n`
            : ""
        }`,
      );
      files.push(`${kind}s/${name}.ts`, `${kind}s/${name}_test.ts`);
    }
  }

  // They load: list shows each, from the listing cache new wrote.
  const listed = fakeIo(["list"], {}, { toolsDir });
  assert.equal(await runCli(listed.io), 0, listed.errors.join(""));
  for (const name of KIND_NAMES) {
    assert.match(
      listed.out.text,
      new RegExp(`\n${name}\n {2}Asks for a review`),
    );
    assert.match(
      listed.out.text,
      new RegExp(`\ndocs://${name}/\\{topic\\}  ${name} \\(text/markdown\\)\n`),
    );
  }
  for (const kind of ["prompt", "resource"]) {
    const cache = JSON.parse(
      await Deno.readTextFile(`${copy.path}/${kind}s/.listing.json`),
    );
    assert.deepEqual(
      Object.keys(cache[`${kind}s`]).sort(),
      KIND_NAMES.map((name) => `${name}.ts`).sort(),
    );
  }

  // The manifest imports them too, for the compiled binary.
  const manifest = await Deno.readTextFile(`${copy.path}/tools/_manifest.ts`);
  for (const name of KIND_NAMES) {
    assert.ok(manifest.includes(`"../prompts/${name}.ts"`), manifest);
    assert.ok(manifest.includes(`"../resources/${name}.ts"`), manifest);
  }

  const tested = await cleanAndPassing(copy.path, files);
  assert.match(tested.text, /\nok \| 8 passed \| 0 failed/);
});

Deno.test("new --prompt and new --resource refuse names the loader skips, a --template, and a file that exists, saying why", async () => {
  await using dir = await tempDir({
    "tools/.keep": "",
    "prompts/taken.ts": "",
  });
  const toolsDir = new URL(`file://${dir.path}/tools/`);
  const refusals: [string[], number, string][] = [
    [
      ["new", "--prompt", "_helper"],
      2,
      '"_helper" starts with "_": the loader skips prompts/_*.ts, which are helpers for prompts to import; pick a name without the "_"',
    ],
    [
      ["new", "--resource", "notes_test"],
      2,
      '"notes_test" is the name of a test: the loader takes resources/*_test.ts (and test.ts) for tests, not resources; pick another name (new writes the resource\'s test itself, as resources/<name>_test.ts)',
    ],
    [
      ["new", "--prompt", "has space"],
      2,
      'A prompt name is 1 to 64 letters, digits, "_" or "-"; "has space" is not',
    ],
    [
      ["new", "--resource", "r".repeat(65)],
      2,
      `"${
        "r".repeat(65)
      }" is 65 characters, over the 64 a resource name may have; pick a shorter name`,
    ],
    [
      ["new", "--prompt", "review", "--template", "files"],
      2,
      "--template is for tools; new --prompt writes one prompt to start from",
    ],
    [
      ["new", "--prompt", "taken"],
      1,
      `${dir.path}/prompts/taken.ts already exists; pick another name`,
    ],
  ];
  for (const [args, code, message] of refusals) {
    const refused = fakeIo(args, {}, { toolsDir, entry: ENTRY });
    assert.equal(await runCli(refused.io), code, args.join(" "));
    assert.equal(refused.errors.join(""), `${message}\n`);
  }
  const both = fakeIo(["new", "--prompt", "--resource", "x"]);
  assert.equal(await runCli(both.io), 2);
  assert.match(
    both.errors.join(""),
    /^Options --prompt and --resource exclude each other; new writes one file and its test\n/,
  );
  // Nothing was written: no resources/ folder, prompts/ as it was.
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name).sort(),
    ["prompts", "tools"],
  );
  assert.deepEqual(
    (await Array.fromAsync(Deno.readDir(`${dir.path}/prompts`))).map((e) =>
      e.name
    ),
    ["taken.ts"],
  );
});

/**
 * Checks that `files` (in the project copy at `root`) are fmt, lint and type clean, and runs
 * their tests, which must pass; what the test run printed.
 */
async function cleanAndPassing(
  root: string,
  files: string[],
): Promise<{ code: number; text: string }> {
  for (
    const check of [
      ["fmt", "--check"],
      ["lint"],
      ["check", "--lock=tests/deno.lock"],
    ]
  ) {
    const { code, text } = await deno(root, ...check, ...files);
    assert.equal(code, 0, `deno ${check.join(" ")}:\n${text}`);
  }
  const tested = await deno(
    root,
    "test",
    "--allow-all",
    "--no-prompt",
    "--no-check",
    "--lock=tests/deno.lock",
    ...files.filter((file) => file.endsWith("_test.ts")),
  );
  assert.equal(tested.code, 0, tested.text);
  return tested;
}
