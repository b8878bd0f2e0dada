/**
 * Messages that say what is wrong (issue 15, item 8): a tool called from its test is named as
 * served; `call` says where its JSON fails to parse; a failed `fetch` shows its cause; `list`
 * with a broken tool shows each file's error; hints name the command that runs here.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { callTool, defineTool } from "../src/mod.ts";
import { runCli } from "../src/cli/mod.ts";
import { describeError, logDetail } from "../src/util/describe.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, ROOT, tempDir } from "./spawn.ts";

const ENTRY = new URL("../main.ts", import.meta.url);

/** Log lines without their time stamp: `error   Cannot load tool …`. */
function untimed(text: string): string {
  return text.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /gm, "");
}

/** Runs the CLI in-process from tooldrop's folder (as `deno task tooldrop` does). */
async function cli(args: string[], env: Record<string, string> = {}) {
  const { io, out, errors } = fakeIo(args, { INIT_CWD: ROOT, ...env }, {
    entry: ENTRY,
  });
  const code = await runCli(io);
  return { code, out: out.text, err: errors.join("") };
}

// --- callTool names the tool ---------------------------------------------------------------

Deno.test('callTool names a definition by its name, else by the file that exports it, else "unnamed"', async () => {
  const input = z.object({ n: z.number().describe("A number") });
  const named = defineTool({
    name: "counter",
    description: "Counts.",
    input,
    run: ({ n }) => String(n),
  });
  // @ts-expect-error: "n" is left out on purpose
  const refused = await callTool(named, {});
  assert.deepEqual(refused.content, [{
    type: "text",
    text: 'Invalid arguments for tool "counter": n: required (expected number)',
  }]);
  // Written here, exported by no file beside this test: nothing names it.
  const inline = defineTool({ description: "Counts.", input, run: () => "" });
  // @ts-expect-error: "n" is left out on purpose
  const unnamed = await callTool(inline, {});
  assert.deepEqual(unnamed.content, [{
    type: "text",
    text: 'Invalid arguments for tool "unnamed": n: required (expected number)',
  }]);
});

Deno.test('callTool of a definition greet.ts exports, from greet_test.ts, names it "greet"; without read access, "unnamed", never a prompt', async () => {
  await using dir = await tempDir({
    "greet.ts": `import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Greets someone.",
  input: z.object({ name: z.string().describe("Who") }),
  run: ({ name }) => \`Hello, \${name}!\`,
});
`,
    "greet_test.ts": `import assert from "node:assert/strict";
import { callTool } from "tooldrop";
import definition from "./greet.ts";
Deno.test("greet names a missing argument", async () => {
  // @ts-expect-error: on purpose
  const result = await callTool(definition, {});
  assert.deepEqual(result.content, [{
    type: "text",
    text: \`Invalid arguments for tool "\${Deno.env.get("EXPECTED")}": name: required (expected string)\`,
  }]);
});
`,
  });
  const runTest = async (expected: string, ...flags: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "--no-prompt",
        "--allow-env=EXPECTED",
        ...flags,
        "--config",
        `${ROOT}/deno.json`,
        `--lock=${ROOT}/tests/deno.lock`,
        `${dir.path}/greet_test.ts`,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", EXPECTED: expected },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(stdout) +
      new TextDecoder().decode(stderr);
    assert.equal(code, 0, text);
    assert.match(text, /\| 1 passed \| 0 failed/);
  };
  await runTest("greet", `--allow-read=${ROOT},${dir.path}`);
  await runTest("unnamed");
});

// --- call with JSON that does not parse ----------------------------------------------------

const HINT =
  `Pass one JSON object, in single quotes for the shell: '{"text": "hello"}'\n`;

Deno.test("call says where its arguments fail to parse as JSON, with the line and a caret, and exits 2", async () => {
  const cases: [string, string][] = [
    // What the shell leaves of {"text": "hi"} without quotes.
    [
      "{text:hi}",
      `Cannot parse the arguments as JSON at line 1, column 2: expected property name or '}'
  {text:hi}
   ^
`,
    ],
    [
      '{"text": hi there}',
      `Cannot parse the arguments as JSON at line 1, column 10: unexpected token 'h'
  {"text": hi there}
           ^
`,
    ],
    [
      '{"text": "hi",}',
      `Cannot parse the arguments as JSON at line 1, column 15: expected double-quoted property name
  {"text": "hi",}
                ^
`,
    ],
    [
      '{"text": "hi"',
      `Cannot parse the arguments as JSON at line 1, column 14: expected ',' or '}' after property value
  {"text": "hi"
               ^
`,
    ],
    [
      '{\n  "text": "a",\n  \'b\': 1\n}',
      `Cannot parse the arguments as JSON at line 3, column 3: expected double-quoted property name
    'b': 1
    ^
`,
    ],
    // A tab and a control character stand as one column each, so the caret stays under it.
    [
      '{"text":\t"\u0001"}',
      `Cannot parse the arguments as JSON at line 1, column 11: bad control character in string literal
  {"text": " "}
            ^
`,
    ],
    // Long arguments: 30 characters each side of the place.
    [
      `{"text": "${"a".repeat(100)}" x}`,
      `Cannot parse the arguments as JSON at line 1, column 113: expected ',' or '}' after property value
  …${"a".repeat(28)}" x}
                                 ^
`,
    ],
    // V8 quotes long arguments in its message ('…"aa", "b": hi there a"… is not valid JSON'):
    // the excerpt is ours.
    [
      `{"text": "${"a".repeat(40)}", "b": hi there, and a long way after it}`,
      `Cannot parse the arguments as JSON at line 1, column 59: unexpected token 'h'
  …${"a".repeat(22)}", "b": hi there, and a long way after…
                                 ^
`,
    ],
    ["", "Cannot parse the arguments as JSON: they are empty\n"],
  ];
  for (const [json, said] of cases) {
    const { code, out, err } = await cli(["call", "echo", json]);
    assert.equal(code, 2, json);
    assert.equal(out, "");
    assert.equal(err, `${said}${HINT}`, json);
  }
});

Deno.test("call names the kind of JSON that is not an object, shortened", async () => {
  const cases: [string, string][] = [
    ["[1, 2]", "got an array: [1, 2]"],
    [" null ", "got null"],
    ['"hi"', 'got a string: "hi"'],
    [`"${"x".repeat(40)}"`, `got a string: "${"x".repeat(29)}…`],
  ];
  for (const [json, got] of cases) {
    const { code, err } = await cli(["call", "echo", json]);
    assert.equal(code, 2, json);
    assert.equal(
      err,
      `The arguments must be one JSON object, like '{"text": "hello"}'; ${got}\n`,
    );
  }
});

// --- a failed fetch shows its cause --------------------------------------------------------

Deno.test("describeError follows an error's cause chain, bounded, whatever the causes are", () => {
  const refused = new TypeError("fetch failed", {
    cause: new Error("tcp connect error: Connection refused"),
  });
  assert.equal(
    describeError(refused),
    "TypeError: fetch failed (caused by: tcp connect error: Connection refused)",
  );
  const deep = new Error("a", {
    cause: new RangeError("b", {
      cause: new Error("c", { cause: new Error("d", { cause: "e" }) }),
    }),
  });
  assert.equal(
    describeError(deep),
    "Error: a (caused by: RangeError: b) (caused by: c) (caused by: d)",
  );
  const loop = new Error("loop");
  loop.cause = loop;
  assert.equal(describeError(loop), "Error: loop");
  // The log shows each stack, the cause's under \`[cause]\`.
  assert.match(
    logDetail(refused),
    /^TypeError: fetch failed\n {4}at .*\n {2}\[cause\]: Error: tcp connect error: Connection refused\n/s,
  );
  assert.equal(
    describeError(new Error("x", { cause: { code: 5 } })),
    'Error: x (caused by: {"code":5})',
  );
  const hostile = new Error("hostile");
  Object.defineProperty(hostile, "cause", {
    get() {
      throw new Error("no");
    },
  });
  assert.equal(describeError(hostile), "Error: hostile");
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  assert.equal(
    describeError(new Error("w", { cause: revoked.proxy })),
    "Error: w",
  );
  assert.equal(
    describeError(new Error("x", { cause: new Error("y".repeat(600)) }), 40),
    `Error: x (caused by: ${"y".repeat(19)}…`,
  );
});

/** A port nothing listens on: one the system just gave out, and closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

const FETCHER = `import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Fetches a URL.",
  input: z.object({ url: z.string().describe("What to fetch") }),
  permissions: { net: ["127.0.0.1", "tooldrop-no-such-host.invalid"] },
  run: async ({ url }) => await (await fetch(url)).text(),
});
`;

Deno.test('a tool whose fetch fails tells the model why: the cause under "fetch failed", in its worker and in this thread', async () => {
  await using dir = await tempDir({ "fetcher.ts": FETCHER });
  const port = closedPort();
  const refused = await cli([
    "call",
    "fetcher",
    JSON.stringify({ url: `http://127.0.0.1:${port}/` }),
    "--json",
    "--tools",
    dir.path,
    "--log-level",
    "critical", // the stack it logs is not what this test reads
  ]);
  assert.equal(refused.code, 1, refused.err);
  const { content } = JSON.parse(refused.out);
  assert.equal(content.length, 1);
  // Deno 2.9.6 on Linux ends it "Connection refused (os error 111)".
  assert.match(
    content[0].text,
    new RegExp(
      `^Tool "fetcher" failed: TypeError: fetch failed \\(caused by: error sending request for url \\(http://127\\.0\\.0\\.1:${port}/\\): client error \\(Connect\\): tcp connect error: .+\\)$`,
    ),
  );

  // A host that never resolves (.invalid is reserved): the cause names the DNS error.
  const unknown = await cli([
    "call",
    "fetcher",
    '{"url": "http://tooldrop-no-such-host.invalid/"}',
    "--tools",
    dir.path,
    "--log-level",
    "critical",
  ]);
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.err,
    /^Tool "fetcher" failed: TypeError: fetch failed \(caused by: error sending request for url \(http:\/\/tooldrop-no-such-host\.invalid\/\): client error \(Connect\): dns error: .+\)\n$/,
  );

  // The same description in this thread (a definition under callTool; a compiled binary).
  const inThread = await callTool(
    defineTool({
      name: "fetcher",
      description: "Fetches.",
      run: async () => await (await fetch(`http://127.0.0.1:${port}/`)).text(),
    }),
    {},
    { logLevel: "critical" },
  );
  assert.equal(inThread.isError, true);
  assert.match(
    (inThread.content[0] as { text: string }).text,
    /^Tool "fetcher" failed: TypeError: fetch failed \(caused by: error sending request for url .*tcp connect error: .+\)$/,
  );
});

// --- list with a broken tool ---------------------------------------------------------------

Deno.test("list and call with a broken tool file print each file's error, what it stops and what to do, and exit 1", async () => {
  await using dir = await tempDir({
    "ok.ts": `import { defineTool } from "tooldrop";
export default defineTool({ description: "Fine.", run: () => "fine" });
`,
    "no_run.ts": `import { defineTool } from "tooldrop";
export default defineTool({ description: "No run." } as never);
`,
    "throws.ts": `throw new Error("boom at import");\n`,
  });
  const errors = [
    `error   Cannot load tool "${dir.path}/no_run.ts": the default export has no "run" function; add \`run: (args, ctx) => "result"\``,
    `error   Cannot load tool "${dir.path}/throws.ts": it failed to import: boom at import`,
  ];
  const list = await cli(["list", "--tools", dir.path]);
  assert.equal(list.code, 1);
  assert.equal(list.out, "");
  assert.equal(
    untimed(list.err),
    [
      ...errors,
      `error   Cannot list the tools: fix the tool file(s) above, or move them out of ${dir.path}/`,
      "",
    ].join("\n"),
  );
  const call = await cli(["call", "ok", "--tools", dir.path]);
  assert.equal(call.code, 1);
  assert.equal(
    untimed(call.err),
    [
      ...errors,
      `error   Cannot call tool "ok": fix the tool file(s) above, or move them out of ${dir.path}/`,
      "",
    ].join("\n"),
  );
});

// --- hints name the command that runs here -------------------------------------------------

Deno.test("hints name the command that runs tooldrop where it was run: deno task in its folder, --config elsewhere, a binary's path", async () => {
  await using empty = await tempDir({});
  const here = await cli(["list", "--tools", empty.path]);
  assert.equal(here.code, 0);
  assert.equal(
    here.out,
    `No tools: add a file to ${empty.path}/ (\`${DENO_WORD} task tooldrop new <name> --tools ${empty.path}\` writes one)\n`,
  );
  const elsewhere = await cli(["list", "--tools", "."], {
    INIT_CWD: empty.path,
  });
  assert.equal(
    elsewhere.out,
    `No tools: add a file to ${empty.path}/ (\`${DENO_WORD} task --config ${ROOT}/deno.json tooldrop new <name> --tools .\` writes one)\n`,
  );
  const bad = await cli(["--bogus"], { INIT_CWD: empty.path });
  assert.equal(
    bad.err,
    `Unknown option "--bogus"\nRun "${DENO_WORD} task --config ${ROOT}/deno.json tooldrop --help" to see the commands and options.\n`,
  );
  // A compiled binary (no main.ts): its own path.
  const binary = fakeIo(["call"]);
  assert.equal(await runCli(binary.io), 2);
  assert.equal(
    binary.errors.join(""),
    `Usage: ${Deno.execPath()} call <tool> ['{"argument": "value"}']\n`,
  );
});

Deno.test("the command a hint names runs as typed, from tooldrop's folder and from another", async () => {
  if (Deno.build.os === "windows") return; // `sh` runs the hint as a person's shell would
  await using elsewhere = await tempDir({});
  const runs: [string, string[]][] = [
    [ROOT, ["task"]],
    [elsewhere.path, ["task", "--config", `${ROOT}/deno.json`]],
  ];
  for (const [cwd, task] of runs) {
    const bad = await new Deno.Command(Deno.execPath(), {
      args: [...task, "tooldrop", "--bogus"],
      cwd,
      // As a person's shell has it: an outer `deno task` (the test task) sets INIT_CWD, which
      // an inner one keeps, and the hint is for where the command was typed.
      env: { NO_COLOR: "1", INIT_CWD: cwd },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bad.code, 2);
    const hint = /^Run "(.*)" to see the commands and options\.$/m.exec(
      new TextDecoder().decode(bad.stderr),
    )?.[1];
    assert.ok(hint, new TextDecoder().decode(bad.stderr));
    // Deno run from npx's cache is named as npx runs it (CI runs the tests so).
    const deno = Deno.execPath().includes("/_npx/")
      ? "npx -y deno@2.9.6"
      : "deno";
    assert.equal(
      hint,
      cwd === ROOT
        ? `${deno} task tooldrop --help`
        : `${deno} task --config ${ROOT}/deno.json tooldrop --help`,
    );
    const help = await new Deno.Command("sh", {
      args: ["-c", `'${Deno.execPath()}' ${hint.slice(deno.length + 1)}`],
      cwd,
      env: { NO_COLOR: "1", INIT_CWD: cwd },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
    assert.match(
      new TextDecoder().decode(help.stdout),
      /\nUsage \(from source/,
    );
  }
});
