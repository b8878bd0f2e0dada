/**
 * The types of the public API, checked by `deno check` (and so by `deno test`): every return the
 * README documents type-checks, and a malformed block or result is a type error instead of JSON
 * text the model reads; `callTool` takes the tool's input type, for a definition and for a tool
 * file (`toolFile`) alike; a prompt's arguments and a resource template's parameters are typed
 * from their schema and template text. Each `@ts-expect-error` line must fail to type-check, or
 * the check fails.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  callTool,
  type CallToolResult,
  type Completer,
  type ContentBlock,
  definePrompt,
  defineResource,
  defineTool,
  type PromptReturn,
  type ReadReturn,
  type ResourceContext,
  type TemplateParams,
  type TemplateVariables,
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

// A prompt's `get` gets its arguments typed from `args`, every one taking a string.
const review = definePrompt({
  description: "Reviews code for bugs.",
  args: z.object({
    code: z.string(),
    language: z.string().optional(),
    style: z.enum(["terse", "full"]).default("terse"),
    lines: z.string().transform((text) => Number(text)),
  }),
  complete: { language: () => ["go"], style: () => Promise.resolve(["full"]) },
  get: ({ code, language, style, lines }) => {
    const text: string = code;
    const maybe: string | undefined = language;
    const chosen: "terse" | "full" = style;
    const count: number = lines;
    return `${text} ${maybe ?? ""} ${chosen} ${count}`;
  },
});
definePrompt({
  description: "d",
  args: z.object({ code: z.string() }),
  // @ts-expect-error: "code" is a string
  get: ({ code }) => code.toFixed(),
});
definePrompt({
  description: "d",
  // @ts-expect-error: prompt arguments arrive as strings; a number field is refused
  args: z.object({ n: z.number() }),
  get: () => "",
});
definePrompt({
  description: "d",
  args: z.object({ code: z.string() }),
  // @ts-expect-error: "complete" names only arguments
  complete: { cod: () => [] },
  get: () => "",
});
// @ts-expect-error: a prompt without args has nothing to complete
definePrompt({ description: "d", complete: { x: () => [] }, get: () => "" });
// What `get` may return: a string, a message, messages, or the whole result.
const prompts: PromptReturn[] = [
  "text",
  { role: "user", content: "text" },
  {
    role: "assistant",
    content: { type: "image", data: "AA==", mimeType: "image/png" },
  },
  [{ role: "user", content: "a" }, { role: "assistant", content: "b" }],
  { description: "d", messages: [{ role: "user", content: "a" }] },
];
definePrompt({
  description: "d",
  // @ts-expect-error: a role is "user" or "assistant"
  get: () => ({ role: "system", content: "x" }),
});
// @ts-expect-error: a message's content is a string or a content block
definePrompt({ description: "d", get: () => ({ role: "user", content: 3 }) });

// A template's variables type `read`'s parameters, and `complete`'s keys.
const variables: TemplateVariables<"notes://{dir}/{name}.md">[] = [
  "dir",
  "name",
];
// @ts-expect-error: "file" is not a variable of the template
const notVariable: TemplateVariables<"notes://{dir}/{name}.md"> = "file";
const noteParams: TemplateParams<"notes://{name}"> = { name: "todo" };
const note = defineResource({
  uriTemplate: "notes://{dir}/{name}",
  description: "A note by folder and name.",
  complete: { name: () => ["todo"] },
  read: ({ dir, name }, ctx) => {
    const both: string = `${dir}/${name}`;
    const uri: string = ctx.uri;
    return uri === "" ? undefined : both;
  },
});
defineResource({
  uriTemplate: "notes://{name}",
  description: "d",
  // @ts-expect-error: "nam" is not a variable of "notes://{name}"
  read: ({ nam }) => nam,
});
// @ts-expect-error: "complete" names only the template's variables
defineResource({
  uriTemplate: "notes://{name}",
  description: "d",
  complete: { nam: () => [] },
  read: () => "",
});
// A fixed URI's `read` gets no parameters, and has nothing to complete.
const readme = defineResource({
  uri: "docs://readme",
  description: "d",
  mimeType: "text/markdown",
  read: () => new Uint8Array([35, 32, 104, 105]),
});
defineResource({
  uri: "docs://readme",
  description: "d",
  // @ts-expect-error: a fixed URI has no parameters
  read: ({ name }) => name,
});
// @ts-expect-error: a resource is a "uri" or a "uriTemplate", not both
defineResource({
  uri: "a://b",
  uriTemplate: "a://{x}",
  description: "d",
  read: () => "",
});
// What `read` may return: text, bytes, an item or items (blob as bytes or base64), nothing.
const reads: ReadReturn[] = [
  "text",
  new Uint8Array(1),
  { text: "a" },
  { uri: "notes://a", mimeType: "text/csv", text: "a,b", _meta: { k: 1 } },
  [{ blob: new Uint8Array(1) }, { blob: "AA==", mimeType: "image/png" }],
  undefined,
];
// @ts-expect-error: a number is not contents
defineResource({ uri: "a://b", description: "d", read: () => 42 });
defineResource({
  uri: "a://b",
  description: "d",
  // @ts-expect-error: an item has "text" or "blob"
  read: () => ({ uri: "a://b" }),
});
const language: Completer = (value, ctx) =>
  [ctx.arguments.code ?? "", value].filter((v) => v !== "");

Deno.test("prompt and resource definitions are what they declare, typed as above", async () => {
  assert.equal(review.args?.shape.code instanceof z.ZodString, true);
  assert.deepEqual(variables, ["dir", "name"]);
  assert.ok(notVariable);
  assert.deepEqual(noteParams, { name: "todo" });
  assert.equal(prompts.length, 5);
  assert.equal(reads.length, 6);
  const ctx = { uri: "notes://a/b" } as ResourceContext;
  assert.equal(await note.read({ dir: "a", name: "b" }, ctx), "a/b");
  assert.deepEqual(
    await readme.read({}, ctx),
    new Uint8Array([35, 32, 104, 105]),
  );
  assert.deepEqual(
    await language("g", {
      arguments: { code: "x" },
      signal: AbortSignal.abort(),
    }),
    ["x", "g"],
  );
});

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
