/**
 * Hostile retries of the 2026-07-28 multi round-trip pattern: whatever a client puts in
 * `requestState` and `inputResponses`, the server answers each request once, keeps serving, and
 * holds a bounded number of suspended calls and questions.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { z } from "zod";
import { call, modern, ping } from "../requests.ts";
import { Session, toolSet } from "../wire.ts";

const tools = toolSet({
  where: defineTool({
    description: "Reports the client's roots.",
    run: async (_args, ctx) => JSON.stringify(await ctx.roots() ?? null),
  }),
  many: defineTool({
    description: "Asks 20 questions at once.",
    run: async (_args, ctx) => {
      const asked = await Promise.allSettled(
        Array.from({ length: 20 }, () => ctx.roots()),
      );
      return asked.map((a) => a.status).join(",");
    },
  }),
  form: defineTool({
    description: "Asks a form.",
    run: async (_args, ctx) =>
      JSON.stringify(
        await ctx.elicit({
          message: "n?",
          schema: z.object({ n: z.number().max(5) }),
        }),
      ),
  }),
});

const META = {
  "io.modelcontextprotocol/clientCapabilities": {
    roots: {},
    elicitation: {},
  },
};
const first = (id: number | string, name = "where") =>
  modern(call(id, name), META);
function retry(
  id: number | string,
  state: unknown,
  responses: unknown,
  name = "where",
) {
  const message = first(id, name) as { params: Record<string, unknown> };
  message.params.requestState = state;
  message.params.inputResponses = responses;
  return message;
}

async function asked(session: Session, id: number | string, name = "where") {
  session.send(first(id, name));
  const reply = await session.nextJson();
  assert.equal(reply.id, id);
  return reply.result as {
    inputRequests: Record<string, unknown>;
    requestState: string;
  };
}

const PONG = `{"jsonrpc":"2.0","id":"after","result":{}}`;

Deno.test("hostile answers: proto keys, huge and deep values, wrong types are the tool's error or asked again; the server keeps serving", async () => {
  const session = new Session({ tools });
  const answers: Array<[string, unknown, RegExp]> = [
    [
      "a __proto__ key",
      JSON.parse(`{"__proto__":{"roots":[]}}`),
      /"inputRequests":\{"roots-1"/,
    ],
    ["an answer that is a string", { "roots-1": "x" }, /no \\"roots\\" array/],
    [
      "roots that are not objects",
      { "roots-1": { roots: [1, null, "x", { uri: 5 }] } },
      /"text":"\[\]"/,
    ],
    [
      "a deep answer",
      { "roots-1": { roots: JSON.parse("[".repeat(2000) + "]".repeat(2000)) } },
      /"text":"\[\]"/,
    ],
  ];
  let id = 0;
  for (const [what, responses, expected] of answers) {
    const state = (await asked(session, ++id)).requestState;
    session.send(retry(++id, state, responses));
    session.send(ping("after"));
    // The ping may be answered first: asking again waits a turn.
    const lines = [await session.next(), await session.next()];
    assert.ok(lines.includes(PONG), what);
    const reply = lines.find((line) => line !== PONG)!;
    assert.match(reply, expected, what);
    assert.match(reply, new RegExp(`"id":${id},`), what);
    if (/inputRequests/.test(reply)) {
      // Asked again: answer properly, so nothing is left suspended.
      const again = JSON.parse(reply).result.requestState;
      session.send(retry(++id, again, { "roots-1": { roots: [] } }));
      assert.match(await session.next(), /"text":"\[\]"/, what);
    }
  }
  // A form answer that does not fit is the tool's error, naming the field.
  const form = (await asked(session, "f1", "form")).requestState;
  session.send(
    retry("f2", form, {
      "elicitation-1": { action: "accept", content: { n: 9 } },
    }, "form"),
  );
  assert.match(
    await session.next(),
    /"id":"f2",.*does not fit the form: n: Too big/,
  );
  await session.end();
});

Deno.test("hostile states: huge, empty, many dots, other calls' and replayed states get -32602 and nothing else", async () => {
  const session = new Session({ tools });
  const { requestState } = await asked(session, 1);
  const states = [
    "",
    ".",
    "..",
    "a.b.c",
    "x".repeat(1_000_000),
    `${requestState}.x`,
    requestState.replace(/.$/, (c) => (c === "A" ? "E" : "A")),
    // The same signature bytes, written with the spare bits of its last character set: a
    // lenient decoder reads it as valid.
    requestState.replace(/.$/, (c) => spareBitsSet(c)),
    "%%%.$$$",
  ];
  let id = 100;
  for (const state of states) {
    session.send(retry(++id, state, {}));
    const reply = await session.nextJson();
    assert.equal(reply.id, id, state.slice(0, 20));
    assert.equal((reply.error as { code: number }).code, -32602);
  }
  // The real one still works once, then never again.
  session.send(retry(200, requestState, { "roots-1": { roots: [] } }));
  assert.match(await session.next(), /"id":200,.*"text":"\[\]"/);
  session.send(retry(201, requestState, { "roots-1": { roots: [] } }));
  assert.match(await session.next(), /"id":201,"error":\{"code":-32602/);
  await session.end();
});

Deno.test("the same state retried twice at once resumes the call once; the other retry is refused", async () => {
  const session = new Session({ tools });
  const { requestState } = await asked(session, 1);
  session.send(retry(2, requestState, { "roots-1": { roots: [] } }));
  session.send(retry(3, requestState, { "roots-1": { roots: [] } }));
  const replies = [await session.nextJson(), await session.nextJson()];
  const byId = new Map(replies.map((r) => [r.id, r]));
  const ok = [...byId.values()].filter((r) => r.result);
  const refused = [...byId.values()].filter((r) => r.error);
  assert.equal(ok.length, 1, JSON.stringify(replies));
  assert.equal(refused.length, 1, JSON.stringify(replies));
  await session.end();
});

Deno.test("a tool asking more questions at once than the bound gets errors for the rest, and the call still ends", async () => {
  const session = new Session({ tools });
  const { inputRequests, requestState } = await asked(session, 1, "many");
  assert.equal(Object.keys(inputRequests).length, 16);
  const responses = Object.fromEntries(
    Object.keys(inputRequests).map((key) => [key, { roots: [] }]),
  );
  session.send(retry(2, requestState, responses, "many"));
  assert.match(
    await session.next(),
    /"id":2,"result":\{"content":\[\{"type":"text","text":"(fulfilled,){15}fulfilled(,rejected){4}"\}\]/,
  );
  await session.end();
});

Deno.test("suspended calls hold their slots: past the concurrency bound, new calls wait; a timeout frees them", async () => {
  const slow = toolSet({
    where: defineTool({
      description: "Waits for roots.",
      timeoutMs: 150,
      run: async (_args, ctx) => JSON.stringify(await ctx.roots() ?? null),
    }),
  });
  const session = new Session({ tools: slow, maxConcurrentCalls: 2 });
  await asked(session, 1);
  await asked(session, 2);
  // Both slots are held by suspended calls: the third waits, then runs once one times out.
  session.send(first(3));
  session.send(ping("after"));
  assert.equal(await session.next(), PONG);
  const third = await session.nextJson();
  assert.equal(third.id, 3);
  assert.equal(
    (third.result as { resultType: string }).resultType,
    "input_required",
  );
  await session.end();
});

/** A base64url character with the same high four bits as `c` and its two low bits changed. */
function spareBitsSet(c: string): string {
  const alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return alphabet[alphabet.indexOf(c) ^ 1]!;
}
