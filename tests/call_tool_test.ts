/**
 * `callTool` on a tool file (`toolFile`): the tool runs as served, in a worker with only the
 * permissions it declares, though this test process holds them all (`deno task test`). Each
 * answer is compared with what `tooldrop call --json` (the served path) answers for the same
 * file, or with the exact text a client reads.
 */

import assert from "node:assert/strict";
import {
  callTool,
  type CallToolResult,
  type FileTool,
  type InputSchema,
  type OutputSchema,
  type ToolDefinition,
  toolFile,
} from "tooldrop";
import { runCli } from "../src/cli/mod.ts";
import { fakeIo } from "./wire.ts";
import { ROOT, tempDir } from "./spawn.ts";

/** A tool file: `defineTool({ description, ...body })`, with `z` imported. */
function tool(body: string): string {
  return `import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({ description: "A test tool.", ${body} });
`;
}

const FETCH = `input: z.object({ url: z.string() }),
  run: async ({ url }) => await (await fetch(url)).text()`;

const TOOLS = {
  "fetch_undeclared.ts": tool(FETCH),
  "fetch_declared.ts": tool(`permissions: { net: ["127.0.0.1"] }, ${FETCH}`),
  "count.ts": tool(`input: z.object({ n: z.number().int().min(1) }),
  run: ({ n }, ctx) => {
    for (let i = 1; i <= n; i++) ctx.progress(i, n);
    return \`counted to \${n}\`;
  }`),
  "quit.ts": tool(`run: () => Deno.exit(3)`),
  // Beats on a BroadcastChannel until its worker ends; ignores its signal.
  "loop.ts": tool(`input: z.object({ channel: z.string() }),
  timeoutMs: 1000,
  run: async ({ channel }) => {
    const beat = new BroadcastChannel(channel);
    for (;;) {
      beat.postMessage(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }`),
};

/** The tool file `name` of `dir`, as a test gets it: its definition and its URL. */
async function fileTool(dir: string, name: string): Promise<FileTool> {
  const url = new URL(`file://${dir}/${name}.ts`);
  const { default: definition } = await import(url.href);
  return toolFile(
    definition as ToolDefinition<InputSchema, OutputSchema | undefined>,
    url,
  );
}

/** What `tooldrop call <name> <args> --json --tools <dir>` answers: the served result. */
async function served(
  dir: string,
  name: string,
  args: unknown,
): Promise<CallToolResult> {
  const { io, out } = fakeIo([
    "call",
    name,
    JSON.stringify(args),
    "--json",
    "--tools",
    dir,
  ]);
  await runCli(io);
  return JSON.parse(out.text);
}

/** Calls a file tool with arguments of any shape, as a client may send them. */
function call(file: FileTool, args: unknown): Promise<CallToolResult> {
  return callTool(file, args as Record<string, unknown>);
}

Deno.test("a tool file that fetches without declaring net is refused as served, though this test holds --allow-net", async () => {
  await using dir = await tempDir(TOOLS);
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello from the test"),
  );
  const url = `http://127.0.0.1:${http.addr.port}/`;
  const undeclared = await fileTool(dir.path, "fetch_undeclared");

  const refused = await call(undeclared, { url });
  assert.deepEqual(refused, {
    content: [{
      type: "text",
      text:
        'Tool "fetch_undeclared" needs net access to "127.0.0.1", which it does not declare; add permissions: { net: ["127.0.0.1"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
    }],
    isError: true,
  });
  assert.deepEqual(
    refused,
    await served(dir.path, "fetch_undeclared", { url }),
  );

  // The same definition in this thread holds the test's permissions: it fetches.
  assert.deepEqual(await callTool(undeclared.definition, { url }), {
    content: [{ type: "text", text: "hello from the test" }],
  });
});

Deno.test("a tool file that declares net fetches through callTool", async () => {
  await using dir = await tempDir(TOOLS);
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("hello from the test"),
  );
  const url = `http://127.0.0.1:${http.addr.port}/`;
  const declared = await fileTool(dir.path, "fetch_declared");
  assert.deepEqual(await call(declared, { url }), {
    content: [{ type: "text", text: "hello from the test" }],
  });
});

Deno.test("a tool file's arguments are checked and coerced as served; non-object arguments are refused", async () => {
  await using dir = await tempDir(TOOLS);
  const count = await fileTool(dir.path, "count");
  const progress: unknown[] = [];
  assert.deepEqual(
    await callTool(count, { n: "3" }, {
      onProgress: (update) => void progress.push(update),
    }),
    { content: [{ type: "text", text: "counted to 3" }] },
  );
  assert.deepEqual(progress.at(-1), { progress: 3, total: 3 });

  for (const args of [{}, { n: "three" }, { n: 0 }, { n: 1.5, extra: true }]) {
    const answer = await call(count, args);
    assert.equal(answer.isError, true, JSON.stringify(args));
    assert.deepEqual(answer, await served(dir.path, "count", args));
  }
  assert.deepEqual(await call(count, {}), {
    content: [{
      type: "text",
      text: 'Invalid arguments for tool "count": n: required (expected number)',
    }],
    isError: true,
  });
  await assert.rejects(
    () => call(count, [1, 2]),
    new Error('Invalid params: "arguments" must be an object'),
  );
});

Deno.test("a tool file that exits is answered as served, and only its worker ends", async () => {
  await using dir = await tempDir(TOOLS);
  const quit = await fileTool(dir.path, "quit");
  const answer = await call(quit, {});
  assert.deepEqual(answer, {
    content: [{
      type: "text",
      text:
        'Tool "quit" ended its worker with Deno.exit(3); the next call starts a new one (a tool should return or throw, not exit)',
    }],
    isError: true,
  });
  assert.deepEqual(answer, await served(dir.path, "quit", {}));
});

Deno.test("a tool file that loops past its timeout is answered, and its worker is terminated before callTool resolves", async () => {
  await using dir = await tempDir(TOOLS);
  // First a quick call: the first worker of a test run may spend its start type-checking the
  // worker's modules, which would eat the loop's timeout before it beats.
  await call(await fileTool(dir.path, "count"), { n: 1 });
  const loop = await fileTool(dir.path, "loop");
  const channel = `call_tool_test ${crypto.randomUUID()}`;
  const beats = new BroadcastChannel(channel);
  const heard: number[] = [];
  beats.onmessage = () => void heard.push(performance.now());
  try {
    const answer = await call(loop, { channel });
    const answeredAt = performance.now();
    assert.deepEqual(answer, {
      content: [{
        type: "text",
        text: 'Tool "loop" timed out after 1000 ms and was stopped',
      }],
      isError: true,
    });
    assert.ok(heard.length >= 10, `only ${heard.length} beats while it ran`);
    // Reference: the pace of its beats while it ran. A worker left running (it ignores its
    // signal; the host would terminate it only after the 1 s grace) beats on at that pace all
    // through the quiet window; a terminated one may only deliver beats already in flight.
    const pace = (heard.at(-1)! - heard[0]!) / (heard.length - 1);
    const quiet = Math.max(200, 40 * pace);
    await new Promise((resolve) => setTimeout(resolve, quiet));
    const late = heard.filter((at) => at > answeredAt + quiet / 2);
    assert.equal(
      late.length,
      0,
      `${late.length} beats from ${
        (quiet / 2).toFixed(0)
      } ms after the answer (one every ${
        pace.toFixed(1)
      } ms while it ran): its worker was not terminated`,
    );
  } finally {
    beats.close();
  }
});

Deno.test("toolFile refuses a URL that is not a file, and callTool a definition the file does not export", async () => {
  await using dir = await tempDir(TOOLS);
  const count = await fileTool(dir.path, "count");
  assert.throws(
    () => toolFile(count.definition, new URL("https://example.com/count.ts")),
    new TypeError(
      'Cannot test "https://example.com/count.ts" as a tool file: pass its file: URL, like new URL("./greet.ts", import.meta.url)',
    ),
  );
  const quit = await fileTool(dir.path, "quit");
  const mismatched = toolFile(quit.definition, count.url);
  await assert.rejects(
    () => callTool(mismatched, {}),
    new Error(
      `Cannot call tool "count" (${dir.path}/count.ts) as served: the file's default export is not the definition given to toolFile(); pass the one it exports (import definition from "./count.ts")`,
    ),
  );
});

/** The parts of `deno info --json` read here. */
interface ModuleInfo {
  specifier: string;
  dependencies?: Array<{
    code?: { specifier?: string };
    isDynamic?: boolean;
  }>;
}

Deno.test('"tooldrop" loads none of the server until callTool runs, so a tool worker does not', async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--lock=${ROOT}/tests/deno.lock`, "src/mod.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const { modules }: { modules: ModuleInfo[] } = JSON.parse(
    new TextDecoder().decode(stdout),
  );
  const bySpecifier = new Map(modules.map((m) => [m.specifier, m]));
  const src = new URL("../src/", import.meta.url).href;
  // What evaluating src/mod.ts loads: its value imports, followed; not `import type`, not
  // `import()`.
  const loaded = new Set<string>();
  const next = [`${src}mod.ts`];
  while (next.length > 0) {
    const specifier = next.pop()!;
    if (loaded.has(specifier)) continue;
    loaded.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target && !dependency.isDynamic) next.push(target);
    }
  }
  const files = [...loaded].filter((s) => s.startsWith(src)).map((s) =>
    s.slice(src.length)
  );
  assert.ok(files.includes("tool/tool.ts"), files.join(" "));
  assert.deepEqual(
    files.filter((f) =>
      f.startsWith("server/") || f.startsWith("loading/worker/")
    ),
    [],
  );
  // The server is still what callTool runs, once called.
  assert.ok(bySpecifier.has(`${src}server/serve.ts`));
  assert.ok(bySpecifier.has(`${src}loading/worker/host.ts`));
});
