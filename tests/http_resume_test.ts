/**
 * Resumable SSE streams of legacy sessions, at the wire: event ids and the priming event, a
 * call's stream dropped mid-call and read on by a GET with `Last-Event-ID`, the replay bound,
 * and ids that name no stream of the session.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { call, withMeta } from "./requests.ts";
import { deferred, toolSet } from "./wire.ts";
import {
  dataEvents,
  legacyHeaders,
  openSession,
  post,
  readUntil,
  resume,
  start,
  textReader,
} from "./http_client.ts";
import { droppedNote } from "../src/server/http/serve_http.ts";
import { MAX_REPLAY_EVENTS } from "../src/server/http/resumable.ts";

const PROGRESS =
  `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":`;

/** A tool that reports progress 1, waits for `first`, reports 2, waits for `second`, returns. */
function gatedTools() {
  const first = deferred();
  const second = deferred();
  const sentTwo = deferred();
  let aborted = false;
  const tools = toolSet({
    gated: defineTool({
      description: "Reports progress around two gates.",
      run: async (_args, ctx) => {
        ctx.signal.addEventListener("abort", () => aborted = true);
        ctx.progress(1);
        await first.promise;
        ctx.progress(2);
        sentTwo.resolve();
        await second.promise;
        return "through";
      },
    }),
  });
  return { tools, first, second, sentTwo, aborted: () => aborted };
}

Deno.test("legacy streams: each event has an id of its stream; a priming event with retry comes first", async () => {
  await using server = start();
  const session = await openSession(server);
  const response = await post(
    server,
    withMeta(call(4, "steps"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  const text = await response.text();
  const key = text.match(/^id: ([0-9a-f]{12})-0\n/)?.[1];
  assert.ok(key, text);
  assert.equal(
    text,
    `id: ${key}-0\nretry: 1000\ndata: \n\n` +
      `id: ${key}-1\nevent: message\ndata: ${PROGRESS}1,"total":2}}\n\n` +
      `id: ${key}-2\nevent: message\ndata: ${PROGRESS}2,"total":2}}\n\n` +
      `id: ${key}-3\nevent: message\ndata: {"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"done"}]}}\n\n`,
  );
  const get = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  const reader = textReader(get);
  const primed = await readUntil(reader, (text) => text.endsWith("\n\n"));
  assert.match(primed, /^id: g[0-9a-f]{12}-0\nretry: 1000\ndata: \n\n$/);
  await reader.cancel();
  // Two streams of one session never share a key.
  assert.notEqual(primed.slice(5, 17), key);
});

Deno.test("legacy: a call whose stream drops runs on; GET with Last-Event-ID gets the rest once", async () => {
  const gate = gatedTools();
  await using server = start({ tools: gate.tools });
  const session = await openSession(server);
  const response = await post(
    server,
    withMeta(call(7, "gated"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  const reader = textReader(response);
  const before = await readUntil(reader, (text) => text.includes("-1\n"));
  const key = before.match(/^id: ([0-9a-f]{12})-0\n/)![1]!;
  assert.equal(
    before,
    `id: ${key}-0\nretry: 1000\ndata: \n\nid: ${key}-1\nevent: message\ndata: ${PROGRESS}1}}\n\n`,
  );
  await reader.cancel(); // the connection drops mid-call
  gate.first.resolve();
  await gate.sentTwo.promise; // progress 2 is sent while nobody reads

  const resumed = await resume(server, session, `${key}-1`);
  assert.equal(resumed.status, 200);
  assert.equal(resumed.headers.get("content-type"), "text/event-stream");
  const again = textReader(resumed);
  let text = await readUntil(again, (text) => text.includes(`${key}-2\n`));
  gate.second.resolve(); // the reply comes live, on the GET
  for (let chunk; !(chunk = await again.read()).done;) text += chunk.value;
  assert.equal(
    text,
    `id: ${key}-2\nevent: message\ndata: ${PROGRESS}2}}\n\n` +
      `id: ${key}-3\nevent: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"through"}]}}\n\n`,
  );
  assert.equal(gate.aborted(), false);
  // Read to its end, it is kept a while (the end may not have arrived): after its last event,
  // nothing more.
  const late = await resume(server, session, `${key}-3`);
  assert.equal(late.status, 200);
  assert.equal(await late.text(), "");
});

Deno.test("legacy: a dropped stream keeps a bounded replay; the oldest progress goes, counted; the reply stays", async () => {
  const COUNT = 2 * MAX_REPLAY_EVENTS + 50;
  const flooded = deferred();
  const open = deferred();
  const tools = toolSet({
    flood: defineTool({
      description: "Reports progress many times once let go.",
      run: async (_args, ctx) => {
        ctx.progress(0);
        await open.promise;
        for (let i = 1; i <= COUNT; i++) {
          ctx.progress(i);
          // Each one written on its own (queued ones would be coalesced to the latest).
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        flooded.resolve();
        return "flooded";
      },
    }),
  });
  await using server = start({ tools });
  const session = await openSession(server);
  const response = await post(
    server,
    withMeta(call(1, "flood"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  const reader = textReader(response);
  const before = await readUntil(reader, (text) => text.includes("-1\n"));
  const key = before.match(/^id: ([0-9a-f]{12})-0\n/)![1]!;
  await reader.cancel();
  open.resolve();
  await flooded.promise;

  const resumed = await resume(server, session, `${key}-1`);
  const text = await resumed.text();
  const events = [
    ...text.matchAll(/^id: (\S+)\nevent: message\ndata: (.*)\n\n/gm),
  ]
    .map((match) => [match[1]!, match[2]!] as const);
  assert.equal(events.length, 1 + MAX_REPLAY_EVENTS);
  const ids = events.map(([id]) => Number(id.slice(key.length + 1)));
  const reply = ids.at(-1)!;
  assert.equal(reply, COUNT + 2); // every progress was sent: ids 2 .. COUNT+1
  // Consecutive ids: the note stands for the ones dropped, with the id of the last of them.
  ids.forEach((id, i) => i > 0 && assert.equal(id, ids[i - 1]! + 1));
  const firstKept = ids[1]!;
  assert.deepEqual(events[0], [
    `${key}-${firstKept - 1}`,
    droppedNote(firstKept - 2),
  ]);
  assert.equal(events[1]![1], `${PROGRESS}${firstKept - 1}}}`);
  assert.equal(
    events.at(-1)![1],
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"flooded"}]}}`,
  );
});

Deno.test("a Last-Event-ID that names no call stream of the session is 400; an unknown GET stream's gets a new one", async () => {
  const gate = gatedTools();
  await using server = start({ tools: gate.tools });
  const session = await openSession(server);
  const response = await post(
    server,
    withMeta(call(1, "gated"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  const reader = textReader(response);
  const before = await readUntil(reader, (text) => text.includes("-1\n"));
  const key = before.match(/^id: ([0-9a-f]{12})-0\n/)![1]!;
  await reader.cancel();
  for (
    const id of [
      "000000000000-1",
      `${key}-2`, // after the last event it sent: forged
      `${key}-x`,
      "",
      "g1-1",
      `${key}-1-1`,
    ]
  ) {
    const refused = await resume(server, session, id);
    assert.equal(refused.status, 400, id);
    assert.equal(
      await refused.text(),
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Bad Request: Last-Event-ID names no stream of this session that can be resumed (it ended, or its events expired); send the request again"}}`,
    );
  }
  const fresh = await resume(server, session, "g000000000000-5");
  assert.equal(fresh.status, 200);
  const freshReader = textReader(fresh);
  const primed = await readUntil(freshReader, (text) => text.endsWith("\n\n"));
  assert.match(primed, /^id: g[0-9a-f]{12}-0\nretry: 1000\ndata: \n\n$/);
  assert.notEqual(primed.slice(4, 17), "g000000000000");
  // One GET stream at a time: a second new one is refused while it is connected.
  const second = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  assert.equal(second.status, 409);
  await second.body?.cancel();
  await freshReader.cancel();
  gate.first.resolve();
  gate.second.resolve();
  // The call's own stream still resumes after all that.
  const resumed = await resume(server, session, `${key}-1`);
  assert.match(await resumed.text(), /"id":1,"result":.*"through"/);
});

Deno.test("a session cannot resume another session's stream", async () => {
  const gate = gatedTools();
  await using server = start({ tools: gate.tools });
  const a = await openSession(server);
  const b = await openSession(server);
  const response = await post(
    server,
    withMeta(call(1, "gated"), { progressToken: "t" }),
    legacyHeaders(a),
  );
  const reader = textReader(response);
  const before = await readUntil(reader, (text) => text.includes("-1\n"));
  const key = before.match(/^id: ([0-9a-f]{12})-0\n/)![1]!;
  await reader.cancel();
  gate.first.resolve();
  gate.second.resolve();
  const stolen = await resume(server, b, `${key}-0`);
  assert.equal(stolen.status, 400);
  const body = await stolen.text();
  assert.ok(!body.includes("through") && !body.includes("progress"), body);
  const own = await resume(server, a, `${key}-1`);
  const text = await own.text();
  assert.ok(text.startsWith(`id: ${key}-2\n`), text);
  assert.match(text, /"id":1,"result":.*"through"/);
});

Deno.test("the session's GET stream resumes from its Last-Event-ID, taking over its connection", async () => {
  await using server = start();
  const session = await openSession(server);
  const get = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  const reader = textReader(get);
  const primed = await readUntil(reader, (text) => text.endsWith("\n\n"));
  const key = primed.match(/^id: (g[0-9a-f]{12})-0\n/)![1]!;
  // Resuming takes the stream over from a connection the client gave up on.
  const resumed = await resume(server, session, `${key}-0`);
  assert.equal(resumed.status, 200);
  assert.deepEqual(await reader.read(), { done: true, value: undefined });
  // Resumed, it is connected: a new GET stream is refused, and so is an id it never sent.
  const conflict = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  assert.equal(conflict.status, 409);
  await conflict.body?.cancel();
  const forged = await resume(server, session, `${key}-1`);
  assert.equal(forged.status, 400);
  await forged.body?.cancel();
  // Resuming it again takes it over once more.
  const again = await resume(server, session, `${key}-0`);
  assert.equal(again.status, 200);
  assert.equal((await resumed.body!.getReader().read()).done, true);
  await again.body?.cancel();
});

Deno.test("--sse-hold: a call's connection closes with retry after the hold; the client polls the rest back", async () => {
  const gate = gatedTools();
  const HOLD_MS = 150;
  await using server = start({ tools: gate.tools, sseHoldMs: HOLD_MS });
  const session = await openSession(server);
  const response = await post(
    server,
    withMeta(call(7, "gated"), { progressToken: "t" }),
    legacyHeaders(session),
  );
  // The call waits at its gate past the hold: the server ends the connection with a retry.
  const first = await response.text();
  const key = first.match(/^id: ([0-9a-f]{12})-0\n/)?.[1];
  assert.ok(key, first);
  assert.ok(first.startsWith(`id: ${key}-0\nretry: 1000\ndata: \n\n`), first);
  assert.ok(first.endsWith("\n\nretry: 1000\n\n"), first);
  // Progress 1 is there unless the tool started after the hold (a slow machine).
  const polled = dataEvents(first);
  let last = polled.length > 0 ? `${key}-1` : `${key}-0`;
  gate.first.resolve();
  gate.second.resolve();
  // A client polls with the last id it saw until the reply comes (each poll held at most the
  // hold time; how many polls that takes depends on the machine, what they carry does not).
  for (let poll = 0; poll < 50; poll++) {
    const resumed = await resume(server, session, last);
    assert.equal(resumed.status, 200);
    const text = await resumed.text();
    assert.ok(
      text === "" || text.endsWith("\n\n"),
      `each poll ends at an event's end: ${text}`,
    );
    for (const event of dataEvents(text)) {
      polled.push(event);
      last = event.match(/^id: (\S+)\n/)![1]!;
    }
    if (polled.some((event) => event.includes(`"id":7,"result"`))) break;
  }
  assert.deepEqual(polled, [
    `id: ${key}-1\nevent: message\ndata: ${PROGRESS}1}}`,
    `id: ${key}-2\nevent: message\ndata: ${PROGRESS}2}}`,
    `id: ${key}-3\nevent: message\ndata: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"through"}]}}`,
  ]);
  assert.equal(
    gate.aborted(),
    false,
    "letting a connection go cancels nothing",
  );
});

Deno.test("--sse-hold: a reply that comes within the hold ends the stream as before; the GET stream is polled too", async () => {
  // Long enough for a worker to start and answer on a loaded machine.
  await using server = start({ sseHoldMs: 1000 });
  const session = await openSession(server);
  const response = await post(server, call(4, "steps"), legacyHeaders(session));
  const text = await response.text();
  const key = text.match(/^id: ([0-9a-f]{12})-0\n/)![1]!;
  assert.equal(
    text,
    `id: ${key}-0\nretry: 1000\ndata: \n\n` +
      `id: ${key}-1\nevent: message\ndata: {"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"done"}]}}\n\n`,
  );
  const get = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  const held = await get.text();
  const stream = held.match(/^id: (g[0-9a-f]{12})-0\n/)?.[1];
  assert.equal(held, `id: ${stream}-0\nretry: 1000\ndata: \n\nretry: 1000\n\n`);
  // Polled back, it is the same stream, connected again (and let go again at the hold).
  const again = await resume(server, session, `${stream}-0`);
  assert.equal(again.status, 200);
  assert.equal(await again.text(), "retry: 1000\n\n");
});
