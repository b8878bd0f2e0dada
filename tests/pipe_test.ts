/**
 * The HTTP transport's in-process input to `serve()` (src/server/http/pipe.ts): lines pushed are
 * read as they are, in batches (no bytes to encode and split again), or as bytes by a reader that
 * asks for bytes; closing ends both, and so does the server's stop signal.
 */

import assert from "node:assert/strict";
import { LineFeed } from "../src/server/http/pipe.ts";
import { readLineBatches } from "../src/server/lines.ts";

Deno.test("LineFeed: serve()'s reader gets the lines pushed meanwhile as one batch, then the end", async () => {
  const feed = new LineFeed();
  feed.push(`{"a":1}`);
  feed.push(`{"b":2}`);
  const batches = readLineBatches(feed)[Symbol.asyncIterator]();
  assert.deepEqual(await batches.next(), {
    done: false,
    value: [`{"a":1}`, `{"b":2}`],
  });
  const later = batches.next();
  feed.push(`{"c":3}`);
  assert.deepEqual(await later, { done: false, value: [`{"c":3}`] });
  feed.close();
  feed.push(`{"lost":true}`); // after the end: nothing
  assert.deepEqual(await batches.next(), { done: true, value: undefined });
});

Deno.test("LineFeed: the stop signal ends the lines while none are waiting", async () => {
  const feed = new LineFeed();
  const stop = new AbortController();
  const batches = readLineBatches(feed, { signal: stop.signal })
    [Symbol.asyncIterator]();
  const next = batches.next();
  stop.abort();
  assert.deepEqual(await next, { done: true, value: undefined });
});

Deno.test("LineFeed: read as bytes, the same lines, each ending in a newline", async () => {
  const feed = new LineFeed();
  feed.push(`{"a":"é"}`);
  feed.push(`{"b":2}`);
  feed.close();
  let text = "";
  const buffer = new Uint8Array(5); // smaller than a line: read in pieces
  const decoder = new TextDecoder();
  for (let n; (n = await feed.read(buffer)) !== null;) {
    text += decoder.decode(buffer.subarray(0, n), { stream: true });
  }
  assert.equal(text, `{"a":"é"}\n{"b":2}\n`);
});

Deno.test("LineFeed: a request pushed parsed is served as it is, and read as bytes as its line", async () => {
  const request = {
    kind: "request",
    id: 7,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "é" } },
  } as const;
  const feed = new LineFeed();
  feed.push(`{"a":1}`);
  feed.push(request);
  const batches = feed.lineBatches();
  const first = await batches.next();
  assert.deepEqual(first.value, [`{"a":1}`, request]);
  assert.equal((first.value as unknown[])[1], request); // the same object: not copied
  await batches.return(undefined);

  const bytes = new LineFeed();
  bytes.push(request);
  bytes.close();
  const buffer = new Uint8Array(1024);
  const n = await bytes.read(buffer);
  assert.equal(
    new TextDecoder().decode(buffer.subarray(0, n!)),
    `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"é"}}}\n`,
  );
});

Deno.test("LineFeed: lines pushed after close() come from lateBatches until it ends; requests never", async () => {
  const feed = new LineFeed();
  feed.push(`{"a":1}`);
  feed.close();
  feed.push(`{"late":1}`); // before the server reads late lines: kept for it
  feed.push({ kind: "request", id: 1, method: "ping", params: undefined });
  const read: unknown[] = [];
  for await (const batch of feed.lineBatches()) read.push(...batch);
  assert.deepEqual(read, [`{"a":1}`]);
  const end = new AbortController();
  const late = feed.lateBatches(end.signal);
  assert.deepEqual((await late.next()).value, [`{"late":1}`]);
  const next = late.next();
  feed.push(`{"late":2}`);
  assert.deepEqual((await next).value, [`{"late":2}`]);
  const last = late.next();
  end.abort();
  assert.equal((await last).done, true);
  feed.push(`{"late":3}`); // after the end: dropped, nothing holds it
  const again = new AbortController();
  const none = feed.lateBatches(again.signal).next();
  setTimeout(() => again.abort(), 20);
  assert.equal((await none).done, true);
});
