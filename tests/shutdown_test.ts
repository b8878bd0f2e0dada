import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { serve } from "../src/server/serve.ts";
import { call, jsonLines, ping } from "./requests.ts";
import { Collector, deferred, memoryLog, Session, toolSet } from "./wire.ts";

Deno.test("at EOF a running call may finish, and its reply is flushed before serve returns", async () => {
  const gate = deferred();
  const tools = toolSet({
    slow: defineTool({
      description: "s",
      run: async () => (await gate.promise, "finished"),
    }),
  });
  const session = new Session({ tools, shutdownGraceMs: 10_000 });
  session.send(call(1, "slow"));
  const ended = session.end();
  gate.resolve();
  await ended;
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"finished"}]}}`,
  ]);
});

Deno.test("at EOF a call still running after the grace period is stopped and told why", async () => {
  let aborted = false;
  const tools = toolSet({
    stuck: defineTool({
      description: "s",
      run: (_args, ctx) => {
        ctx.signal.addEventListener("abort", () => aborted = true);
        return new Promise(() => {});
      },
    }),
  });
  const session = new Session({ tools, shutdownGraceMs: 20 });
  session.send(call(1, "stuck"));
  await session.end();
  assert.equal(aborted, true);
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Tool \\"stuck\\" was stopped: the server is shutting down"}],"isError":true}}`,
  ]);
});

Deno.test("at EOF, requests that wait for the tools get them for loadWaitMs, not just the grace", async () => {
  const loaded = deferred<ReturnType<typeof toolSet>>();
  const tools = loaded.promise;
  const session = new Session({
    tools,
    shutdownGraceMs: 20,
    loadWaitMs: 5_000,
  });
  session.send(call(1, "echo", { text: "late" }));
  const ended = session.end();
  // Well past the grace: the tools of a cold start (a probe worker) can take that long.
  await new Promise((resolve) => setTimeout(resolve, 100));
  loaded.resolve(toolSet({
    echo: defineTool({
      description: "e",
      input: z.object({ text: z.string() }),
      run: ({ text }) => text,
    }),
  }));
  await ended;
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"late"}]}}`,
  ]);
});

Deno.test("after a stop signal, requests that wait for the tools get only the grace", async () => {
  const stop = new AbortController();
  const session = new Session({
    tools: new Promise(() => {}),
    shutdownGraceMs: 20,
    loadWaitMs: 60_000,
    signal: stop.signal,
  });
  session.send(call(1, "echo", { text: "never" }));
  // Read before the stop: it waits for the tools.
  await new Promise((resolve) => setTimeout(resolve, 20));
  stop.abort();
  await session.done;
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error: the server shut down before its tools loaded"}}`,
  ]);
});

Deno.test("a stop signal (SIGTERM) ends serving like EOF though the input stays open", async () => {
  const stop = new AbortController();
  const tools = toolSet({
    t: defineTool({ description: "t", run: () => "ok" }),
  });
  const session = new Session({ tools, signal: stop.signal });
  session.send(call(1, "t"));
  assert.match(await session.next(), /"id":1,/);
  stop.abort();
  await session.done; // the input was never closed
});

Deno.test("a closed output (EPIPE) stops the server quietly, even while input keeps coming", async () => {
  const { log, lines } = memoryLog();
  const out = new WritableStream<Uint8Array>({
    write: () =>
      Promise.reject(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
  });
  const encoder = new TextEncoder();
  let pulls = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      pulls++;
      controller.enqueue(
        encoder.encode(jsonLines(ping(pulls))),
      );
    },
  });
  await serve({ readable: endless, writable: out, tools: toolSet({}), log });
  assert.match(
    lines.join(""),
    /Stopping: the client closed its end of stdout \(BrokenPipe\)/,
  );
  assert.ok(
    pulls < 100,
    `kept reading after the output closed (${pulls} reads)`,
  );
});

Deno.test("replies that are ready together go out in one write", async () => {
  let writes = 0;
  const out = new Collector({ write: () => void writes++ });
  const tools = toolSet({
    t: defineTool({ description: "t", run: () => "ok" }),
  });
  const input = jsonLines(
    ...Array.from({ length: 50 }, (_, i) => call(i, "t")),
  );
  await serve({
    readable: ReadableStream.from([new TextEncoder().encode(input)]),
    writable: out.writable,
    tools,
  });
  assert.equal(out.lines.length, 50);
  assert.equal(writes, 1);
});

Deno.test("a reader that stalls still gets every reply, whole and in order", async () => {
  const release = deferred();
  let writes = 0;
  const out = new Collector({
    write: async () => {
      if (writes++ === 0) await release.promise; // the reader stalls on the first write
    },
  });
  const tools = toolSet({
    t: defineTool({ description: "t", run: () => "x".repeat(100_000) }),
  });
  const session = new Session({ tools }, out.writable);
  for (let i = 0; i < 20; i++) session.send(call(i, "t"));
  session.send(ping("last"));
  const ended = session.end();
  release.resolve();
  await ended;
  assert.equal(out.lines.length, 21);
  assert.ok(out.lines.every((line) => JSON.parse(line).jsonrpc === "2.0"));
});
