/**
 * The server's side of tool workers (src/loading/worker/host.ts): grouping by declared
 * permissions, one `calls` message per turn, context over the boundary, and every way a worker
 * ends — a tool that does not stop after an abort, an exit, a worker that fails, close().
 * Runs the real worker entry; needs "worker-options" in deno.json's "unstable". (Over 300
 * lines: each way a worker ends is one test, on shared tool files.)
 */

import assert from "node:assert/strict";
import { CLIENTLESS } from "./wire.ts";
import { loadToolDir } from "../src/loading/discover.ts";
import { EARLY_FILES, writeListing } from "../src/loading/listing.ts";
import { loadTools } from "../src/loading/load.ts";
import { WorkerHost } from "../src/loading/worker/host.ts";
import type { ToWorker } from "../src/loading/worker/protocol.ts";
import { permissionsKey, workerPermissions } from "../src/tool/permissions.ts";
import type { CallToolResult, Root, ToolContext } from "../src/tool/tool.ts";
import type { ToolSet } from "../src/tool/served.ts";
import { ToolSet as Tools } from "../src/tool/served.ts";
import { Logger } from "../src/util/log.ts";
import { tempDir } from "./spawn.ts";

/** A tool file whose default export is `{ description, ...body }`, with `z` imported. */
function tool(body: string): string {
  return `import { z } from "zod";\nexport default { description: "A test tool.", ${body} };\n`;
}

/** What a tool reports about its own worker's permissions. */
const PROBE = `run: () => {
  const state = (d) => Deno.permissions.querySync(d).state;
  return JSON.stringify({
    tools: state({ name: "read", path: new URL(".", import.meta.url).pathname }),
    root: state({ name: "read", path: "/" }),
    log: state({ name: "env", variable: "TOOLDROP_LOG" }),
    home: state({ name: "env", variable: "HOME" }),
    net: state({ name: "net", host: "example.com" }),
  });
}`;

const TOOLS = {
  "echo.ts": tool(
    `input: z.object({ text: z.string().default("") }), run: ({ text }) => text`,
  ),
  "probe.ts": tool(PROBE),
  "probe_net.ts": tool(`permissions: { net: ["example.com"] }, ${PROBE}`),
  "hang.ts": tool(`run: () => new Promise(() => {})`),
  "slow.ts": tool(`run: () => new Promise(() => {})`),
  "polite.ts": tool(
    `run: (_args, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)))`,
  ),
  "quit.ts": tool(`run: () => Deno.exit(3)`),
  "context.ts": tool(`run: async (_args, ctx) => {
    ctx.progress(1, 2, "half");
    ctx.log("warning", "from the worker");
    const roots = await ctx.roots();
    return JSON.stringify(roots);
  }`),
};

/** What a call's context collected. */
interface Seen {
  progress: unknown[][];
  logs: string[];
}

/** A call's context, as the call runner would give it; `controller` aborts it. */
function context(
  roots: Root[] = [],
): { ctx: ToolContext; controller: AbortController; seen: Seen } {
  const controller = new AbortController();
  const seen: Seen = { progress: [], logs: [] };
  const ctx: ToolContext = {
    signal: controller.signal,
    toolName: "test",
    log: (level, message) => void seen.logs.push(`${level}: ${message}`),
    progress: (...args) => void seen.progress.push(args),
    roots: () => Promise.resolve(roots),
    ...CLIENTLESS,
  };
  return { ctx, controller, seen };
}

/** The text of a result, `error: …` when it is an error. */
function text(result: CallToolResult): string {
  const body = result.content.map((b) => b.type === "text" ? b.text : b.type)
    .join("");
  return result.isError ? `error: ${body}` : body;
}

/** Loads `files` into a temp folder with calls run by a host; closes and removes at the end. */
async function hosted(
  files: Record<string, string> = TOOLS,
  options: { graceMs?: number; idleMs?: number; entry?: URL } = {},
) {
  const dir = await tempDir(files);
  const lines: string[] = [];
  const log = new Logger({ level: "warning", write: (t) => lines.push(t) });
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({ toolsDir, log, ...options });
  const loaded = await loadToolDir(toolsDir, {
    attach: (tool, file) => host.attach(tool, file),
  });
  assert.deepEqual(loaded.errors, []);
  const tools: ToolSet = new Tools(loaded.tools);
  const call = (
    name: string,
    args: Record<string, unknown> = {},
    c = context(),
  ) => tools.get(name)!.remote!.run(args, c.ctx);
  return {
    host,
    tools,
    call,
    lines,
    dir: dir.path,
    async [Symbol.asyncDispose]() {
      host.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Counts the `calls` messages posted to workers while `fn` runs. */
async function countingCalls<T>(fn: () => Promise<T>) {
  const post = Worker.prototype.postMessage;
  let calls = 0;
  Worker.prototype.postMessage = function (
    this: Worker,
    message: ToWorker,
    ...rest: [StructuredSerializeOptions?]
  ) {
    if (message?.type === "calls") calls++;
    return post.call(this, message, ...rest);
  } as typeof post;
  try {
    return { value: await fn(), calls: () => calls };
  } finally {
    Worker.prototype.postMessage = post;
  }
}

Deno.test("permission sets are keyed alike whatever their order, and a worker gets only the base set, the tools folder and what its tools declare", () => {
  assert.equal(
    permissionsKey({ net: ["b.com", "a.com", "a.com"], env: [] }),
    permissionsKey({ net: ["a.com", "b.com"] }),
  );
  assert.equal(permissionsKey(undefined), permissionsKey({}));
  assert.notEqual(
    permissionsKey({ net: ["a.com"] }),
    permissionsKey({ net: true }),
  );
  assert.deepEqual(workerPermissions(undefined, "/srv/tools"), {
    import: "inherit",
    read: [".", "/srv/tools"],
    write: false,
    net: false,
    env: ["TOOLDROP_LOG"],
    run: false,
    sys: false,
    ffi: false,
  });
  assert.deepEqual(
    workerPermissions({ net: ["a.com"], read: true }, "/srv/tools"),
    {
      import: "inherit",
      read: true,
      write: false,
      net: ["a.com"],
      env: ["TOOLDROP_LOG"],
      run: false,
      sys: false,
      ffi: false,
    },
  );
});

Deno.test("tools that declare the same permissions share a worker; one that declares more gets its own, with exactly that", async () => {
  await using t = await hosted();
  assert.equal(t.host.startedWorkers, 0, "workers start at the first call");
  const plain = JSON.parse(text(await t.call("probe")));
  assert.equal(text(await t.call("echo", { text: "hi" })), "hi");
  assert.equal(t.host.startedWorkers, 1, "echo shares probe's worker");
  const net = JSON.parse(text(await t.call("probe_net")));
  assert.equal(t.host.startedWorkers, 2);
  assert.deepEqual(plain, {
    tools: "granted",
    root: "prompt",
    log: "granted",
    home: "prompt",
    net: "prompt",
  });
  assert.deepEqual(net, { ...plain, net: "granted" });
});

Deno.test("a burst of calls in one turn reaches the worker as one calls message", async () => {
  await using t = await hosted();
  await t.call("echo", { text: "warm" }); // the worker has started and loaded
  const burst = await countingCalls(() =>
    Promise.all(
      Array.from({ length: 50 }, (_, i) => t.call("echo", { text: `${i}` })),
    )
  );
  assert.deepEqual(
    burst.value.map(text),
    Array.from({ length: 50 }, (_, i) => `${i}`),
  );
  assert.equal(burst.calls(), 1);
});

Deno.test("progress, logs and roots cross the boundary to the call's own context", async () => {
  await using t = await hosted();
  const c = context([{ uri: "file:///project", name: "project" }]);
  const result = await t.call("context", {}, c);
  assert.equal(text(result), '[{"uri":"file:///project","name":"project"}]');
  assert.deepEqual(c.seen.progress, [[1, 2, "half"]]);
  assert.deepEqual(c.seen.logs, ["warning: from the worker"]);
});

Deno.test("a tool that ends its call after the abort keeps its worker", async () => {
  await using t = await hosted(TOOLS, { graceMs: 5_000 });
  const c = context();
  const pending = t.call("polite", {}, c);
  await t.call("echo"); // the polite call has reached the worker
  c.controller.abort(new DOMException("Tool timed out", "TimeoutError"));
  const result = await pending;
  assert.equal(result.isError, true);
  assert.match(text(result), /timed out/);
  assert.equal(text(await t.call("echo", { text: "same" })), "same");
  assert.equal(t.host.startedWorkers, 1);
  assert.equal(t.host.stuckWorkers, 0);
});

Deno.test("a tool that does not stop within the grace has its worker terminated; the other calls on it end with an error naming it", async () => {
  await using t = await hosted(TOOLS, { graceMs: 100 });
  const c = context();
  const hang = t.call("hang", {}, c);
  const slow = t.call("slow");
  const elsewhere = t.call("probe_net");
  await t.call("echo"); // both calls have reached the worker
  const aborted = performance.now();
  c.controller.abort(new DOMException("Tool timed out", "TimeoutError"));
  const [hung, other] = await Promise.all([hang, slow]);
  const waited = performance.now() - aborted;
  assert.ok(waited >= 90 && waited < 2_000, `${waited} ms`);
  assert.equal(
    text(hung),
    'error: Tool "hang" did not stop within 100 ms after it was aborted, so its worker was stopped; the next call starts a new one',
  );
  assert.equal(
    text(other),
    'error: Cannot finish this call of "slow": tool "hang", which runs in the same worker, did not stop within 100 ms after it was aborted, so the worker was stopped; call "slow" again',
  );
  assert.equal(t.host.stuckWorkers, 1);
  assert.match(
    t.lines.join(""),
    /Tool "hang" \(.*hang\.ts\) did not stop.*CPU core busy until the server restarts/,
  );
  assert.equal(text(await t.call("echo", { text: "fresh" })), "fresh");
  assert.equal(t.host.startedWorkers, 3, "a fresh worker for the next call");
  assert.equal(
    JSON.parse(text(await elsewhere)).net,
    "granted",
    "the other group went on",
  );
});

Deno.test("an aborted call that never reached the worker ends at once", async () => {
  await using t = await hosted();
  const c = context();
  const pending = t.call("echo", { text: "never" }, c);
  c.controller.abort(
    new DOMException("The client cancelled the call", "AbortError"),
  );
  assert.equal(text(await pending), "error: The client cancelled the call");
  assert.equal(t.host.stuckWorkers, 0);
});

Deno.test("a tool that exits ends only its worker: its call says how, the next call starts a new one", async () => {
  await using t = await hosted();
  assert.equal(text(await t.call("echo", { text: "before" })), "before");
  assert.equal(
    text(await t.call("quit")),
    'error: Tool "quit" ended its worker with Deno.exit(3); the next call starts a new one (a tool should return or throw, not exit)',
  );
  assert.equal(text(await t.call("echo", { text: "after" })), "after");
  assert.equal(t.host.startedWorkers, 2);
  assert.equal(t.host.stuckWorkers, 0);
});

Deno.test("a worker whose entry fails to load fails its calls with the reason", async () => {
  await using broken = await tempDir({
    "entry.ts": 'throw new Error("the entry broke");\n',
  });
  await using t = await hosted(TOOLS, {
    entry: new URL(`file://${broken.path}/entry.ts`),
  });
  const result = await t.call("echo", { text: "x" });
  assert.equal(result.isError, true);
  assert.match(
    text(result),
    /^error: Cannot run tool "echo": its worker failed: .*the entry broke/,
  );
});

Deno.test("close() ends the calls in flight and refuses new ones", async () => {
  await using t = await hosted();
  const pending = t.call("hang");
  await t.call("echo");
  t.host.close();
  assert.equal(
    text(await pending),
    'error: Cannot finish this call of "hang": the server is shutting down',
  );
  assert.equal(
    text(await t.call("echo")),
    'error: Cannot run tool "echo": the server is shutting down',
  );
});

Deno.test("with idleMs 0 a worker stops as soon as its calls have ended (the commands' host)", async () => {
  await using t = await hosted(TOOLS, { idleMs: 0 });
  assert.equal(text(await t.call("echo", { text: "one" })), "one");
  assert.equal(text(await t.call("echo", { text: "two" })), "two");
  assert.equal(t.host.startedWorkers, 2);
});

Deno.test("a call waiting for its own file's import ends at once when aborted, while the worker's other tools answer", async () => {
  await using t = await hosted({
    "echo.ts": TOOLS["echo.ts"],
    // Never finishes importing in a worker (the server's thread imports it for the list).
    "stall.ts":
      `if (typeof WorkerGlobalScope !== "undefined") await new Promise(() => {});\n${
        tool(`run: () => "never"`)
      }`,
  }, { graceMs: 100 });
  const c = context();
  const stalled = t.call("stall", {}, c);
  // Sent after stall's call, to the same worker: answered while stall.ts is still importing.
  assert.equal(text(await t.call("echo", { text: "x" })), "x");
  c.controller.abort(new DOMException("Tool timed out", "TimeoutError"));
  assert.equal(text(await stalled), "error: Tool timed out");
  assert.equal(text(await t.call("echo", { text: "y" })), "y");
  assert.equal(t.host.startedWorkers, 1);
  assert.equal(t.host.stuckWorkers, 0);
});

Deno.test("a worker stuck in a loop at a tool file's top level is terminated a grace after that tool's call was aborted", async () => {
  await using t = await hosted({
    "echo.ts": TOOLS["echo.ts"],
    // Loops only in a worker (the server's thread imports it for the list), saying so first.
    "loop.ts": `if (typeof WorkerGlobalScope !== "undefined") {
  new BroadcastChannel("tooldrop-test-loop").postMessage("spinning");
  while (true) {}
}
${tool(`run: () => "never"`)}`,
  }, { graceMs: 100 });
  const channel = new BroadcastChannel("tooldrop-test-loop");
  try {
    const spinning = new Promise((resolve) =>
      channel.addEventListener("message", resolve, { once: true })
    );
    const c = context();
    const looping = t.call("loop", {}, c);
    await spinning;
    const aborted = performance.now();
    c.controller.abort(new DOMException("Tool timed out", "TimeoutError"));
    assert.equal(
      text(await looping),
      'error: Tool "loop" did not stop within 100 ms after it was aborted, so its worker was stopped; the next call starts a new one',
    );
    const waited = performance.now() - aborted;
    assert.ok(waited >= 90, `${waited} ms`);
    assert.equal(t.host.stuckWorkers, 1);
  } finally {
    channel.close();
  }
});

Deno.test("a large folder's worker starts from the listing cache before the entries are checked, and serves its first call", async () => {
  const files: Record<string, string> = {};
  for (let i = 1; i <= EARLY_FILES; i++) {
    files[`t${String(i).padStart(3, "0")}.ts`] = tool(
      `run: () => "${i}"`,
    );
  }
  await using dir = await tempDir(files);
  const toolsDir = new URL(`file://${dir.path}/`);
  const log = new Logger({ level: "warning", write: () => {} });
  await writeListing(toolsDir, { log });
  // Changed after the cache was written: it declares net now, so it leaves the early group.
  await Deno.writeTextFile(
    `${dir.path}/t001.ts`,
    tool(`permissions: { net: ["example.com"] }, run: () => "net"`),
  );
  const host = new WorkerHost({ toolsDir, log });
  try {
    let early = -1;
    const tools = await loadTools({
      toolsDir,
      serverName: "tooldrop",
      log,
      host: {
        ...host,
        attach: (tool, file) => host.attach(tool, file),
        startEarly: (list) => {
          early = host.startEarly(list);
          return early;
        },
        endEarly: () => host.endEarly(),
      } as WorkerHost,
    });
    assert.ok(tools);
    assert.equal(early, 1, "one worker, started from the cache");
    assert.equal(host.startedWorkers, 1);
    const run = (name: string) =>
      tools.get(name)!.remote!.run({}, context().ctx);
    assert.equal(text(await run("t050")), "50");
    assert.equal(host.startedWorkers, 1, "the early worker served it");
    assert.equal(text(await run("t001")), "net");
    assert.equal(host.startedWorkers, 2, "the changed file has its own group");
  } finally {
    host.close();
  }
});
