/**
 * The 2026-07-28 (stateless) era on the wire: `server/discover`, requests that carry their
 * version in `_meta`, and a client that probes with discover and then (like Claude Code) still
 * sends `initialize`.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { VERSION } from "../src/server/protocol.ts";
import { defineTool } from "tooldrop";
import {
  call,
  cancel,
  discover,
  initialize,
  initialized,
  jsonLines,
  listen,
  listTools,
  modern,
  ping,
  withMeta,
} from "./requests.ts";
import { deferred, exchange, Session, toolSet } from "./wire.ts";

const VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
const SERVER_INFO =
  `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"${VERSION}"}}`;
const SUPPORTED =
  `["2026-07-28","2025-11-25","2025-06-18","2025-03-26","2024-11-05"]`;

const tools = toolSet({
  echo: defineTool({
    description: "Echo.",
    input: z.object({ text: z.string().describe("Text") }),
    run: ({ text }) => text,
  }),
});

Deno.test("server/discover answers versions, capabilities, identity and cache hints", async () => {
  const out = await exchange(jsonLines(modern(discover("d1"))), {
    tools,
  });
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":"d1","result":{"supportedVersions":${SUPPORTED},"capabilities":{"tools":{"listChanged":true},"logging":{}},"ttlMs":3600000,"cacheScope":"public","resultType":"complete",${SERVER_INFO}}}`,
  ]);
});

Deno.test("server/discover carries instructions when the server has them", async () => {
  const out = await exchange(jsonLines(modern(discover(1))), {
    tools,
    instructions: "Use echo to test.",
  });
  assert.equal(JSON.parse(out[0]!).result.instructions, "Use echo to test.");
});

Deno.test("a 2026 request is served without initialize; results are complete and signed", async () => {
  const out = await exchange(
    jsonLines(
      modern(listTools(1)),
      modern(call(2, "echo", { text: "hi" })),
      modern(ping(3)),
    ),
    { tools },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","description":"Echo.","inputSchema":{"type":"object","properties":{"text":{"type":"string","description":"Text"}},"required":["text"]}}],"ttlMs":3600000,"cacheScope":"public","resultType":"complete",${SERVER_INFO}}}`,
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}],"resultType":"complete",${SERVER_INFO}}}`,
    `{"jsonrpc":"2.0","id":3,"result":{"resultType":"complete",${SERVER_INFO}}}`,
  ]);
});

Deno.test("a tool's own result _meta is kept next to serverInfo", async () => {
  const withMeta = toolSet({
    m: defineTool({
      description: "m",
      run: () => ({ content: [], _meta: { "com.example/trace": "t1" } }),
    }),
  });
  const out = await exchange(
    jsonLines(modern(call(1, "m"))),
    { tools: withMeta },
  );
  assert.deepEqual(JSON.parse(out[0]!).result._meta, {
    "com.example/trace": "t1",
    "io.modelcontextprotocol/serverInfo": {
      name: "tooldrop",
      version: VERSION,
    },
  });
});

Deno.test("an unsupported _meta version gets -32022 listing the versions a request's _meta may name", async () => {
  const line = modern(listTools(7), { [VERSION_KEY]: "2099-01-01" });
  assert.deepEqual(await exchange(jsonLines(line), { tools }), [
    `{"jsonrpc":"2.0","id":7,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2099-01-01"}}}`,
  ]);
});

Deno.test("a legacy version named in _meta is refused with a list that does not name it", async () => {
  const line = modern(listTools(8), { [VERSION_KEY]: "2025-11-25" });
  const [reply] = await exchange(jsonLines(line), { tools });
  const { error } = JSON.parse(reply!);
  assert.equal(error.code, -32022);
  assert.ok(!error.data.supported.includes("2025-11-25"));
});

Deno.test("malformed _meta fields get -32602", async () => {
  const out = await exchange(
    jsonLines(
      withMeta(ping(1), "x"),
      withMeta(ping(2), { [VERSION_KEY]: 2026 }),
      modern(ping(3), { "io.modelcontextprotocol/logLevel": "loud" }),
    ),
    { tools },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: \\"_meta\\" must be an object"}}`,
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params: \\"_meta.io.modelcontextprotocol/protocolVersion\\" must be a string"}}`,
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params: unknown log level \\"loud\\""}}`,
  ]);
});

Deno.test("a client that probes with discover and then sends initialize (Claude Code) is served in the legacy era", async () => {
  const out = await exchange(
    jsonLines(
      modern(discover(0)),
      initialize(1, "2025-11-25", { client: "cc" }),
      initialized(),
      call(2, "echo", { text: "x" }),
    ),
    { tools },
  );
  assert.equal(out.length, 3);
  assert.deepEqual(
    JSON.parse(out[0]!).result.supportedVersions[0],
    "2026-07-28",
  );
  assert.equal(JSON.parse(out[1]!).result.protocolVersion, "2025-11-25");
  assert.equal(
    out[2],
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"x"}]}}`,
  );
});

Deno.test("a client whose probe asks for an unknown version retries with one from the list", async () => {
  const session = new Session({ tools });
  session.send(modern(discover(1), { [VERSION_KEY]: "2030-01-01" }));
  const refusal = await session.nextJson();
  const supported =
    (refusal.error as { data: { supported: string[] } }).data.supported;
  assert.equal((refusal.error as { code: number }).code, -32022);
  session.send(modern(discover(2), { [VERSION_KEY]: supported[0] }));
  assert.equal(
    ((await session.nextJson()).result as { resultType: string }).resultType,
    "complete",
  );
  await session.end();
});

Deno.test("both eras share one process: a legacy session and 2026 requests side by side", async () => {
  const out = await exchange(
    jsonLines(
      initialize(1, "2025-06-18", { client: "old" }),
      modern(call(2, "echo", { text: "new" })),
      call(3, "echo", { text: "old" }),
    ),
    { tools },
  );
  assert.match(out[1]!, /"text":"new".*"resultType":"complete"/);
  assert.equal(
    out[2],
    `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"old"}]}}`,
  );
});

Deno.test("tools/list rejects a cursor with -32602: every tool is on one page", async () => {
  assert.deepEqual(
    await exchange(
      jsonLines(listTools(1, { cursor: "abc" })),
      { tools },
    ),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: unknown cursor (tools/list returns every tool on one page)"}}`,
    ],
  );
});

/** A session whose tool set changes to the one `next` resolves with. */
function updatingSession() {
  const next = deferred<ReturnType<typeof toolSet>>();
  async function* updates() {
    yield await next.promise;
  }
  return { next, session: new Session({ tools, toolUpdates: updates() }) };
}

Deno.test("a new tool set is announced with notifications/tools/list_changed after initialize", async () => {
  const { next, session } = updatingSession();
  session.send(initialize(1));
  await session.next();
  next.resolve(
    toolSet({ fresh: defineTool({ description: "New.", run: () => "new" }) }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`,
  );
  session.send(listTools(2));
  assert.match(await session.next(), /"name":"fresh"/);
  await session.end();
});

Deno.test("before initialize, a new tool set is served but not announced to a legacy client", async () => {
  const { next, session } = updatingSession();
  next.resolve(
    toolSet({ fresh: defineTool({ description: "New.", run: () => "new" }) }),
  );
  await next.promise;
  session.send(call(1, "fresh"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"new"}]}}`,
  );
  await session.end();
  assert.equal(session.out.lines.length, 1);
});

Deno.test("subscriptions/listen acknowledges, carries tagged list_changed, and closes gracefully at shutdown", async () => {
  const { next, session } = updatingSession();
  session.send(
    modern(
      listen("sub", { toolsListChanged: true, promptsListChanged: true }),
    ),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"sub"},"notifications":{"toolsListChanged":true}}}`,
  );
  session.send(modern(listen("quiet", {})));
  assert.match(
    await session.next(),
    /subscriptionId":"quiet"},"notifications":\{\}/,
  );
  next.resolve(toolSet({}));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"sub"}}}`,
  );
  session.send(cancel("quiet"));
  await session.end();
  assert.deepEqual(session.out.lines.slice(3), [
    `{"jsonrpc":"2.0","id":"sub","result":{"_meta":{"io.modelcontextprotocol/subscriptionId":"sub","io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"${VERSION}"}},"resultType":"complete"}}`,
  ]);
});

Deno.test("subscriptions/listen without a notifications filter gets -32602", async () => {
  assert.deepEqual(
    await exchange(jsonLines(modern(listen(1))), { tools }),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: \\"notifications\\" must be an object"}}`,
    ],
  );
});
