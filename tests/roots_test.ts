/**
 * `ctx.roots()`: the server asks a legacy client for its roots with `roots/list` and matches
 * the response on stdin to the request.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import {
  call,
  errorResponse,
  initialize,
  modern,
  response,
  rootsChanged,
} from "./requests.ts";
import { Session, toolSet } from "./wire.ts";

const tools = toolSet({
  where: defineTool({
    description: "Reports the client's roots.",
    run: async (_args, ctx) => JSON.stringify(await ctx.roots() ?? null),
  }),
});

const hello = (capabilities: Record<string, unknown>) =>
  initialize("init", "2025-11-25", { capabilities });
const where = (id: number) => call(id, "where");
const text = (line: string) => JSON.parse(line).result.content[0].text;

Deno.test("ctx.roots() asks the client with roots/list and returns what it answers", async () => {
  const session = new Session({ tools });
  session.send(hello({ roots: {} }));
  await session.next();
  session.send(where(1));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":"tooldrop-1","method":"roots/list","params":{}}`,
  );
  session.send(response("tooldrop-1", {
    roots: [{ uri: "file:///home/me/project", name: "Project" }, {
      uri: "file:///tmp",
    }, { bad: 1 }],
  }));
  assert.equal(
    text(await session.next()),
    `[{"uri":"file:///home/me/project","name":"Project"},{"uri":"file:///tmp"}]`,
  );
  session.send(where(2)); // no listChanged: asks again
  assert.match(
    await session.next(),
    /"id":"tooldrop-2","method":"roots\/list"/,
  );
  session.send(response("tooldrop-2", { roots: [] }));
  assert.equal(text(await session.next()), "[]");
  await session.end();
});

Deno.test("roots are cached while the client promises list_changed, and asked again after one", async () => {
  const session = new Session({ tools });
  session.send(hello({ roots: { listChanged: true } }));
  await session.next();
  session.send(where(1));
  await session.next();
  session.send(response("tooldrop-1", { roots: [{ uri: "file:///a" }] }));
  assert.equal(text(await session.next()), `[{"uri":"file:///a"}]`);
  session.send(where(2));
  assert.equal(text(await session.next()), `[{"uri":"file:///a"}]`); // from the cache
  session.send(rootsChanged());
  session.send(where(3));
  assert.match(
    await session.next(),
    /"id":"tooldrop-2","method":"roots\/list"/,
  );
  session.send(response("tooldrop-2", { roots: [{ uri: "file:///b" }] }));
  assert.equal(text(await session.next()), `[{"uri":"file:///b"}]`);
  await session.end();
});

Deno.test("ctx.roots() is undefined for a client without roots, in either era", async () => {
  const session = new Session({ tools });
  session.send(where(1)); // no initialize at all
  assert.equal(text(await session.next()), "null");
  session.send(hello({}));
  await session.next();
  session.send(where(2));
  assert.equal(text(await session.next()), "null");
  // A 2026 request without the roots capability (with it: tests/mrtr_test.ts).
  session.send(modern(where(3)));
  assert.equal(text(await session.next()), "null");
  await session.end();
});

Deno.test("a client that refuses roots/list gives the tool an error it can report", async () => {
  const session = new Session({ tools });
  session.send(hello({ roots: {} }));
  await session.next();
  session.send(where(1));
  await session.next();
  session.send(errorResponse("tooldrop-1", -32603, "no workspace open"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"The client refused: no workspace open"}],"isError":true}}`,
  );
  await session.end();
});

Deno.test("a call waiting on roots is stopped cleanly at shutdown", async () => {
  const session = new Session({ tools, shutdownGraceMs: 10 });
  session.send(hello({ roots: {} }));
  await session.next();
  session.send(where(1));
  await session.next(); // the roots/list request, never answered
  await session.end();
  assert.match(
    session.out.lines.at(-1)!,
    /"id":1,.*the server is shutting down/,
  );
});
