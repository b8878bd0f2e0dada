/**
 * Hostile clients against what session 23 added to Streamable HTTP, at the wire: Content-Length
 * that lies, bodies that trickle past the shared timer (and shutdown while they do), SSE polling
 * (`--sse-hold`) under a burst and for a client that never comes back, tool updates followed by
 * sessions that end, and token introspection against an authorization server that misbehaves.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { call, modern, ping, request, withMeta } from "../requests.ts";
import { deferred, memoryLog, toolSet } from "../wire.ts";
import {
  dataEvents,
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  resume,
  start,
} from "../http_client.ts";
import type { HttpServer } from "../../src/server/http/serve_http.ts";
import { ToolUpdates } from "../../src/server/http/tool_updates.ts";
import type { ToolSet } from "../../src/tool/served.ts";
import { Logger } from "../../src/util/log.ts";

const encoder = new TextEncoder();
const PING = JSON.stringify(modern(ping(1)));
const HEAD =
  `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\n`;
const PONG =
  `{"jsonrpc":"2.0","id":1,"result":{"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":`;
const timeoutBody = (ms: number) =>
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request Timeout: the body did not arrive within ${ms} ms"}}`;

/** A connection that sent `text`; `response()` reads one response (to its declared length). */
async function connect(server: HttpServer, text: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(encoder.encode(text));
  let closed = false;
  return {
    write: (more: string) => conn.write(encoder.encode(more)),
    async response(): Promise<string> {
      let got = "";
      const buffer = new Uint8Array(65536);
      for (;;) {
        const end = got.indexOf("\r\n\r\n");
        if (end !== -1) {
          const length = /content-length: (\d+)\r\n/i.exec(
            got.slice(0, end + 2),
          );
          const body = encoder.encode(got.slice(end + 4)).length;
          if (length && body >= Number(length[1])) return got;
        }
        const n = await conn.read(buffer).catch(() => null);
        if (n === null) return got;
        got += new TextDecoder().decode(buffer.subarray(0, n));
      }
    },
    /** Resolves once the server closes the connection. */
    async ended(): Promise<void> {
      const buffer = new Uint8Array(65536);
      while ((await conn.read(buffer).catch(() => null)) !== null);
    },
    close() {
      if (!closed) conn.close();
      closed = true;
    },
  };
}

Deno.test("a Content-Length that lies, is not a number, is negative, repeats with another value or comes with chunked is refused before the handler", async () => {
  await using server = start({ bodyTimeoutMs: 300 });
  const refusedByFraming = {
    "not a number": `Content-Length: abc\r\n\r\n${PING}`,
    negative: `Content-Length: -1\r\n\r\n${PING}`,
    signed: `Content-Length: +${PING.length}\r\n\r\n${PING}`,
    "over 2^64": `Content-Length: 99999999999999999999\r\n\r\n${PING}`,
    "two values":
      `Content-Length: ${PING.length}\r\nContent-Length: 5\r\n\r\n${PING}`,
    "a list": `Content-Length: ${PING.length}, 5\r\n\r\n${PING}`,
    // Request smuggling: neither framing is trusted.
    "with chunked": `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${
      PING.length.toString(16)
    }\r\n${PING}\r\n0\r\n\r\n`,
  };
  for (const [what, rest] of Object.entries(refusedByFraming)) {
    const conn = await connect(server, HEAD + rest);
    const text = await conn.response();
    conn.close();
    assert.match(text, /^HTTP\/1.1 400 Bad Request\r\n/, what);
    assert.match(text, /\r\ncontent-length: 0\r\n/, what);
  }
  // The same value twice is one length: served.
  const twice = await connect(
    server,
    HEAD +
      `Content-Length: ${PING.length}\r\nContent-Length: ${PING.length}\r\n\r\n${PING}`,
  );
  const served = await twice.response();
  twice.close();
  assert.match(served, /^HTTP\/1.1 200 OK\r\n/);
  assert.ok(served.includes(PONG), served);
  // Shorter than the body: the body is its first bytes (not JSON), the rest is not a request.
  const short = await connect(
    server,
    HEAD + `Content-Length: ${PING.length - 5}\r\n\r\n${PING}`,
  );
  const cut = await short.response();
  short.close();
  assert.match(cut, /^HTTP\/1.1 400 Bad Request\r\n/);
  assert.ok(
    cut.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: line is not valid JSON","data":{"line":"{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"metho…"}}}`,
    ),
    cut,
  );
  // Longer than the body: the rest never comes; 408 at the bound.
  const long = await connect(
    server,
    HEAD + `Content-Length: ${PING.length + 10}\r\n\r\n${PING}`,
  );
  const late = await long.response();
  long.close();
  assert.match(late, /^HTTP\/1.1 408 Request Timeout\r\n/);
  assert.ok(late.endsWith(timeoutBody(300)), late);
});

for (const framing of ["content-length", "chunked"] as const) {
  Deno.test(`shutdown is not held by a client still connected after its ${framing} body was cut off with 408`, async () => {
    const server = start({ bodyTimeoutMs: 200 });
    const conn = await connect(
      server,
      framing === "chunked"
        ? HEAD +
          `Transfer-Encoding: chunked\r\n\r\n${PING.length.toString(16)}\r\n${
            PING.slice(0, 10)
          }`
        : HEAD + `Content-Length: ${PING.length}\r\n\r\n${PING.slice(0, 10)}`,
    );
    const text = await conn.response();
    assert.match(text, /^HTTP\/1.1 408 Request Timeout\r\n/);
    assert.ok(text.endsWith(timeoutBody(200)), text);
    // The client stays connected, sending nothing more. A served request is the reference for
    // how long a shutdown takes; a server that waits for the client never finishes.
    const reference = performance.now();
    const served = await post(server, PING, modernHeaders("ping"));
    await served.body?.cancel();
    const unit = Math.max(50, performance.now() - reference);
    const stopping = performance.now();
    const finished = await Promise.race([
      server.shutdown().then(() => server.finished).then(() => true),
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 3000 + unit * 20);
        server.finished.then(() => clearTimeout(timer));
      }),
    ]);
    const took = performance.now() - stopping;
    const closedByServer = await Promise.race([
      conn.ended().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
    ]);
    conn.close();
    if (!finished) await server.finished; // the client has gone: it ends now
    assert.ok(finished, `shutdown still waiting after ${took.toFixed(0)} ms`);
    assert.ok(closedByServer, "the server closed the stalled connection");
  });
}

Deno.test("a hundred bodies trickling at once each get 408 from the shared timer while fifty requests beside them are served", async () => {
  const TIMEOUT = 400;
  await using server = start({ bodyTimeoutMs: TIMEOUT });
  const started = performance.now();
  const slow = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      connect(
        server,
        HEAD +
          (i % 2 === 0
            ? `Content-Length: ${PING.length}\r\n\r\n${PING.slice(0, 5)}`
            : `Transfer-Encoding: chunked\r\n\r\n${
              PING.length.toString(16)
            }\r\n${PING.slice(0, 5)}`),
      )),
  );
  const answered = Promise.all(slow.map(async (conn) => {
    const text = await conn.response();
    return { text, ms: performance.now() - started };
  }));
  const served = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const response = await post(server, PING, modernHeaders("ping"));
      return { status: response.status, text: await response.text() };
    }),
  );
  for (const { status, text } of served) {
    assert.equal(status, 200);
    assert.ok(text.startsWith(PONG), text);
  }
  const slowAnswers = await answered;
  for (const conn of slow) conn.close();
  for (const { text, ms } of slowAnswers) {
    assert.match(text, /^HTTP\/1.1 408 Request Timeout\r\n/);
    assert.ok(text.endsWith(timeoutBody(TIMEOUT)), text);
    assert.ok(ms >= TIMEOUT, `408 after ${ms} ms, before its bound`);
  }
});

/**
 * Reads a call's stream as a polling client does: the POST's response, then GETs with the last
 * id seen until the reply (`id`) comes. Every event read, in order.
 */
async function pollToEnd(
  server: HttpServer,
  session: string,
  first: Response,
  id: number,
): Promise<{ key: string; events: string[]; polls: number }> {
  const text = await first.text();
  const key = /^id: ([0-9a-f]{12})-0\n/.exec(text)?.[1];
  assert.ok(key, text);
  const events = dataEvents(text);
  let polls = 0;
  const done = () => events.some((event) => event.includes(`"id":${id},`));
  while (!done()) {
    assert.ok(++polls < 500, "the reply never came");
    const last = events.at(-1)?.match(/^id: (\S+)\n/)?.[1] ?? `${key}-0`;
    const resumed = await resume(server, session, last);
    assert.equal(resumed.status, 200);
    events.push(...dataEvents(await resumed.text()));
  }
  return { key, events, polls };
}

const STEPS = 12;
const stepping = toolSet({
  stepping: defineTool({
    description: "Reports progress STEPS times over a while, then returns.",
    run: async (_args, ctx) => {
      for (let i = 1; i <= STEPS; i++) {
        ctx.progress(i, STEPS);
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      return "stepped";
    },
  }),
});

Deno.test("--sse-hold 50 ms under a burst of calls with progress: every event reaches its poller once, in order", async () => {
  await using server = start({ tools: stepping, sseHoldMs: 50 });
  const session = await openSession(server);
  const CALLS = 16;
  const results = await Promise.all(
    Array.from({ length: CALLS }, async (_, i) => {
      const id = 100 + i;
      const response = await post(
        server,
        withMeta(call(id, "stepping"), { progressToken: `t${i}` }),
        legacyHeaders(session),
      );
      assert.equal(response.status, 200);
      return { i, id, ...await pollToEnd(server, session, response, id) };
    }),
  );
  let polled = 0;
  for (const { i, id, key, events, polls } of results) {
    polled += polls;
    const expected = Array.from(
      { length: STEPS },
      (_, n) =>
        `id: ${key}-${
          n + 1
        }\nevent: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t${i}","progress":${
          n + 1
        },"total":${STEPS}}}`,
    );
    expected.push(
      `id: ${key}-${
        STEPS + 1
      }\nevent: message\ndata: {"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"stepped"}]}}`,
    );
    assert.deepEqual(events, expected);
  }
  // The hold was shorter than a call: the connections were let go and polled back.
  assert.ok(polled >= CALLS, `${polled} polls`);
});

Deno.test("--sse-hold: streams of calls that ended unread, their client never polling, are bounded per session", async () => {
  let gate = deferred();
  let ended = 0;
  let allEnded = deferred();
  const BATCH = 200; // within the 256 requests a session may have in progress
  const tools = toolSet({
    gated: defineTool({
      description: "Waits for the test's gate.",
      run: async () => {
        await gate.promise;
        if (++ended % BATCH === 0) allEnded.resolve();
        return "through";
      },
    }),
  });
  await using server = start({ tools, sseHoldMs: 50 });
  const session = await openSession(server);
  const keys: string[] = [];
  for (let batch = 0; batch < 2; batch++) {
    // Each call's connection is let go at the hold; the client reads to the retry and leaves.
    const texts = await Promise.all(
      Array.from({ length: BATCH }, async (_, i) => {
        const response = await post(
          server,
          call(batch * BATCH + i + 1, "gated"),
          legacyHeaders(session),
        );
        return await response.text();
      }),
    );
    for (const text of texts) {
      assert.ok(text.endsWith("\n\nretry: 1000\n\n"), text);
      keys.push(/^id: ([0-9a-f]{12})-0\n/.exec(text)![1]!);
    }
    gate.resolve();
    await allEnded.promise;
    gate = deferred();
    allEnded = deferred();
    // Their replies were written before a ping sent now is answered.
    const pong = await post(server, ping(9999), legacyHeaders(session));
    await pong.text();
  }
  // The oldest went; the newest still hold their reply for a client that comes back.
  const oldest = await resume(server, session, `${keys[0]}-0`);
  assert.equal(oldest.status, 400);
  assert.equal(
    await oldest.text(),
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID names no stream of this session that can be resumed (it ended, or its events expired); send the request again"}}`,
  );
  const newest = await resume(server, session, `${keys.at(-1)}-0`);
  assert.equal(newest.status, 200);
  assert.equal(
    await newest.text(),
    `id: ${keys.at(-1)}-1\nevent: message\ndata: {"jsonrpc":"2.0","id":${
      2 * BATCH
    },"result":{"content":[{"type":"text","text":"through"}]}}\n\n`,
  );
});

const UNKNOWN_STREAM =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID names no stream of this session that can be resumed (it ended, or its events expired); send the request again"}}`;
const SESSION_NOT_FOUND =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found: it ended or never existed; send initialize again"}}`;

Deno.test("--sse-hold: a stream whose call ended is polled again from any id it sent; another session's id, or one past its end, names nothing", async () => {
  await using server = start({ tools: stepping, sseHoldMs: 50 });
  const session = await openSession(server);
  const other = await openSession(server);
  const response = await post(
    server,
    withMeta(call(5, "stepping"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  const { key, events } = await pollToEnd(server, session, response, 5);
  assert.equal(events.length, STEPS + 1);
  // Read to its end, polled again from its middle: the rest once more, nothing else.
  const again = await resume(server, session, `${key}-${STEPS - 1}`);
  assert.equal(again.status, 200);
  assert.equal(
    await again.text(),
    events.slice(STEPS - 1).map((event) => `${event}\n\n`).join(""),
  );
  for (
    const [who, id] of [
      ["another session", other],
      ["its own session, past its end", session],
    ] as const
  ) {
    const lastEventId = who === "another session"
      ? `${key}-1`
      : `${key}-${STEPS + 2}`;
    const refused = await resume(server, id, lastEventId);
    assert.equal(refused.status, 400, who);
    assert.equal(await refused.text(), UNKNOWN_STREAM, who);
  }
});

Deno.test("--sse-hold: a session whose client was let go and never came back still expires when idle", async () => {
  const IDLE_MS = 300;
  await using server = start({
    tools: stepping,
    sseHoldMs: 50,
    sessionIdleMs: IDLE_MS,
  });
  const session = await openSession(server);
  const response = await post(
    server,
    call(5, "stepping"),
    legacyHeaders(session),
  );
  const text = await response.text();
  assert.ok(text.endsWith("\n\nretry: 1000\n\n"), text);
  const key = /^id: ([0-9a-f]{12})-0\n/.exec(text)![1]!;
  // Within its idle time, the reply waits for the client.
  const polled = await pollToEnd(
    server,
    session,
    new Response(`id: ${key}-0\n\n`),
    5,
  );
  assert.equal(polled.events.length, 1);
  // Then nobody comes: past the idle time, the session is gone.
  const leftAt = performance.now();
  while (performance.now() - leftAt <= IDLE_MS * 1.5) {
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 2));
  }
  const late = await resume(server, session, `${key}-0`);
  assert.equal(late.status, 404);
  assert.equal(await late.text(), SESSION_NOT_FOUND);
});

const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;

/** A tool set of one tool named `name`. */
function named(name: string): ToolSet {
  return toolSet({
    [name]: defineTool({ description: `Is ${name}.`, run: () => name }),
  });
}

/** Tool sets pushed by the test, as `serve --watch` yields them. */
function pushedSets() {
  let controller!: ReadableStreamDefaultController<ToolSet>;
  const stream = new ReadableStream<ToolSet>({
    start: (c) => void (controller = c),
  });
  return {
    sets: stream as AsyncIterable<ToolSet>,
    push: (set: ToolSet) => controller.enqueue(set),
    end: () => controller.close(),
  };
}

async function sessionToolNames(
  server: HttpServer,
  session: string,
  id: number,
): Promise<string[]> {
  const response = await post(
    server,
    request(id, "tools/list"),
    legacyHeaders(session),
  );
  const body = await response.json();
  return body.result.tools.map((tool: { name: string }) => tool.name);
}

Deno.test("ToolUpdates: a follower waiting for a set ends when its connection's signal aborts", async () => {
  const pushed = pushedSets();
  const updates = new ToolUpdates(
    named("first"),
    pushed.sets,
    new Logger({ level: "emergency", write: () => {} }),
  );
  const ended = new AbortController();
  const follower = updates.follow(ended.signal);
  const next = follower.next();
  ended.abort();
  assert.deepEqual(await next, { value: undefined, done: true });
  // Another follower still gets the next set.
  const live = updates.follow(new AbortController().signal);
  const coming = live.next();
  pushed.push(named("second"));
  const got = await coming;
  assert.equal(got.done, false);
  assert.equal(updates.current, got.value);
  pushed.end();
});

Deno.test("--watch over HTTP: 200 sessions opened and deleted leave no follower; a burst of 50 sets reaches a polled GET stream as a bounded number of list_changed, the last set served", async () => {
  // Followers alive: counted by wrapping ToolUpdates.follow for this test.
  const original = ToolUpdates.prototype.follow;
  let live = 0;
  ToolUpdates.prototype.follow = function (signal) {
    const inner = original.call(this, signal);
    live++;
    return (async function* () {
      try {
        yield* inner;
      } finally {
        live--;
      }
    })();
  };
  try {
    const pushed = pushedSets();
    await using server = start({
      tools: named("first"),
      toolUpdates: pushed.sets,
      sseHoldMs: 50,
      maxSessions: 256,
    });
    const sessions = await Promise.all(
      Array.from({ length: 200 }, () => openSession(server)),
    );
    for (const session of sessions) {
      const deleted = await fetch(server.url, {
        method: "DELETE",
        headers: legacyHeaders(session),
      });
      assert.equal(deleted.status, 200);
      await deleted.body?.cancel();
    }
    const kept = await openSession(server);
    // The shared 2026 connection and the one session left follow; the 200 ended stop.
    for (let wait = 0; live > 2 && wait < 500; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(live, 2);
    // The kept session's GET stream is let go at the hold; the sets come while nobody reads it.
    const get = await fetch(server.url, {
      headers: { accept: "text/event-stream", "mcp-session-id": kept },
    });
    const held = await get.text();
    const stream = /^id: (g[0-9a-f]{12})-0\n/.exec(held)?.[1];
    assert.ok(stream, held);
    for (let i = 1; i <= 50; i++) pushed.push(named(`tool${i}`));
    // The last set is served once tools/list says so: then every list_changed was queued.
    for (let wait = 0; wait < 500; wait++) {
      const names = await sessionToolNames(server, kept, 1000 + wait);
      if (names[0] === "tool50") break;
    }
    assert.deepEqual(await sessionToolNames(server, kept, 1), ["tool50"]);
    const polled = await resume(server, kept, `${stream}-0`);
    assert.equal(polled.status, 200);
    const notes = dataEvents(await polled.text());
    assert.ok(notes.length >= 1 && notes.length <= 50, `${notes.length}`);
    notes.forEach((note, i) =>
      assert.equal(
        note,
        `id: ${stream}-${i + 1}\nevent: message\ndata: ${LIST_CHANGED}`,
      )
    );
    // A session opened now starts from the last set.
    assert.deepEqual(
      await sessionToolNames(server, await openSession(server), 2),
      ["tool50"],
    );
    pushed.end();
  } finally {
    ToolUpdates.prototype.follow = original;
  }
  assert.equal(live, 0, "shutdown ends every follower");
});

const RESOURCE = "https://tools.example.com/mcp";
const SECRET = "s3cret-of-the-resource";

/**
 * An authorization server whose introspection endpoint answers with `answer(token)`; it counts
 * the introspections in progress at once (`peak`).
 */
function authServer(
  answer: (token: string, issuer: string) => Promise<Response> | Response,
) {
  let inFlight = 0;
  let peak = 0;
  let calls = 0;
  let issuer = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const token = new URLSearchParams(await request.text()).get("token")!;
      calls++;
      peak = Math.max(peak, ++inFlight);
      try {
        return await answer(token, issuer);
      } finally {
        inFlight--;
      }
    },
  );
  issuer = `http://127.0.0.1:${server.addr.port}`;
  return {
    issuer,
    get peak() {
      return peak;
    },
    get calls() {
      return calls;
    },
    oauth: () => ({
      issuer,
      resource: RESOURCE,
      introspection: {
        clientId: "tooldrop",
        clientSecret: SECRET,
        endpoint: `${issuer}/introspect`,
      },
    }),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function withToken(server: HttpServer, token: string): Promise<Response> {
  return fetch(server.url, {
    method: "POST",
    headers: { ...modernHeaders("ping"), authorization: `Bearer ${token}` },
    body: PING,
  });
}

const INVALID_TOKEN =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Unauthorized: the access token is not valid for this server"}}`;
const CANNOT_CHECK =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service Unavailable: the access token cannot be checked now (the authorization server's keys or introspection could not be had); try again shortly"}}`;

Deno.test("introspection: 2,000 distinct bad tokens at once keep at most 64 introspections in flight; the rest are 503, none 200, no token logged", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  await using as = authServer(async () => {
    await gate;
    return Response.json({ active: false });
  });
  const { log, lines } = memoryLog("debug");
  await using server = start({ oauth: as.oauth(), log });
  const tokens = Array.from(
    { length: 2000 },
    (_, i) => `bad-${i}-${crypto.randomUUID()}`,
  );
  // 64 reach the endpoint and wait there; every other is answered at once.
  let answered = 0;
  const restAnswered = deferred();
  const answers = tokens.map((token) =>
    withToken(server, token).then(async (response) => {
      const text = await response.text();
      if (++answered === tokens.length - 64) restAnswered.resolve();
      return {
        status: response.status,
        text,
        retry: response.headers.get("retry-after"),
      };
    })
  );
  await restAnswered.promise;
  release();
  const all = await Promise.all(answers);
  const refused = all.filter(({ status }) => status === 401);
  const unavailable = all.filter(({ status }) => status === 503);
  assert.equal(refused.length, 64);
  assert.equal(unavailable.length, tokens.length - 64);
  for (const { text } of refused) assert.equal(text, INVALID_TOKEN);
  for (const { text, retry } of unavailable) {
    assert.equal(text, CANNOT_CHECK);
    assert.equal(retry, "5");
  }
  assert.equal(as.peak, 64);
  const logged = lines.join("\n");
  for (const token of tokens) assert.ok(!logged.includes(token));
  assert.ok(!logged.includes(SECRET));
});

Deno.test("introspection: shutdown is not held by an authorization server that never answers", async () => {
  const never = deferred<Response>();
  const arrived = deferred();
  await using as = authServer(() => {
    arrived.resolve();
    return never.promise;
  });
  const server = start({ oauth: as.oauth() });
  // The reference: how long a shutdown with nothing in progress takes here.
  const idle = start({ oauth: as.oauth() });
  let at = performance.now();
  await idle.shutdown();
  await idle.finished;
  const unit = Math.max(50, performance.now() - at);
  const waiting = withToken(server, "opaque-never-answered");
  await arrived.promise;
  at = performance.now();
  const finished = await Promise.race([
    server.shutdown().then(() => server.finished).then(() => true),
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), unit * 20);
      server.finished.then(() => clearTimeout(timer));
    }),
  ]);
  const took = performance.now() - at;
  const response = await waiting;
  never.resolve(Response.json({ active: false }));
  await server.finished;
  assert.ok(finished, `shutdown took ${took.toFixed(0)} ms`);
  assert.equal(response.status, 503);
  assert.equal(await response.text(), CANNOT_CHECK);
});

Deno.test("introspection: active:true with an expired exp, another audience or another issuer is 401; a 100 KB token is refused before it is read; no token reaches a log at info", async () => {
  const big = "b".repeat(100 * 1024);
  await using as = authServer((token, issuer) => {
    const now = Math.floor(Date.now() / 1000);
    const good = { active: true, iss: issuer, aud: RESOURCE, exp: now + 60 };
    return Response.json(
      {
        "opaque-expired": { ...good, exp: now - 1 },
        "opaque-elsewhere": { ...good, aud: "https://tools.example.com/other" },
        "opaque-forged": { ...good, iss: `${issuer}/other` },
        [big]: good,
      }[token] ?? { active: false },
    );
  });
  const { log, lines } = memoryLog("info");
  await using server = start({ oauth: as.oauth(), log });
  for (const token of ["opaque-expired", "opaque-elsewhere", "opaque-forged"]) {
    const response = await withToken(server, token);
    assert.equal(response.status, 401, token);
    assert.equal(
      response.headers.get("www-authenticate"),
      `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token"`,
    );
    assert.equal(await response.text(), INVALID_TOKEN, token);
  }
  const served = await withToken(server, big);
  // Deno's HTTP server refuses a header that size itself: nothing of it reaches the endpoint.
  assert.equal(served.status, 400);
  assert.equal(await served.text(), "");
  assert.equal(as.calls, 3);
  const logged = lines.join("\n");
  for (const token of ["opaque-", "bbbbbbbb", SECRET]) {
    assert.ok(!logged.includes(token), logged);
  }
});
