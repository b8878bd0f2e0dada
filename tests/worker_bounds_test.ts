/**
 * What crosses from a tool worker to the server's thread is bounded, and big results cross
 * whole: logs beyond the writer's bound are dropped oldest first and counted, progress is
 * coalesced, turns with logs wait for the server's `ack`, and big strings cross as bytes that
 * the server writes as they are — byte for byte what the tool run in the server's thread gives.
 * Driven both message by message (a raw worker) and on the wire (`serve()` with a WorkerHost).
 */

import assert from "node:assert/strict";
import type { FromWorker, ToolFile } from "../src/loading/worker/protocol.ts";
import { POSTING_REFUSED } from "../src/loading/worker/entry.ts";
import { WorkerHost } from "../src/loading/worker/host.ts";
import { loadToolDir } from "../src/loading/discover.ts";
import { MAX_QUEUED_LOG_LINES } from "../src/server/writer.ts";
import { ToolSet } from "../src/tool/served.ts";
import { Logger } from "../src/util/log.ts";
import { call, initialize, modern, setLevel, withMeta } from "./requests.ts";
import { tempDir } from "./spawn.ts";
import { Session } from "./wire.ts";

const ENTRY = new URL("../src/loading/worker/entry.ts", import.meta.url);
type Turn = Extract<FromWorker, { type: "turn" }>;

/** A tool file: `export default { description, …body }`, with `z` imported. */
function tool(body: string): string {
  return `import { z } from "zod";\nexport default { description: "A test tool.", ${body} };\n`;
}

/** A big string with everything JSON escapes, non-ASCII, surrogate pairs and a lone one. */
const AWKWARD =
  `const unit = 'quote " backslash \\\\ tab \\t nl \\n nul \\u0000 é 中 😀 ';
   const awkward = (chars) => unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars - 5) + "\\ud800 end";`;

const TOOLS = {
  // Logs `times` lines, yielding a turn after each `every` of them (0: never).
  "flood.ts": tool(
    `input: z.object({ times: z.number(), chars: z.number().default(8), every: z.number().default(0) }),
    run: async ({ times, chars, every }, ctx) => {
      for (let i = 0; i < times; i++) {
        ctx.log("info", String(i).padStart(chars, "."));
        if (every > 0 && i % every === every - 1) await new Promise((r) => setTimeout(r, 0));
      }
      return "flooded";
    }`,
  ),
  "now.ts": tool(`run: () => "now"`),
  // Each line in a turn of its own. "3" comes in the same pass over the immediates that sends
  // "2", so before the worker can read a message sent after "2" arrives.
  "steady.ts": `import { setImmediate } from "node:timers";
    export default { description: "Logs in turns.", run: async (_args, ctx) => {
      ctx.log("info", "1");
      await new Promise((r) => setImmediate(r));
      ctx.log("info", "2");
      await new Promise((r) => setImmediate(r));
      ctx.log("info", "3");
      await new Promise((r) => ctx.signal.aborted ? r() : ctx.signal.addEventListener("abort", r));
      return "steady";
    } };\n`,
  "big.ts": `${AWKWARD}
    const result = {
      content: [
        { type: "text", text: awkward(100_000) },
        { type: "image", data: "QUJD".repeat(30_000), mimeType: "image/png" },
        { type: "text", text: "small" },
      ],
      structuredContent: { deep: [{ note: awkward(70_000) }] },
    };
    export default { description: "The same big result every time.", run: () => result };\n`,
  "poster.ts": tool(`run: () => {
    const tries = [
      () => postMessage({ type: "turn", packed: [1, "forged"] }),
      () => globalThis.postMessage({ type: "exit", code: 0, how: "forged" }),
      () => {
        for (let o = globalThis; o; o = Object.getPrototypeOf(o)) {
          Object.getOwnPropertyDescriptor(o, "postMessage")?.value.call(globalThis, "x");
        }
      },
    ];
    return tries.map((t) => { try { t(); return "posted"; } catch (e) { return e.message; } }).join("|");
  }`),
};

/** A worker on the entry whose messages the test takes one by one; it acks only when told. */
class RawWorker {
  readonly #worker: Worker;
  readonly #inbox: FromWorker[] = [];
  #wake: (() => void) | undefined;

  constructor(dir: string) {
    this.#worker = new Worker(ENTRY, {
      type: "module",
      deno: { permissions: { read: [dir] } },
    });
    this.#worker.addEventListener("message", (event) => {
      this.#inbox.push(event.data);
      this.#wake?.();
    });
  }

  post(message: unknown): void {
    this.#worker.postMessage(message);
  }

  async next(): Promise<FromWorker> {
    while (this.#inbox.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#inbox.shift()!;
  }

  async turn(): Promise<Turn> {
    const message = await this.next();
    assert.equal(message.type, "turn", JSON.stringify(message));
    return message as Turn;
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

/** A raw worker on TOOLS in a temporary folder, loaded. */
async function rawWorker() {
  const dir = await tempDir(TOOLS);
  const files: ToolFile[] = Object.keys(TOOLS).map((name) => ({
    url: new URL(`file://${dir.path}/${name}`).href,
    source: `tools/${name}`,
    stem: name.replace(/\.ts$/, ""),
  }));
  const worker = new RawWorker(dir.path);
  worker.post({ type: "load", files, logLevel: "emergency" });
  assert.equal((await worker.next()).type, "loaded");
  return {
    worker,
    async [Symbol.asyncDispose]() {
      worker[Symbol.dispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("logs beyond the writer's bound in one turn: the newest cross, the rest are counted", async () => {
  await using raw = await rawWorker();
  const { worker } = raw;
  worker.post({
    type: "calls",
    calls: [{ id: 1, tool: "flood", args: { times: 5000 } }],
  });
  const turn = await worker.turn();
  assert.deepEqual(turn.dropped, [1, "info", 5000 - MAX_QUEUED_LOG_LINES]);
  const messages = turn.notes!.filter((_, i) => i % 4 === 2);
  assert.equal(messages.length, MAX_QUEUED_LOG_LINES);
  assert.equal(messages[0], "....4000");
  assert.equal(messages.at(-1), "....4999");
  assert.equal(turn.ack, true);
  // The result, a turn later (the tool is async), needs no ack.
  assert.deepEqual(await worker.turn(), {
    type: "turn",
    results: [{
      id: 1,
      result: { content: [{ type: "text", text: "flooded" }] },
    }],
  });
  // 32 Ki characters each: 32 of them are the 1 MiB the writer holds.
  worker.post({ type: "ack" });
  worker.post({
    type: "calls",
    calls: [{ id: 2, tool: "flood", args: { times: 100, chars: 32 * 1024 } }],
  });
  const wide = await worker.turn();
  assert.deepEqual(wide.dropped, [2, "info", 100 - 32]);
  assert.equal(wide.notes!.length, 32 * 4);
});

Deno.test("a turn with logs waits while two sent before it wait for their ack, and results wait behind it", async () => {
  await using raw = await rawWorker();
  const { worker } = raw;
  worker.post({ type: "calls", calls: [{ id: 1, tool: "steady", args: {} }] });
  const log = (text: string) => [1, "info", text, undefined];
  assert.deepEqual(await worker.turn(), {
    type: "turn",
    ack: true,
    notes: log("1"),
  });
  assert.deepEqual(await worker.turn(), {
    type: "turn",
    ack: true,
    notes: log("2"),
  });
  // Neither is acknowledged: "3", and the result of a call that ends at once, wait for an ack.
  worker.post({
    type: "calls",
    calls: [{ id: 2, tool: "now", args: {} }],
  });
  worker.post({ type: "ack" });
  assert.deepEqual(await worker.turn(), {
    type: "turn",
    ack: true,
    notes: log("3"),
    results: [{ id: 2, result: { content: [{ type: "text", text: "now" }] } }],
  });
});

Deno.test("a result's big strings cross as transferred bytes of their JSON, and the tool's own result is left as it was", async () => {
  await using raw = await rawWorker();
  const { worker } = raw;
  const awkward = new Function(`${AWKWARD}; return awkward;`)() as (
    chars: number,
  ) => string;
  for (const id of [1, 2]) {
    worker.post({ type: "calls", calls: [{ id, tool: "big", args: {} }] });
    const turn = await worker.turn();
    const { result, at, json } = turn.results![0]!.result as unknown as {
      result: unknown;
      at: unknown;
      json: Uint8Array[];
    };
    assert.deepEqual(result, {
      content: [
        { type: "text", text: "" },
        { type: "image", data: "", mimeType: "image/png" },
        { type: "text", text: "small" },
      ],
      structuredContent: { deep: [{ note: "" }] },
    });
    assert.deepEqual(at, [
      ["content", 0, "text"],
      ["content", 1, "data"],
      ["structuredContent", "deep", 0, "note"],
    ]);
    const expected = [awkward(100_000), "QUJD".repeat(30_000), awkward(70_000)];
    assert.deepEqual(
      json.map((bytes) => new TextDecoder().decode(bytes)),
      expected.map((text) => JSON.stringify(text)),
    );
  }
});

Deno.test("a tool cannot post to the server's thread itself", async () => {
  await using raw = await rawWorker();
  const { worker } = raw;
  worker.post({ type: "calls", calls: [{ id: 1, tool: "poster", args: {} }] });
  const turn = await worker.turn();
  assert.deepEqual(turn.results, [{
    id: 1,
    result: {
      content: [{
        type: "text",
        text: [POSTING_REFUSED, POSTING_REFUSED, POSTING_REFUSED].join("|"),
      }],
    },
  }]);
});

/** A logger that writes nothing. */
function quiet(): Logger {
  return new Logger({ level: "emergency", write: () => {} });
}

/** The same tool files served twice: run in this thread, and through workers. */
async function servedBoth(log = quiet()) {
  const dir = await tempDir(TOOLS);
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({ toolsDir, log });
  const here = await loadToolDir(toolsDir);
  const there = await loadToolDir(toolsDir, {
    attach: (tool, file) => host.attach(tool, file),
  });
  return {
    here: new ToolSet(here.tools),
    there: new ToolSet(there.tools),
    async [Symbol.asyncDispose]() {
      host.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("big results through a worker are byte for byte the replies of the tool run here, legacy and 2026-07-28", async () => {
  await using served = await servedBoth();
  const replies: string[][] = [];
  for (const tools of [served.here, served.there]) {
    const session = new Session({ tools });
    session.send(call(1, "big"));
    session.send(modern(call(2, "big")));
    replies.push([await session.next(), await session.next()]);
    await session.end();
  }
  assert.deepEqual(replies[1], replies[0]);
  const [legacy, modernReply] = replies[1]!.map((line) => JSON.parse(line));
  assert.equal(legacy.result.content[0].text.length, 100_000);
  assert.equal(modernReply.result.resultType, "complete");
  assert.equal(
    modernReply.result.structuredContent.deep[0].note.length,
    70_000,
  );
});

Deno.test("a 10 MB text and 10 MB of base64 through a worker arrive whole and byte for byte", async () => {
  const files = {
    "ten.ts": tool(`run: () => ({ content: [
      { type: "text", text: "é中😀\\"\\n".repeat(2_000_000) },
      { type: "image", data: "QUJD".repeat(2_500_000), mimeType: "image/png" },
      { type: "resource", resource: { uri: "file:///b", blob: "QUJD".repeat(2_500_000) } },
    ] })`),
  };
  await using dir = await tempDir(files);
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({
    toolsDir,
    log: quiet(),
  });
  try {
    const loaded = await loadToolDir(toolsDir, {
      attach: (tool, file) => host.attach(tool, file),
    });
    // Collected as bytes: the reply is one line, written in many chunks.
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const replied = Promise.withResolvers<void>();
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        chunks.push(chunk.slice());
        if (chunk.at(-1) === 10) replied.resolve();
      },
    });
    const session = new Session({ tools: new ToolSet(loaded.tools) }, writable);
    session.send(call(1, "ten"));
    await replied.promise;
    await session.end();
    const line = new TextDecoder().decode(await new Blob(chunks).bytes());
    const expected = {
      content: [
        { type: "text", text: 'é中😀"\n'.repeat(2_000_000) },
        {
          type: "image",
          data: "QUJD".repeat(2_500_000),
          mimeType: "image/png",
        },
        {
          type: "resource",
          resource: { uri: "file:///b", blob: "QUJD".repeat(2_500_000) },
        },
      ],
    };
    assert.ok(
      line ===
        `${JSON.stringify({ jsonrpc: "2.0", id: 1, result: expected })}\n`,
      `the reply differs (${line.length} characters)`,
    );
  } finally {
    host.close();
  }
});

Deno.test("a million log lines through a worker to a client that reads only at the end: at most the writer's bound arrive, and every dropped one is counted", async () => {
  // The server's log says when the tool's result, behind its last line, reached its thread.
  const ended = Promise.withResolvers<void>();
  const log = new Logger({
    level: "debug",
    write: (text) => {
      if (text.includes('call "flood" ok')) ended.resolve();
    },
  });
  await using served = await servedBoth(log);
  const gate = Promise.withResolvers<void>();
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await gate.promise;
      chunks.push(decoder.decode(chunk, { stream: true }));
    },
  });
  const session = new Session({ tools: served.there, log }, writable);
  session.send(initialize(0));
  session.send(setLevel(1, "debug"));
  session.send(call(2, "flood", { times: 1_000_000, every: 5000 }));
  await ended.promise;
  gate.resolve();
  await session.end();
  const lines = chunks.join("").split("\n").filter(Boolean).map((line) =>
    JSON.parse(line)
  );
  const logs = lines.filter((m) => m.params?.logger === "flood");
  const dropped = lines.filter((m) => m.params?.logger === "tooldrop")
    .map((m) => Number(m.params.data.split(" ")[0]))
    .reduce((a, b) => a + b, 0);
  assert.ok(logs.length <= 2 * MAX_QUEUED_LOG_LINES, `${logs.length} arrived`);
  assert.equal(logs.length + dropped, 1_000_000);
  assert.equal(logs.at(-1).params.data, "..999999");
  assert.equal(lines.at(-1).id, 2);
});

Deno.test("100,000 progress updates in one turn of a worker reach the client as the latest one, as they do from this thread", async () => {
  const files = {
    "steps.ts": tool(`run: (_args, ctx) => {
      for (let i = 1; i <= 100_000; i++) ctx.progress(i, 100_000, "step " + i);
      return "stepped";
    }`),
  };
  await using dir = await tempDir(files);
  const toolsDir = new URL(`file://${dir.path}/`);
  const host = new WorkerHost({
    toolsDir,
    log: quiet(),
  });
  try {
    const replies: string[][] = [];
    for (const attach of [false, true]) {
      const loaded = await loadToolDir(
        toolsDir,
        attach ? { attach: (tool, file) => host.attach(tool, file) } : {},
      );
      const session = new Session({ tools: new ToolSet(loaded.tools) });
      session.send(initialize(0));
      await session.next();
      session.send(withMeta(call(1, "steps"), { progressToken: "p" }));
      replies.push([await session.next(), await session.next()]);
      await session.end();
    }
    assert.deepEqual(replies[1], replies[0]);
    assert.deepEqual(replies[1]!.map((line) => JSON.parse(line)), [
      {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: {
          progressToken: "p",
          progress: 100_000,
          total: 100_000,
          message: "step 100000",
        },
      },
      {
        jsonrpc: "2.0",
        id: 1,
        result: { content: [{ type: "text", text: "stepped" }] },
      },
    ]);
  } finally {
    host.close();
  }
});
