/** The tool commands — list, call, new — and the banner, run in-process through the CLI. */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, ROOT, tempDir } from "./spawn.ts";

const ENTRY = new URL("../main.ts", import.meta.url);

const PROGRESSING = `
import { z } from "zod";
import { defineTool, ToolError } from "tooldrop";
export default defineTool({
  description: "Counts to n, reporting progress; fails for n = 0.",
  input: z.object({ n: z.number().int().describe("How far") }),
  output: z.object({ counted: z.number() }),
  run: ({ n }, ctx) => {
    if (n === 0) throw new ToolError("nothing to count");
    for (let i = 1; i <= n; i++) ctx.progress(i, n);
    return { counted: n };
  },
});
`;

Deno.test("list prints each tool with its arguments; list --json prints the tools/list result", async () => {
  const human = fakeIo(["list"]);
  assert.equal(await runCli(human.io), 0);
  assert.match(
    human.out.text,
    /^echo \(Echo\)\n {2}Returns the given text unchanged.*\n {2}arguments:\n {4}text \(string, required\) {2}The text to send back\n/,
  );
  assert.match(
    human.out.text,
    /\nget_cwd \(Working directory\)\n.*\n {2}arguments: none\n$/,
  );

  const json = fakeIo(["list", "--json"]);
  assert.equal(await runCli(json.io), 0);
  const { tools } = JSON.parse(json.out.text);
  assert.deepEqual(tools.map((t: { name: string }) => t.name), [
    "echo",
    "get_cwd",
  ]);
  assert.deepEqual(tools[0].inputSchema.required, ["text"]);
});

Deno.test("call runs a tool with JSON arguments and prints its text", async () => {
  const { io, out, errors } = fakeIo([
    "call",
    "echo",
    '{"text":"héllo\\nworld"}',
  ]);
  assert.equal(await runCli(io), 0);
  assert.equal(out.text, "héllo\nworld\n");
  assert.deepEqual(errors, []);
});

Deno.test("call reports progress on stderr, --json prints the whole result, isError exits 1", async () => {
  await using dir = await tempDir({ "count.ts": PROGRESSING });
  const ok = fakeIo([
    "call",
    "count",
    '{"n":"3"}',
    "--json",
    "--tools",
    dir.path,
  ]);
  assert.equal(await runCli(ok.io), 0);
  assert.deepEqual(JSON.parse(ok.out.text), {
    content: [{ type: "text", text: '{"counted":3}' }],
    structuredContent: { counted: 3 },
  });
  assert.match(ok.errors.join(""), /progress 3\/3\n/);

  const failed = fakeIo(["call", "count", '{"n":0}', "--tools", dir.path]);
  assert.equal(await runCli(failed.io), 1);
  assert.equal(failed.out.text, "");
  assert.equal(failed.errors.join(""), "nothing to count\n");

  const invalid = fakeIo(["call", "count", "{}", "--tools", dir.path]);
  assert.equal(await runCli(invalid.io), 1);
  assert.match(invalid.errors.join(""), /n: .*required/i);
});

Deno.test("call refuses an unknown tool, arguments that are not a JSON object, and a missing name (exit 2)", async () => {
  const unknown = fakeIo(["call", "nope"]);
  assert.equal(await runCli(unknown.io), 2);
  assert.equal(
    unknown.errors.join(""),
    'There is no tool "nope"; the tools are: echo, get_cwd\n',
  );
  // JSON that does not parse: tests/messages_test.ts.
  for (const args of ["[1]", "null", '"x"']) {
    const bad = fakeIo(["call", "echo", args]);
    assert.equal(await runCli(bad.io), 2, args);
    assert.match(bad.errors.join(""), /must be one JSON object/);
  }
  const none = fakeIo(["call"], {}, { entry: ENTRY });
  assert.equal(await runCli(none.io), 2);
  assert.match(
    none.errors.join(""),
    new RegExp(
      `^Usage: ${RegExp.escape(DENO_WORD)} task .*tooldrop call <tool>`,
    ),
  );
});

Deno.test("new scaffolds a working tool and a passing test, updates the manifest, and never overwrites", async () => {
  await using dir = await tempDir({});
  const toolsDir = new URL(`file://${dir.path}/`);
  const created = fakeIo(["new", "greet"], {}, { toolsDir, entry: ENTRY });
  assert.equal(await runCli(created.io), 0);
  assert.match(created.errors.join(""), /Created tools\/greet.ts and its test/);
  assert.match(
    await Deno.readTextFile(`${dir.path}/_manifest.ts`),
    /"greet.ts"/,
  );

  const call = fakeIo(["call", "greet", '{"name":"Ada"}'], {}, { toolsDir });
  assert.equal(await runCli(call.io), 0);
  assert.equal(call.out.text, "Hello, Ada!\n");

  // Its test calls greet.ts in a worker: under `deno task test` (--allow-all), and with only
  // the read access the worker needs (the project, for tooldrop's modules, and the tools
  // folder); without it, each call says what is missing.
  const runTest = async (...flags: string[]) => {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--no-prompt",
        ...flags,
        "--config",
        `${ROOT}/deno.json`,
        `--lock=${ROOT}/tests/deno.lock`,
        `${dir.path}/greet_test.ts`,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, text: new TextDecoder().decode(stdout) };
  };
  for (const flags of [["--allow-all"], [`--allow-read=${ROOT},${dir.path}`]]) {
    const { code, text } = await runTest(...flags);
    assert.equal(code, 0, text);
    assert.match(text, /\| 2 passed \| 0 failed/, flags.join(" "));
  }
  const refusals = {
    "":
      `its worker needs --allow-read=${dir.path}, which this test process was not granted;`,
    [`--allow-read=${dir.path}`]:
      `its worker may not read tooldrop's ${ROOT}/src/, which is outside the working directory and the tool's folder;`,
  };
  for (const [flag, refusal] of Object.entries(refusals)) {
    const { code, text } = await runTest(...(flag ? [flag] : []));
    assert.equal(code, 1, text);
    assert.match(text, /\| 0 passed \| 2 failed/, flag);
    const expected =
      `Cannot call tool "greet" (${dir.path}/greet.ts) as served: ${refusal}`;
    assert.equal(text.split(expected).length, 3, `${flag}: ${text}`);
  }

  const again = fakeIo(["new", "greet"], {}, { toolsDir, entry: ENTRY });
  assert.equal(await runCli(again.io), 1);
  assert.equal(
    again.errors.join(""),
    "tools/greet.ts already exists; pick another name\n",
  );

  for (const name of ["has space", "a".repeat(60)]) {
    const bad = fakeIo(["new", name], {}, { toolsDir, entry: ENTRY });
    assert.equal(await runCli(bad.io), 2, name);
  }
});

Deno.test("a server started in a terminal prints a banner to stderr, nothing to stdout", async () => {
  const { io, out, errors } = fakeIo([], {}, {
    stdinIsTerminal: true,
    entry: ENTRY,
  });
  assert.equal(await runCli(io), 0);
  assert.equal(out.text, "");
  const text = errors.join("");
  assert.match(text, /an MCP server with 2 tool\(s\): echo, get_cwd/);
  assert.match(text, /speaks MCP .* on stdin and stdout/);
  assert.match(text, / task tooldrop install/);
});
