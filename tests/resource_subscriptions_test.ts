/**
 * Resource subscriptions at the wire, in the server's thread with a file watcher the test
 * drives (issue 16, item 3): exact lines for subscribe, unsubscribe and updates in both eras,
 * bursts of changes becoming one update, the bounds, and what a bad request gets.
 */

import assert from "node:assert/strict";
import { defineResource } from "tooldrop";
import type { FileWatcher } from "../src/server/resource_updates.ts";
import { initialize, listen, modern, request } from "./requests.ts";
import { memoryLog, Session, toolSet } from "./wire.ts";

const set = toolSet({}, {
  resources: {
    note: defineResource({
      uriTemplate: "notes://{name}",
      description: "A note.",
      watch: ["notes/{name}.md", "shared/"],
      read: ({ name }) => name,
    }),
    broken_hook: defineResource({
      uri: "hook://broken",
      description: "Its hook throws.",
      read: () => "x",
      subscribe: () => {
        throw new Error("no watching today");
      },
    }),
  },
});

/** A FileWatcher whose changes the test fires, recording what it was asked to watch. */
function fakeWatcher() {
  const watching = new Map<string, () => void>();
  const watcher: FileWatcher = (paths, signal) => {
    const key = paths.join(",");
    let wake: (() => void) | undefined;
    let fired = 0;
    watching.set(key, () => {
      fired++;
      wake?.();
    });
    signal.addEventListener("abort", () => {
      watching.delete(key);
      wake?.();
    });
    return Promise.resolve((async function* () {
      while (!signal.aborted) {
        if (fired > 0) {
          fired = 0;
          yield;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    })());
  };
  return { watcher, watching };
}

const rpc = request;

const updated = (uri: string) =>
  `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":${
    JSON.stringify(uri)
  }}}`;

Deno.test("legacy resources/subscribe watches the resource's files with its variables filled; a burst is one update; unsubscribe stops it", async () => {
  const { watcher, watching } = fakeWatcher();
  const session = new Session({ tools: set, watchFiles: watcher });
  session.send(initialize(1, "2025-11-25"));
  await session.next();
  session.send(rpc(2, "resources/subscribe", { uri: "notes://todo" }));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  assert.deepEqual([...watching.keys()], ["notes/todo.md,shared/"]);
  const fire = watching.get("notes/todo.md,shared/")!;
  fire();
  assert.equal(await session.next(), updated("notes://todo"));
  fire();
  fire();
  fire();
  session.send(rpc(3, "ping"));
  // Within the burst window: the three changes wait, then go as one update after the ping.
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":3,"result":{}}`);
  assert.equal(await session.next(), updated("notes://todo"));
  // Subscribing again is the same subscription; unsubscribing ends it (twice is no error).
  session.send(rpc(4, "resources/subscribe", { uri: "notes://todo" }));
  await session.next();
  assert.equal(watching.size, 1);
  session.send(rpc(5, "resources/unsubscribe", { uri: "notes://todo" }));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":5,"result":{}}`);
  assert.equal(watching.size, 0);
  session.send(rpc(6, "resources/unsubscribe", { uri: "notes://todo" }));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":6,"result":{}}`);
  await session.end();
  assert.equal(session.out.lines.length, 8); // nothing more than read above
});

Deno.test("resources/subscribe: a URI no resource serves is accepted (one may later), bad params get -32602, and 256 subscriptions are the bound", async () => {
  const session = new Session({ tools: set });
  session.send(initialize(1, "2025-11-25"));
  await session.next();
  session.send(rpc(2, "resources/subscribe", { uri: "nothing://here" }));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  session.send(rpc(3, "resources/subscribe", { uri: 7 }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params: \\"uri\\" must be a string"}}`,
  );
  session.send(rpc(4, "resources/subscribe", { uri: "x".repeat(9000) }));
  assert.match(
    await session.next(),
    /"id":4,"error":\{"code":-32602,"message":"Invalid params: \\"uri\\" must be a resource URI of at most 8192 characters"/,
  );
  for (let i = 1; i < 256; i++) {
    session.send(rpc(100 + i, "resources/subscribe", { uri: `notes://n${i}` }));
  }
  for (let i = 1; i < 256; i++) await session.next();
  session.send(rpc(999, "resources/subscribe", { uri: "notes://one-more" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":999,"error":{"code":-32602,"message":"Invalid params: at most 256 resource subscriptions on a connection; unsubscribe from some first"}}`,
  );
  await session.end();
});

Deno.test("2026 listen with resourceSubscriptions: acknowledged as asked, updates carry the stream's id, a cancelled stream stops watching; bad filters get -32602", async () => {
  const { watcher, watching } = fakeWatcher();
  const session = new Session({ tools: set, watchFiles: watcher });
  session.send(
    modern(listen("s1", { resourceSubscriptions: ["notes://a"] })),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"s1"},"notifications":{"resourceSubscriptions":["notes://a"]}}}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 10));
  watching.get("notes/a.md,shared/")!();
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"s1"},"uri":"notes://a"}}`,
  );
  session.send({
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: "s1" },
  });
  session.send(modern(rpc(2, "ping")));
  assert.match(await session.next(), /"id":2,"result"/);
  assert.equal(watching.size, 0);
  session.send(modern(listen("s2", { resourceSubscriptions: "notes://a" })));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":"s2","error":{"code":-32602,"message":"Invalid params: \\"resourceSubscriptions\\" must be an array of resource URIs"}}`,
  );
  const many = Array.from({ length: 257 }, (_, i) => `notes://n${i}`);
  session.send(modern(listen("s3", { resourceSubscriptions: many })));
  const full =
    `"error":{"code":-32602,"message":"Invalid params: at most 256 resource subscriptions on a connection; unsubscribe from some first"}}`;
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":"s3",${full}`);
  // The bound is the connection's: two streams of 200 distinct URIs do not fit; shared ones count once.
  session.send(
    modern(listen("s4", { resourceSubscriptions: many.slice(0, 200) })),
  );
  assert.match(await session.next(), /subscriptions\/acknowledged/);
  session.send(
    modern(listen("s5", { resourceSubscriptions: many.slice(100, 300) })),
  );
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":"s5",${full}`);
  session.send(
    modern(listen("s6", { resourceSubscriptions: many.slice(50, 250) })),
  );
  assert.match(await session.next(), /subscriptionId":"s6"/);
  await session.end();
});

Deno.test("a server without resources: resources/subscribe is an unknown method, and a stream's resource subscriptions and resource lists are not acknowledged", async () => {
  const session = new Session({ tools: toolSet({}) });
  session.send(initialize(1, "2025-11-25"));
  await session.next();
  session.send(rpc(2, "resources/subscribe", { uri: "notes://a" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"Method not found: \\"resources/subscribe\\""}}`,
  );
  session.send(
    modern(listen("s", {
      resourcesListChanged: true,
      promptsListChanged: true,
      resourceSubscriptions: ["notes://a"],
    })),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"s"},"notifications":{}}}`,
  );
  await session.end();
});

Deno.test("a subscribe hook that throws is logged, naming the resource; the subscription stands", async () => {
  const { log, lines } = memoryLog();
  const session = new Session({ tools: set, log });
  session.send(initialize(1, "2025-11-25"));
  await session.next();
  session.send(rpc(2, "resources/subscribe", { uri: "hook://broken" }));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  session.send(rpc(3, "ping"));
  await session.next();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(
    lines.some((l) =>
      l.includes(
        `The subscribe hook of resource "broken_hook" (resources/broken_hook.ts) failed for hook://broken`,
      ) && l.includes("no watching today")
    ),
    lines.join("\n"),
  );
  await session.end();
});
