import assert from "node:assert/strict";
import { ping as pingRequest } from "./requests.ts";
import { exchange } from "./wire.ts";

/** A ping as one line without its newline, to frame by hand. */
const ping = (id: number) => JSON.stringify(pingRequest(id));
const pong = (id: number) => `{"jsonrpc":"2.0","id":${id},"result":{}}`;

Deno.test("the server reads CRLF lines and ignores blank ones", async () => {
  assert.deepEqual(await exchange([`${ping(1)}\r\n\r\n\n  \n${ping(2)}\r\n`]), [
    pong(1),
    pong(2),
  ]);
});

Deno.test("the server joins a message split across chunks and reads several in one chunk", async () => {
  const line = ping(1);
  assert.deepEqual(
    await exchange([
      line.slice(0, 5),
      line.slice(5, 20),
      `${line.slice(20)}\n${ping(2)}\n${ping(3)}\n`,
    ]),
    [pong(1), pong(2), pong(3)],
  );
});

Deno.test("the server answers a last message that has no newline before EOF", async () => {
  assert.deepEqual(await exchange([ping(1)]), [pong(1)]);
});

Deno.test("a line of exactly --max-line-bytes is served; one byte more gets -32600 and is skipped", async () => {
  const exact = ping(1);
  const bound = new TextEncoder().encode(exact).length;
  const over = ping(22); // one byte longer
  assert.deepEqual(
    await exchange([`${exact}\n${over}\n${ping(3)}\n`], {
      maxLineBytes: bound,
    }),
    [
      pong(1),
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: line longer than ${bound} bytes (--max-line-bytes); skipped"}}`,
      pong(3),
    ],
  );
});

Deno.test("an over-long line split over many chunks is skipped and serving resumes after it", async () => {
  const chunks = [
    `${ping(1)}\n{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"x":"`,
  ];
  for (let i = 0; i < 100; i++) chunks.push("y".repeat(1000));
  chunks.push(`"}}\n${ping(3)}\n`);
  assert.deepEqual(await exchange(chunks, { maxLineBytes: 4096 }), [
    pong(1),
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: line longer than 4096 bytes (--max-line-bytes); skipped"}}`,
    pong(3),
  ]);
});

Deno.test("invalid UTF-8 does not stop the server", async () => {
  const bad = new Uint8Array([0xff, 0xfe, 0x0a]);
  const out = await exchange([bad, `${ping(1)}\n`]);
  assert.equal(out.length, 2);
  assert.match(out[0]!, /"code":-32700/);
  assert.equal(out[1], pong(1));
});
