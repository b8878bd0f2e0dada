/**
 * Real clients against session 27's HTTP changes, replayed at the wire with the bytes they sent
 * (no npm client needed): the SDK v1 client (`@modelcontextprotocol/sdk` 1.32.2, 2025-11-25) and
 * the v2 client (`@modelcontextprotocol/client` 2.4.0) in its legacy mode, and curl. A test
 * marked `ignore: true` would show a defect found (its comment names it); the others pin down what the
 * clients were seen to rely on.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { holder, toolSet } from "./wire.ts";
import { within } from "./hostile/tool_files.ts";
import {
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  start,
} from "./http_client.ts";
import { WATCH_AFTER_MS } from "../src/server/http/exchange.ts";
import type { HttpServer } from "../src/server/http/serve_http.ts";

/** What the SDK v1 client POSTed for `client.callTool({ name: "hold", arguments })`, id 1. */
const V1_CALL =
  `{"method":"tools/call","params":{"name":"hold","arguments":{"tag":"v1"}},"jsonrpc":"2.0","id":1}`;
/** What it POSTed when that call's AbortSignal aborted with "user stop". */
const V1_CANCEL =
  `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":"user stop"}}`;

/** Resolves after `ms` (a client's own pacing, never to wait on the server). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * POSTs a legacy call as the v1 client does and reads its stream's first event (the priming
 * event: an id, `retry:` and empty data); `hangUp` then closes the connection.
 */
async function legacyCall(
  server: HttpServer,
  session: string,
): Promise<{ firstEvent: string; rest: Promise<string>; hangUp: () => void }> {
  const hangUp = new AbortController();
  const response = await fetch(server.url, {
    method: "POST",
    headers: legacyHeaders(session),
    body: V1_CALL,
    signal: hangUp.signal,
  });
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!text.includes("\n\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const end = text.indexOf("\n\n") + 2;
  const rest = (async () => {
    let more = text.slice(end);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return more;
      more += value;
    }
  })();
  rest.catch(() => {}); // a hang-up rejects it
  return {
    firstEvent: text.slice(0, end),
    rest,
    hangUp: () => hangUp.abort(),
  };
}

Deno.test("SDK v1 bytes: a legacy call whose client hung up runs on, and the client's notifications/cancelled still cancels it", async () => {
  const h = holder();
  await using server = start({ tools: h.tools });
  const session = await openSession(server);
  const call = await legacyCall(server, session);
  assert.match(call.firstEvent, /^id: \S+\nretry: 1000\ndata: \n\n$/);
  await within(h.started.promise, "the call's start");
  call.hangUp();
  await sleep(WATCH_AFTER_MS * 3); // past the ticks, at which a 2026 hang-up would cancel
  assert.equal(h.counts.cancelled, 0, "a legacy hang-up is not a cancellation");

  const cancelled = await post(server, V1_CANCEL, legacyHeaders(session));
  assert.equal(cancelled.status, 202);
  await cancelled.body?.cancel();
  assert.match(
    await within(h.cancelled.promise, "the cancellation"),
    /The client cancelled the call/,
  );
});

// Both SDK clients (v1, and v2 in legacy mode) send a GET with the Last-Event-ID of a call's
// stream after they cancelled that call, since the stream ended without a reply: seen once per
// cancelled call, a second after its end (retry: 1000). The server must answer it with a
// stream that ends at once, empty, so that they stop there (they do), not one held open.
Deno.test("a cancelled legacy call's stream ends without a reply, and the GET that resumes it gets an empty stream that ends", async () => {
  const h = holder();
  await using server = start({ tools: h.tools });
  const session = await openSession(server);
  const call = await legacyCall(server, session);
  const eventId = /^id: (\S+)/.exec(call.firstEvent)![1]!;
  await within(h.started.promise, "the call's start");
  const cancelled = await post(server, V1_CANCEL, legacyHeaders(session));
  await cancelled.body?.cancel();
  assert.equal(await within(call.rest, "the call's stream's end"), "");

  const resumed = await fetch(server.url, {
    headers: {
      accept: "text/event-stream",
      "mcp-protocol-version": "2025-11-25",
      "mcp-session-id": session,
      "last-event-id": eventId,
    },
  });
  assert.equal(resumed.status, 200);
  assert.equal(resumed.headers.get("content-type"), "text/event-stream");
  assert.equal(await within(resumed.text(), "the resumed stream's end"), "");
});

// DEFECT A, fixed (src/server/http/serve_http.ts `#post` admits an Accept that names either type, then
// `#exchange` gives every legacy call `stream: "now"`): a legacy session's tools/call sent with
// `Accept: application/json` only (curl, and clients that send it by habit) is answered
// `Content-Type: text/event-stream`, a type its client said it does not take. The 2025-11-25
// transport makes both types in Accept the client's MUST, so the client is outside the spec
// first; but the server chose to serve it rather than refuse it with 406 (as the official SDK's
// server does), and RFC 9110 12.5.1 lets a server disregard Accept only when it has nothing the
// client accepts; here JSON would do. The 2026 side already answers such a client in JSON.
// Fix: a legacy call whose Accept does not admit text/event-stream gets `stream: "lazy"` (JSON
// unless something must come before the reply), or 406.
Deno.test({
  name:
    "a legacy call from a client that accepts only application/json is not answered as an SSE stream",
  fn: async () => {
    const h = holder();
    await using server = start({ tools: h.tools });
    const session = await openSession(server);
    h.release.resolve();
    const response = await post(server, V1_CALL, {
      ...legacyHeaders(session),
      accept: "application/json",
    });
    const text = await response.text();
    assert.notEqual(response.headers.get("content-type"), "text/event-stream");
    if (response.status !== 406) {
      assert.equal(response.status, 200);
      assert.equal(
        text,
        `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"released"}]}}`,
      );
    }
  },
});

// DEFECT B, fixed: the body's version, not a string, is the request's own -32602, answered by
// the core as over stdio (a 200, as every -32602 is). The review's account: a message
// (src/server/http/guard.ts `headerMismatch`): a 2026 request whose _meta
// names its protocol version as a number, with the header saying the same digits (curl: header
// `2026`, `"io.modelcontextprotocol/protocolVersion":2026`), is answered 400 -32020 "Header
// mismatch: MCP-Protocol-Version header \"2026\" does not match the body's \"2026\"": two equal
// texts said to differ. The stdio core says what is wrong ("must be a string", era.ts
// `readScope`). Fix: say that the body's version is not a string.
Deno.test({
  name:
    "a 2026 request whose _meta version is a number is told it must be a string",
  fn: async () => {
    await using server = start();
    const response = await post(
      server,
      `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":2026}}}`,
      { ...modernHeaders("tools/list"), "mcp-protocol-version": "2026" },
    );
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: \\"_meta.io.modelcontextprotocol/protocolVersion\\" must be a string"}}`,
    );
    assert.equal(response.status, 200);
  },
});

// What the v2 client (pinned to 2026-07-28) and curl rely on, with their bytes: an unknown
// method is 404 with its -32601 as JSON (the v2 client reports the HTTP error with that body),
// and a version the server does not speak is 400 -32022 at once.
Deno.test("v2 and curl bytes: an unknown 2026 method is 404 JSON; an unsupported _meta version 400 -32022", async () => {
  await using server = start();
  const meta =
    `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"v2-probe","version":"2.0.0"},"io.modelcontextprotocol/clientCapabilities":{}}`;
  const unknown = await post(
    server,
    `{"method":"no/such","params":{${meta}},"jsonrpc":"2.0","id":3}`,
    modernHeaders("no/such"),
  );
  assert.equal(unknown.status, 404);
  assert.equal(unknown.headers.get("content-type"), "application/json");
  assert.equal(
    await unknown.text(),
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found: \\"no/such\\""}}`,
  );

  const future = await post(
    server,
    `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01"}}}`,
    { ...modernHeaders("tools/list"), "mcp-protocol-version": "2099-01-01" },
  );
  assert.equal(future.status, 400);
  assert.equal(
    await future.text(),
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2099-01-01"}}}`,
  );
});

Deno.test("a client that takes no SSE gets its call's reply as JSON in either era, the progress before it dropped", async () => {
  const tools = toolSet({
    steps: defineTool({
      description: "Reports progress, then answers.",
      input: z.object({}),
      run: async (_args, ctx) => {
        ctx.progress(1, 2);
        await new Promise((resolve) => setTimeout(resolve, 20));
        ctx.progress(2, 2);
        return "done";
      },
    }),
  });
  await using server = start({ tools });
  const session = await openSession(server);
  const body = (meta: Record<string, unknown>) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "steps", arguments: {}, _meta: meta },
    });
  const modernMeta = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": { name: "curl", version: "1" },
    "io.modelcontextprotocol/clientCapabilities": {},
    progressToken: "p",
  };
  for (
    const [era, text, headers, tail] of [
      ["legacy", body({ progressToken: "p" }), legacyHeaders(session), ""],
      [
        "2026",
        body(modernMeta),
        modernHeaders("tools/call", "steps"),
        `,"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"0.1.0"}}`,
      ],
    ] as const
  ) {
    const response = await post(server, text, {
      ...headers,
      accept: "application/json",
    });
    assert.equal(response.headers.get("content-type"), "application/json", era);
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"done"}]${tail}}}`,
      era,
    );
  }
});
