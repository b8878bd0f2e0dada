/**
 * Streamable HTTP against hostile clients: foreign Host and Origin, oversized and malformed
 * bodies, wrong content types, unknown sessions, too many sessions, a client that never reads
 * its stream, and one that hangs up mid-call.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { call, initialize, modern, ping } from "../requests.ts";
import { deferred, progressUntilCancelled, toolSet } from "../wire.ts";
import {
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  raw,
  start,
} from "../http_client.ts";

Deno.test("a foreign Host or Origin is refused with 403 before anything is read", async () => {
  await using server = start();
  const body = JSON.stringify(modern(ping(1)));
  const request = (host: string) =>
    `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const foreign = await raw(server, request("evil.example.com"));
  assert.match(foreign, /^HTTP\/1.1 403 Forbidden\r\n/);
  assert.ok(
    foreign.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Host \\"evil.example.com\\" is not one this server answers to"}}`,
    ),
    foreign,
  );
  const local = await raw(server, request(`localhost:${server.port}`));
  assert.match(local, /^HTTP\/1.1 200 OK\r\n/);
  const cases: Array<[Record<string, string>, string]> = [
    [
      { origin: "http://evil.example.com" },
      `Origin \\"http://evil.example.com\\" is not allowed`,
    ],
    [{ origin: "null" }, `Origin \\"null\\" is not a URL`],
  ];
  for (const [extra, why] of cases) {
    const response = await post(server, modern(ping(1)), {
      ...modernHeaders("ping"),
      ...extra,
    });
    assert.equal(response.status, 403);
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: ${why}"}}`,
    );
  }
  for (
    const origin of [
      "http://localhost:5173",
      "http://127.0.0.1",
      "http://[::1]:8080",
    ]
  ) {
    const response = await post(server, modern(ping(1)), {
      ...modernHeaders("ping"),
      origin,
    });
    assert.equal(response.status, 200, origin);
    await response.body?.cancel();
  }
});

Deno.test("a body over the line bound is 413; a lying Content-Length too", async () => {
  await using server = start({ maxLineBytes: 1024 });
  const big = JSON.stringify(
    modern(call(1, "echo", { text: "x".repeat(2000) })),
  );
  const response = await post(server, big, modernHeaders("tools/call", "echo"));
  assert.equal(response.status, 413);
  assert.equal(
    await response.text(),
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Payload Too Large: a message may have 1024 bytes"}}`,
  );
  const fits = JSON.stringify(
    modern(call(1, "echo", { text: "x".repeat(100) })),
  );
  const ok = await post(server, fits, modernHeaders("tools/call", "echo"));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("malformed JSON, a batch, a non-object: 400 with the JSON-RPC error", async () => {
  await using server = start();
  const cases: Array<[string, string]> = [
    [
      "{not json",
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: line is not valid JSON","data":{"line":"{not json"}}}`,
    ],
    [
      "[]",
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: batches (JSON arrays) are not supported; send each message on its own (a line on stdio, a POST over HTTP)"}}`,
    ],
    [
      "42",
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: expected a JSON object, got number"}}`,
    ],
  ];
  for (const [body, expected] of cases) {
    const response = await post(server, body);
    assert.equal(response.status, 400, body);
    assert.equal(await response.text(), expected);
  }
});

Deno.test("a body that is not application/json is 415; an Accept of neither kind 406", async () => {
  await using server = start();
  const text = await post(server, modern(ping(1)), {
    ...modernHeaders("ping"),
    "content-type": "text/plain",
  });
  assert.equal(text.status, 415);
  await text.body?.cancel();
  const accept = await post(server, modern(ping(1)), {
    ...modernHeaders("ping"),
    accept: "text/html",
  });
  assert.equal(accept.status, 406);
  await accept.body?.cancel();
});

Deno.test("Accept is read as media ranges: a range refused with q=0 does not count, text/* and application/* do", async () => {
  await using server = start();
  for (
    const [accept, status] of [
      ["*/*;q=0, text/html", 406],
      ["application/json;q=0", 406],
      ["text/event-stream; q=0.0", 406],
      ["application/*", 200],
      ["text/*;q=0.5", 200],
      ["TEXT/EVENT-STREAM", 200],
    ] as const
  ) {
    const response = await post(server, modern(ping(1)), {
      ...modernHeaders("ping"),
      accept,
    });
    assert.equal(response.status, status, accept);
    await response.body?.cancel();
  }
});

Deno.test("notifications and responses for an unknown session are 404", async () => {
  await using server = start();
  const note = await post(server, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  }, legacyHeaders("forged"));
  assert.equal(note.status, 404);
  await note.body?.cancel();
  const answer = await post(server, {
    jsonrpc: "2.0",
    id: "tooldrop-1",
    result: {},
  }, legacyHeaders("forged"));
  assert.equal(answer.status, 404);
  await answer.body?.cancel();
  const stream = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": "forged" },
  });
  assert.equal(stream.status, 404);
  await stream.body?.cancel();
});

Deno.test("over the session bound the session idle longest goes; when all are busy, 503", async () => {
  await using server = start({ maxSessions: 2 });
  const first = await openSession(server);
  const second = await openSession(server);
  const third = await openSession(server); // evicts the first
  const gone = await post(server, ping(1), legacyHeaders(first));
  assert.equal(gone.status, 404);
  await gone.body?.cancel();
  // Both left hold a GET stream: neither is idle, so a new session is refused.
  const streams = await Promise.all(
    [second, third].map((id) =>
      fetch(server.url, {
        headers: { accept: "text/event-stream", "mcp-session-id": id },
      })
    ),
  );
  const refused = await post(server, initialize(9));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  await refused.body?.cancel();
  for (const stream of streams) await stream.body?.cancel();
});

Deno.test("a client that never reads its stream costs a bounded queue; the result still comes", async () => {
  const logged = deferred();
  const LINES = 4000;
  const noisy = toolSet({
    noisy: defineTool({
      description: "Logs many long lines, letting the server write each batch.",
      run: async (_args, ctx) => {
        for (let i = 0; i < LINES; i++) {
          ctx.log("info", `${i} ${"x".repeat(10_000)}`);
          if (i % 50 === 0) {
            await new Promise((resolve) => setTimeout(resolve, 0));
          }
        }
        logged.resolve();
        return "finished";
      },
    }),
  });
  await using server = start({ tools: noisy });
  const response = await post(
    server,
    modern(call(1, "noisy"), { "io.modelcontextprotocol/logLevel": "info" }),
    modernHeaders("tools/call", "noisy"),
  );
  await logged.promise;
  // Meanwhile another client is served as usual.
  const other = await post(server, modern(ping(2)), modernHeaders("ping"));
  assert.equal(other.status, 200);
  await other.body?.cancel();
  const text = await response.text();
  const data = [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!);
  assert.ok(data.length < LINES, `${data.length} events`);
  assert.ok(
    data.some((line) =>
      /"data":"\d+ notification\(s\) dropped: the client read them too slowly"/
        .test(line)
    ),
  );
  assert.match(
    data.at(-1)!,
    /^\{"jsonrpc":"2.0","id":1,"result":\{"content":\[\{"type":"text","text":"finished"\}\]/,
  );
});

// "at once": the client closes its socket as soon as the request is sent, before the tool
// starts; the server watches a connection only once a request goes unanswered a while
// (WATCH_AFTER_MS), and must still see that one gone.
for (const how of ["before", "at once", "during"] as const) {
  const when = how === "at once"
    ? "as soon as its request is sent"
    : `${how} its response`;
  Deno.test(`a client that hangs up ${when} cancels the call`, async () => {
    const { tool, started, cancelled } = progressUntilCancelled();
    const waiting = toolSet({ wait: tool });
    await using server = start({ tools: waiting });
    const body = JSON.stringify(
      modern(call(1, "wait"), how === "during" ? { progressToken: 1 } : {}),
    );
    if (how === "during") {
      // With a progress token the response is a stream at once: the client cancels its body.
      const response = await post(
        server,
        body,
        modernHeaders("tools/call", "wait"),
      );
      await started.promise;
      assert.equal(response.headers.get("content-type"), "text/event-stream");
      const reader = response.body!.getReader();
      await reader.read(); // the progress notification
      await reader.cancel();
    } else {
      // Without one it waits for the result; the client closes its socket (fetch's abort may
      // keep a pooled connection open).
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: server.port,
      });
      await conn.write(new TextEncoder().encode(
        `POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: wait\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ));
      if (how === "before") await started.promise;
      conn.close();
    }
    assert.match(await cancelled.promise, /cancel/i);
    const after = await post(server, modern(ping(2)), modernHeaders("ping"));
    assert.equal(after.status, 200);
    await after.body?.cancel();
  });
}
