/**
 * `ctx.roots()` in the 2026-07-28 era, which has no server-to-client requests: the call's
 * request is answered `input_required` with a `roots/list` input request and a signed
 * `requestState`; the client retries under a new id with its answer, and the same call resumes
 * (multi round-trip requests, basic/patterns/mrtr).
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { z } from "zod";
import { call, modern } from "./requests.ts";
import { serverArgs, ServerProcess, tempDir } from "./spawn.ts";
import { Session, toolSet } from "./wire.ts";

const SERVER_INFO =
  `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"0.1.0"}}`;

let runs = 0;
const tools = toolSet({
  where: defineTool({
    description: "Reports the client's roots, and how often it started.",
    input: z.object({
      a: z.number().optional(),
      b: z.array(z.number()).optional(),
    }),
    run: async (_args, ctx) => {
      runs++;
      ctx.progress(1);
      const roots = await ctx.roots();
      ctx.progress(2);
      return JSON.stringify(roots ?? null);
    },
  }),
  twice: defineTool({
    description: "Asks for the roots twice at once, then once more.",
    run: async (_args, ctx) => {
      const [a, b] = await Promise.all([ctx.roots(), ctx.roots()]);
      const c = await ctx.roots();
      return JSON.stringify([a, b, c]);
    },
  }),
  fast: defineTool({
    description: "Asks, but does not wait for the answer.",
    timeoutMs: 200,
    run: async (_args, ctx) => {
      void ctx.roots().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      return "done without roots";
    },
  }),
});

const WITH_ROOTS = {
  "io.modelcontextprotocol/clientCapabilities": { roots: {} },
};
const first = (id: number, name = "where", args?: Record<string, unknown>) =>
  modern(call(id, name, args), { ...WITH_ROOTS, progressToken: `p${id}` });
const retry = (
  id: number,
  state: unknown,
  responses: unknown,
  name = "where",
  args?: Record<string, unknown>,
) => {
  const message = first(id, name, args) as {
    params: Record<string, unknown>;
  };
  message.params.requestState = state;
  if (responses !== undefined) message.params.inputResponses = responses;
  return message;
};
const ROOTS = { roots: [{ uri: "file:///home/me/project", name: "Project" }] };

Deno.test("ctx.roots() in the 2026 era answers input_required, and the retry resumes the same call", async () => {
  runs = 0;
  const session = new Session({ tools });
  session.send(first(1));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p1","progress":1}}`,
  );
  const asked = await session.nextJson();
  const result = asked.result as Record<string, unknown>;
  const state = result.requestState;
  assert.equal(typeof state, "string");
  assert.equal(
    JSON.stringify(asked),
    `{"jsonrpc":"2.0","id":1,"result":{"inputRequests":{"roots-1":{"method":"roots/list","params":{}}},"requestState":${
      JSON.stringify(state)
    },"resultType":"input_required",${SERVER_INFO}}}`,
  );
  session.send(retry(2, state, { "roots-1": ROOTS }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p2","progress":2}}`,
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"[{\\"uri\\":\\"file:///home/me/project\\",\\"name\\":\\"Project\\"}]"}],"resultType":"complete",${SERVER_INFO}}}`,
  );
  assert.equal(runs, 1, "resumed, not run again");
  // The state was used: a replay is refused.
  session.send(retry(3, state, { "roots-1": ROOTS }));
  assert.match(
    await session.next(),
    /^\{"jsonrpc":"2.0","id":3,"error":\{"code":-32602,"message":"Invalid params: the call this \\"requestState\\" resumes has ended/,
  );
  await session.end();
});

Deno.test("questions asked together go out in one reply; an unanswered one is asked again", async () => {
  const session = new Session({ tools });
  session.send(first(1, "twice"));
  const one = (await session.nextJson()).result as Record<string, unknown>;
  assert.deepEqual(one.inputRequests, {
    "roots-1": { method: "roots/list", params: {} },
    "roots-2": { method: "roots/list", params: {} },
  });
  // Only one answered: the other is asked again, under the same key.
  session.send(retry(2, one.requestState, { "roots-1": ROOTS }, "twice"));
  const two = (await session.nextJson()) as Record<string, unknown>;
  assert.equal(two.id, 2);
  const again = two.result as Record<string, unknown>;
  assert.deepEqual(again.inputRequests, {
    "roots-2": { method: "roots/list", params: {} },
  });
  assert.notEqual(again.requestState, one.requestState);
  session.send(
    retry(3, again.requestState, { "roots-2": { roots: [] } }, "twice"),
  );
  const three = (await session.nextJson()).result as Record<string, unknown>;
  assert.deepEqual(Object.keys(three.inputRequests as object), ["roots-3"]);
  session.send(
    retry(4, three.requestState, { "roots-3": { roots: [] } }, "twice"),
  );
  const done = await session.nextJson();
  assert.equal(done.id, 4);
  assert.equal(
    (done.result as { content: Array<{ text: string }> }).content[0]!.text,
    `[[{"uri":"file:///home/me/project","name":"Project"}],[],[]]`,
  );
  await session.end();
});

Deno.test("a requestState is bound to its tool and arguments, signed, and refused when altered", async () => {
  const session = new Session({ tools });
  session.send(first(1, "where", { a: 1, b: [1, 2] }));
  await session.next(); // progress
  const asked = (await session.nextJson()).result as Record<string, unknown>;
  const state = asked.requestState as string;
  const refused = async (
    id: number,
    message: unknown,
    why: RegExp,
  ) => {
    session.send(message);
    const reply = await session.nextJson();
    assert.equal(reply.id, id);
    const error = reply.error as { code: number; message: string };
    assert.equal(error.code, -32602);
    assert.match(error.message, why);
  };
  const MISMATCH = /"requestState" does not match this request/;
  await refused(2, retry(2, state, {}, "where", { a: 2, b: [1, 2] }), MISMATCH);
  await refused(3, retry(3, state, {}, "twice", { a: 1, b: [1, 2] }), MISMATCH);
  const [body, mac] = state.split(".");
  const forged = btoa(JSON.stringify({ call: 1, expires: 9e15 }))
    .replace(/=+$/, "");
  await refused(
    4,
    retry(4, `${forged}.${mac}`, {}, "where", { a: 1, b: [1, 2] }),
    MISMATCH,
  );
  await refused(
    5,
    retry(5, `${body}`, {}, "where", { a: 1, b: [1, 2] }),
    /is not one this server gave/,
  );
  await refused(
    6,
    retry(6, 42, {}, "where", { a: 1, b: [1, 2] }),
    /"requestState" must be a string/,
  );
  // Without the 2026 _meta it would run as a legacy call: refused instead.
  const bare = retry(9, state, {}, "where", { a: 1, b: [1, 2] }) as {
    params: Record<string, unknown>;
  };
  delete bare.params._meta;
  await refused(9, bare, /"requestState" is the 2026-07-28 era's/);
  await refused(
    7,
    retry(7, state, [], "where", { a: 1, b: [1, 2] }),
    /"inputResponses" must be an object/,
  );
  // Keys in another order are the same arguments; the call is still there.
  session.send(
    retry(8, state, { "roots-1": ROOTS }, "where", { b: [1, 2], a: 1 }),
  );
  await session.next(); // progress
  assert.match(
    await session.next(),
    /"id":8,"result":\{"content":\[\{"type":"text","text":"\[\{\\"uri\\"/,
  );
  await session.end();
});

Deno.test("a result a suspended call ends with waits for the retry; a malformed answer is the tool's error", async () => {
  const session = new Session({ tools });
  session.send(first(1, "fast"));
  const asked = (await session.nextJson()).result as Record<string, unknown>;
  await new Promise((resolve) => setTimeout(resolve, 100)); // it ends meanwhile
  session.send(retry(2, asked.requestState, {}, "fast"));
  assert.match(
    await session.next(),
    /"id":2,"result":\{"content":\[\{"type":"text","text":"done without roots"\}\],"resultType":"complete"/,
  );

  session.send(first(3));
  await session.next(); // progress
  const again = (await session.nextJson()).result as Record<string, unknown>;
  session.send(retry(4, again.requestState, { "roots-1": { nope: true } }));
  assert.match(
    await session.next(),
    /"id":4,"result":\{"content":\[\{"type":"text","text":"The client's roots\/list result has no \\"roots\\" array"\}\],"isError":true/,
  );
  await session.end();
});

Deno.test("a suspended call keeps its timeout, and the retry learns it timed out; a client without roots gets undefined", async () => {
  const slow = toolSet({
    where: defineTool({
      description: "Waits for roots.",
      timeoutMs: 100,
      run: async (_args, ctx) => JSON.stringify(await ctx.roots() ?? null),
    }),
  });
  const session = new Session({ tools: slow });
  session.send(first(1));
  const asked = (await session.nextJson()).result as Record<string, unknown>;
  await new Promise((resolve) => setTimeout(resolve, 250));
  session.send(retry(2, asked.requestState, { "roots-1": ROOTS }));
  assert.match(
    await session.next(),
    /"id":2,"result":\{"content":\[\{"type":"text","text":"Tool \\"where\\" timed out after 100 ms[^"]*"\}\],"isError":true/,
  );
  // No roots capability declared: nothing is asked.
  session.send(modern(call(3, "where")));
  assert.match(
    await session.next(),
    /"id":3,"result":\{"content":\[\{"type":"text","text":"null"\}\]/,
  );
  await session.end();
});

Deno.test("a tool in its worker gets the roots of a 2026 client through the retry (spawned server)", async () => {
  await using dir = await tempDir({
    "where.ts": `import { defineTool } from "tooldrop";
import { z } from "zod";
export default defineTool({
  description: "Reports the client's roots.",
  run: async (_args, ctx) => JSON.stringify(await ctx.roots() ?? null),
});
`,
  });
  const server = new ServerProcess(serverArgs(dir.path));
  await server.send(first(1));
  const asked = (await server.reply(1)).result as Record<string, unknown>;
  assert.deepEqual(asked.inputRequests, {
    "roots-1": { method: "roots/list", params: {} },
  });
  await server.send(retry(2, asked.requestState, { "roots-1": ROOTS }));
  const done = (await server.reply(2)).result as Record<string, unknown>;
  assert.deepEqual(done.content, [{
    type: "text",
    text: `[{"uri":"file:///home/me/project","name":"Project"}]`,
  }]);
  assert.equal(done.resultType, "complete");
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});
