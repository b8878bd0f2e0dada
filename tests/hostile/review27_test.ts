/**
 * Session 27's review of session 26's HTTP changes (0091a72..fc9da60): requests handed over
 * parsed, replies as text, hang-ups watched at 250 ms ticks, the shutdown grace's late lines.
 * A test marked `ignore: true` shows a defect found in the review (its comment names it); the
 * others check what the review found sound, at the wire.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { definePrompt, defineTool } from "tooldrop";
import { call, initialize, modern, ping, request } from "../requests.ts";
import { deferred, holder, toolSet } from "../wire.ts";
import { tapLog, within } from "./tool_files.ts";
import {
  events,
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  rawPost,
  replyText,
  sleep,
  start,
} from "../http_client.ts";
import { WATCH_AFTER_MS } from "../../src/server/http/exchange.ts";
import type { HttpServer } from "../../src/server/http/serve_http.ts";

/**
 * Holds 1,024 calls of `hold`, at which the shared peer's core pauses reading (64 × 16), until
 * each response has begun (as a stream, past the ticks): every call reached the core.
 */
function pauseReading(server: HttpServer): Promise<Response[]> {
  const held = Array.from(
    { length: 1024 },
    (_, i) =>
      post(
        server,
        modern(call(i, "hold")),
        modernHeaders("tools/call", "hold"),
      ),
  );
  return within(Promise.all(held), "the held calls' heads");
}

// --- Defects found in the review: 1 and 3 fixed; 2 and 4 ignored (see each) --------------------

// DEFECT 1, fixed (src/server/http/exchange.ts `lateWatch`): a 2026 request that the server
// core reads only after its reading paused (1,024 calls in progress on the shared peer) is begun
// as an SSE stream at the second tick, with status 200, before the core has even seen it; its
// -32601 then comes as an event, and the 404 that "Request Metadata" makes a MUST is lost (so is
// the 400 of -32022 for an unsupported version named in _meta). Fix: begin the stream early only
// for the methods whose handling can take long (tools/call, prompts/get, resources/read), and
// watch the others by request.signal; or answer -32601/-32022 in the transport before the peer.
Deno.test({
  name:
    "an unknown 2026 method read after the server paused reading is still 404, not a 200 stream",
  fn: async () => {
    const h = holder();
    await using server = start({ tools: h.tools });
    const begun = await pauseReading(server);
    const lost = post(
      server,
      modern(request(5000, "no/such")),
      modernHeaders("no/such"),
    );
    await sleep(WATCH_AFTER_MS * 3); // past the ticks, still unread: the core's reading paused
    h.release.resolve();
    const head = await within(lost, "the unknown method's head");
    const reply = await replyText(head);
    await Promise.all(begun.map((r) => r.body?.cancel()));
    assert.match(reply, /"id":5000,"error":\{"code":-32601/);
    assert.equal(head.status, 404);
    assert.equal(head.headers.get("content-type"), "application/json");
  },
});

Deno.test("a 2026 request naming a version the server does not speak gets its 400 at once, even while reading is paused", async () => {
  const h = holder();
  await using server = start({ tools: h.tools });
  const begun = await pauseReading(server);
  const future = await within(
    post(
      server,
      modern(call(5000, "hold"), {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01",
      }),
      {
        ...modernHeaders("tools/call", "hold"),
        "mcp-protocol-version": "2099-01-01",
      },
    ),
    "the reply to an unsupported version (before the held calls end)",
  );
  const text = await future.text();
  h.release.resolve();
  await Promise.all(begun.map((r) => r.body?.cancel()));
  assert.equal(future.status, 400);
  assert.equal(
    text,
    `{"jsonrpc":"2.0","id":5000,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2099-01-01"}}}`,
  );
});

// DEFECT 2, left (ignored): a 2026 client must list both application/json and text/event-stream
// in Accept (2026-07-28 Streamable HTTP, Sending Messages, 2), so only a client outside the spec
// meets this; README "Serving over HTTP" says so. The review's account and proposed fix:
// (src/server/http/exchange.ts `lateWatch`, and README "Serving over HTTP"): a
// 2026 client that accepts only application/json is watched by request.signal, which Deno 2.9.6
// never aborts for a request body over ~450 bytes whose response has not begun: its hang-up is
// not a cancellation, and the call runs to its end (the spec's Cancellation is a MUST). The
// README says so, but it is a fix away: at the second tick begin an application/json response
// whose body is a stream (JSON allows leading whitespace; write nothing or a space until the
// reply), so Deno reports the hang-up as it does for SSE.
Deno.test({
  name:
    "a JSON-only 2026 client with a call over 500 bytes that hangs up after the ticks cancels it",
  ignore: true,
  fn: async () => {
    const h = holder();
    await using server = start({ tools: h.tools });
    const conn = await rawPost(
      server,
      JSON.stringify(modern(call(1, "hold", { pad: "x".repeat(600) }))),
      {
        ...modernHeaders("tools/call", "hold"),
        accept: "application/json",
      },
    );
    await within(h.started.promise, "the call's start");
    await sleep(WATCH_AFTER_MS * 3); // past the ticks: watched
    conn.close();
    const outcome = await Promise.race([
      h.cancelled.promise,
      sleep(WATCH_AFTER_MS * 8).then(() => "still running"),
    ]);
    h.release.resolve();
    assert.notEqual(outcome, "still running");
    assert.match(outcome, /cancel/i);
  },
});

// DEFECT 3, fixed (pre-existing, kept by session 26: src/server/http/serve_http.ts `#exchange` calls
// `peer.watchLater` for legacy requests too, and exchange.ts `lateWatch` 125 watches their
// request.signal): a legacy (2025-11-25) session's prompts/get or resources/read is cancelled
// when its client hangs up, though that era's transport says "disconnection SHOULD NOT be
// interpreted as the client cancelling its request" (basic/transports, Streamable HTTP), and
// the same session's tools/call runs on (its stream is resumable). It is also a matter of
// luck: cancelled only for a request under ~450 bytes. Fix: call `peer.watchLater` only for
// 2026-era exchanges (`how.modern`); a legacy client cancels with notifications/cancelled.
Deno.test({
  name:
    "a legacy session's slow prompts/get runs on after its client hangs up (no cancellation)",
  fn: async () => {
    const started = deferred();
    const release = deferred();
    let aborted = false;
    const tools = toolSet({}, {
      prompts: {
        slow: definePrompt({
          description: "Waits until released.",
          get: async (_args, ctx) => {
            ctx.signal.addEventListener("abort", () => aborted = true);
            started.resolve();
            await release.promise;
            return "slow prompt";
          },
        }),
      },
    });
    await using server = start({ tools });
    const session = await openSession(server);
    const conn = await rawPost(
      server,
      JSON.stringify(request(2, "prompts/get", { name: "slow" })),
      legacyHeaders(session),
    );
    await within(started.promise, "the prompt's start");
    await sleep(WATCH_AFTER_MS * 3);
    conn.close();
    await sleep(WATCH_AFTER_MS * 3); // a cancellation would have come by now
    release.resolve();
    assert.equal(aborted, false);
  },
});

// DEFECT 4, left (ignored; the error now says "a POST over HTTP"): batches of 2025-03-26 are
// not served on either transport. The review's account (pre-existing, not session 26's: src/server/jsonrpc.ts 78-85 via serve_http.ts
// `#post`): a session that negotiated 2025-03-26, a version the server lists as supported, may
// POST "an array batching one or more requests and/or notifications" (that revision's Streamable
// HTTP, Sending Messages: MUST); the server answers 400 -32600 "batches ... are not supported;
// send one message per line", which also speaks of lines to an HTTP client. Fix: in a
// 2025-03-26 session, feed a batch's messages to the peer one by one and answer with their
// replies as one JSON array (or one SSE stream); at least, say "one message per POST" over HTTP.
Deno.test({
  name:
    "a 2025-03-26 session's batch of two pings is answered with both replies",
  ignore: true,
  fn: async () => {
    await using server = start();
    const opened = await post(server, initialize(1, "2025-03-26"));
    await opened.body?.cancel();
    const session = opened.headers.get("mcp-session-id")!;
    const headers = {
      ...legacyHeaders(session),
      "mcp-protocol-version": "2025-03-26",
    };
    const done = await post(
      server,
      { jsonrpc: "2.0", method: "notifications/initialized" },
      headers,
    );
    await done.body?.cancel();
    const response = await post(server, [ping(2), ping(3)], headers);
    const text = await replyText(response);
    assert.equal(response.status, 200, text);
    const replies = JSON.parse(text) as Array<{ id: number }>;
    assert.deepEqual(replies.map((r) => r.id).sort(), [2, 3]);
  },
});

// --- Found sound -------------------------------------------------------------------------------

Deno.test("calls answered around the ticks each get exactly their own reply, none cancelled", async () => {
  let cancelled = 0;
  const tools = toolSet({
    timed: defineTool({
      description: "Answers after `ms`.",
      input: z.object({ ms: z.number() }),
      run: ({ ms }, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => cancelled++);
          setTimeout(() => resolve(`ms=${ms}`), ms);
        }),
    }),
  });
  await using server = start({ tools });
  // Spread over three ticks, and on each tick exactly (the timer and the reply in one turn).
  const delays = [
    ...Array.from(
      { length: 60 },
      (_, i) => Math.round(i * WATCH_AFTER_MS / 20),
    ),
    WATCH_AFTER_MS,
    WATCH_AFTER_MS * 2,
    WATCH_AFTER_MS * 2,
  ];
  const replies = await Promise.all(delays.map(async (ms, i) => {
    const response = await post(
      server,
      modern(call(i, "timed", { ms })),
      modernHeaders("tools/call", "timed"),
    );
    const type = response.headers.get("content-type");
    const text = type === "text/event-stream"
      ? await events(response)
      : [await response.text()];
    return { type, text };
  }));
  for (let i = 0; i < delays.length; i++) {
    const { text } = replies[i]!;
    assert.equal(text.length, 1, `one event for call ${i}`);
    const reply = JSON.parse(text[0]!);
    assert.equal(reply.id, i);
    assert.equal(reply.result.content[0].text, `ms=${delays[i]}`);
  }
  // Quick ones keep JSON; one unanswered for three ticks is a stream.
  assert.equal(replies[0]!.type, "application/json");
  assert.equal(replies[59]!.type, "text/event-stream");
  assert.equal(cancelled, 0);
});

Deno.test("at shutdown every unanswered 2026 call gets its reply: begun as a stream, JSON-only, or just sent", async () => {
  let started = 0;
  const allStarted = deferred();
  const tools = toolSet({
    stuck: defineTool({
      description: "Never ends, and ignores cancellation.",
      run: () => {
        if (++started === 3) allStarted.resolve();
        return new Promise(() => {});
      },
    }),
  });
  const server = start({ tools, shutdownGraceMs: 100 });
  const streamed = post(
    server,
    modern(call(1, "stuck")),
    modernHeaders("tools/call", "stuck"),
  );
  await sleep(WATCH_AFTER_MS * 3); // its response has begun as a stream
  const jsonOnly = post(server, modern(call(2, "stuck")), {
    ...modernHeaders("tools/call", "stuck"),
    accept: "application/json",
  });
  const fresh = post(
    server,
    modern(call(3, "stuck")),
    modernHeaders("tools/call", "stuck"),
  );
  await within(allStarted.promise, "the three calls' start");
  const stopped = server.shutdown();
  const stoppedText =
    `"content":[{"type":"text","text":"Tool \\"stuck\\" was stopped: the server is shutting down"}],"isError":true`;
  const got = await Promise.all(
    [streamed, jsonOnly, fresh].map(async (p) => {
      const response = await within(p, "a response");
      return {
        type: response.headers.get("content-type"),
        reply: JSON.parse(await replyText(response)),
      };
    }),
  );
  await within(stopped, "the shutdown");
  assert.deepEqual(got.map((g) => g.reply.id), [1, 2, 3]);
  assert.equal(got[0]!.type, "text/event-stream");
  assert.equal(got[1]!.type, "application/json");
  for (const { reply } of got) {
    assert.ok(
      JSON.stringify(reply).includes(stoppedText),
      JSON.stringify(reply),
    );
  }
});

Deno.test("two 2026 clients using the same id: one hanging up cancels only its own call", async () => {
  const runs: Array<{ tag: string; aborted: boolean }> = [];
  const bothStarted = deferred();
  const cancelledOne = deferred();
  const release = deferred();
  const tools = toolSet({
    tagged: defineTool({
      description: "Waits until released or cancelled.",
      input: z.object({ tag: z.string() }),
      run: ({ tag }, ctx) =>
        new Promise((resolve, reject) => {
          const run = { tag, aborted: false };
          runs.push(run);
          if (runs.length === 2) bothStarted.resolve();
          ctx.signal.addEventListener("abort", () => {
            run.aborted = true;
            cancelledOne.resolve();
            reject(ctx.signal.reason);
          });
          void release.promise.then(() => resolve(`tag=${tag}`));
        }),
    }),
  });
  await using server = start({ tools });
  const gone = await rawPost(
    server,
    JSON.stringify(modern(call(1, "tagged", { tag: "gone" }))),
    modernHeaders("tools/call", "tagged"),
  );
  const stays = post(
    server,
    modern(call(1, "tagged", { tag: "stays" })),
    modernHeaders("tools/call", "tagged"),
  );
  await within(bothStarted.promise, "both calls' start");
  await sleep(WATCH_AFTER_MS * 3);
  gone.close();
  await within(cancelledOne.promise, "the cancellation");
  release.resolve();
  const reply = JSON.parse(await replyText(await stays));
  assert.equal(reply.id, 1);
  assert.equal(reply.result.content[0].text, "tag=stays");
  assert.deepEqual(
    runs.map((r) => `${r.tag}:${r.aborted}`).sort(),
    ["gone:true", "stays:false"],
  );
});

Deno.test("a client that accepts only text/event-stream gets a slow call as a stream and cancels it by hanging up", async () => {
  const h = holder();
  await using server = start({ tools: h.tools });
  const conn = await rawPost(
    server,
    JSON.stringify(modern(call(1, "hold", { pad: "x".repeat(600) }))),
    { ...modernHeaders("tools/call", "hold"), accept: "text/event-stream" },
  );
  await within(h.started.promise, "the call's start");
  await sleep(WATCH_AFTER_MS * 3);
  conn.close();
  assert.match(
    await within(h.cancelled.promise, "the cancellation"),
    /cancel/i,
  );
});

Deno.test("a legacy session's response POSTed while its DELETE grace runs is refused 404, and the server serves on", async () => {
  const h = holder();
  await using server = start({ tools: h.tools, shutdownGraceMs: 60_000 });
  const session = await openSession(server);
  const running = post(server, call(2, "hold"), legacyHeaders(session));
  await within(h.started.promise, "the call's start");
  const deleted = await fetch(server.url, {
    method: "DELETE",
    headers: legacyHeaders(session),
  });
  assert.equal(deleted.status, 200);
  await deleted.body?.cancel();
  const late = await post(
    server,
    { jsonrpc: "2.0", id: 7, result: {} },
    legacyHeaders(session),
  );
  assert.equal(late.status, 404);
  assert.match(await late.text(), /"code":-32001/);
  h.release.resolve();
  const stream = await running;
  assert.match((await events(stream)).at(-1) ?? "", /"text":"released"/);
  const after = await post(server, modern(ping(3)), modernHeaders("ping"));
  assert.match(await after.text(), /^\{"jsonrpc":"2.0","id":3,"result":\{/);
});

Deno.test("300 legacy sessions with slow requests come and go: no timer or exchange outlives them", async () => {
  // The test's sanitizers fail it if a peer's watch timer outlives its session.
  const h = holder();
  await using server = start({ tools: h.tools, shutdownGraceMs: 0 });
  for (let i = 0; i < 300; i++) {
    const session = await openSession(server);
    // A lazy request (its watch arms the peer's timer), then the session is deleted at once.
    const listed = await post(
      server,
      request(2, "tools/list"),
      legacyHeaders(session),
    );
    await listed.body?.cancel();
    const deleted = await fetch(server.url, {
      method: "DELETE",
      headers: legacyHeaders(session),
    });
    assert.equal(deleted.status, 200);
    await deleted.body?.cancel();
  }
  const health = await fetch(new URL("/healthz", server.url));
  assert.match(await health.text(), /^ok/);
});

Deno.test("a bearer token reaches no log line, even at debug, through requests watched at the ticks", async () => {
  const token = "tok-review27-secret-0123456789";
  const { log, text } = tapLog();
  const h = holder();
  await using server = start({ tools: h.tools, token, log });
  const auth = { authorization: `Bearer ${token}` };
  const slow = post(server, modern(call(1, "hold")), {
    ...modernHeaders("tools/call", "hold"),
    ...auth,
  });
  await within(h.started.promise, "the call's start");
  await sleep(WATCH_AFTER_MS * 3);
  h.release.resolve();
  await (await slow).text();
  const legacy = await post(server, initialize(1), {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...auth,
  });
  await legacy.body?.cancel();
  const wrong = await post(server, modern(ping(2)), {
    ...modernHeaders("ping"),
    authorization: `Bearer ${token}x`,
  });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  assert.ok(text().length > 0, "the access log wrote lines");
  assert.ok(!text().includes(token), "the token is in no log line");
});
