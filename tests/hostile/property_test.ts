/**
 * Property: over random interleavings of valid calls, hostile tool calls, cancels, pings,
 * garbage lines and stray responses, cut into random chunks, every request gets exactly one
 * reply (a cancelled one at most one), every output line is JSON, and EOF ends serve().
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool, type ToolReturn } from "tooldrop";
import { call, cancel, ping, response } from "../requests.ts";
import { exchange, toolSet } from "../wire.ts";

/** A small seeded generator (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tools = {
  echo: defineTool({
    description: "e",
    input: z.object({ text: z.string() }),
    run: ({ text }) => text,
  }),
  later: defineTool({
    description: "l",
    run: async () => (await sleep(2), "later"),
  }),
  until_cancelled: defineTool({
    description: "u",
    run: (_a, ctx) =>
      new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("not cancelled"), 15);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve("cancelled");
        });
      }),
  }),
  throws_null: defineTool({
    description: "t",
    run: () => {
      throw Object.create(null);
    },
  }),
  rejects_proxy: defineTool({
    description: "t",
    run: async () => {
      await sleep(1);
      throw new Proxy({}, {
        get() {
          throw new Error("no");
        },
      });
    },
  }),
  bad_result: defineTool({
    description: "b",
    run: async () => {
      await sleep(1);
      return {
        content: [{ type: "text", text: "x" }],
        structuredContent: { n: 1n },
      } as unknown as ToolReturn;
    },
  }),
};

const GARBAGE = [
  "not json at all",
  "{",
  "[1,2,3]",
  '{"jsonrpc":"1.0","id":1,"method":"ping"}',
  '{"jsonrpc":"2.0","id":{},"method":"ping"}',
  '{"jsonrpc":"2.0","id":"x","method":5}',
  '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1e20}}',
  '{"jsonrpc":"2.0","id":1e300,"result":{}}',
  `{"jsonrpc":"2.0","id":"deep","method":"nope","params":{"a":${
    "[".repeat(3000)
  }${"]".repeat(3000)}}}`,
  "\u00e9\u{1F600} wide garbage \u4e2d",
  "\uFEFF",
  "",
  "   ",
];

interface Script {
  text: string;
  requests: Set<string>;
  cancelled: Set<string>;
}

function script(rand: () => number): Script {
  const lines: string[] = [];
  const requests = new Set<string>();
  const cancelled = new Set<string>();
  const started: string[] = [];
  const names = Object.keys(tools);
  for (let n = 0; n < 250; n++) {
    const roll = rand();
    const id = `r${n}`;
    if (roll < 0.45) {
      const name = names[Math.floor(rand() * names.length)]!;
      const args = name === "echo" ? { text: `t${n}` } : {};
      lines.push(JSON.stringify(call(id, name, args)));
      requests.add(id);
      started.push(id);
    } else if (roll < 0.55) {
      lines.push(JSON.stringify(ping(id)));
      requests.add(id);
    } else if (roll < 0.7 && started.length > 0) {
      const target = started[Math.floor(rand() * started.length)]!;
      cancelled.add(target);
      lines.push(JSON.stringify(cancel(target, "r")));
    } else if (roll < 0.75) {
      lines.push(JSON.stringify(response(`tooldrop-${n}`, {})));
    } else {
      lines.push(GARBAGE[Math.floor(rand() * GARBAGE.length)]!);
    }
  }
  lines.push(JSON.stringify(ping("final")));
  requests.add("final");
  return {
    text: lines.join(rand() < 0.5 ? "\n" : "\r\n") + "\n",
    requests,
    cancelled,
  };
}

function chunks(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const size = 1 + Math.floor(rand() * (rand() < 0.2 ? 4 : 300));
    out.push(bytes.slice(at, at + size));
    at += size;
  }
  return out;
}

for (let seed = 1; seed <= 25; seed++) {
  Deno.test(`random interleaving ${seed}: every request answered exactly once, a cancelled one at most once`, async () => {
    const rand = random(seed);
    const { text, requests, cancelled } = script(rand);
    const out = await exchange(chunks(new TextEncoder().encode(text), rand), {
      tools: toolSet(tools),
      maxConcurrentCalls: 1 + Math.floor(rand() * 8),
      maxPendingCalls: 4 + Math.floor(rand() * 40),
      shutdownGraceMs: 1_000,
    });
    const seen = new Map<string, number>();
    for (const line of out) {
      const message = JSON.parse(line); // every line is JSON
      if (typeof message.id === "string" && requests.has(message.id)) {
        seen.set(message.id, (seen.get(message.id) ?? 0) + 1);
      }
    }
    for (const id of requests) {
      const count = seen.get(id) ?? 0;
      if (cancelled.has(id)) {
        assert.ok(count <= 1, `${id} answered ${count} times`);
      } else {assert.equal(
          count,
          1,
          `${id} answered ${count} times (seed ${seed})`,
        );}
    }
  });
}
