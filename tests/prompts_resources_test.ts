/**
 * Prompts, resources and completions at the wire, in both eras (issue 16, items 2–4): exact
 * lines in, exact lines out, each error row of the design, and `input_required` on
 * `prompts/get` and `resources/read` in the 2026-07-28 era.
 */

import assert from "node:assert/strict";
import { definePrompt, defineResource, defineTool, ToolError } from "tooldrop";
import { z } from "zod";
import { initialize, type Message, modern } from "./requests.ts";
import { Session, toolSet } from "./wire.ts";

const SERVER =
  `{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"0.1.0"}}`;

const set = toolSet({
  echo: defineTool({
    description: "Echoes.",
    input: z.object({ text: z.string() }),
    run: ({ text }) => text,
  }),
}, {
  prompts: {
    review: definePrompt({
      title: "Code review",
      description: "Reviews code for bugs.",
      args: z.object({
        code: z.string().describe("The code"),
        language: z.string().optional().describe("Its language"),
      }),
      complete: {
        language: (value) =>
          ["python", "pypy", "go"].filter((l) => l.startsWith(value)),
      },
      get: ({ code }) => `Review this code:\n${code}`,
    }),
    refuse: definePrompt({
      description: "Refuses.",
      get: () => {
        throw new ToolError("Not today");
      },
    }),
    broken: definePrompt({
      description: "Breaks.",
      get: () => {
        throw new TypeError("boom");
      },
    }),
    where: definePrompt({
      description: "Asks for the roots.",
      get: async (_args, ctx) =>
        `roots: ${JSON.stringify(await ctx.roots() ?? null)}`,
    }),
  },
  resources: {
    readme: defineResource({
      uri: "docs://readme",
      description: "The README.",
      mimeType: "text/markdown",
      read: () => "# Hello",
    }),
    note: defineResource({
      uriTemplate: "notes://{name}",
      description: "A note by name.",
      cache: { ttlMs: 60000 },
      complete: {
        name: (value) =>
          ["todo", "tomorrow"].filter((n) => n.startsWith(value)),
      },
      read: ({ name }) => name === "missing" ? undefined : `note ${name}`,
    }),
    logo: defineResource({
      uri: "img://logo",
      description: "Bytes.",
      read: () => new Uint8Array([0, 1, 2, 255]),
    }),
  },
});

const M = {
  "io.modelcontextprotocol/clientCapabilities": { roots: {} },
};
function request(
  id: number,
  method: string,
  params?: Record<string, unknown>,
): Message {
  return params
    ? { jsonrpc: "2.0", id, method, params }
    : { jsonrpc: "2.0", id, method };
}

async function legacy() {
  const session = new Session({ tools: set });
  session.send(initialize("init"));
  const hello = await session.nextJson();
  return { session, hello };
}

Deno.test("capabilities: prompts, resources and completions are advertised in both eras when served", async () => {
  const { session, hello } = await legacy();
  assert.deepEqual((hello.result as { capabilities: unknown }).capabilities, {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { subscribe: true, listChanged: true },
    completions: {},
    logging: {},
  });
  session.send(modern(request(1, "server/discover")));
  const discovered = (await session.nextJson()).result as {
    capabilities: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(discovered.capabilities), [
    "tools",
    "prompts",
    "resources",
    "completions",
    "logging",
  ]);
  await session.end();
  // A server of tools only advertises none of them.
  const only = new Session({ tools: toolSet({}) });
  only.send(initialize("init"));
  assert.deepEqual(
    ((await only.nextJson()).result as { capabilities: unknown }).capabilities,
    { tools: { listChanged: true }, logging: {} },
  );
  await only.end();
});

Deno.test("prompts/list and prompts/get, legacy and 2026", async () => {
  const { session } = await legacy();
  session.send(request(1, "prompts/list"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"review","title":"Code review","description":"Reviews code for bugs.","arguments":[{"name":"code","description":"The code","required":true},{"name":"language","description":"Its language","required":false}]},{"name":"refuse","description":"Refuses."},{"name":"broken","description":"Breaks."},{"name":"where","description":"Asks for the roots."}]}}`,
  );
  session.send(
    request(2, "prompts/get", { name: "review", arguments: { code: "x = 1" } }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"result":{"messages":[{"role":"user","content":{"type":"text","text":"Review this code:\\nx = 1"}}]}}`,
  );
  session.send(
    modern(
      request(3, "prompts/get", { name: "review", arguments: { code: "y" } }),
    ),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"messages":[{"role":"user","content":{"type":"text","text":"Review this code:\\ny"}}],"resultType":"complete","_meta":${SERVER}}}`,
  );
  session.send(modern(request(4, "prompts/list")));
  const list = (await session.nextJson()).result as Record<string, unknown>;
  assert.equal(list.ttlMs, 3_600_000);
  assert.equal(list.cacheScope, "public");
  assert.equal(list.resultType, "complete");
  session.send(request(5, "prompts/list", { cursor: "x" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Invalid params: unknown cursor (prompts/list returns every prompt on one page)"}}`,
  );
  await session.end();
});

Deno.test("prompts/get errors: name, unknown prompt, arguments, ToolError, a throw", async () => {
  const { session } = await legacy();
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      {},
      `{"code":-32602,"message":"Invalid params: \\"name\\" must be a string"}`,
    ],
    [
      { name: "nope" },
      `{"code":-32602,"message":"Invalid params: unknown prompt \\"nope\\"","data":{"prompts":["review","refuse","broken","where"]}}`,
    ],
    [
      { name: "review", arguments: { code: 5 } },
      `{"code":-32602,"message":"Invalid params: \\"arguments\\" must be an object of strings"}`,
    ],
    [
      { name: "review", arguments: {} },
      `{"code":-32602,"message":"Invalid params: arguments of prompt \\"review\\": code: required (expected string)"}`,
    ],
    [{ name: "refuse" }, `{"code":-32602,"message":"Not today"}`],
    [
      { name: "broken" },
      `{"code":-32603,"message":"Internal error: prompt \\"broken\\" failed: TypeError: boom"}`,
    ],
  ];
  let id = 0;
  for (const [params, error] of cases) {
    session.send(request(++id, "prompts/get", params));
    assert.equal(
      await session.next(),
      `{"jsonrpc":"2.0","id":${id},"error":${error}}`,
    );
  }
  await session.end();
});

Deno.test("resources/list, templates/list and read, with not-found in each era's code and cache hints in 2026", async () => {
  const { session } = await legacy();
  session.send(request(1, "resources/list"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"docs://readme","name":"readme","description":"The README.","mimeType":"text/markdown"},{"uri":"img://logo","name":"logo","description":"Bytes."}]}}`,
  );
  session.send(request(2, "resources/templates/list"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"result":{"resourceTemplates":[{"uriTemplate":"notes://{name}","name":"note","description":"A note by name."}]}}`,
  );
  session.send(request(3, "resources/read", { uri: "notes://todo" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"contents":[{"uri":"notes://todo","mimeType":"text/plain","text":"note todo"}]}}`,
  );
  session.send(
    modern(request(4, "resources/read", { uri: "notes://todo" })),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":4,"result":{"contents":[{"uri":"notes://todo","mimeType":"text/plain","text":"note todo"}],"ttlMs":60000,"cacheScope":"private","resultType":"complete","_meta":${SERVER}}}`,
  );
  session.send(request(5, "resources/read", { uri: "img://logo" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":5,"result":{"contents":[{"uri":"img://logo","mimeType":"application/octet-stream","blob":"AAEC/w=="}]}}`,
  );
  session.send(request(6, "resources/read", { uri: "nope://x" }));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":6,"error":{"code":-32002,"message":"Resource not found","data":{"uri":"nope://x"}}}`,
  );
  session.send(modern(request(7, "resources/read", { uri: "nope://x" })));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Resource not found","data":{"uri":"nope://x"}}}`,
  );
  // A template that matches, whose read says there is no such resource.
  session.send(request(8, "resources/read", { uri: "notes://missing" }));
  assert.match(
    await session.next(),
    /^\{"jsonrpc":"2.0","id":8,"error":\{"code":-32002,"message":"[^"]*","data":\{"uri":"notes:\/\/missing"\}\}\}$/,
  );
  // Traversal through an escaped slash matches no template.
  session.send(request(9, "resources/read", { uri: "notes://a%2F..%2Fb" }));
  assert.match(await session.next(), /"id":9,"error":\{"code":-32002/);
  session.send(request(10, "resources/read", {}));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":10,"error":{"code":-32602,"message":"Invalid params: \\"uri\\" must be a string"}}`,
  );
  await session.end();
});

Deno.test("completion/complete for a prompt argument and a template variable; what nothing completes is empty", async () => {
  const { session } = await legacy();
  session.send(
    request(1, "completion/complete", {
      ref: { type: "ref/prompt", name: "review" },
      argument: { name: "language", value: "py" },
    }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"completion":{"values":["python","pypy"],"total":2,"hasMore":false}}}`,
  );
  session.send(
    modern(request(2, "completion/complete", {
      ref: { type: "ref/resource", uri: "notes://{name}" },
      argument: { name: "name", value: "to" },
      context: { arguments: {} },
    })),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":2,"result":{"completion":{"values":["todo","tomorrow"],"total":2,"hasMore":false},"resultType":"complete","_meta":${SERVER}}}`,
  );
  session.send(
    request(3, "completion/complete", {
      ref: { type: "ref/prompt", name: "review" },
      argument: { name: "code", value: "" },
    }),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"completion":{"values":[],"hasMore":false}}}`,
  );
  const errors: Array<[Record<string, unknown>, RegExp]> = [
    [{
      ref: { type: "ref/prompt", name: "nope" },
      argument: { name: "a", value: "" },
    }, /unknown prompt \\"nope\\"/],
    [{
      ref: { type: "ref/prompt", name: "review" },
      argument: { name: "zzz", value: "" },
    }, /prompt \\"review\\" has no argument \\"zzz\\"/],
    [
      { ref: { type: "ref/other" }, argument: { name: "a", value: "" } },
      /unknown ref type/,
    ],
    [{ ref: { type: "ref/prompt", name: "review" } }, /\\"argument\\" must be/],
  ];
  let id = 10;
  for (const [params, message] of errors) {
    session.send(request(++id, "completion/complete", params));
    const line = await session.next();
    assert.match(line, new RegExp(`"id":${id},"error":\\{"code":-32602`));
    assert.match(line, message);
  }
  await session.end();
});

Deno.test("2026: prompts/get asks for roots by input_required and resumes on the retry; a tools/call state cannot resume it", async () => {
  const session = new Session({ tools: set });
  session.send(modern(request(1, "prompts/get", { name: "where" }), M));
  const asked = (await session.nextJson()).result as Record<string, unknown>;
  assert.equal(asked.resultType, "input_required");
  assert.deepEqual(asked.inputRequests, {
    "roots-1": { method: "roots/list", params: {} },
  });
  // The state is bound to the prompt: presented on a tools/call it does not match.
  session.send(
    modern(
      request(2, "tools/call", {
        name: "echo",
        arguments: { text: "x" },
        requestState: asked.requestState,
        inputResponses: {},
      }),
      M,
    ),
  );
  assert.match(
    await session.next(),
    /"id":2,"error":\{"code":-32602,.*does not match/,
  );
  session.send(
    modern(
      request(3, "prompts/get", {
        name: "where",
        requestState: asked.requestState,
        inputResponses: { "roots-1": { roots: [{ uri: "file:///p" }] } },
      }),
      M,
    ),
  );
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":3,"result":{"messages":[{"role":"user","content":{"type":"text","text":"roots: [{\\"uri\\":\\"file:///p\\"}]"}}],"resultType":"complete","_meta":${SERVER}}}`,
  );
  await session.end();
});
