/**
 * How `serve --http` reads a request's body, at the wire: with a Content-Length it is read whole
 * under one timer shared by every read in progress, so each slow body still gets its own 408 and
 * requests beside it are served; a chunked body is bounded in bytes as it comes (413).
 */

import assert from "node:assert/strict";
import { call, modern, ping } from "./requests.ts";
import { modernHeaders, post, raw, start } from "./http_client.ts";

const PING = JSON.stringify(modern(ping(1)));
const TIMEOUT =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request Timeout: the body did not arrive within 300 ms"}}`;

function head(length: number): string {
  return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
}

Deno.test("two slow bodies each get 408 after their own bound; a request beside them is served", async () => {
  await using server = start({ bodyTimeoutMs: 300 });
  const started = performance.now();
  const first = raw(server, head(PING.length) + PING.slice(0, 10));
  await new Promise((resolve) => setTimeout(resolve, 150));
  const secondStarted = performance.now();
  const second = raw(server, head(PING.length) + PING.slice(0, 10)).then(
    (text) => ({ text, ms: performance.now() - secondStarted }),
  );
  const served = await post(server, PING, modernHeaders("ping"));
  assert.equal(served.status, 200);
  assert.match(
    await served.text(),
    /^\{"jsonrpc":"2.0","id":1,"result":\{"resultType":"complete"/,
  );
  const firstText = await first;
  assert.match(firstText, /^HTTP\/1.1 408 Request Timeout\r\n/);
  assert.ok(firstText.endsWith(TIMEOUT), firstText);
  assert.ok(performance.now() - started >= 300);
  const { text, ms } = await second;
  assert.match(text, /^HTTP\/1.1 408 Request Timeout\r\n/);
  assert.ok(text.endsWith(TIMEOUT), text);
  // Not cut off with the first: its bound counts from its own start.
  assert.ok(ms >= 300, `${ms} ms`);
});

Deno.test("a chunked body is bounded as it comes: 413 past the line bound, served within it", async () => {
  await using server = start({ maxLineBytes: 1024 });
  const chunked = (body: string) => {
    const half = Math.floor(body.length / 2);
    const chunk = (text: string) =>
      `${text.length.toString(16)}\r\n${text}\r\n`;
    return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${
      chunk(body.slice(0, half))
    }${chunk(body.slice(half))}0\r\n\r\n`;
  };
  const big = JSON.stringify(
    modern(call(1, "echo", { text: "x".repeat(2000) })),
  );
  const refused = await raw(server, chunked(big));
  assert.match(refused, /^HTTP\/1.1 413 Payload Too Large\r\n/);
  assert.ok(
    refused.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Payload Too Large: a message may have 1024 bytes"}}`,
    ),
    refused,
  );
  const fits = JSON.stringify(modern(call(2, "echo", { text: "hi" })));
  const served = await raw(server, chunked(fits));
  assert.match(served, /^HTTP\/1.1 200 OK\r\n/);
  assert.ok(served.includes(`"text":"echo: hi"`), served);
});

Deno.test("bodies being received hold a bounded budget: past 256 MiB declared, 503 with Retry-After at once; room again when one ends", async () => {
  // Four clients declare bodies of the largest size (64 MiB) and send a few bytes: together they
  // hold the budget (256 MiB) without this test sending it.
  await using server = start({ bodyTimeoutMs: 2000 });
  const largest = 64 * 1024 * 1024;
  const holders = await Promise.all(
    [0, 1, 2, 3].map(async () => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await conn.write(new TextEncoder().encode(head(largest) + "{"));
      return conn;
    }),
  );
  // Let the four reads open before the fifth comes.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const refused = await raw(server, head(PING.length) + PING);
  assert.match(refused, /^HTTP\/1.1 503 Service Unavailable\r\n/);
  assert.match(refused, /\r\nretry-after: 1\r\n/i);
  assert.ok(
    refused.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service Unavailable: too many request bodies are being received at once; try again shortly"}}`,
    ),
    refused,
  );
  for (const conn of holders) conn.close();
  // Their reads end (the clients left): the next body is read.
  let served = "";
  for (let tries = 0; tries < 50 && !/^HTTP\/1.1 200/.test(served); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    served = await raw(server, head(PING.length) + PING);
  }
  assert.match(served, /^HTTP\/1.1 200 OK\r\n/);
});
