import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool, ToolError, type ToolReturn } from "tooldrop";
import { call, jsonLines, listTools, ping } from "./requests.ts";
import { exchange, memoryLog, toolSet } from "./wire.ts";

const result = (id: number, body: unknown) =>
  `{"jsonrpc":"2.0","id":${id},"result":${JSON.stringify(body)}}`;

const text = (t: string) => ({ content: [{ type: "text", text: t }] });
const failure = (t: string) => ({
  content: [{ type: "text", text: t }],
  isError: true,
});

Deno.test("tools/list shows each tool's JSON Schema as the caller sees it", async () => {
  const tools = toolSet({
    greet: defineTool({
      title: "Greet",
      description: "Greets someone.",
      input: z.object({
        name: z.string().describe("Who to greet"),
        times: z.number().int().default(1).describe("How often"),
      }),
      annotations: { readOnlyHint: true },
      _meta: { "anthropic/maxResultSizeChars": 100000 },
      run: ({ name, times }) => `hi ${name}`.repeat(times),
    }),
    now: defineTool({ description: "No arguments.", run: () => "t" }),
  });
  const out = await exchange(
    jsonLines(listTools(1)),
    { tools },
  );
  // Parsed: the order of keys inside a JSON Schema carries no meaning.
  assert.deepEqual(out.map((line) => JSON.parse(line)), [
    JSON.parse(result(1, {
      tools: [
        {
          name: "greet",
          title: "Greet",
          description: "Greets someone.",
          inputSchema: {
            type: "object",
            properties: {
              name: { type: "string", description: "Who to greet" },
              times: {
                type: "integer",
                minimum: -9007199254740991,
                maximum: 9007199254740991,
                default: 1,
                description: "How often",
              },
            },
            required: ["name"],
          },
          annotations: { readOnlyHint: true },
          _meta: { "anthropic/maxResultSizeChars": 100000 },
        },
        {
          name: "now",
          description: "No arguments.",
          inputSchema: {
            type: "object",
            properties: {},
            additionalProperties: false,
          },
        },
      ],
    })),
  ]);
});

Deno.test("tools/call validates arguments and names each bad field in an isError result", async () => {
  const tools = toolSet({
    add: defineTool({
      description: "Adds.",
      input: z.object({
        a: z.number(),
        b: z.number(),
        tags: z.array(z.string()).optional(),
      }),
      run: ({ a, b }) => String(a + b),
    }),
  });
  const out = await exchange(
    jsonLines(
      call(1, "add", { a: 1, b: 2 }),
      call(2, "add", { a: "one", tags: [3] }),
      call(3, "add"),
    ),
    { tools },
  );
  assert.deepEqual(out, [
    result(1, text("3")),
    result(
      2,
      failure(
        'Invalid arguments for tool "add": a: expected number, received string; b: required (expected number); tags[0]: expected string, received number',
      ),
    ),
    result(
      3,
      failure(
        'Invalid arguments for tool "add": a: required (expected number); b: required (expected number)',
      ),
    ),
  ]);
});

Deno.test("tools/call gives -32602 for an unknown tool, a missing name and non-object arguments", async () => {
  const tools = toolSet({ t: defineTool({ description: "T", run: () => "" }) });
  const out = await exchange(
    jsonLines(
      call(1, "nope"),
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: {} },
      { jsonrpc: "2.0", id: 3, method: "tools/call" },
      call(4, "t", [1, 2]),
      call(5, "t", "x"),
    ),
    { tools },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: unknown tool \\"nope\\"","data":{"tools":["t"]}}}`,
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Invalid params: \\"name\\" must be a string"}}`,
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Invalid params: \\"name\\" must be a string"}}`,
    `{"jsonrpc":"2.0","id":4,"error":{"code":-32602,"message":"Invalid params: \\"arguments\\" must be an object"}}`,
    `{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"Invalid params: \\"arguments\\" must be an object"}}`,
  ]);
});

Deno.test("a ToolError reaches the model as isError with its message, and no stack is logged", async () => {
  const { log, lines } = memoryLog();
  const tools = toolSet({
    find: defineTool({
      description: "Finds.",
      run: () => {
        throw new ToolError('No note matches "x"; try a shorter query');
      },
    }),
  });
  const out = await exchange(jsonLines(call(1, "find")), { tools, log });
  assert.deepEqual(out, [
    result(1, failure('No note matches "x"; try a shorter query')),
  ]);
  assert.equal(lines.filter((l) => l.includes("at ")).length, 0);
});

Deno.test("any other throw gives a short isError message and the stack on stderr", async () => {
  const { log, lines } = memoryLog();
  const tools = toolSet({
    boom: defineTool({
      description: "Throws.",
      run: () => {
        throw new RangeError("index 9 is out of range");
      },
    }),
    reject: defineTool({
      description: "Rejects.",
      run: () => Promise.reject("plain string"),
    }),
  });
  const out = await exchange(jsonLines(call(1, "boom"), call(2, "reject")), {
    tools,
    log,
  });
  assert.deepEqual(out, [
    result(
      1,
      failure('Tool "boom" failed: RangeError: index 9 is out of range'),
    ),
    result(2, failure('Tool "reject" failed: plain string')),
  ]);
  const logged = lines.join("");
  assert.match(
    logged,
    /Tool "boom" threw\nRangeError: index 9 is out of range\n\s+at /,
  );
});

Deno.test("run may return a string, blocks, a whole result, JSON-able values or nothing", async () => {
  const image = {
    type: "image",
    data: "iVBORw0KGgo=",
    mimeType: "image/png",
  } as const;
  const link = {
    type: "resource_link",
    uri: "file:///a.txt",
    name: "a.txt",
  } as const;
  const embedded = {
    type: "resource",
    resource: { uri: "file:///b.txt", text: "b" },
  } as const;
  const audio = {
    type: "audio",
    data: "UklGRg==",
    mimeType: "audio/wav",
  } as const;
  const whole = {
    content: [{ type: "text", text: "x" }],
    structuredContent: { n: 1 },
  } as const;
  const tools = toolSet({
    str: defineTool({ description: "s", run: () => Promise.resolve("plain") }),
    one: defineTool({ description: "b", run: () => image }),
    many: defineTool({ description: "m", run: () => [link, embedded, audio] }),
    whole: defineTool({ description: "w", run: () => whole }),
    // The types refuse a plain object (it is no content); at run time it is still sent as JSON.
    obj: defineTool({
      description: "o",
      run: () => ({ a: [1, 2], b: null }) as unknown as ToolReturn,
    }),
    num: defineTool({ description: "n", run: () => 42 }),
    none: defineTool({ description: "v", run: () => {} }),
  });
  const names = ["str", "one", "many", "whole", "obj", "num", "none"];
  const out = await exchange(
    jsonLines(...names.map((n, i) => call(i + 1, n))),
    { tools },
  );
  // The async tool answers after the synchronous ones: order replies by id.
  out.sort((a, b) => JSON.parse(a).id - JSON.parse(b).id);
  assert.deepEqual(out, [
    result(1, text("plain")),
    result(2, { content: [image] }),
    result(3, { content: [link, embedded, audio] }),
    result(4, whole),
    result(5, text('{"a":[1,2],"b":null}')),
    result(6, text("42")),
    result(7, { content: [] }),
  ]);
});

Deno.test("a malformed content block becomes an isError result naming what is missing", async () => {
  const tools = toolSet({
    bad: defineTool({
      description: "b",
      run: () => ({ type: "image", data: "x" }) as unknown as string,
    }),
    worse: defineTool({
      description: "w",
      run: () => ({ content: ["text"] }) as unknown as string,
    }),
  });
  const out = await exchange(jsonLines(call(1, "bad"), call(2, "worse")), {
    tools,
  });
  assert.deepEqual(out, [
    result(
      1,
      failure(
        'Tool returned an invalid "image" content block: "mimeType" must be a string',
      ),
    ),
    result(
      2,
      failure(
        'Tool returned an invalid result: every item of "content" needs a "type" of text, image, audio, resource_link, resource',
      ),
    ),
  ]);
});

Deno.test("a failure inside the server itself gets -32603 and the server keeps serving", async () => {
  const { log, lines } = memoryLog();
  // A BigInt in _meta cannot be serialized, so building the tools/list reply throws.
  const tools = toolSet({
    odd: defineTool({ description: "o", _meta: { n: 1n }, run: () => "" }),
  });
  const out = await exchange(
    jsonLines(listTools(1), ping(2)),
    { tools, log },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error: the server failed to handle this request"}}`,
    `{"jsonrpc":"2.0","id":2,"result":{}}`,
  ]);
  assert.match(
    lines.join(""),
    /Internal error while handling a request\nTypeError/,
  );
});

Deno.test("echo returns 10 MiB of Unicode text unchanged", async () => {
  const tools = toolSet({
    echo: defineTool({
      description: "e",
      input: z.object({ text: z.string() }),
      run: (a) => a.text,
    }),
  });
  const big = 'é✓😀 "quoted" \\ \n\t'.repeat(10 * 1024 * 1024 / 16);
  const out = await exchange(jsonLines(call(1, "echo", { text: big })), {
    tools,
  });
  assert.equal(out.length, 1);
  const reply = JSON.parse(out[0]!);
  assert.equal(reply.result.content[0].text, big);
});

Deno.test("an input schema keeps $schema only when the tool declares it (.meta({ $schema }))", async () => {
  const dialect = "https://json-schema.org/draft/2020-12/schema";
  const tools = toolSet({
    plain: defineTool({
      description: "No dialect.",
      input: z.object({ a: z.string() }),
      run: () => "",
    }),
    declared: defineTool({
      description: "Names its dialect.",
      input: z.object({ a: z.string() }).meta({ $schema: dialect }),
      run: () => "",
    }),
  });
  const [reply] = await exchange(jsonLines(listTools(1)), { tools });
  const listed = JSON.parse(reply!).result.tools as Array<
    { name: string; inputSchema: Record<string, unknown> }
  >;
  const schemaOf = (name: string) =>
    listed.find((t) => t.name === name)!.inputSchema;
  assert.equal("$schema" in schemaOf("plain"), false);
  assert.equal(schemaOf("declared").$schema, dialect);
});
