import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { call, cancel, ping } from "./requests.ts";
import { deferred, memoryLog, Session, toolSet } from "./wire.ts";

const ESC = "user pressed Esc";

Deno.test("a slow tool never delays ping or another call", async () => {
  const release = deferred();
  const tools = toolSet({
    slow: defineTool({
      description: "s",
      run: async () => (await release.promise, "slow done"),
    }),
    fast: defineTool({ description: "f", run: () => "fast done" }),
  });
  const session = new Session({ tools });
  session.send(call(1, "slow"));
  session.send(ping(2));
  session.send(call(3, "fast"));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"fast done"}]}}`,
  );
  release.resolve();
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"slow done"}]}}`,
  );
  await session.end();
});

Deno.test("calls beyond the concurrency cap wait their turn and all get answered", async () => {
  const gates = [deferred(), deferred(), deferred()];
  let running = 0;
  let peak = 0;
  const tools = toolSet({
    wait: defineTool({
      description: "w",
      input: z.object({ n: z.number() }),
      run: async ({ n }) => {
        peak = Math.max(peak, ++running);
        await gates[n]!.promise;
        running--;
        return `done ${n}`;
      },
    }),
  });
  const session = new Session({ tools, maxConcurrentCalls: 2 });
  for (const n of [0, 1, 2]) session.send(call(n, "wait", { n }));
  session.send(ping("p"));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":"p","result":{}}`);
  assert.equal(running, 2); // the third call waits for a slot
  gates[2]!.resolve(); // releasing the waiting one changes nothing yet
  gates[0]!.resolve();
  assert.match(await session.next(), /"id":0,.*done 0/);
  assert.match(await session.next(), /"id":2,.*done 2/);
  gates[1]!.resolve();
  assert.match(await session.next(), /"id":1,.*done 1/);
  assert.equal(peak, 2);
  await session.end();
});

Deno.test("notifications/cancelled aborts ctx.signal and the cancelled call gets no reply", async () => {
  const started = deferred();
  let abortReason = "";
  const tools = toolSet({
    wait: defineTool({
      description: "w",
      run: (_args, ctx) =>
        new Promise<string>((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            abortReason = String(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
          started.resolve();
        }),
    }),
  });
  const session = new Session({ tools });
  session.send(call("c1", "wait"));
  await started.promise;
  session.send(cancel("c1", ESC));
  session.send(ping(2));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  await session.end();
  assert.deepEqual(session.out.lines, [`{"jsonrpc":"2.0","id":2,"result":{}}`]);
  assert.match(abortReason, /AbortError: The client cancelled the call/);
});

Deno.test("a cancelled call is dropped even when its tool ignores the signal", async () => {
  const never = deferred<string>();
  const tools = toolSet({
    stuck: defineTool({ description: "s", run: () => never.promise }),
  });
  const session = new Session({ tools });
  session.send(call(1, "stuck"));
  session.send(cancel(1, ESC));
  session.send(call(1, "stuck")); // the id is free again once the call is dropped
  session.send(cancel(1, ESC));
  session.send(ping(2));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  await session.end();
  assert.equal(session.out.lines.length, 1);
});

Deno.test("a call cancelled while waiting for a slot never runs", async () => {
  const gate = deferred();
  const ran: string[] = [];
  const tools = toolSet({
    wait: defineTool({
      description: "w",
      input: z.object({ tag: z.string() }),
      run: async ({ tag }) => (ran.push(tag), await gate.promise, tag),
    }),
  });
  const session = new Session({ tools, maxConcurrentCalls: 1 });
  session.send(call(1, "wait", { tag: "first" }));
  session.send(call(2, "wait", { tag: "queued" }));
  session.send(cancel(2, ESC));
  session.send(ping(3));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":3,"result":{}}`);
  gate.resolve();
  assert.match(await session.next(), /"id":1,.*first/);
  await session.end();
  assert.deepEqual(ran, ["first"]);
  assert.equal(session.out.lines.length, 2);
});

Deno.test("cancelling an unknown or finished id is ignored", async () => {
  const tools = toolSet({
    t: defineTool({ description: "t", run: () => "ok" }),
  });
  const session = new Session({ tools });
  session.send(call(1, "t"));
  assert.match(await session.next(), /"id":1,/);
  session.send(cancel(1, ESC));
  session.send(cancel("never-sent", ESC));
  session.send(cancel({}));
  session.send(ping(2));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  await session.end();
});

Deno.test("cancellation matches an id beyond 2^53 digit for digit", async () => {
  const never = deferred<string>();
  const tools = toolSet({
    stuck: defineTool({ description: "s", run: () => never.promise }),
  });
  const session = new Session({ tools });
  session.raw(
    `{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"stuck"}}\n`,
  );
  session.raw(
    `{"jsonrpc":"2.0","id":9007199254740992,"method":"tools/call","params":{"name":"stuck"}}\n`,
  );
  session.raw(
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9007199254740993}}\n`,
  );
  await session.end();
  // Only the other call is left, and EOF stops it with a shutdown reply.
  assert.equal(session.out.lines.length, 1);
  assert.match(
    session.out.lines[0]!,
    /^\{"jsonrpc":"2.0","id":9007199254740992,/,
  );
});

Deno.test("a second call with the id of one in flight gets -32600", async () => {
  const gate = deferred();
  const tools = toolSet({
    wait: defineTool({
      description: "w",
      run: async () => (await gate.promise, "ok"),
    }),
  });
  const session = new Session({ tools });
  session.send(call(1, "wait"));
  session.send(call(1, "wait"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid request: this id is already used by a call in progress"}}`,
  );
  gate.resolve();
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  );
  await session.end();
});

Deno.test("a tool past its timeout is aborted and answers isError", async () => {
  const { log, lines } = memoryLog();
  let sawAbort = "";
  const tools = toolSet({
    polite: defineTool({
      description: "p",
      timeoutMs: 20,
      run: (_args, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => {
            sawAbort = (ctx.signal.reason as DOMException).name;
            reject(ctx.signal.reason);
          })
        ),
    }),
    deaf: defineTool({
      description: "d",
      timeoutMs: 20,
      run: () => new Promise(() => {}),
    }),
  });
  const session = new Session({ tools, log });
  session.send(call(1, "polite"));
  session.send(call(2, "deaf"));
  const replies = [await session.next(), await session.next()].sort();
  assert.deepEqual(replies, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Tool \\"polite\\" timed out after 20 ms and was stopped"}],"isError":true}}`,
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"Tool \\"deaf\\" timed out after 20 ms and was stopped"}],"isError":true}}`,
  ]);
  assert.equal(sawAbort, "TimeoutError");
  assert.match(lines.join(""), /Tool "deaf" timed out after 20 ms/);
  await session.end();
});

Deno.test("100 concurrent calls are each answered once, with lines never interleaved", async () => {
  const tools = toolSet({
    echo: defineTool({
      description: "e",
      input: z.object({ text: z.string() }),
      run: async ({ text }) => {
        await new Promise((r) => setTimeout(r, text.length % 7));
        return text;
      },
    }),
  });
  const session = new Session({ tools, maxConcurrentCalls: 16 });
  const texts = Array.from(
    { length: 100 },
    (_, i) => `${i}:`.padEnd(1000 + i * 37, "x"),
  );
  texts.forEach((text, i) => session.send(call(i, "echo", { text })));
  await session.end();
  const replies = session.out.lines.map((line) => JSON.parse(line));
  assert.equal(replies.length, 100);
  assert.deepEqual(
    replies.map((r) => r.id).sort((a, b) => a - b),
    texts.map((_, i) => i),
  );
  for (const reply of replies) {
    assert.equal(reply.result.content[0].text, texts[reply.id]);
  }
});
