/**
 * Multi round-trip requests behind a load balancer (issue 17, item 8): instances that share the
 * request-state key accept each other's states. A retry that reaches an instance that does not
 * hold the suspended call runs the call there again from the start, its questions answered from
 * the state's carried answers and the retry's, in the order the tool asks them.
 */

import assert from "node:assert/strict";
import { defineTool } from "tooldrop";
import { z } from "zod";
import { call, modern } from "./requests.ts";
import { Session, toolSet } from "./wire.ts";

let runs = 0;
const tools = toolSet({
  plan: defineTool({
    description: "Asks for the roots, then for a name, then answers with both.",
    run: async (_args, ctx) => {
      runs++;
      const roots = await ctx.roots();
      const answer = await ctx.elicit({
        message: "Your name?",
        schema: z.object({ name: z.string() }),
      });
      return `${roots?.[0]?.name ?? "none"} / ${
        answer.action === "accept" ? answer.content.name : answer.action
      }`;
    },
  }),
});

const KEY = new Uint8Array(32).fill(7);
const CAPS = {
  "io.modelcontextprotocol/clientCapabilities": {
    roots: {},
    elicitation: { form: {} },
  },
};
const first = (id: number) => modern(call(id, "plan"), CAPS);
const retry = (id: number, state: string, responses: unknown) => {
  const message = first(id) as { params: Record<string, unknown> };
  message.params.requestState = state;
  message.params.inputResponses = responses;
  return message;
};
const ROOTS = { roots: [{ uri: "file:///p", name: "Project" }] };
const NAME = { action: "accept", content: { name: "Ada" } };

/** The input requests and state of an `input_required` reply. */
async function asked(session: Session, id: number) {
  const reply = await session.nextJson() as {
    id: number;
    result: {
      resultType: string;
      inputRequests: Record<string, { method: string }>;
      requestState: string;
    };
  };
  assert.equal(reply.id, id);
  assert.equal(reply.result.resultType, "input_required");
  return {
    keys: Object.entries(reply.result.inputRequests).map(([key, r]) =>
      `${key}:${r.method}`
    ),
    state: reply.result.requestState,
  };
}

Deno.test("a retry that reaches another instance with the same key runs the call again there, with every answer so far", async () => {
  runs = 0;
  const a = new Session({ tools, stateKey: KEY });
  const b = new Session({ tools, stateKey: KEY });
  a.send(first(1));
  const one = await asked(a, 1);
  assert.deepEqual(one.keys, ["roots-1:roots/list"]);
  // The retry lands on b: the call runs again; roots-1 is answered at once, then it asks more.
  b.send(retry(2, one.state, { "roots-1": ROOTS }));
  const two = await asked(b, 2);
  assert.deepEqual(two.keys, ["elicitation-2:elicitation/create"]);
  // And back on a: a's own call is still suspended, but this state is b's: a runs it again.
  a.send(retry(3, two.state, { "elicitation-2": NAME }));
  const done = await a.nextJson() as {
    id: number;
    result: { content: Array<{ text: string }> };
  };
  assert.equal(done.id, 3);
  assert.equal(done.result.content[0]!.text, "Project / Ada");
  assert.equal(runs, 3); // a, then b again, then a again
  await a.end();
  await b.end();
});

Deno.test("without the shared key another instance refuses the state; within one instance a used state stays used", async () => {
  const a = new Session({ tools, stateKey: KEY });
  const other = new Session({ tools });
  a.send(first(1));
  const one = await asked(a, 1);
  other.send(retry(2, one.state, { "roots-1": ROOTS }));
  assert.match(
    await other.next(),
    /"id":2,"error":\{"code":-32602,"message":"Invalid params: \\"requestState\\" does not match this request \(another tool or other arguments\), or was given by an earlier run of the server \(or one with another key\); call the tool again without it"/,
  );
  // On a itself the state resumes the call once; used again, it is refused.
  a.send(retry(3, one.state, { "roots-1": ROOTS }));
  await asked(a, 3);
  a.send(retry(4, one.state, { "roots-1": ROOTS }));
  assert.match(
    await a.next(),
    /"id":4,"error":\{"code":-32602,"message":"Invalid params: the call this \\"requestState\\" resumes has ended/,
  );
  await a.end();
  await other.end();
});

Deno.test("a state key shorter than 32 bytes is refused", () => {
  assert.throws(
    () => new Session({ tools, stateKey: new Uint8Array(16) }),
    /stateKey has 16 bytes; a request state key needs at least 32/,
  );
});
