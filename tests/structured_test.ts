/**
 * Structured output (`output` schemas) and the coercion of arguments sent as JSON strings.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { coerce } from "../src/server/arguments.ts";
import { defineTool } from "tooldrop";
import { call, jsonLines, listTools } from "./requests.ts";
import { exchange, memoryLog, toolSet } from "./wire.ts";

const stats = defineTool({
  description: "Counts words.",
  input: z.object({ text: z.string().describe("Text") }),
  output: z.object({
    words: z.number().describe("How many"),
    longest: z.string(),
  }),
  run: ({ text }) => {
    const words = text.split(/\s+/).filter(Boolean);
    return {
      words: words.length,
      longest: words.reduce((a, b) => (b.length > a.length ? b : a), ""),
    };
  },
});

Deno.test("a tool with an output schema advertises it in tools/list", async () => {
  const out = await exchange(
    jsonLines(listTools(1)),
    { tools: toolSet({ stats }) },
  );
  assert.deepEqual(JSON.parse(out[0]!).result.tools[0].outputSchema, {
    type: "object",
    properties: {
      words: { type: "number", description: "How many" },
      longest: { type: "string" },
    },
    required: ["words", "longest"],
    additionalProperties: false,
  });
});

Deno.test("a structured result is sent as structuredContent plus its JSON as text", async () => {
  const out = await exchange(
    jsonLines(call(1, "stats", { text: "a bb ccc" })),
    { tools: toolSet({ stats }) },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{\\"words\\":3,\\"longest\\":\\"ccc\\"}"}],"structuredContent":{"words":3,"longest":"ccc"}}}`,
  ]);
});

Deno.test("a result that does not match the output schema is an isError, and logged", async () => {
  const { log, lines } = memoryLog();
  const tools = toolSet({
    wrong: defineTool({
      description: "Breaks its promise.",
      output: z.object({ n: z.number() }),
      run: () => ({ n: "three" }) as unknown as { n: number },
    }),
  });
  const out = await exchange(jsonLines(call(1, "wrong")), { tools, log });
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Tool returned a result that does not match its output schema: n: expected number, received string"}],"isError":true}}`,
  ]);
  assert.match(lines.join(""), /Tool "wrong" returned an invalid result/);
});

Deno.test("a whole result with structuredContent is checked too, and an isError result passes", async () => {
  const tools = toolSet({
    whole: defineTool({
      description: "Returns everything itself.",
      output: z.object({ n: z.number() }),
      run: () => ({
        content: [{ type: "text" as const, text: "three" }],
        structuredContent: { n: 3 },
      }),
    }),
    failing: defineTool({
      description: "Fails politely.",
      output: z.object({ n: z.number() }),
      run: () => ({
        content: [{ type: "text" as const, text: "no data today" }],
        isError: true,
      }),
    }),
  });
  const out = await exchange(jsonLines(call(1, "whole"), call(2, "failing")), {
    tools,
  });
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"three"}],"structuredContent":{"n":3}}}`,
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"no data today"}],"isError":true}}`,
  ]);
});

const typed = defineTool({
  description: "Takes one of everything.",
  input: z.object({
    ids: z.array(z.number()).describe("Ids"),
    limit: z.number().int().optional().describe("Limit"),
    exact: z.boolean().default(false).describe("Exact"),
    filter: z.object({ tag: z.string(), min: z.number() }).optional().describe(
      "Filter",
    ),
    name: z.string().optional().describe("Name"),
    either: z.union([z.string(), z.number()]).optional().describe("Either"),
    nested: z.array(z.object({ n: z.number() })).optional().describe("Nested"),
  }),
  run: (args) => JSON.stringify(args),
});

Deno.test('arguments sent as JSON strings are parsed where the schema wants non-strings: "[1,2]" becomes an array', async () => {
  const out = await exchange(
    jsonLines(call(1, "typed", {
      ids: "[1,2]",
      limit: "10",
      exact: "true",
      filter: '{"tag":"x","min":"3"}',
      name: "42",
      either: "7",
      nested: '[{"n":"1"}]',
    })),
    { tools: toolSet({ typed }) },
  );
  assert.deepEqual(JSON.parse(JSON.parse(out[0]!).result.content[0].text), {
    ids: [1, 2],
    limit: 10,
    exact: true,
    filter: { tag: "x", min: 3 },
    name: "42",
    either: "7",
    nested: [{ n: 1 }],
  });
});

Deno.test("coercion does not rescue what is still wrong, and the error names the field", async () => {
  const out = await exchange(
    jsonLines(
      call(1, "typed", { ids: "[1,", limit: "1.5" }),
      call(2, "typed", { ids: "{}" }),
    ),
    { tools: toolSet({ typed }) },
  );
  assert.deepEqual(out.map((l) => JSON.parse(l).result.content[0].text), [
    'Invalid arguments for tool "typed": ids: expected array, received string; limit: expected number, received string',
    'Invalid arguments for tool "typed": ids: expected array, received string',
  ]);
});

Deno.test("coerce copies only what changes and leaves valid values alone", () => {
  const schema = {
    type: "object",
    properties: { a: { type: "array" }, s: { type: "string" } },
  };
  const value = { a: [1], s: "[1]" };
  assert.equal(coerce(value, schema, 0), value);
  const changed = coerce({ a: "[1]", s: "[1]" }, schema, 0) as Record<
    string,
    unknown
  >;
  assert.deepEqual(changed, { a: [1], s: "[1]" });
  assert.deepEqual(
    coerce("null", { anyOf: [{ type: "number" }, { type: "null" }] }, 0),
    null,
  );
  assert.equal(coerce("x", { type: "number" }, 0), "x");
});
