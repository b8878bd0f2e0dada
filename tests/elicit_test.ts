/**
 * `ctx.elicit`, `ctx.sample` and `ctx.client`, at the wire in both eras: a legacy client is
 * sent `elicitation/create` / `sampling/createMessage`; a 2026-07-28 client gets them as input
 * requests of an `input_required` result and answers by retrying the call.
 */

import assert from "node:assert/strict";
import { callTool, defineTool } from "tooldrop";
import { z } from "zod";
import { call, initialize, modern, response } from "./requests.ts";
import { serverArgs, ServerProcess, tempDir } from "./spawn.ts";
import { Session, toolSet } from "./wire.ts";

const confirm = defineTool({
  description: "Asks the user to confirm, by a form.",
  run: async (_args, ctx) => {
    const answer = await ctx.elicit({
      message: "Delete 5 files?",
      schema: z.object({
        sure: z.boolean().describe("Yes, delete them"),
        reason: z.string().max(40).optional(),
        mode: z.enum(["trash", "forever"]),
      }),
    });
    return JSON.stringify(answer);
  },
});
const signIn = defineTool({
  description: "Sends the user to a page.",
  run: async (_args, ctx) =>
    JSON.stringify(
      await ctx.elicit({
        message: "Sign in",
        url: "https://example.com/login",
      }),
    ),
});
const summarize = defineTool({
  description: "Asks the client's model.",
  run: async (_args, ctx) => {
    const answer = await ctx.sample({ messages: "Say hi", maxTokens: 10 });
    return `${answer.model}: ${JSON.stringify(answer.content)}`;
  },
});
const who = defineTool({
  description: "Says which client called.",
  run: (_args, ctx) => JSON.stringify(ctx.client),
});
const tools = toolSet({ confirm, signIn, summarize, who });

const FORM =
  `{"type":"object","properties":{"sure":{"type":"boolean","description":"Yes, delete them"},"reason":{"type":"string","maxLength":40},"mode":{"type":"string","enum":["trash","forever"]}},"required":["sure","mode"]}`;
const hello = (capabilities: Record<string, unknown>) =>
  initialize("init", "2025-11-25", { capabilities });
const text = (line: string) => JSON.parse(line).result.content[0].text;

Deno.test("legacy era: ctx.elicit sends elicitation/create with the form's schema and checks the answer", async () => {
  const session = new Session({ tools });
  session.send(hello({ elicitation: {} }));
  await session.next();
  session.send(call(1, "confirm"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":"tooldrop-1","method":"elicitation/create","params":{"message":"Delete 5 files?","requestedSchema":${FORM}}}`,
  );
  session.send(
    response("tooldrop-1", {
      action: "accept",
      content: { sure: true, mode: "trash" },
    }),
  );
  assert.equal(
    text(await session.next()),
    `{"action":"accept","content":{"sure":true,"mode":"trash"}}`,
  );
  // An answer that does not fit the form is the tool's error; decline is an answer.
  session.send(call(2, "confirm"));
  await session.next();
  session.send(
    response("tooldrop-2", { action: "accept", content: { sure: "yes" } }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"The user's answer does not fit the form: sure: Invalid input: expected boolean, received string; mode: Invalid option: expected one of \\"trash\\"|\\"forever\\""}],"isError":true}}`,
  );
  session.send(call(3, "confirm"));
  await session.next();
  session.send(response("tooldrop-3", { action: "decline" }));
  assert.equal(text(await session.next()), `{"action":"decline"}`);
  await session.end();
});

Deno.test("what the client did not declare is refused with a clear error: forms, pages, sampling", async () => {
  const session = new Session({ tools });
  session.send(hello({ elicitation: { form: {} } }));
  await session.next();
  session.send(call(1, "signIn"));
  assert.match(
    await session.next(),
    /"id":1,"result":\{"content":\[\{"type":"text","text":"The client \\"test\\" did not declare the \\"elicitation.url\\" capability, so it cannot open a page; check ctx.client.capabilities and fall back"\}\],"isError":true/,
  );
  session.send(call(2, "summarize"));
  assert.match(
    await session.next(),
    /"id":2,.*did not declare the \\"sampling\\" capability, so it cannot answer with its model/,
  );
  session.send(modern(call(3, "confirm")));
  assert.match(
    await session.next(),
    /"id":3,.*The client \\"modern\\" did not declare the \\"elicitation\\" capability, so it cannot show a form/,
  );
  await session.end();
});

Deno.test("legacy era: ctx.sample and url elicitation reach the client and come back", async () => {
  const session = new Session({ tools });
  session.send(hello({ sampling: {}, elicitation: { url: {} } }));
  await session.next();
  session.send(call(1, "summarize"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":"tooldrop-1","method":"sampling/createMessage","params":{"maxTokens":10,"messages":[{"role":"user","content":{"type":"text","text":"Say hi"}}]}}`,
  );
  session.send(
    response("tooldrop-1", {
      role: "assistant",
      content: { type: "text", text: "hi" },
      model: "m1",
    }),
  );
  assert.equal(text(await session.next()), `m1: {"type":"text","text":"hi"}`);
  session.send(call(2, "signIn"));
  const asked = await session.nextJson();
  const params = asked.params as Record<string, unknown>;
  assert.equal(params.mode, "url");
  assert.equal(params.url, "https://example.com/login");
  assert.match(String(params.elicitationId), /^[0-9a-f-]{36}$/);
  session.send(response(asked.id as string, { action: "accept" }));
  assert.equal(text(await session.next()), `{"action":"accept"}`);
  await session.end();
});

Deno.test("2026 era: an elicitation goes out as an input request and its answer comes back on the retry", async () => {
  const session = new Session({ tools });
  const meta = {
    "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
  };
  session.send(modern(call(1, "confirm"), meta));
  const asked = (await session.nextJson()).result as Record<string, unknown>;
  assert.equal(
    JSON.stringify(asked.inputRequests),
    `{"elicitation-1":{"method":"elicitation/create","params":{"message":"Delete 5 files?","requestedSchema":${FORM}}}}`,
  );
  const retry = modern(call(2, "confirm"), meta) as {
    params: Record<string, unknown>;
  };
  retry.params.requestState = asked.requestState;
  retry.params.inputResponses = {
    "elicitation-1": {
      action: "accept",
      content: { sure: false, mode: "forever" },
    },
  };
  session.send(retry);
  assert.equal(
    text(await session.next()),
    `{"action":"accept","content":{"sure":false,"mode":"forever"}}`,
  );
  await session.end();
});

Deno.test("ctx.client names the client and what it declared, in either era", async () => {
  const session = new Session({ tools });
  session.send(call(1, "who"));
  assert.equal(
    text(await session.next()),
    `{"capabilities":{}}`,
  );
  session.send(hello({ roots: {} }));
  await session.next();
  session.send(call(2, "who"));
  assert.equal(
    text(await session.next()),
    `{"name":"test","version":"1","capabilities":{"roots":{}}}`,
  );
  session.send(
    modern(call(3, "who"), {
      "io.modelcontextprotocol/clientCapabilities": { sampling: {} },
    }),
  );
  assert.equal(
    text(await session.next()),
    `{"name":"modern","version":"1","capabilities":{"sampling":{}}}`,
  );
  await session.end();
});

Deno.test("a form with nested fields is refused before anything is asked", async () => {
  const nested = toolSet({
    nested: defineTool({
      description: "Asks for an object.",
      run: async (_args, ctx) =>
        JSON.stringify(
          await ctx.elicit({
            message: "Where?",
            schema: z.object({ place: z.object({ city: z.string() }) }),
          }),
        ),
    }),
  });
  const session = new Session({ tools: nested });
  session.send(hello({ elicitation: {} }));
  await session.next();
  session.send(call(1, "nested"));
  assert.match(
    await session.next(),
    /"id":1,.*ctx.elicit: field \\"place\\" must be a string, number, boolean or enum/,
  );
  await session.end();
});

Deno.test("callTool's client answers a tool's questions in its test", async () => {
  const client = {
    elicit: () => ({
      action: "accept",
      content: { sure: true, mode: "trash" },
    }),
    sample: () => ({
      role: "assistant" as const,
      content: { type: "text" as const, text: "hello" },
      model: "fake",
    }),
  };
  const inThread = await callTool(confirm, {}, { client });
  assert.deepEqual(inThread.content, [{
    type: "text",
    text: `{"action":"accept","content":{"sure":true,"mode":"trash"}}`,
  }]);
  const sampled = await callTool(summarize, {}, { client });
  assert.deepEqual(sampled.content, [{
    type: "text",
    text: `fake: {"type":"text","text":"hello"}`,
  }]);
  const without = await callTool(summarize, {});
  assert.equal(without.isError, true);
});

Deno.test("a tool in its worker elicits in the 2026 era and sees its client (spawned server)", async () => {
  await using dir = await tempDir({
    "ask.ts": `import { defineTool } from "tooldrop";
import { z } from "zod";
export default defineTool({
  description: "Asks a name.",
  run: async (_args, ctx) => {
    const answer = await ctx.elicit({ message: "Name?", schema: z.object({ name: z.string() }) });
    return ctx.client.name + " " + JSON.stringify(answer);
  },
});
`,
  });
  const server = new ServerProcess(serverArgs(dir.path));
  const meta = {
    "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
  };
  await server.send(modern(call(1, "ask"), meta));
  const asked = (await server.reply(1)).result as Record<string, unknown>;
  assert.deepEqual(asked.inputRequests, {
    "elicitation-1": {
      method: "elicitation/create",
      params: {
        message: "Name?",
        requestedSchema: {
          type: "object",
          properties: { name: { type: "string" } },
          required: ["name"],
        },
      },
    },
  });
  const retry = modern(call(2, "ask"), meta) as {
    params: Record<string, unknown>;
  };
  retry.params.requestState = asked.requestState;
  retry.params.inputResponses = {
    "elicitation-1": { action: "accept", content: { name: "Ada" } },
  };
  await server.send(retry);
  const done = (await server.reply(2)).result as Record<string, unknown>;
  assert.deepEqual(done.content, [{
    type: "text",
    text: `modern {"action":"accept","content":{"name":"Ada"}}`,
  }]);
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

Deno.test("legacy era: a question whose call ends is cancelled at the client", async () => {
  const slow = toolSet({
    ask: defineTool({
      description: "Asks, with a short timeout.",
      timeoutMs: 50,
      run: async (_args, ctx) =>
        JSON.stringify(
          await ctx.elicit({
            message: "?",
            schema: z.object({ a: z.string() }),
          }),
        ),
    }),
  });
  const session = new Session({ tools: slow });
  session.send(hello({ elicitation: {} }));
  await session.next();
  session.send(call(1, "ask"));
  assert.match(
    await session.next(),
    /"id":"tooldrop-1","method":"elicitation\/create"/,
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"tooldrop-1","reason":"The tool's call ended"}}`,
  );
  assert.match(await session.next(), /"id":1,.*timed out after 50 ms/);
  await session.end();
});

Deno.test("a form keeps titled choices: a multi-select of { const, title } and enumNames reach the client as written", async () => {
  const titled = toolSet({
    pick: defineTool({
      description: "Asks for colours.",
      run: async (_args, ctx) =>
        JSON.stringify(
          await ctx.elicit({
            message: "Colours?",
            schema: z.object({
              colours: z.array(z.enum(["r", "g"])).meta({
                items: {
                  anyOf: [{ const: "r", title: "Red" }, {
                    const: "g",
                    title: "Green",
                  }],
                },
              }),
              size: z.enum(["s", "l"]).meta({ enumNames: ["Small", "Large"] }),
            }),
          }),
        ),
    }),
  });
  const session = new Session({ tools: titled });
  session.send(hello({ elicitation: {} }));
  await session.next();
  session.send(call(1, "pick"));
  const asked = JSON.parse(await session.next());
  assert.equal(asked.method, "elicitation/create");
  const { properties } = asked.params.requestedSchema;
  assert.deepEqual(properties.colours.items.anyOf, [
    { const: "r", title: "Red" },
    { const: "g", title: "Green" },
  ]);
  assert.deepEqual(properties.size.enumNames, ["Small", "Large"]);
  session.send(
    response(asked.id, {
      action: "accept",
      content: { colours: ["g"], size: "l" },
    }),
  );
  assert.equal(
    text(await session.next()),
    `{"action":"accept","content":{"colours":["g"],"size":"l"}}`,
  );
  await session.end();
});
