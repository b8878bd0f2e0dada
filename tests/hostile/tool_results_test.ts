/**
 * Hostile tools (issue 12, items 3, 7 and 10): whatever a tool throws or returns, each call gets
 * exactly one reply, isError with a readable message, and gives its concurrency slot back.
 */

import assert from "node:assert/strict";
import { defineTool, type ToolReturn } from "tooldrop";
import type { AnyToolDefinition } from "../../src/tool/tool.ts";
import {
  call,
  cancel,
  initialize,
  jsonLines,
  listen,
  modern,
  ping,
  setLevel,
} from "../requests.ts";
import { memoryLog, Session, toolSet, untilCancelled } from "../wire.ts";

const throwingToString = {
  toString() {
    throw new Error("no toString for you");
  },
};

class SecretError extends Error {
  override get message(): string {
    throw new Error("no message for you");
  }
}

/** Values a tool may throw, each awkward to describe. */
const THROWN: Record<string, () => unknown> = {
  "a null-prototype object": () => Object.create(null),
  "a Proxy that refuses everything": () =>
    new Proxy({}, {
      get() {
        throw new Error("get");
      },
      getPrototypeOf() {
        throw new Error("getPrototypeOf");
      },
      ownKeys() {
        throw new Error("ownKeys");
      },
      getOwnPropertyDescriptor() {
        throw new Error("getOwnPropertyDescriptor");
      },
    }),
  "a revoked Proxy": () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  },
  "an object whose toString throws": () => throwingToString,
  "an Error subclass whose message getter throws": () => new SecretError(),
  "a symbol": () => Symbol("odd"),
};

/** Values a tool may return that cannot be turned into a reply as they are. */
const RETURNED: Record<string, () => unknown> = {
  "a result whose getters throw": () => ({
    get content() {
      throw new Error("content getter");
    },
  }),
  "a result with a then getter that throws": () => ({
    get then() {
      throw new Error("then getter");
    },
  }),
  "a BigInt in structuredContent": () => ({
    content: [{ type: "text", text: "x" }],
    structuredContent: { n: 1n },
  }),
  "a toJSON that throws": () => ({
    content: [{
      type: "text",
      text: "x",
      _meta: {
        toJSON() {
          throw new Error("toJSON");
        },
      },
    }],
  }),
  "a cyclic structuredContent": () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    return { content: [], structuredContent: loop };
  },
};

function hostileTools(): Record<string, AnyToolDefinition> {
  const tools: Record<string, AnyToolDefinition> = {};
  let i = 0;
  for (const make of Object.values(THROWN)) {
    const n = i++;
    tools[`throw_sync_${n}`] = defineTool({
      description: "t",
      run: () => {
        throw make();
      },
    });
    tools[`throw_async_${n}`] = defineTool({
      description: "t",
      run: async () => {
        await Promise.resolve();
        throw make();
      },
    });
  }
  for (const make of Object.values(RETURNED)) {
    const n = i++;
    // Cast: these are exactly the values the types forbid, returned anyway.
    const run = make as () => ToolReturn;
    tools[`return_sync_${n}`] = defineTool({ description: "r", run });
    tools[`return_async_${n}`] = defineTool({
      description: "r",
      run: async () => {
        await Promise.resolve();
        return run();
      },
    });
  }
  tools.ok = defineTool({ description: "ok", run: () => "fine" });
  return tools;
}

Deno.test("every hostile throw or result gets exactly one isError reply with a readable message", async () => {
  const definitions = hostileTools();
  const names = Object.keys(definitions).filter((n) => n !== "ok");
  const { log } = memoryLog();
  const session = new Session({ tools: toolSet(definitions), log });
  names.forEach((name, id) => session.send(call(id, name)));
  const replies = new Map<number, Record<string, unknown>>();
  for (let n = 0; n < names.length; n++) {
    const reply = JSON.parse(await session.next());
    assert.ok(!replies.has(reply.id), `two replies for ${names[reply.id]}`);
    replies.set(reply.id, reply);
  }
  for (const [id, reply] of replies) {
    const result = reply.result as {
      isError?: boolean;
      content: Array<{ text: string }>;
    };
    assert.equal(
      result.isError,
      true,
      `${names[id]}: ${JSON.stringify(reply)}`,
    );
    assert.match(result.content[0]!.text, /^Tool "\w+" /, names[id]);
  }
  await session.end(); // EOF ends serve(): nothing is left in flight
  assert.equal(session.out.lines.length, names.length);
});

Deno.test("a hundred sync throws of odd values leak no concurrency slot", async () => {
  const tools = toolSet({
    odd: defineTool({
      description: "o",
      run: () => {
        throw Object.create(null);
      },
    }),
    ok: defineTool({ description: "ok", run: () => "fine" }),
  });
  const session = new Session({ tools, maxConcurrentCalls: 4 });
  for (let id = 0; id < 100; id++) session.send(call(id, "odd"));
  session.send(call(100, "ok"));
  const last = await session.out.line(100);
  assert.equal(
    last,
    `{"jsonrpc":"2.0","id":100,"result":{"content":[{"type":"text","text":"fine"}]}}`,
  );
  await session.end();
});

Deno.test("a client cancel is logged at debug as a cancellation, not as an error", async () => {
  const tools = toolSet({
    wait: untilCancelled(),
  });
  const { log, lines } = memoryLog();
  const session = new Session({ tools, log });
  session.send(call(1, "wait"));
  session.send(cancel(1));
  session.send(ping(2));
  await session.next();
  await session.end();
  const text = lines.join("");
  assert.ok(!/\berror\b/.test(text), text);
  assert.ok(!text.includes("AbortError"), text);
  assert.match(
    text,
    /debug +Tool "wait" stopped: the client cancelled the call/,
  );
});

Deno.test("a cancelled id may be reused in the same write", async () => {
  const tools = toolSet({
    wait: defineTool({
      description: "w",
      run: (_a, ctx) =>
        new Promise((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve("stopped"))
        ),
    }),
    ok: defineTool({ description: "ok", run: () => "fine" }),
  });
  const session = new Session({ tools });
  session.raw(
    [
      JSON.stringify(call(7, "wait")),
      JSON.stringify(cancel(7)),
      JSON.stringify(call(7, "ok")),
      "",
    ].join("\n"),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"fine"}]}}`,
  );
  await session.end();
  assert.equal(session.out.lines.length, 1);
});

Deno.test("subscriptions/listen beyond the cap gets -32603 and the server keeps serving", async () => {
  const session = new Session({});
  const lines = [];
  for (let id = 0; id <= 1024; id++) {
    lines.push(modern(listen(id, { toolsListChanged: true })));
  }
  session.raw(jsonLines(...lines));
  const refusal = JSON.parse(await session.out.line(1024));
  assert.equal(refusal.id, 1024);
  assert.equal(refusal.error.code, -32603);
  assert.match(refusal.error.message, /too many open subscriptions/);
  session.send(ping("p"));
  assert.equal(
    await session.out.line(1025),
    `{"jsonrpc":"2.0","id":"p","result":{}}`,
  );
  await session.end();
});

Deno.test("tool logs beyond the queue's bound drop the oldest and say how many were dropped", async () => {
  const release = Promise.withResolvers<void>();
  const tools = toolSet({
    chatty: defineTool({
      description: "c",
      run: async (_a, ctx) => {
        for (let i = 0; i < 5000; i++) ctx.log("info", `line ${i}`);
        await release.promise;
        return "done";
      },
    }),
  });
  // A reader that does not read until the tool has logged everything.
  let unblock!: () => void;
  const blocked = new Promise<void>((resolve) => unblock = resolve);
  const chunks: string[] = [];
  const decoder = new TextDecoder();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await blocked;
      chunks.push(decoder.decode(chunk, { stream: true }));
    },
  });
  const session = new Session({ tools }, writable);
  session.send(initialize(0));
  session.send(setLevel(1, "debug"));
  session.send(call(2, "chatty"));
  await new Promise((resolve) => setTimeout(resolve, 50));
  unblock();
  release.resolve();
  await session.end();
  const lines = chunks.join("").split("\n").filter(Boolean).map((l) =>
    JSON.parse(l)
  );
  const logs = lines.filter((m) =>
    m.method === "notifications/message" && m.params.logger === "chatty"
  );
  const note = lines.find((m) =>
    m.method === "notifications/message" && m.params.logger === "tooldrop"
  );
  assert.ok(logs.length <= 1000, `${logs.length} log lines were kept`);
  assert.equal(logs.at(-1).params.data, "line 4999"); // the newest are kept
  assert.match(note.params.data, /^\d+ log message\(s\) dropped/);
  const dropped = Number(note.params.data.split(" ")[0]);
  assert.equal(dropped + logs.length, 5000);
  assert.equal(lines.at(-1).id, 2);
});
