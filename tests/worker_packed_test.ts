/**
 * Packed calls and results between the server's thread and a tool worker
 * (src/loading/worker/protocol.ts): what the host sends and the worker answers, and that the
 * server's side turns packed results back into the very results the tools made.
 */

import assert from "node:assert/strict";
import { CLIENTLESS } from "./wire.ts";
import type {
  FromWorker,
  PackedResults,
  ToolFile,
  ToWorker,
} from "../src/loading/worker/protocol.ts";
import { WorkerHost } from "../src/loading/worker/host.ts";
import { loadToolDir } from "../src/loading/discover.ts";
import type { CallToolResult, ToolContext } from "../src/tool/tool.ts";
import { Logger } from "../src/util/log.ts";
import { tempDir } from "./spawn.ts";

const ENTRY = new URL("../src/loading/worker/entry.ts", import.meta.url);

const TOOLS = {
  "echo.ts":
    `import { z } from "zod";\nexport default { description: "Echo.", input: z.object({ text: z.string() }), run: ({ text }) => text };\n`,
  "shaped.ts":
    `export default { description: "Shaped.", run: () => ({ content: [{ type: "text", text: "a", annotations: { priority: 1 } }], _meta: { m: 1 } }) };\n`,
  "structured.ts":
    `import { z } from "zod";\nexport default { description: "Structured.", output: z.object({ n: z.number() }), run: () => ({ n: 1 }) };\n`,
  "two.ts":
    `export default { description: "Two blocks.", run: () => [{ type: "text", text: "a" }, { type: "text", text: "b" }] };\n`,
};

/** The messages a worker on `TOOLS` answers to `send` (after `load`), until `count` results. */
async function exchange(
  send: ToWorker,
  count: number,
): Promise<FromWorker[]> {
  await using dir = await tempDir(TOOLS);
  const files: ToolFile[] = Object.keys(TOOLS).map((name) => ({
    url: new URL(`file://${dir.path}/${name}`).href,
    source: `tools/${name}`,
    stem: name.replace(/\.ts$/, ""),
  }));
  const worker = new Worker(ENTRY, {
    type: "module",
    deno: { permissions: { read: [dir.path] } },
  });
  try {
    const seen: FromWorker[] = [];
    let answered = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    worker.addEventListener("message", (event) => {
      const message = (event as MessageEvent<FromWorker>).data;
      if (message.type === "loaded") return worker.postMessage(send);
      seen.push(message);
      if (message.type !== "turn") return;
      answered += (message.packed?.length ?? 0) / 2 +
        (message.results?.length ?? 0);
      if (answered >= count) resolve();
    });
    worker.postMessage({ type: "load", files, logLevel: "emergency" });
    await promise;
    return seen;
  } finally {
    worker.terminate();
  }
}

Deno.test("packed calls are answered packed: a lone text block as its text, any other result as the object", async () => {
  const seen = await exchange({
    type: "calls",
    packed: [
      1,
      "echo",
      { text: "hi" },
      2,
      "shaped",
      {},
      3,
      "structured",
      {},
      4,
      "two",
      {},
      5,
      "echo",
      { text: 5 },
      6,
      "nope",
      {},
    ],
  }, 6);
  assert.equal(seen.length, 1, JSON.stringify(seen));
  const message = seen[0]!;
  assert.equal(message.type, "turn");
  assert.deepEqual(Object.keys(message), ["type", "packed"]);
  const results = new Map<number, unknown>();
  const packed = (message as { packed: PackedResults }).packed;
  for (let i = 0; i < packed.length; i += 2) {
    results.set(packed[i] as number, packed[i + 1]);
  }
  assert.equal(results.get(1), "hi");
  assert.deepEqual(results.get(2), {
    content: [{ type: "text", text: "a", annotations: { priority: 1 } }],
    _meta: { m: 1 },
  });
  assert.deepEqual(results.get(3), {
    content: [{ type: "text", text: '{"n":1}' }],
    structuredContent: { n: 1 },
  });
  assert.deepEqual(results.get(4), {
    content: [{ type: "text", text: "a" }, { type: "text", text: "b" }],
  });
  for (const id of [5, 6]) {
    const result = results.get(id) as CallToolResult;
    assert.equal(result.isError, true, JSON.stringify(result));
  }
});

Deno.test("calls sent as objects are still answered with objects", async () => {
  const seen = await exchange({
    type: "calls",
    calls: [{ id: 1, tool: "echo", args: { text: "hi" } }],
  }, 1);
  assert.deepEqual(seen, [{
    type: "turn",
    results: [{ id: 1, result: { content: [{ type: "text", text: "hi" }] } }],
  }]);
});

Deno.test("through the host, packed results are the tools' results, and a burst leaves in one calls message", async () => {
  await using dir = await tempDir(TOOLS);
  const toolsDir = new URL(`file://${dir.path}/`);
  const log = new Logger({ level: "emergency", write: () => {} });
  const host = new WorkerHost({ toolsDir, log });
  try {
    const loaded = await loadToolDir(toolsDir, {
      attach: (tool, file) => host.attach(tool, file),
    });
    const byName = new Map(loaded.tools.map((tool) => [tool.name, tool]));
    const context: ToolContext = {
      signal: new AbortController().signal,
      toolName: "test",
      log: () => {},
      progress: () => {},
      roots: () => Promise.resolve([]),
      ...CLIENTLESS,
    };
    const post = Worker.prototype.postMessage;
    let calls = 0;
    Worker.prototype.postMessage = function (this: Worker, message, ...rest) {
      if ((message as ToWorker)?.type === "calls") calls++;
      return post.call(this, message, ...rest as [StructuredSerializeOptions]);
    } as typeof post;
    let results: CallToolResult[];
    try {
      results = await Promise.all(
        ["echo", "shaped", "structured", "two"].map((name) =>
          new Promise<CallToolResult>((resolve) =>
            byName.get(name)!.remote!.start(
              name === "echo" ? { text: "hi" } : {},
              context,
              resolve,
            )
          )
        ),
      );
    } finally {
      Worker.prototype.postMessage = post;
    }
    assert.equal(calls, 1);
    assert.deepEqual(results, [
      { content: [{ type: "text", text: "hi" }] },
      {
        content: [{ type: "text", text: "a", annotations: { priority: 1 } }],
        _meta: { m: 1 },
      },
      {
        content: [{ type: "text", text: '{"n":1}' }],
        structuredContent: { n: 1 },
      },
      { content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
    ]);
  } finally {
    host.close();
  }
});
