/**
 * Serving while the tools load: the handshake is answered at once, tool requests wait in order,
 * and a failed load answers them with -32603 and stops the server.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import type { ToolSet } from "../src/tool/served.ts";
import { call, cancel, initialize, listTools, ping } from "./requests.ts";
import { deferred, Session, toolSet } from "./wire.ts";

const tools = toolSet({ t: defineTool({ description: "t", run: () => "ok" }) });

Deno.test("initialize is answered before the tools have loaded; tool requests then follow in order", async () => {
  const loading = deferred<ToolSet>();
  const session = new Session({ tools: loading.promise });
  session.send(listTools(2));
  session.send(call(3, "t"));
  session.send(initialize(1));
  session.send(ping(4));
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
  session.send(call(1, "t"));
  session.send(cancel(1));
  session.send(call(2, "t"));
  session.send(ping(3));
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
  session.send(listTools(1));
  session.send(initialize(1));
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
  session.send(call(1, "t"));
  const ended = session.end();
  loading.resolve(tools);
  await ended;
  assert.deepEqual(session.out.lines, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}]}}`,
  ]);
});
