/**
 * Hostile client lines (issue 12, item 2 and 10): nothing a client sends may end the read loop.
 * Each line is followed by a ping, which must still be answered; EOF must still end serve().
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { call, initialize, jsonLines, ping } from "../requests.ts";
import {
  exchange,
  memoryLog,
  Session,
  toolSet,
  untilCancelled,
} from "../wire.ts";

const PING = JSON.stringify(ping("after"));
const PONG = `{"jsonrpc":"2.0","id":"after","result":{}}`;

function nested(depth: number, inner = "0"): string {
  return "[".repeat(depth) + inner + "]".repeat(depth);
}

const HOSTILE_LINES: Record<string, string> = {
  "a cancel whose requestId is 1e20":
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1e20}}`,
  "a response whose id is 1e20": `{"jsonrpc":"2.0","id":1e20,"result":{}}`,
  "a request with an id above 2^53 and params 5,000 deep":
    `{"jsonrpc":"2.0","id":9007199254740993,"method":"nope","params":{"x":${
      nested(5000)
    }}}`,
  "a cancel with a requestId above 2^53 and a reason 5,000 deep":
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9007199254740993,"reason":${
      nested(5000)
    }}}`,
  "an initialize whose client name is 5,000 deep":
    `{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":${
      nested(5000)
    }}}}`,
  "a key written with escapes":
    `{"jsonrpc":"2.0","i\\u0064":9007199254740993,"method":"ping"}`,
};

for (const [what, line] of Object.entries(HOSTILE_LINES)) {
  Deno.test(`${what} does not stop the server: a later ping is answered`, async () => {
    const { log, lines } = memoryLog();
    const out = await exchange(`${line}\n${PING}\n`, { log });
    assert.equal(out.at(-1), PONG, `replies: ${out.join("\n")}`);
    assert.ok(
      !lines.some((l) => l.includes("Stopped reading input")),
      lines.join(""),
    );
  });
}

Deno.test("an id above 2^53 is echoed digit for digit, and one written 1e20 as it came", async () => {
  const out = await exchange(jsonLines(
    `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`,
    `{"jsonrpc":"2.0","id":1e20,"method":"ping"}`,
    `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":${nested(3000)}}}`,
  ));
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":9007199254740993,"result":{}}`,
    `{"jsonrpc":"2.0","id":1e20,"result":{}}`,
    `{"jsonrpc":"2.0","id":1,"result":{}}`,
  ]);
});

Deno.test("a progressToken above 2^53 is echoed exactly in progress notifications", async () => {
  const tools = toolSet({
    p: defineTool({ description: "p", run: (_a, ctx) => ctx.progress(1, 2) }),
  });
  const out = await exchange(
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"p","_meta":{"progressToken":12345678901234567890}}}\n`,
    { tools },
  );
  assert.equal(
    out[0],
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":12345678901234567890,"progress":1,"total":2}}`,
  );
});

Deno.test("a cancel for a call whose id is above 2^53 cancels it", async () => {
  const tools = toolSet({
    wait: untilCancelled(),
  });
  const session = new Session({ tools });
  session.send(
    `{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"wait"}}`,
  );
  session.send(
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9007199254740993}}`,
  );
  session.send(PING);
  assert.equal(await session.next(), PONG); // the cancelled call sends nothing
  await session.end();
  assert.equal(session.out.lines.length, 1);
});

Deno.test("an error response to roots/list whose message is 5,000 deep fails only the call", async () => {
  const tools = toolSet({
    where: defineTool({
      description: "w",
      run: async (_a, ctx) => JSON.stringify(await ctx.roots()),
    }),
  });
  const session = new Session({ tools });
  session.send(initialize(0, "2025-11-25", { capabilities: { roots: {} } }));
  await session.next();
  session.send(call(1, "where"));
  const request = JSON.parse(await session.next());
  assert.equal(request.method, "roots/list");
  session.send(
    `{"jsonrpc":"2.0","id":${
      JSON.stringify(request.id)
    },"error":{"code":1,"message":${nested(5000)}}}`,
  );
  const reply = JSON.parse(await session.next());
  assert.equal(reply.id, 1);
  assert.equal(reply.result.isError, true);
  assert.match(reply.result.content[0].text, /^The client refused: /);
  session.send(PING);
  assert.equal(await session.next(), PONG);
  await session.end();
});
