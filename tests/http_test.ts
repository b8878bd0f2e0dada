/**
 * Streamable HTTP (`serveHttp`), at the wire: exact requests in, exact status, headers and
 * bodies out, in both eras, against a server on a free loopback port in this process.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import {
  call,
  initialize,
  listen,
  modern,
  ping,
  withMeta,
} from "./requests.ts";
import { memoryLog, toolSet } from "./wire.ts";
import {
  events,
  INFO,
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  start,
} from "./http_client.ts";

Deno.test("a 2026-era tools/call gets its result as application/json", async () => {
  await using server = start();
  const response = await post(
    server,
    modern(call(7, "echo", { text: "hi" })),
    modernHeaders("tools/call", "echo"),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("mcp-session-id"), null);
  const body = await response.text();
  assert.ok(
    body.startsWith(
      `{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"echo: hi"}],"resultType":"complete",${INFO}`,
    ),
    body,
  );
});

Deno.test("clients that use the same id get their own replies", async () => {
  await using server = start();
  const texts = ["a", "b", "c", "d", "e", "f", "g", "h"];
  const bodies = await Promise.all(texts.map(async (text) => {
    const response = await post(
      server,
      modern(call(1, "echo", { text })),
      modernHeaders("tools/call", "echo"),
    );
    return await response.json();
  }));
  assert.deepEqual(
    bodies.map((body) => [body.id, body.result.content[0].text]),
    texts.map((text) => [1, `echo: ${text}`]),
  );
});

Deno.test("a 2026-era call with a progress token streams its progress, then the result", async () => {
  await using server = start();
  const response = await post(
    server,
    modern(call("s", "steps"), { progressToken: "tok" }),
    modernHeaders("tools/call", "steps"),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  assert.equal(response.headers.get("x-accel-buffering"), "no");
  const data = await events(response);
  assert.deepEqual(data.slice(0, 2), [
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":1,"total":2}}`,
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":2,"total":2}}`,
  ]);
  assert.equal(data.length, 3);
  assert.match(
    data[2]!,
    /^\{"jsonrpc":"2.0","id":"s","result":\{"content":\[\{"type":"text","text":"done"\}\]/,
  );
});

Deno.test("a 2026-era call that asks for logs gets them on its stream", async () => {
  await using server = start();
  const response = await post(
    server,
    modern(call(3, "chatty"), { "io.modelcontextprotocol/logLevel": "info" }),
    modernHeaders("tools/call", "chatty"),
  );
  const data = await events(response);
  assert.deepEqual(
    data[0],
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"chatty","data":"hello from chatty"}}`,
  );
  assert.match(data[1]!, /^\{"jsonrpc":"2.0","id":3,"result":/);
});

Deno.test("2026-era header mismatches are 400 with -32020", async () => {
  await using server = start();
  const cases: Array<[Record<string, string>, string]> = [
    [
      {
        ...modernHeaders("tools/call", "echo"),
        "mcp-protocol-version": "2025-11-25",
      },
      `MCP-Protocol-Version header \\"2025-11-25\\" does not match the body's \\"2026-07-28\\"`,
    ],
    [
      { ...modernHeaders("tools/list", "echo") },
      `Mcp-Method header \\"tools/list\\" does not match the body's method`,
    ],
    [modernHeaders("tools/call"), "the Mcp-Name header is missing"],
    [
      modernHeaders("tools/call", "other"),
      "Mcp-Name header does not match the body's params.name",
    ],
  ];
  for (const [headers, why] of cases) {
    const response = await post(server, modern(call(2, "echo")), headers);
    assert.equal(response.status, 400);
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: ${why}"}}`,
    );
  }
  const { "mcp-protocol-version": _, ...noVersion } = modernHeaders(
    "tools/call",
    "echo",
  );
  const missing = await post(server, modern(call(2, "echo")), noVersion);
  assert.equal(missing.status, 400);
  assert.equal(
    await missing.text(),
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: the MCP-Protocol-Version header is missing"}}`,
  );
});

Deno.test("a base64 Mcp-Name is decoded before it is compared", async () => {
  await using server = start();
  const response = await post(
    server,
    modern(call(2, "echo", { text: "x" })),
    modernHeaders("tools/call", `=?base64?${btoa("echo")}?=`),
  );
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("2026-era errors with their own status: unknown method 404, unsupported version 400", async () => {
  await using server = start();
  const unknown = await post(
    server,
    modern({ jsonrpc: "2.0", id: 1, method: "nope/nothing" }),
    modernHeaders("nope/nothing"),
  );
  assert.equal(unknown.status, 404);
  assert.equal(
    await unknown.text(),
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found: \\"nope/nothing\\""}}`,
  );
  const future = await post(
    server,
    withMeta(ping(1), {
      "io.modelcontextprotocol/protocolVersion": "2099-01-01",
    }),
    { ...modernHeaders("ping"), "mcp-protocol-version": "2099-01-01" },
  );
  assert.equal(future.status, 400);
  assert.equal(
    await future.text(),
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2099-01-01"}}}`,
  );
});

Deno.test("subscriptions/listen is a stream: acknowledged first, ended by the client", async () => {
  await using server = start();
  const response = await post(
    server,
    modern(listen(9, { toolsListChanged: true })),
    modernHeaders("subscriptions/listen"),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.pipeThrough(new TextDecoderStream())
    .getReader();
  const first = await reader.read();
  assert.equal(
    first.value,
    `event: message\ndata: {"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":9},"notifications":{"toolsListChanged":true}}}\n\n`,
  );
  await reader.cancel();
});

Deno.test("legacy: initialize opens a session; requests without it are 400, unknown ones 404", async () => {
  await using server = start();
  const response = await post(server, initialize(1));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  const session = response.headers.get("mcp-session-id");
  assert.match(session ?? "", /^[0-9a-f-]{36}$/);
  const init = await response.json();
  assert.equal(init.id, 1);
  assert.equal(init.result.protocolVersion, "2025-11-25");

  const listed = await post(server, {
    jsonrpc: "2.0",
    id: 2,
    method: "tools/list",
  }, legacyHeaders(session!));
  assert.equal(listed.status, 200);
  assert.deepEqual(
    (await listed.json()).result.tools.map((t: { name: string }) => t.name),
    ["echo", "steps", "chatty"],
  );

  const without = await post(server, ping(3));
  assert.equal(without.status, 400);
  assert.equal(
    await without.text(),
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Bad Request: the Mcp-Session-Id header is missing; send initialize first (or a 2026-07-28 request, with its _meta)"}}`,
  );
  const unknown = await post(server, ping(4), legacyHeaders("no-such-session"));
  assert.equal(unknown.status, 404);
  assert.equal(
    await unknown.text(),
    `{"jsonrpc":"2.0","id":4,"error":{"code":-32001,"message":"Session not found: it ended or never existed; send initialize again"}}`,
  );
});

Deno.test("legacy: a tools/call answers on an SSE stream that starts with a priming event", async () => {
  await using server = start();
  const session = await openSession(server);
  const response = await post(
    server,
    call(5, "echo", { text: "x" }),
    legacyHeaders(session),
  );
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const text = await response.text();
  const key = text.match(/^id: ([0-9a-f]{12})-0\n/)?.[1];
  assert.ok(key, text);
  assert.equal(
    text,
    `id: ${key}-0\nretry: 1000\ndata: \n\nid: ${key}-1\nevent: message\ndata: {"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"echo: x"}]}}\n\n`,
  );
});

Deno.test("legacy: sessions do not see each other's notifications", async () => {
  await using server = start();
  const a = await openSession(server);
  const b = await openSession(server);
  const streamB = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": b },
  });
  assert.equal(streamB.status, 200);
  // A log of a's call goes to a's call stream, never to b's GET stream.
  const setLevel = await post(server, {
    jsonrpc: "2.0",
    id: 1,
    method: "logging/setLevel",
    params: { level: "info" },
  }, legacyHeaders(a));
  await setLevel.body?.cancel();
  const response = await post(server, call(2, "chatty"), legacyHeaders(a));
  const data = await events(response);
  assert.equal(data[0], ""); // the priming event (./http_resume_test.ts)
  assert.equal(
    data[1],
    `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"chatty","data":"hello from chatty"}}`,
  );
  const second = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": b },
  });
  assert.equal(second.status, 409);
  await second.body?.cancel();
  await streamB.body?.cancel();
});

Deno.test("legacy: DELETE ends a session; then it is 404", async () => {
  await using server = start();
  const session = await openSession(server);
  const deleted = await fetch(server.url, {
    method: "DELETE",
    headers: { "mcp-session-id": session },
  });
  assert.equal(deleted.status, 200);
  await deleted.body?.cancel();
  const after = await post(server, ping(1), legacyHeaders(session));
  assert.equal(after.status, 404);
  await after.body?.cancel();
  const again = await fetch(server.url, {
    method: "DELETE",
    headers: { "mcp-session-id": session },
  });
  assert.equal(again.status, 404);
  await again.body?.cancel();
});

Deno.test("GET without a session is 405; /healthz is ok; other paths 404", async () => {
  await using server = start();
  const get = await fetch(server.url, {
    headers: { accept: "text/event-stream" },
  });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  await get.body?.cancel();
  const health = await fetch(new URL("/healthz", server.url));
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok");
  const other = await fetch(new URL("/other", server.url));
  assert.equal(other.status, 404);
  await other.body?.cancel();
});

Deno.test("a POSTed notification is 202 with no body", async () => {
  await using server = start();
  const response = await post(server, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  }, modernHeaders("notifications/initialized"));
  assert.equal(response.status, 202);
  assert.equal(await response.text(), "");
});

Deno.test("a legacy elicitation goes to the call's stream and the POSTed answer reaches the tool", async () => {
  const asking = toolSet({
    ask: defineTool({
      description: "Asks the user a question.",
      run: async (_args, ctx) => {
        const answer = await ctx.elicit({
          message: "Name?",
          schema: z.object({ name: z.string() }),
        });
        return JSON.stringify(answer);
      },
    }),
  });
  await using server = start({ tools: asking });
  const response = await post(
    server,
    initialize(1, "2025-11-25", { capabilities: { elicitation: {} } }),
  );
  const session = response.headers.get("mcp-session-id")!;
  await response.body?.cancel();
  const callResponse = await post(
    server,
    call(2, "ask"),
    legacyHeaders(session),
  );
  const reader = callResponse.body!.pipeThrough(new TextDecoderStream())
    .getReader();
  let text = "";
  while (!text.includes("elicitation/create")) {
    text += (await reader.read()).value;
  }
  const request = JSON.parse(text.match(/data: (\{.*)\n/)![1]!);
  assert.equal(request.method, "elicitation/create");
  const answered = await post(
    server,
    {
      jsonrpc: "2.0",
      id: request.id,
      result: { action: "accept", content: { name: "Ada" } },
    },
    legacyHeaders(session),
  );
  assert.equal(answered.status, 202);
  await answered.body?.cancel();
  for (let chunk; !(chunk = await reader.read()).done;) text += chunk.value;
  assert.match(
    text,
    /"id":2,"result":\{"content":\[\{"type":"text","text":"\{\\"action\\":\\"accept\\",\\"content\\":\{\\"name\\":\\"Ada\\"\}\}"/,
  );
});

Deno.test("the access log is at debug, and names no session in full", async () => {
  const { log, lines } = memoryLog("debug");
  {
    await using server = start({ log });
    await openSession(server);
  }
  assert.ok(
    lines.some((line) => / POST \/mcp 200 /.test(line)),
    lines.join(""),
  );
  assert.ok(
    lines.every((line) => !/[0-9a-f]{8}-[0-9a-f]{4}-/.test(line)),
    lines.join(""),
  );
});

Deno.test("2026-era calls that log at the same time each get their own logs, and only theirs", async () => {
  // Each call logs, waits until every call has started (so all are in progress at once), logs
  // again and returns: with an untagged log line there would be no telling whose it was.
  const started = Promise.withResolvers<void>();
  let running = 0;
  const talkers = toolSet({
    talk: defineTool({
      description: "Logs its word twice around a wait for the others.",
      input: z.object({ word: z.string() }),
      run: async ({ word }, ctx) => {
        ctx.log("info", `${word} 1`);
        if (++running === 3) started.resolve();
        await started.promise;
        ctx.log("info", `${word} 2`);
        return word;
      },
    }),
  });
  await using server = start({ tools: talkers });
  const words = ["red", "green", "blue"];
  const streams = await Promise.all(words.map(async (word, i) => {
    const response = await post(
      server,
      modern(call(i, "talk", { word }), {
        "io.modelcontextprotocol/logLevel": "info",
      }),
      modernHeaders("tools/call", "talk"),
    );
    return await events(response);
  }));
  streams.forEach((data, i) => {
    const word = words[i]!;
    assert.deepEqual(data.slice(0, 2), [
      `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"talk","data":"${word} 1"}}`,
      `{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","logger":"talk","data":"${word} 2"}}`,
    ]);
    assert.equal(data.length, 3);
    assert.match(
      data[2]!,
      new RegExp(`^\\{"jsonrpc":"2.0","id":${i},"result"`),
    );
  });
});
