/**
 * Progress and log notifications: when they are sent, in what shape, and never after the reply.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import {
  call,
  cancel,
  initialize,
  modern,
  ping,
  setLevel,
  withMeta,
} from "./requests.ts";
import { Collector, deferred, memoryLog, Session, toolSet } from "./wire.ts";

/** Lets the writer flush, so updates are not coalesced with each other. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

const stepper = toolSet({
  steps: defineTool({
    description: "Reports progress, some of it out of order.",
    run: async (_args, ctx) => {
      ctx.progress(1, 3, "first");
      await tick();
      ctx.progress(1, 3, "repeat: dropped");
      ctx.progress(0.5, 3, "backwards: dropped");
      ctx.progress(Number.NaN);
      ctx.progress(2);
      await tick();
      ctx.progress(3, 3, "done");
      await tick();
      return "ok";
    },
  }),
});

Deno.test("progress goes to the request's token, strictly increasing, before the reply", async () => {
  const session = new Session({ tools: stepper });
  session.send(withMeta(call(1, "steps"), { progressToken: "tok" }));
  const lines = [
    await session.next(),
    await session.next(),
    await session.next(),
    await session.next(),
  ];
  assert.deepEqual(lines, [
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":1,"total":3,"message":"first"}}`,
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":2}}`,
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":3,"total":3,"message":"done"}}`,
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  ]);
  await session.end();
});

Deno.test("without a progressToken no progress is sent", async () => {
  const session = new Session({ tools: stepper });
  session.send(call(1, "steps"));
  assert.match(await session.next(), /^\{"jsonrpc":"2.0","id":1,"result"/);
  await session.end();
  assert.equal(session.out.lines.length, 1);
});

Deno.test("progress for a 2024-11-05 client leaves out the message it does not know", async () => {
  const session = new Session({ tools: stepper });
  session.send(initialize("init", "2024-11-05"));
  await session.next();
  session.send(withMeta(call(1, "steps"), { progressToken: 9 }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":9,"progress":1,"total":3}}`,
  );
  await session.end();
});

Deno.test("progress in a 2026-07-28 request uses the token in its _meta", async () => {
  const session = new Session({ tools: stepper });
  session.send(modern(call(1, "steps"), { progressToken: "m" }));
  assert.match(await session.next(), /"progressToken":"m","progress":1/);
  await session.end();
});

Deno.test("no progress or log goes out after the reply, or after a cancellation", async () => {
  const later = deferred<() => void>();
  const gate = deferred();
  const tools = toolSet({
    late: defineTool({
      description: "Keeps reporting after it returned.",
      run: (_args, ctx) => {
        later.resolve(() => {
          ctx.progress(10);
          ctx.log("error", "too late");
        });
        return "returned";
      },
    }),
    cancelled: defineTool({
      description: "Reports after being cancelled.",
      run: async (_args, ctx) => {
        await gate.promise;
        ctx.progress(5);
        ctx.log("error", "too late");
        return "never sent";
      },
    }),
  });
  const session = new Session({ tools });
  session.send(initialize("init", "2025-11-25"));
  await session.next();
  session.send(setLevel("lvl", "debug"));
  await session.next();
  session.send(withMeta(call(1, "late"), { progressToken: "a" }));
  assert.match(await session.next(), /"id":1,"result"/);
  (await later.promise)();
  session.send(withMeta(call(2, "cancelled"), { progressToken: "b" }));
  session.send(cancel(2));
  session.send(ping(3));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":3,"result":{}}`);
  gate.resolve(); // the server has read the cancellation: the tool wakes up too late
  await tick();
  session.send(ping(4));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":4,"result":{}}`);
  await session.end();
  assert.equal(session.out.lines.length, 5);
});

Deno.test("a burst of progress shrinks to the latest update while the reader is busy", async () => {
  const release = deferred();
  let writes = 0;
  const out = new Collector({
    write: async () => {
      if (writes++ === 0) await release.promise;
    },
  });
  const tools = toolSet({
    burst: defineTool({
      description: "1000 updates at once.",
      run: async (_args, ctx) => {
        await Promise.resolve();
        for (let i = 1; i <= 1000; i++) ctx.progress(i, 1000);
        return "done";
      },
    }),
  });
  const session = new Session({ tools }, out.writable);
  session.send(ping(0)); // occupies the writer
  session.send(withMeta(call(1, "burst"), { progressToken: "p" }));
  await new Promise((r) => setTimeout(r, 0));
  release.resolve();
  await session.end();
  const progress = out.lines.filter((l) =>
    l.includes("notifications/progress")
  );
  assert.ok(
    progress.length < 10,
    `${progress.length} progress lines for one burst`,
  );
  assert.match(progress.at(-1)!, /"progress":1000,/);
  assert.match(out.lines.at(-1)!, /"id":1,"result"/);
});

const chatty = toolSet({
  chat: defineTool({
    description: "Logs at three levels.",
    run: (_args, ctx) => {
      ctx.log("debug", "d");
      ctx.log("warning", "w");
      ctx.log("error", "e");
      return "ok";
    },
  }),
});

Deno.test("a legacy client gets tool logs at info and above until logging/setLevel names another level", async () => {
  const { log, lines } = memoryLog();
  const session = new Session({ tools: chatty, log });
  session.send(initialize("init", "2025-11-25"));
  await session.next();
  session.send(call(1, "chat"));
  const warning =
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"warning","logger":"chat","data":"w"}}`;
  const error =
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"error","logger":"chat","data":"e"}}`;
  assert.deepEqual(
    [await session.next(), await session.next(), await session.next()],
    [
      warning,
      error,
      `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
    ],
  );
  session.send(setLevel(2, "error"));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  session.send(call(3, "chat"));
  assert.deepEqual([await session.next(), await session.next()], [
    error,
    `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  ]);
  session.send(setLevel(4, "debug"));
  await session.next();
  session.send(call(5, "chat"));
  assert.match(
    await session.next(),
    /"level":"debug","logger":"chat","data":"d"/,
  );
  await session.end();
  assert.equal(lines.filter((l) => l.includes("[chat] d")).length, 3); // stderr gets everything
});

Deno.test("logging/setLevel with an unknown level gets -32602", async () => {
  const session = new Session({ tools: chatty });
  session.send(setLevel(1, "verbose"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: unknown log level \\"verbose\\""}}`,
  );
  await session.end();
});

Deno.test("a 2026 request gets tool logs only when its _meta asks, at that level and above", async () => {
  const session = new Session({ tools: chatty });
  session.send(modern(call(1, "chat")));
  assert.match(await session.next(), /"id":1,"result"/);
  session.send(
    modern(call(2, "chat"), { "io.modelcontextprotocol/logLevel": "error" }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"error","logger":"chat","data":"e"}}`,
  );
  assert.match(await session.next(), /"id":2,"result"/);
  await session.end();
  assert.equal(session.out.lines.length, 3);
});
