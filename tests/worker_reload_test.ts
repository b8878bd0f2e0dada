/**
 * Workers across reloads (`serve --watch`) and pre-warming: a tool file loaded again gets a new
 * worker while its calls in flight end on the old one, a helper change replaces only the workers
 * of the tools that import it, a deleted file leaves its group, `restart` replaces every worker,
 * and `prewarm` starts each group's worker before any call. Runs the real worker entry through
 * the ToolReloader, as serving does.
 */

import assert from "node:assert/strict";
import { ToolReloader } from "../src/loading/reload.ts";
import { WorkerHost } from "../src/loading/worker/host.ts";
import type { CallToolResult, Root, ToolContext } from "../src/tool/tool.ts";
import { Logger } from "../src/util/log.ts";
import { CLIENTLESS, deferred, quietContext } from "./wire.ts";
import { tempDir } from "./spawn.ts";

/** A tool that replies `reply`, after waiting for its call's roots when `waits`. */
function tool(reply: string, body = ""): string {
  return `import { z } from "zod";
export default {
  description: "Replies ${reply}.",
  input: z.object({}),
  ${body}
  run: async (_args, ctx) => {
    await ctx.roots();
    return ${JSON.stringify(reply)} + " " + typeof WorkerGlobalScope;
  },
};
`;
}

/** A call's context whose `roots()` answers only once `release` is called. */
function heldContext() {
  const asked = deferred();
  const released = deferred<Root[]>();
  const ctx: ToolContext = {
    signal: new AbortController().signal,
    toolName: "test",
    log: () => {},
    progress: () => {},
    roots: () => {
      asked.resolve();
      return released.promise;
    },
    ...CLIENTLESS,
  };
  return { ctx, asked: asked.promise, release: () => released.resolve([]) };
}

/** The text of a result, `error: …` when it is an error. */
function text(result: CallToolResult): string {
  const body = result.content.map((b) => b.type === "text" ? b.text : b.type)
    .join("");
  return result.isError ? `error: ${body}` : body;
}

/** A reloader over `files` whose tools run in a host's workers, as `serve --watch`. */
async function watched(files: Record<string, string>) {
  const dir = await tempDir(files);
  const lines: string[] = [];
  const log = new Logger({ level: "debug", write: (t) => lines.push(t) });
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({ toolsDir, log });
  const reloader = new ToolReloader({
    dir: toolsDir,
    serverName: "tooldrop",
    log,
    attach: (tool, file) => host.attach(tool, file),
    detach: (file) => host.detach(file),
  });
  await reloader.load();
  const call = (name: string, ctx: ToolContext = quietContext()) =>
    reloader.tools.get(name)!.remote!.run({}, ctx);
  return {
    host,
    reloader,
    call,
    lines,
    dir: dir.path,
    async [Symbol.asyncDispose]() {
      host.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a tool file loaded again gets a new worker: its call in flight ends on the old one, the next call runs the new code", async () => {
  await using t = await watched({ "v.ts": tool("one"), "w.ts": tool("w") });
  const held = heldContext();
  const inFlight = t.call("v", held.ctx);
  await held.asked; // the call runs in the first worker
  assert.equal(t.host.liveWorkers, 1);

  await Deno.writeTextFile(`${t.dir}/v.ts`, tool("two"));
  assert.equal(await t.reloader.reload(["v.ts"]), true);
  assert.equal(t.host.liveWorkers, 1, "the old worker finishes its call");
  assert.equal(text(await t.call("v")), "two function");
  assert.equal(
    text(await t.call("w")),
    "w function",
    "w shares the new worker",
  );
  assert.equal(t.host.liveWorkers, 2);
  assert.equal(t.host.startedWorkers, 2);

  held.release();
  assert.equal(text(await inFlight), "one function", "ended where it started");
  assert.equal(t.host.liveWorkers, 1, "the old worker is gone");
  assert.match(t.lines.join(""), /The worker of .*v\.ts.* ended \(idle\)/);
});

Deno.test("a broken edit keeps the running worker; a deleted file leaves its group", async () => {
  await using t = await watched({ "v.ts": tool("one"), "w.ts": tool("w") });
  assert.equal(text(await t.call("v")), "one function");
  await Deno.writeTextFile(`${t.dir}/v.ts`, "export default {");
  assert.equal(await t.reloader.reload(["v.ts"]), false);
  assert.equal(text(await t.call("v")), "one function", "the previous version");
  assert.equal(t.host.startedWorkers, 1);

  await Deno.remove(`${t.dir}/v.ts`);
  assert.equal(await t.reloader.reload(["v.ts"]), true);
  assert.equal(t.host.restart(), 1);
  assert.equal(t.host.liveWorkers, 0);
  const before = t.lines.length;
  // The new worker does not import the deleted file (it would fail to load).
  assert.equal(text(await t.call("w")), "w function");
  assert.match(
    t.lines.slice(before).join(""),
    /Started a worker for "[^"]*w\.ts"\n/,
  );
});

Deno.test("prewarm starts one worker per permission group before any call; restart replaces them all", async () => {
  await using t = await watched({
    "v.ts": tool("v"),
    "w.ts": tool("w"),
    "n.ts": tool("n", `permissions: { net: ["example.com"] },`),
  });
  assert.equal(t.host.startedWorkers, 0);
  assert.equal(t.host.prewarm(), 2);
  assert.equal(t.host.prewarm(), 0, "already started");
  assert.equal(text(await t.call("v")), "v function");
  assert.equal(text(await t.call("w")), "w function");
  assert.equal(text(await t.call("n")), "n function");
  assert.equal(t.host.startedWorkers, 2, "the calls used the pre-warmed ones");

  const held = heldContext();
  const inFlight = t.call("n", held.ctx);
  await held.asked;
  assert.equal(t.host.restart(), 2);
  assert.equal(t.host.liveWorkers, 1, "the busy one finishes its call");
  held.release();
  assert.equal(text(await inFlight), "n function");
  assert.equal(t.host.liveWorkers, 0);
  assert.equal(t.host.prewarm(), 2);
  assert.equal(t.host.startedWorkers, 4);
});

Deno.test("a tool whose permissions change moves to its new group's worker", async () => {
  await using t = await watched({ "v.ts": tool("v"), "w.ts": tool("w") });
  assert.equal(text(await t.call("w")), "w function");
  await Deno.writeTextFile(
    `${t.dir}/v.ts`,
    tool("v2", `permissions: { env: ["HOME"] },`),
  );
  assert.equal(await t.reloader.reload(["v.ts"]), true);
  assert.equal(text(await t.call("w")), "w function");
  assert.equal(t.host.startedWorkers, 1, "w's worker stays: v only left it");
  assert.equal(text(await t.call("v")), "v2 function");
  assert.equal(t.host.startedWorkers, 2);
});

/** A tool that counts its calls in its module: the count survives only while its worker does. */
const COUNTER = `import { z } from "zod";
let calls = 0;
export default {
  description: "Counts its calls.",
  input: z.object({}),
  permissions: { env: ["HOME"] },
  run: () => String(++calls),
};
`;

Deno.test("a helper change replaces only the workers of the tools that import it", async () => {
  await using t = await watched({
    "v.ts": `import { z } from "zod";
import { helper } from "./_helper.ts";
export default {
  description: "Replies " + helper + ".",
  input: z.object({}),
  run: () => helper + " " + typeof WorkerGlobalScope,
};
`,
    "_helper.ts": 'export const helper = "h1";\n',
    "n.ts": COUNTER,
  });
  assert.equal(
    t.reloader.tools.get("v")?.descriptor.description,
    "Replies h1.",
  );
  assert.equal(text(await t.call("n")), "1");
  assert.equal(text(await t.call("n")), "2");
  assert.equal(text(await t.call("v")), "h1 function");
  assert.equal(t.host.startedWorkers, 2);

  await Deno.writeTextFile(
    `${t.dir}/_helper.ts`,
    'export const helper = "h2";\n',
  );
  assert.equal(await t.reloader.reload(["_helper.ts"]), true, "a new listing");
  assert.equal(
    t.reloader.tools.get("v")?.descriptor.description,
    "Replies h2.",
  );
  assert.equal(t.host.liveWorkers, 1, "v's worker ended; n's runs on");
  assert.equal(text(await t.call("n")), "3", "n's worker kept its state");
  assert.equal(text(await t.call("v")), "h2 function");
  assert.equal(t.host.startedWorkers, 3, "one new worker, for v");
});
