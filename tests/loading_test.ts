/**
 * Serving while the tools load: the handshake is answered at once, tool requests wait in order,
 * and a failed load answers them with -32603 and stops the server.
 */

import assert from "node:assert/strict";
import { defineTool } from "../src/tool/tool.ts";
import type { ToolSet } from "../src/tool/toolset.ts";
import { deferred, Session, toolSet } from "./wire.ts";

const tools = toolSet({ t: defineTool({ description: "t", run: () => "ok" }) });
const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "c", version: "1" },
  },
};

Deno.test("initialize is answered before the tools have loaded; tool requests then follow in order", async () => {
  const loading = deferred<ToolSet>();
  const session = new Session({ tools: loading.promise });
  session.send({ jsonrpc: "2.0", id: 2, method: "tools/list" });
  session.send({
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: { name: "t" },
  });
  session.send(initialize);
  session.send({ jsonrpc: "2.0", id: 4, method: "ping" });
  assert.match(
    await session.next(),
    /^\{"jsonrpc":"2.0","id":1,"result":\{"protocolVersion"/,
  );
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":4,"result":{}}`);
  loading.resolve(tools);
  assert.match(
    await session.next(),
    /^\{"jsonrpc":"2.0","id":2,"result":\{"tools":\[\{"name":"t"/,
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  );
  await session.end();
});

Deno.test("a request cancelled while the tools load is dropped without a reply", async () => {
  const loading = deferred<ToolSet>();
  const session = new Session({ tools: loading.promise });
  session.send({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "t" },
  });
  session.send({
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: 1 },
  });
  session.send({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "t" },
  });
  session.send({ jsonrpc: "2.0", id: 3, method: "ping" });
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":3,"result":{}}`); // all read
  loading.resolve(tools);
  assert.match(await session.next(), /"id":2,/);
  await session.end();
  assert.equal(session.out.lines.length, 2);
});

Deno.test("when the tools fail to load, waiting requests get -32603 and serving stops", async () => {
  const loading = deferred<ToolSet>();
  const session = new Session({
    tools: loading.promise.then((): Promise<ToolSet> =>
      Promise.reject(new Error("broken tool"))
    ),
  });
  session.send({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  session.send(initialize);
  assert.match(await session.next(), /"id":1,"result":\{"protocolVersion"/);
  loading.resolve(tools);
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error: the server's tools failed to load (see its log)"}}`,
  );
  await session.done; // stopped on its own, though the input is still open
});

Deno.test("EOF while the tools load still answers the requests that waited for them", async () => {
  const loading = deferred<ToolSet>();
  const session = new Session({ tools: loading.promise });
  session.send({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "t" },
  });
  const ended = session.end();
  loading.resolve(tools);
  await ended;
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  ]);
});
