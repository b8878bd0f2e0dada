/**
 * The types of the public API, checked by `deno check` (and so by `deno test`): every return the
 * README documents type-checks, and a malformed block or result is a type error instead of JSON
 * text the model reads; `callTool` takes the tool's input type, for a definition and for a tool
 * file (`toolFile`) alike. Each `@ts-expect-error` line must fail to type-check, or the check
 * fails.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  callTool,
  type CallToolResult,
  type ContentBlock,
  defineTool,
  type ToolContext,
  toolFile,
  type ToolReturn,
} from "tooldrop";

const NO_OUTPUT = { description: "d" } as const;

// Accepted without an output schema: a string, a content block of each kind, an array of
// blocks, a whole result, numbers and booleans (sent as JSON text), and nothing at all.
defineTool({ ...NO_OUTPUT, run: () => "text" });
defineTool({ ...NO_OUTPUT, run: () => ({ type: "text", text: "t" }) });
defineTool({
  ...NO_OUTPUT,
  run: () => ({ type: "image", data: "iVBORw0=", mimeType: "image/png" }),
});
defineTool({
  ...NO_OUTPUT,
  run: () => ({ type: "audio", data: "UklGRg==", mimeType: "audio/wav" }),
});
defineTool({
  ...NO_OUTPUT,
  run: () => ({ type: "resource_link", uri: "file:///a.txt", name: "a.txt" }),
});
defineTool({
  ...NO_OUTPUT,
  run: () => ({
    type: "resource",
    resource: { uri: "file:///a.txt", text: "a" },
  }),
});
defineTool({
  ...NO_OUTPUT,
  run: () => ({
    type: "resource",
    resource: { uri: "file:///a.bin", blob: "AAE=", mimeType: "x/y" },
  }),
});
defineTool({
  ...NO_OUTPUT,
  run: () => [
    { type: "text", text: "a", annotations: { audience: ["user"] } },
    { type: "image", data: "iVBORw0=", mimeType: "image/png" },
  ],
});
defineTool({
  ...NO_OUTPUT,
  run: () => ({
    content: [{ type: "text", text: "t" }],
    structuredContent: { n: 1 },
    isError: false,
    _meta: { "x/y": 1 },
  }),
});
defineTool({ ...NO_OUTPUT, run: () => 42 });
defineTool({ ...NO_OUTPUT, run: () => true });
defineTool({ ...NO_OUTPUT, run: () => null });
defineTool({ ...NO_OUTPUT, run: () => undefined });
defineTool({ ...NO_OUTPUT, run: () => {} });
defineTool({
  ...NO_OUTPUT,
  run: async () => {
    await Promise.resolve();
    return "later";
  },
});
defineTool({
  ...NO_OUTPUT,
  run: async () => {
    await Promise.resolve();
    return { type: "text", text: "t" };
  },
});
defineTool({
  ...NO_OUTPUT,
  run: async (_args, ctx: ToolContext) => {
    ctx.progress(1, 1);
    await Promise.resolve();
  },
});
const blocks: ContentBlock[] = [{ type: "text", text: "built elsewhere" }];
defineTool({ ...NO_OUTPUT, run: () => blocks });
const whole: CallToolResult = { content: blocks };
defineTool({ ...NO_OUTPUT, run: () => whole });

// Rejected: objects that are neither a block nor a result, which reach the model as JSON text
// or fail at run time.
// @ts-expect-error: an image needs "mimeType"
defineTool({ ...NO_OUTPUT, run: () => ({ type: "image", data: "x" }) });
// @ts-expect-error: "content" must be an array of blocks
defineTool({ ...NO_OUTPUT, run: () => ({ content: "hello" }) });
// @ts-expect-error: "txt" is not a block type
defineTool({ ...NO_OUTPUT, run: () => [{ type: "txt" }] });
defineTool({
  ...NO_OUTPUT,
  // @ts-expect-error: the same mistakes from an async run
  run: async () => {
    await Promise.resolve();
    return { content: "hello" };
  },
});
// @ts-expect-error: a text block needs "text"
defineTool({ ...NO_OUTPUT, run: () => ({ type: "text", value: "t" }) });
// @ts-expect-error: an item of "content" must be a block
defineTool({ ...NO_OUTPUT, run: () => ({ content: [{ text: "t" }] }) });
defineTool({
  ...NO_OUTPUT,
  // @ts-expect-error: a resource needs "text" or "blob"
  run: () => ({ type: "resource", resource: { uri: "u" } }),
});
// @ts-expect-error: data without an output schema; declare `output` or stringify it
defineTool({ ...NO_OUTPUT, run: () => ({ count: 3 }) });
// @ts-expect-error: an array of data, likewise
defineTool({ ...NO_OUTPUT, run: () => ["a", "b"] });

// With an output schema, `run` returns the structured value (before its defaults), or a whole
// result; anything else is a type error.
const stats = defineTool({
  description: "d",
  input: z.object({ text: z.string() }),
  output: z.object({ words: z.number(), unit: z.string().default("words") }),
  run: ({ text }) => ({ words: text.split(" ").length }),
});
defineTool({
  description: "d",
  output: z.object({ words: z.number() }),
  run: async () => {
    await Promise.resolve();
    return { words: 1 };
  },
});
defineTool({
  description: "d",
  output: z.object({ words: z.number() }),
  run: () => ({ content: [], structuredContent: { words: 1 } }),
});
defineTool({
  description: "d",
  output: z.object({ words: z.number() }),
  // @ts-expect-error: "words" must be a number
  run: () => ({ words: "one" }),
});
defineTool({
  description: "d",
  output: z.object({ words: z.number() }),
  // @ts-expect-error: a bare string is not the structured value
  run: () => "one",
});

// `run` gets the validated arguments: defaults applied, types from `input`.
defineTool({
  description: "d",
  input: z.object({ n: z.number().default(1), s: z.string().optional() }),
  run: ({ n, s }) => {
    const count: number = n;
    const maybe: string | undefined = s;
    return `${count} ${maybe ?? ""}`;
  },
});
defineTool({
  description: "d",
  input: z.object({ n: z.number() }),
  // @ts-expect-error: "n" is a number
  run: ({ n }) => n.toUpperCase(),
});

// A value typed ToolReturn accepts the same and rejects the same.
const fine: ToolReturn[] = ["a", 1, true, null, undefined, blocks, whole];
// @ts-expect-error: an arbitrary object is not a ToolReturn
const notFine: ToolReturn = { anything: 1 };

// `callTool` takes the tool's input type: what a client sends, before defaults.
const greet = defineTool({
  description: "d",
  input: z.object({ name: z.string(), greeting: z.string().default("Hello") }),
  run: ({ name, greeting }) => `${greeting}, ${name}!`,
});
const noArguments = defineTool({ description: "d", run: () => "ok" });

async function typedCalls(): Promise<void> {
  await callTool(greet, { name: "Ada" });
  await callTool(greet, { name: "Ada", greeting: "Hi" });
  await callTool(stats, { text: "one two" });
  await callTool(noArguments, {});
  await callTool(greet, { name: "Ada" }, { onProgress: () => {} });
  // @ts-expect-error: "name" is required
  await callTool(greet, {});
  // @ts-expect-error: "name" is a string
  await callTool(greet, { name: 42 });
  // @ts-expect-error: "text" is required
  await callTool(stats, { name: "Ada" });
}

// `toolFile` keeps the definition's types: a call of the file takes the same arguments.
const greetFile = toolFile(greet, new URL("./greet.ts", import.meta.url));
const noArgumentsFile = toolFile(
  noArguments,
  new URL("./no_arguments.ts", import.meta.url),
);

async function typedFileCalls(): Promise<void> {
  await callTool(greetFile, { name: "Ada" });
  await callTool(greetFile, { name: "Ada", greeting: "Hi" }, {
    logLevel: "info",
  });
  await callTool(noArgumentsFile, {});
  // @ts-expect-error: "name" is required
  await callTool(greetFile, {});
  // @ts-expect-error: "name" is a string
  await callTool(greetFile, { name: 42 });
  // @ts-expect-error: the file's URL, not a path
  toolFile(greet, "./greet.ts");
}

Deno.test("the type-checked calls above behave as their types say", async () => {
  assert.equal(typeof typedCalls, "function");
  assert.equal(typeof typedFileCalls, "function");
  assert.equal(greetFile.definition, greet);
  assert.equal(fine.length, 7);
  assert.ok(notFine);
  assert.deepEqual((await callTool(greet, { name: "Ada" })).content, [
    { type: "text", text: "Hello, Ada!" },
  ]);
  assert.deepEqual(
    (await callTool(stats, { text: "one two" })).structuredContent,
    {
      words: 2,
      unit: "words",
    },
  );
  // @ts-expect-error: refused at the type level, and at run time as a client would be
  const refused = await callTool(greet, {});
  assert.equal(refused.isError, true);
});
