/**
 * Session 27's second review, of its own changes (fc9da60..483a29a): `accepts` (Accept read as
 * media ranges), `sse` (a client that takes no SSE gets JSON, what would precede it dropped),
 * `streamsToWatch`, legacy hang-ups no longer watched, the transport's -32022, one line handler
 * for served and late lines. The four defects it found are fixed (each comment names one);
 * the others check at the wire what the review found sound.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import {
  call,
  cancel,
  initialize,
  initialized,
  listen,
  modern,
  ping,
  request,
} from "../requests.ts";
import { holder, toolSet } from "../wire.ts";
import { within } from "./tool_files.ts";
import {
  events,
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  rawPost,
  readUntil,
  sleep,
  start,
  textReader,
} from "../http_client.ts";
import { WATCH_AFTER_MS } from "../../src/server/http/exchange.ts";
import { accepts } from "../../src/server/http/guard.ts";
import { serve } from "../../src/server/serve.ts";
import { LineFeed, LineSink } from "../../src/server/http/pipe.ts";
import type { HttpServer } from "../../src/server/http/serve_http.ts";

/** A 2026 call of `steps` (progress twice) with a progress token, sent with `accept`. */
function stepsWith(server: HttpServer, accept: string): Promise<Response> {
  return post(server, modern(call(1, "steps"), { progressToken: "t" }), {
    ...modernHeaders("tools/call", "steps"),
    accept,
  });
}

/** A legacy session whose client declared elicitation; its id. */
async function elicitingSession(server: HttpServer): Promise<string> {
  const opened = await post(
    server,
    initialize(1, "2025-11-25", { capabilities: { elicitation: {} } }),
  );
  await opened.body?.cancel();
  const session = opened.headers.get("mcp-session-id")!;
  const done = await post(server, initialized(), legacyHeaders(session));
  assert.equal(done.status, 202);
  return session;
}

const asking = toolSet({
  ask: defineTool({
    description: "Asks the user for a name.",
    run: async (_args, ctx) => {
      try {
        return JSON.stringify(
          await ctx.elicit({
            message: "Name?",
            schema: z.object({ name: z.string() }),
          }),
        );
      } catch (error) {
        return `refused: ${(error as Error).message}`;
      }
    },
  }),
});

// --- Defects -----------------------------------------------------------------------------------

// DEFECT A, fixed (src/server/http/guard.ts `accepts`, 205-220): ranges are tried in order and the first
// with q > 0 that matches wins, so an explicit refusal loses to a wider range after it:
// `text/event-stream;q=0, */*` (or `text/event-stream;q=0, text/*`) is read as admitting SSE.
// RFC 9110 12.5.1: the most specific range that matches a type gives its q ("text/*;q=0.3,
// text/plain;q=0.7": the more specific overrides), so text/event-stream is refused here. The call
// is begun as SSE (progress sent), and a GET stream is served where 406 is due. Fix: for each
// wanted type take the q of the most specific matching range (exact > type/* > */*), and admit
// when that q > 0.
Deno.test({
  name:
    "Accept text/event-stream;q=0 beside */* refuses SSE: the call's reply is JSON, a GET is 406",
  fn: async () => {
    assert.equal(
      accepts("text/event-stream;q=0, */*", "text/event-stream"),
      false,
    );
    assert.equal(
      accepts("text/event-stream;q=0, text/*", "text/event-stream"),
      false,
    );
    await using server = start();
    const response = await stepsWith(
      server,
      "application/json, text/event-stream;q=0, */*;q=0.1",
    );
    const text = await response.text();
    assert.equal(
      response.headers.get("content-type"),
      "application/json",
      text,
    );
    const session = await openSession(server);
    const get = await fetch(server.url, {
      headers: {
        accept: "text/event-stream;q=0, */*",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
      },
    });
    await get.body?.cancel();
    assert.equal(get.status, 406);
  },
});

// DEFECT B, fixed (src/server/http/exchange.ts `end`, 172-177): a legacy call from a client that takes no
// SSE (Accept: application/json), cancelled by its notifications/cancelled, has its POST answered
// `Content-Type: text/event-stream` (an empty resumable stream with a priming event): `end()`
// opens a stream whatever `sse` says. The type the client refused, on the very path session 27
// set out to close (a JSON-only client gets no SSE). Fix: in `end()`, when `sse === false` and no
// stream is open, settle a response with no SSE: e.g. 204 No Content (the cancellation spec says
// no JSON-RPC response is sent), or a 200 application/json error reply; and do not create a
// resumable stream for it.
Deno.test({
  name:
    "a legacy JSON-only call cancelled by notifications/cancelled: its POST is not answered as SSE",
  fn: async () => {
    const h = holder();
    await using server = start({ tools: h.tools });
    const session = await openSession(server);
    const json = { ...legacyHeaders(session), accept: "application/json" };
    const pending = post(server, call(5, "hold"), json);
    await within(h.started.promise, "the call's start");
    const cancelled = await post(server, cancel(5, "changed my mind"), json);
    assert.equal(cancelled.status, 202);
    await within(h.cancelled.promise, "the cancellation");
    const response = await within(pending, "the call's POST");
    const text = await response.text();
    assert.notEqual(
      response.headers.get("content-type"),
      "text/event-stream",
      `${response.status} ${text}`,
    );
  },
});

// DEFECT C, fixed (src/server/http/serve_http.ts `#request` 561-564 and exchange.ts constructor 100-103):
// `subscriptions/listen` from a client whose Accept leaves out text/event-stream is answered
// 200 `text/event-stream`: the "listen" stream is opened whatever `sse` says. Its reply can only
// be a stream (2026-07-28 Streamable HTTP, Receiving Messages), so there is nothing the client
// accepts; RFC 9110 15.5.7: 406. It is also the one place `sse: false` is silently ignored. Fix:
// in `#exchange` (or `#request`), answer 406 -32600 "Not Acceptable: subscriptions/listen
// answers as an SSE stream; accept text/event-stream" before the peer takes it.
Deno.test({
  name:
    "subscriptions/listen from a client that takes no SSE is refused 406, not sent a stream",
  fn: async () => {
    await using server = start();
    const response = await post(
      server,
      modern(listen(9, { toolsListChanged: true })),
      { ...modernHeaders("subscriptions/listen"), accept: "application/json" },
    );
    await response.body?.cancel();
    assert.equal(response.status, 406);
    assert.equal(response.headers.get("content-type"), "application/json");
  },
});

// DEFECT D, minor, fixed (src/server/http/serve_http.ts `#post` 453-463 and exchange.ts `reply`): the
// mirror of the JSON-only case is left out: a 2026 client whose Accept is only
// `text/event-stream` passes the 406 check (either type admits), and a quick call is answered
// `application/json`, a type it refused (a slow one is streamed, review27_test.ts). The 406
// message says the client "must accept application/json and text/event-stream", but the check
// needs only one. Both clients are outside the spec (Sending Messages, 2), so either is fine:
// begin the exchange as a stream (`stream: "now"`) when Accept does not admit application/json,
// or refuse with 406 as the message says.
Deno.test({
  name:
    "a 2026 client that accepts only text/event-stream gets a quick call as SSE (or 406), not JSON",
  fn: async () => {
    await using server = start();
    const response = await post(
      server,
      modern(call(1, "echo", { text: "x" })),
      {
        ...modernHeaders("tools/call", "echo"),
        accept: "text/event-stream",
      },
    );
    await response.body?.cancel();
    assert.ok(
      response.status === 406 ||
        response.headers.get("content-type") === "text/event-stream",
      `${response.status} ${response.headers.get("content-type")}`,
    );
  },
});

// --- Sound -------------------------------------------------------------------------------------

Deno.test("accepts reads odd spacing, case, parameters, empty ranges and q-values as media ranges", () => {
  const sse = (accept: string) => accepts(accept, "text/event-stream");
  assert.equal(sse("text/event-stream ; Q = 0 , application/json"), false);
  assert.equal(sse("text/event-stream;q=0.000"), false);
  assert.equal(sse("text/event-stream;q="), false);
  assert.equal(sse("text/event-stream;q=abc"), false);
  assert.equal(sse("*/*;q=0, text/event-stream"), true);
  assert.equal(sse("text/event-stream, */*;q=0"), true);
  assert.equal(sse("TEXT/Event-Stream;charset=utf-8;q=0.5"), true);
  assert.equal(sse("text/event-stream;qq=0"), true);
  assert.equal(sse(" , ,\ttext/*\t,"), true);
  assert.equal(sse(""), false);
  assert.equal(sse(","), false);
  assert.equal(sse("text/event-streams, text/event"), false);
  assert.equal(sse("application/*"), false);
  assert.equal(sse("*/event-stream"), false);
  assert.equal(accepts("application/*", "application/json"), true);
});

Deno.test("a 2026 call's Accept decides SSE at the wire: refused by q=0 its progress is dropped, admitted by */* it comes", async () => {
  await using server = start();
  const refused = await stepsWith(
    server,
    "text/event-stream ; q=0 , application/json",
  );
  assert.equal(refused.headers.get("content-type"), "application/json");
  assert.match(await refused.text(), /^\{"jsonrpc":"2.0","id":1,"result":/);
  // The reference: the same call, SSE admitted by */* after a refusing */*;q=0.
  const admitted = await stepsWith(server, "*/*;q=0, text/event-stream");
  assert.equal(admitted.headers.get("content-type"), "text/event-stream");
  const sent = await events(admitted);
  assert.equal(sent.length, 3, sent.join("\n"));
  assert.match(sent[0]!, /"method":"notifications\/progress"/);
  for (const accept of ["", "application/json;q=0, text/event-stream;q=0"]) {
    const none = await stepsWith(server, accept);
    await none.body?.cancel();
    assert.equal(none.status, 406, JSON.stringify(accept));
  }
});

Deno.test("an Accept header of 10 KB is read; one of 100 KB is refused by Deno before the server reads it", async () => {
  await using server = start();
  for (const [bytes, status] of [[10_000, 200], [100_000, 400]] as const) {
    const accept = ", a/b".repeat(bytes / 5) + ", application/json";
    const response = await post(
      server,
      modern(call(1, "echo", { text: "x" })),
      {
        ...modernHeaders("tools/call", "echo"),
        accept,
      },
    );
    const text = await response.text();
    assert.equal(response.status, status, text);
    if (status === 200) {
      assert.equal(response.headers.get("content-type"), "application/json");
    }
  }
});

Deno.test("a JSON-only 2026 call that asked for logs gets its reply as JSON, the log dropped (with SSE it comes)", async () => {
  await using server = start();
  const body = modern(call(1, "chatty"), {
    "io.modelcontextprotocol/logLevel": "debug",
  });
  const json = await post(server, body, {
    ...modernHeaders("tools/call", "chatty"),
    accept: "application/json",
  });
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  const text = await json.text();
  assert.match(
    text,
    /^\{"jsonrpc":"2.0","id":1,"result":\{"content":\[\{"type":"text","text":"said"\}\]/,
  );
  assert.doesNotMatch(text, /hello from chatty/);
  const streamed = await post(
    server,
    body,
    modernHeaders("tools/call", "chatty"),
  );
  assert.equal(streamed.headers.get("content-type"), "text/event-stream");
  const sent = await events(streamed);
  assert.match(
    sent[0]!,
    /"method":"notifications\/message".*hello from chatty/,
  );
});

Deno.test("a JSON-only 2026 call with a small body whose client hangs up after the ticks is cancelled", async () => {
  const h = holder();
  await using server = start({ tools: h.tools });
  const conn = await rawPost(server, JSON.stringify(modern(call(1, "hold"))), {
    ...modernHeaders("tools/call", "hold"),
    accept: "application/json",
  });
  await within(h.started.promise, "the call's start");
  await sleep(WATCH_AFTER_MS * 3); // past the ticks: watched by request.signal
  conn.close();
  assert.match(
    await within(h.cancelled.promise, "the cancellation"),
    /cancel/i,
  );
  assert.equal(h.counts.cancelled, 1);
});

Deno.test("a legacy JSON-only call whose tool elicits with no GET stream open: the tool is refused at once, the reply JSON", async () => {
  await using server = start({ tools: asking });
  const session = await elicitingSession(server);
  const response = await post(server, call(2, "ask"), {
    ...legacyHeaders(session),
    accept: "application/json",
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  const text = await response.text();
  assert.match(text, /^\{"jsonrpc":"2.0","id":2,"result":/);
  assert.match(text, /refused: .*No stream open to the client/);
});

Deno.test("a legacy JSON-only call whose tool elicits with the GET stream open: asked there, answered, the reply JSON", async () => {
  await using server = start({ tools: asking });
  const session = await elicitingSession(server);
  const get = await fetch(server.url, {
    headers: {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
    },
  });
  assert.equal(get.status, 200);
  const reader = textReader(get);
  const pending = post(server, call(2, "ask"), {
    ...legacyHeaders(session),
    accept: "application/json",
  });
  const text = await within(
    readUntil(reader, (t) => t.includes("elicitation/create")),
    "the elicitation on the GET stream",
  );
  const asked = JSON.parse(text.match(/data: (\{.*elicitation.*)\n/)![1]!);
  const answered = await post(server, {
    jsonrpc: "2.0",
    id: asked.id,
    result: { action: "accept", content: { name: "Ada" } },
  }, legacyHeaders(session));
  assert.equal(answered.status, 202);
  const response = await within(pending, "the call's reply");
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(
    await response.text(),
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\\"action\\":\\"accept\\",\\"content\\":{\\"name\\":\\"Ada\\"}}"}]}}`,
  );
  await reader.cancel();
});

Deno.test("a legacy JSON-only call whose client hangs up runs on; once answered the idle session expires", async () => {
  const h = holder();
  await using server = start({ tools: h.tools, sessionIdleMs: 400 });
  const session = await openSession(server);
  const conn = await rawPost(server, JSON.stringify(call(3, "hold")), {
    ...legacyHeaders(session),
    accept: "application/json",
  });
  await within(h.started.promise, "the call's start");
  conn.close();
  // The reference: a ping of the same session is served while the call runs.
  await sleep(WATCH_AFTER_MS * 3);
  const alive = await post(server, ping(4), legacyHeaders(session));
  assert.equal(alive.status, 200);
  await alive.body?.cancel();
  assert.equal(h.counts.cancelled, 0); // a legacy hang-up is not a cancellation
  h.release.resolve();
  await sleep(800); // the client's own pacing: past the idle time
  const gone = await post(server, ping(5), legacyHeaders(session));
  await gone.body?.cancel();
  assert.equal(gone.status, 404);
});

Deno.test("in the shutdown grace, a late request and an invalid line get no reply; a late cancellation still cancels", async () => {
  const h = holder();
  const feed = new LineFeed();
  const out: string[] = [];
  const done = serve({
    readable: feed,
    writable: new LineSink((line) => out.push(line)),
    tools: h.tools,
    shutdownGraceMs: 5_000,
  });
  feed.push(JSON.stringify(call(1, "hold")));
  await within(h.started.promise, "the call's start");
  feed.close();
  feed.push(JSON.stringify(request(2, "tools/list")));
  feed.push("{not json");
  feed.push(JSON.stringify({ jsonrpc: "2.0", id: 3 }));
  feed.push(JSON.stringify(cancel(1, "late")));
  await within(done, "the shutdown");
  assert.equal(h.counts.cancelled, 1);
  assert.deepEqual(out, []);
});
