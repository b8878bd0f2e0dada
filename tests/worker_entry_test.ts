/**
 * The code that runs inside a tool worker (src/loading/worker/entry.ts), started in a real
 * Worker with only read access to a temporary tools folder, driven message by message.
 * Needs `--unstable-worker-options` (or "worker-options" in deno.json's "unstable"). Over 300
 * lines on purpose: one fixture tool and its assertions per behaviour, each read alone.
 */

import assert from "node:assert/strict";
import type {
  FromWorker,
  ToolFile,
  ToWorker,
} from "../src/loading/worker/protocol.ts";
import { STDIN_REFUSED } from "../src/loading/worker/entry.ts";
import {
  deniedMessage,
  deniedPermission,
} from "../src/loading/worker/_failure.ts";

const ENTRY = new URL("../src/loading/worker/entry.ts", import.meta.url);
const ROOT = new URL("..", import.meta.url);

type Message<T extends FromWorker["type"]> = Extract<FromWorker, { type: T }>;

/** A worker running the entry, with its messages queued for the test to take in order. */
class TestWorker {
  readonly #worker: Worker;
  readonly #inbox: FromWorker[] = [];
  #wake: (() => void) | undefined;
  /** Every message received, in order. */
  readonly seen: FromWorker[] = [];

  constructor(tools: string, permissions: Deno.PermissionOptionsObject = {}) {
    this.#worker = new Worker(ENTRY, {
      type: "module",
      deno: { permissions: { read: [tools], ...permissions } },
    });
    this.#worker.addEventListener("message", (event) => {
      this.seen.push(event.data);
      this.#inbox.push(event.data);
      this.#wake?.();
    });
  }

  send(message: ToWorker & { logLevel?: string }): void {
    this.#worker.postMessage(message);
  }

  /** The next message, which must be of `type` when given. */
  async next<T extends FromWorker["type"]>(type?: T): Promise<Message<T>> {
    while (this.#inbox.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const message = this.#inbox.shift()!;
    if (type) assert.equal(message.type, type, JSON.stringify(message));
    return message as Message<T>;
  }

  /**
   * Results until every id in `ids` has one; returns them by id and how many messages came.
   * Turns with logs or progress are acknowledged, as the server's thread does.
   */
  async results(
    ids: number[],
  ): Promise<{ byId: Map<number, string>; messages: number }> {
    const byId = new Map<number, string>();
    let messages = 0;
    while (ids.some((id) => !byId.has(id))) {
      const turn = await this.next("turn");
      if (turn.ack) this.send({ type: "ack" });
      messages++;
      for (const { id, result } of turn.results ?? []) {
        assert.ok(!("json" in result), "a short result crosses as it is");
        const text = result.content.map((b) =>
          b.type === "text" ? b.text : b.type
        ).join("");
        byId.set(id, result.isError ? `error: ${text}` : text);
      }
    }
    return { byId, messages };
  }

  /** One call's result text (`error: …` for an error result). */
  async call(
    tool: string,
    args: Record<string, unknown> = {},
    id = 1,
  ): Promise<string> {
    this.send({ type: "calls", calls: [{ id, tool, args }] });
    return (await this.results([id])).byId.get(id)!;
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

/** Writes tool files into a fresh temporary tools folder; removed at the end of the test. */
async function toolsDir(files: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "tooldrop_worker_" });
  const list: ToolFile[] = [];
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
    if (!name.startsWith("_")) {
      list.push({
        url: new URL(`file://${dir}/${name}`).href,
        source: `tools/${name}`,
        stem: name.replace(/\.ts$/, ""),
      });
    }
  }
  return {
    dir,
    files: list,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** A tool file: `export default defineTool({ description, …body })`. */
function tool(body: string, imports = ""): string {
  return `import { defineTool, ToolError } from "tooldrop";\nimport { z } from "zod";\n${imports}\nexport default defineTool({ description: "A test tool.", ${body} });\n`;
}

/** Starts a worker on `files` and waits for `loaded`. */
async function started(
  tools: { dir: string; files: ToolFile[] },
  permissions: Deno.PermissionOptionsObject = {},
) {
  const worker = new TestWorker(tools.dir, permissions);
  worker.send({ type: "load", files: tools.files, logLevel: "emergency" });
  const loaded = await worker.next("loaded");
  return { worker, loaded };
}

const ECHO = tool(
  `input: z.object({ text: z.string() }), run: ({ text }) => text`,
);

Deno.test("the worker loads its tool files, answering each one's name, permissions and timeout or the error naming the file", async () => {
  await using tools = await toolsDir({
    "echo.ts": ECHO,
    "net.ts": tool(
      `name: "fetcher", permissions: { net: ["b.com", "a.com"] }, timeoutMs: 500, run: () => ""`,
    ),
    "empty.ts": "export const x = 1;\n",
    "throws.ts": 'throw new Error("broken at import");\n',
    "_helper.ts": "export const y = 2;\n",
  });
  const { worker, loaded } = await started(tools);
  using _ = worker;
  assert.deepEqual(loaded.tools, [
    {
      source: "tools/echo.ts",
      name: "echo",
      permissions: undefined,
      timeoutMs: 60_000,
    },
    {
      source: "tools/net.ts",
      name: "fetcher",
      permissions: { net: ["a.com", "b.com"] },
      timeoutMs: 500,
    },
    {
      source: "tools/empty.ts",
      error:
        'Cannot load tool "tools/empty.ts": it has no default export; end the file with `export default defineTool({ description, input, run })`',
    },
    {
      source: "tools/throws.ts",
      error:
        'Cannot load tool "tools/throws.ts": it failed to import: broken at import',
    },
  ]);
});

Deno.test("a call is checked, run and shaped in the worker; a bad argument, a ToolError and a throw become error results", async () => {
  await using tools = await toolsDir({
    "echo.ts": ECHO,
    "later.ts": tool(
      `run: async () => { await new Promise((r) => setTimeout(r, 1)); return { content: [{ type: "text", text: "later" }] }; }`,
    ),
    "refuse.ts": tool(
      `run: () => { throw new ToolError("No such file; try another name"); }`,
    ),
    "boom.ts": tool(`run: async () => { throw new RangeError("kaboom"); }`),
    "json.ts": tool(`run: () => ({ n: 1 })`),
  });
  const { worker } = await started(tools);
  using _ = worker;
  assert.equal(await worker.call("echo", { text: "hi" }), "hi");
  assert.equal(await worker.call("later"), "later");
  assert.equal(await worker.call("json"), '{"n":1}');
  assert.equal(
    await worker.call("echo", { text: 5 }),
    'error: Invalid arguments for tool "echo": text: expected string, received number',
  );
  assert.equal(
    await worker.call("refuse"),
    "error: No such file; try another name",
  );
  assert.equal(
    await worker.call("boom"),
    'error: Tool "boom" failed: RangeError: kaboom',
  );
  assert.match(
    await worker.call("nope"),
    /^error: Cannot call tool "nope": this worker does not run it$/,
  );
});

Deno.test("a burst of calls is answered in one turn message (sync) or a few (async)", async () => {
  await using tools = await toolsDir({
    "echo.ts": ECHO,
    "tick.ts": tool(
      `input: z.object({ text: z.string() }), run: async ({ text }) => { await null; return text; }`,
    ),
  });
  const { worker } = await started(tools);
  using _ = worker;
  for (const name of ["echo", "tick"]) {
    const ids = Array.from({ length: 200 }, (_, i) => i);
    worker.send({
      type: "calls",
      calls: ids.map((id) => ({ id, tool: name, args: { text: `t${id}` } })),
    });
    const { byId, messages } = await worker.results(ids);
    assert.deepEqual([...byId.keys()].sort((a, b) => a - b), ids);
    assert.equal(byId.get(199), "t199");
    assert.equal(messages, 1, `${name}: ${messages} messages`);
  }
});

/** A tool file whose import waits until the test posts "open" on a BroadcastChannel. */
const GATED = `await new Promise((resolve) => {
  const gate = new BroadcastChannel("tooldrop-test-gate");
  gate.addEventListener("message", () => { gate.close(); resolve(); });
  gate.postMessage("waiting");
});
${tool(`run: () => "late"`)}`;

/** The test's end of GATED's channel: `waiting` resolves once the file's import waits. */
function gate() {
  const channel = new BroadcastChannel("tooldrop-test-gate");
  const waiting = new Promise((resolve) =>
    channel.addEventListener("message", resolve, { once: true })
  );
  return {
    waiting,
    open: () => channel.postMessage("open"),
    [Symbol.dispose]: () => channel.close(),
  };
}

Deno.test("a call runs once its own file is imported, while another file of the worker still imports; loaded comes once every file is in", async () => {
  await using tools = await toolsDir({ "echo.ts": ECHO, "gated.ts": GATED });
  using door = gate();
  using worker = new TestWorker(tools.dir);
  worker.send({ type: "load", files: tools.files, logLevel: "emergency" });
  await door.waiting;
  assert.equal(await worker.call("echo", { text: "meanwhile" }), "meanwhile");
  assert.deepEqual(worker.seen.map((message) => message.type), ["turn"]);
  door.open();
  assert.deepEqual((await worker.next("loaded")).tools.map((t) => t.source), [
    "tools/echo.ts",
    "tools/gated.ts",
  ]);
  assert.equal(await worker.call("gated", {}, 2), "late");
});

Deno.test("a call whose file is still importing ends at once when aborted, with the abort's message", async () => {
  await using tools = await toolsDir({ "echo.ts": ECHO, "gated.ts": GATED });
  using door = gate();
  using worker = new TestWorker(tools.dir);
  worker.send({ type: "load", files: tools.files, logLevel: "emergency" });
  worker.send({ type: "calls", calls: [{ id: 1, tool: "gated", args: {} }] });
  await door.waiting;
  worker.send({
    type: "abort",
    id: 1,
    name: "AbortError",
    message: "The client cancelled the call",
  });
  assert.equal(
    (await worker.results([1])).byId.get(1),
    "error: The client cancelled the call",
  );
  door.open();
  await worker.next("loaded");
  // Aborted before it started: the tool never runs, and nothing more is said of the call.
  assert.equal(await worker.call("echo", { text: "after" }, 2), "after");
});

Deno.test("calls of a file that fails to load answer its error while the others run, each file named by sources", async () => {
  await using tools = await toolsDir({
    "echo.ts": ECHO,
    "throws.ts": 'throw new Error("broken at import");\n',
    "renamed.ts": tool(`name: "other_name", run: () => "renamed ran"`),
  });
  using worker = new TestWorker(tools.dir);
  worker.send({ type: "load", files: tools.files, logLevel: "emergency" });
  worker.send({
    type: "calls",
    packed: [1, "throws", {}, 2, "echo", { text: "fine" }, 3, "other_name", {}],
    sources: ["throws", "tools/throws.ts", "other_name", "tools/renamed.ts"],
  });
  // The results, and `loaded` among them or after them.
  const byId = new Map<unknown, unknown>();
  let loaded = false;
  while (byId.size < 3 || !loaded) {
    const message = await worker.next();
    if (message.type === "loaded") loaded = true;
    else if (message.type !== "turn") assert.fail(JSON.stringify(message));
    const packed = message.type === "turn" ? message.packed ?? [] : [];
    for (let i = 0; i + 1 < packed.length; i += 2) {
      byId.set(packed[i], packed[i + 1]);
    }
  }
  assert.deepEqual(byId.get(1), {
    content: [{
      type: "text",
      text:
        'Cannot load tool "tools/throws.ts": it failed to import: broken at import',
    }],
    isError: true,
  });
  assert.equal(byId.get(2), "fine");
  assert.equal(byId.get(3), "renamed ran");
  // Told once is enough: a later call of the tool answers the same.
  assert.equal(
    await worker.call("throws", {}, 4),
    'error: Cannot load tool "tools/throws.ts": it failed to import: broken at import',
  );
});

Deno.test("a permission the tool does not declare is an error naming the tool, the permission and the line to add", async () => {
  await using tools = await toolsDir({
    "fetcher.ts": tool(
      `run: () => fetch("https://example.com/a").then(() => "fetched")`,
    ),
    "home.ts": tool(
      `permissions: { net: ["example.com"] }, run: () => Deno.env.get("HOME") ?? ""`,
    ),
    "reader.ts": tool(`run: () => Deno.readTextFile("/etc/hostname")`),
    "runner.ts": tool(
      `run: () => new Deno.Command("ls").output().then(() => "")`,
    ),
    "declared.ts": tool(
      `permissions: { sys: ["hostname"] }, run: () => Deno.hostname()`,
    ),
  });
  const { worker } = await started(tools);
  using _ = worker;
  assert.equal(
    await worker.call("fetcher"),
    'error: Tool "fetcher" needs net access to "example.com", which it does not declare; add permissions: { net: ["example.com"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
  );
  assert.equal(
    await worker.call("home"),
    'error: Tool "home" needs env access to "HOME", which it does not declare; add permissions: { net: ["example.com"], env: ["HOME"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
  );
  assert.equal(
    await worker.call("reader"),
    'error: Tool "reader" needs read access to "/etc/hostname", which it does not declare; add permissions: { read: ["/etc/hostname"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
  );
  assert.equal(
    await worker.call("runner"),
    'error: Tool "runner" needs run access to "ls", which it does not declare; add permissions: { run: ["ls"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
  );
  // Declared, but this worker (the server) was not granted it.
  const declared = await worker.call("declared");
  assert.match(
    declared,
    /^error: Tool "declared" declares sys access to "hostname", but the server was not granted it; run `deno task tooldrop install` again in tooldrop's folder \(with the same --project, if any\) and restart the server in the client \(`deno task dev` restarts by itself\)$/,
  );
  for (const text of [declared, await worker.call("fetcher")]) {
    assert.ok(!text.includes("--allow"), text);
  }
});

Deno.test("deniedPermission reads Deno's message, under a cause too; deniedMessage drops the port and handles a kind without a name", () => {
  const net = new Deno.errors.NotCapable(
    'Requires net access to "[::1]:8080", run again with the --allow-net flag',
  );
  assert.deepEqual(deniedPermission(net), { kind: "net", value: "[::1]" });
  assert.deepEqual(
    deniedPermission(new Error("wrapped", { cause: net })),
    { kind: "net", value: "[::1]" },
  );
  const all = new Deno.errors.NotCapable(
    "Requires env access, run again with the --allow-env flag",
  );
  assert.deepEqual(deniedPermission(all), { kind: "env", value: undefined });
  assert.equal(
    deniedMessage("t", { env: ["A"] }, { kind: "env", value: undefined }),
    'Tool "t" needs env access, which it does not declare; add permissions: { env: true } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)',
  );
  assert.equal(
    deniedPermission(
      new Deno.errors.PermissionDenied("Permission denied (os error 13)"),
    ),
    undefined,
  );
  assert.equal(
    deniedPermission(new Error('Requires net access to "x"')),
    undefined,
  );
  assert.match(
    deniedMessage("t", { read: ["/data"] }, {
      kind: "read",
      value: "/data/a.txt",
    }),
    /^Tool "t" declares read access to "\/data\/a.txt", but the server was not granted it/,
  );
});

Deno.test("abort aborts the call's signal with a DOMException of that name and message", async () => {
  await using tools = await toolsDir({
    "wait.ts": tool(
      `run: (_args, ctx) => new Promise((resolve) => ctx.signal.addEventListener("abort", () => { const r = ctx.signal.reason; resolve(\`\${r instanceof DOMException} \${r.name}: \${r.message}\`); }))`,
    ),
    "stubborn.ts": tool(
      `run: (_args, ctx) => new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))`,
    ),
  });
  const { worker } = await started(tools);
  using _ = worker;
  worker.send({
    type: "calls",
    calls: [{ id: 7, tool: "wait", args: {} }, {
      id: 8,
      tool: "stubborn",
      args: {},
    }],
  });
  worker.send({
    type: "abort",
    id: 7,
    name: "TimeoutError",
    message: 'Tool "wait" timed out after 10 ms',
  });
  worker.send({
    type: "abort",
    id: 8,
    name: "AbortError",
    message: "The client cancelled the call",
  });
  worker.send({
    type: "abort",
    id: 99,
    name: "AbortError",
    message: "no such call",
  });
  const { byId } = await worker.results([7, 8]);
  assert.equal(
    byId.get(7),
    'true TimeoutError: Tool "wait" timed out after 10 ms',
  );
  assert.equal(
    byId.get(8),
    'error: Tool "stubborn" stopped: AbortError: The client cancelled the call',
  );
});

Deno.test("ctx.progress, ctx.log and ctx.roots() of one turn cross in one message, progress coalesced; roots resolve or reject with the server's answer", async () => {
  await using tools = await toolsDir({
    "ctx.ts": tool(`run: async (_args, ctx) => {
      ctx.progress(1, 4, "a quarter");
      ctx.progress(1, 4, "not more: dropped");
      ctx.progress(2);
      ctx.log("warning", "careful");
      ctx.log("nonsense", { x: 1 });
      const roots = await ctx.roots();
      try { await ctx.roots(); } catch (error) { return \`\${ctx.toolName} \${JSON.stringify(roots)} \${error.message}\`; }
      return "not rejected";
    }`),
  });
  const { worker } = await started(tools);
  using _ = worker;
  worker.send({ type: "calls", calls: [{ id: 3, tool: "ctx", args: {} }] });
  // The second update replaced the first in its place, as the writer replaces a queued one.
  assert.deepEqual(await worker.next("turn"), {
    type: "turn",
    ack: true,
    notes: [
      ...[3, 2, undefined, undefined],
      ...[3, "warning", "careful", undefined],
      ...[3, "info", '{"x":1}', undefined],
    ],
    asks: [3, 1, "roots/list", {}],
  });
  worker.send({ type: "ack" });
  worker.send({
    type: "answer",
    id: 3,
    request: 1,
    result: [{ uri: "file:///work" }],
  });
  assert.deepEqual(await worker.next("turn"), {
    type: "turn",
    ack: true,
    asks: [3, 2, "roots/list", {}],
  });
  worker.send({ type: "ack" });
  worker.send({
    type: "answer",
    id: 3,
    request: 2,
    error: "The client does not answer roots/list",
  });
  const { byId } = await worker.results([3]);
  assert.equal(
    byId.get(3),
    'ctx [{"uri":"file:///work"}] The client does not answer roots/list',
  );
});

Deno.test("Deno.stdin and process.stdin are refused with a clear error, in the tool's error result", async () => {
  await using tools = await toolsDir({
    "stdin.ts": tool(`run: () => Deno.stdin.readSync(new Uint8Array(1))`),
    "nodein.ts": tool(
      `run: () => process.stdin.read()`,
      'import process from "node:process";',
    ),
  });
  const { worker } = await started(tools);
  using _ = worker;
  assert.equal(
    await worker.call("stdin"),
    `error: Tool "stdin" failed: Error: ${STDIN_REFUSED}`,
  );
  assert.equal(
    await worker.call("nodein"),
    `error: Tool "nodein" failed: Error: ${STDIN_REFUSED}`,
  );
});

for (
  const [exit, how, code] of [
    ["Deno.exit(3)", "Deno.exit(3)", 3],
    ["process.exit(4)", "process.exit(4)", 4],
    ["close()", "close()", 0],
  ] as const
) {
  Deno.test(`${exit} in a tool posts the results already made, then "exit", and ends the worker`, async () => {
    await using tools = await toolsDir({
      "echo.ts": ECHO,
      "quit.ts": tool(
        `run: () => { ${exit}; return "still here"; }`,
        'import process from "node:process";',
      ),
    });
    const { worker } = await started(tools);
    using _ = worker;
    worker.send({
      type: "calls",
      calls: [{ id: 1, tool: "echo", args: { text: "first" } }, {
        id: 2,
        tool: "quit",
        args: {},
      }],
    });
    assert.deepEqual(
      (await worker.next("turn")).results?.map((r) => r.id),
      [1],
    );
    assert.deepEqual(await worker.next("exit"), { type: "exit", code, how });
    if (exit === "close()") return; // close() ends the worker once this turn is over
    worker.send({
      type: "calls",
      calls: [{ id: 3, tool: "echo", args: { text: "gone" } }],
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(worker.seen.at(-1)?.type, "exit");
  });
}

Deno.test("a stray error or rejection in a tool is logged, and the worker keeps serving", async () => {
  await using tools = await toolsDir({
    "echo.ts": ECHO,
    "stray.ts": tool(
      `run: () => { setTimeout(() => { throw new Error("stray"); }, 0); Promise.reject(new Error("unhandled")); return "ok"; }`,
    ),
  });
  const { worker } = await started(tools);
  using _ = worker;
  assert.equal(await worker.call("stray"), "ok");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(await worker.call("echo", { text: "alive" }, 2), "alive");
});

Deno.test("console, Deno.stdout, process.stdout, node:process and node:fs writes in a tool land on stderr, never stdout", async () => {
  await using tools = await toolsDir({
    "noisy.ts": tool(
      `run: () => {
        console.log("MARK console.log"); console.info("MARK info"); console.table([1]); console.dir({ MARK: "dir" });
        Deno.stdout.writeSync(new TextEncoder().encode("MARK Deno.stdout\\n"));
        process.stdout.write("MARK process.stdout\\n");
        globalThis.process.stdout.write("MARK global process\\n");
        fs.writeSync(1, "MARK fs.writeSync\\n");
        return "done";
      }`,
      'import process from "node:process";\nimport fs from "node:fs";',
    ),
  });
  // A child process, so that its stdout is a pipe of its own to look at.
  const harness = `${tools.dir}/_harness.ts`;
  await Deno.writeTextFile(
    harness,
    `const worker = new Worker(${
      JSON.stringify(ENTRY.href)
    }, { type: "module", deno: { permissions: { read: [${
      JSON.stringify(tools.dir)
    }] } } });
worker.addEventListener("message", (event) => {
  if (event.data.type === "loaded") worker.postMessage({ type: "calls", calls: [{ id: 1, tool: "noisy", args: {} }] });
  if (event.data.type === "turn") { Deno.stderr.writeSync(new TextEncoder().encode("RESULT " + event.data.results[0].result.content[0].text + "\\n")); worker.terminate(); }
});
worker.postMessage({ type: "load", files: ${JSON.stringify(tools.files)} });
`,
  );
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--config=deno.json",
      "--lock=tests/deno.lock",
      "--unstable-worker-options",
      `--allow-read=${tools.dir},${ROOT.pathname}`,
      harness,
    ],
    cwd: ROOT,
    stdin: "null",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  assert.equal(new TextDecoder().decode(stdout), "");
  for (
    const mark of [
      "console.log",
      "info",
      "Deno.stdout",
      "process.stdout",
      "global process",
      "fs.writeSync",
      "RESULT done",
    ]
  ) {
    assert.ok(
      err.includes(mark.startsWith("RESULT") ? mark : `MARK ${mark}`),
      `${mark} not on stderr:\n${err}`,
    );
  }
  assert.match(err, /MARK.*dir/);
});
