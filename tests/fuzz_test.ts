import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { ping } from "./requests.ts";
import { exchange, toolSet } from "./wire.ts";

/** A small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

const FRAGMENTS = [
  "{",
  "}",
  "[",
  "]",
  '"jsonrpc":"2.0"',
  '"jsonrpc":"1.0"',
  '"id":1',
  '"id":null',
  '"id":-0',
  '"id":1e400',
  '"id":99999999999999999999999',
  '"method":"tools/call"',
  '"method":"ping"',
  '"method":"initialize"',
  '"method":"notifications/cancelled"',
  '"params":{"name":"echo","arguments":{"text":"x"}}',
  '"params":{"requestId":1}',
  '"params":[]',
  '"params":{"name":{"__proto__":1}}',
  '"params":{"protocolVersion":{}}',
  ",",
  ":",
  '"',
  "\\",
  "\u0000",
  "\r",
  "é",
  "😀",
  "null",
  "true",
  "1",
  "-",
  "\ud800",
];

Deno.test("random input never stops the server, and a ping after it is still answered", async () => {
  const next = random(20261123);
  const tools = toolSet({
    echo: defineTool({
      description: "e",
      input: z.object({ text: z.string() }),
      run: (a) => a.text,
    }),
  });
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const parts = Array.from(
      { length: 1 + Math.floor(next() * 12) },
      () => FRAGMENTS[Math.floor(next() * FRAGMENTS.length)]!,
    );
    lines.push(next() < 0.3 ? `{${parts.join(",")}}` : parts.join(""));
  }
  lines.push(JSON.stringify(ping("final")));
  const chunks: string[] = [];
  const text = lines.join("\n") + "\n";
  for (let at = 0; at < text.length;) {
    const size = 1 + Math.floor(next() * 4096);
    chunks.push(text.slice(at, at + size));
    at += size;
  }
  const out = await exchange(chunks, { tools });
  for (const line of out) {
    const reply = JSON.parse(line);
    assert.equal(reply.jsonrpc, "2.0");
    assert.ok("result" in reply !== "error" in reply, line);
  }
  assert.equal(out.at(-1), `{"jsonrpc":"2.0","id":"final","result":{}}`);
});
