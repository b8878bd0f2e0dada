/**
 * Prompt and resource definitions (src/tool/prompt_check.ts, resource_check.ts): every load
 * error's exact text, the list entries they build, and how each form `get`, `read` and a
 * completer may return is shaped into a reply body or refused with its code and message.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  createPrompt,
  duplicatePromptError,
} from "../src/tool/prompt_check.ts";
import { KindError, toKindError } from "../src/tool/kinds.ts";
import {
  createResource,
  duplicateResourceError,
} from "../src/tool/resource_check.ts";
import { type ToolContext, ToolError } from "../src/tool/tool.ts";
import { describeIssues } from "../src/server/arguments.ts";

const PROMPT = "prompts/review.ts";
const RESOURCE = "resources/note.ts";

/** A call's context as the runner gives it; `logs` collects what was logged. */
function context(signal = new AbortController().signal) {
  const logs: string[] = [];
  const ctx: ToolContext = {
    signal,
    toolName: "prompt:review",
    log: (level, message) => logs.push(`${level} ${message}`),
    progress: () => {},
    roots: () => Promise.resolve(undefined),
    client: { name: "test", version: "1", capabilities: {} },
    elicit: () => Promise.reject(new Error("no elicit here")),
    sample: () => Promise.reject(new Error("no sample here")),
  };
  return { ctx, logs };
}

/** The `KindError` a promise rejects with, as `[code, message, data]`. */
async function refusal(
  promise: Promise<unknown>,
): Promise<[unknown, string, unknown]> {
  const error = await promise.then(
    () => assert.fail("expected a KindError"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof KindError, String(error));
  return [error.code, error.message, error.data];
}

function loadError(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    return (error as Error).message;
  }
  return assert.fail("expected a load error");
}

const get = () => "text";
const read = () => "text";

Deno.test("createPrompt refuses each malformed definition with what to change", () => {
  const cases: Array<[unknown, string]> = [
    [
      undefined,
      "it has no default export; end the file with `export default definePrompt({ description, get })`",
    ],
    [
      { description: "d" },
      `the default export has no "get" function; add \`get: (args, ctx) => "the prompt's text"\``,
    ],
    [
      { get },
      `"description" is missing; say what the prompt is for, for the user to read`,
    ],
    [
      { description: "  ", get },
      `"description" is missing; say what the prompt is for, for the user to read`,
    ],
    [
      { description: "d", name: "a b", get },
      `the name "a b" is not 1 to 64 letters, digits, "_" or "-"; change "name"`,
    ],
    [
      { description: "d", args: { code: "string" }, get },
      `"args" must be a zod object schema, like z.object({ code: z.string() })`,
    ],
    [
      { description: "d", title: 3, get },
      `"title" must be a string`,
    ],
    [
      { description: "d", timeoutMs: 0, get },
      `"timeoutMs" must be a positive number of milliseconds, a whole number from 1 to 2147483647 (about 24 days); it is 0`,
    ],
    [
      { description: "d", _meta: [], get },
      `"_meta" must be an object`,
    ],
    [
      { description: "d", permissions: { net: "x" }, get },
      `"permissions.net" must be true or a list of names without commas, like ["example.com"]`,
    ],
    [
      { description: "d", args: z.object({ count: z.number() }), get },
      `argument "count" is not a string (prompt arguments arrive as strings); make it z.string() and parse it in get`,
    ],
    [
      { description: "d", args: z.object({ big: z.bigint() }), get },
      `argument "big" is not a string (prompt arguments arrive as strings); make it z.string() and parse it in get`,
    ],
    [
      { description: "d", args: z.object({ s: z.string().nullable() }), get },
      `argument "s" is not a string (prompt arguments arrive as strings); make it z.string() and parse it in get`,
    ],
    [
      { description: "d", complete: [], get },
      `"complete" must be an object of functions by argument name, like { name: (value) => ["suggestion"] }`,
    ],
    [
      {
        description: "d",
        args: z.object({ code: z.string(), language: z.string() }),
        complete: { langauge: () => [] },
        get,
      },
      `"complete" has "langauge", which is not one of its arguments (code, language); complete only those`,
    ],
    [
      { description: "d", complete: { x: () => [] }, get },
      `"complete" has "x", which is not an argument (it has none); complete only those`,
    ],
    [
      {
        description: "d",
        args: z.object({ code: z.string() }),
        complete: { code: ["a"] },
        get,
      },
      `"complete.code" must be a function, like (value) => ["suggestion"]`,
    ],
  ];
  for (const [definition, problem] of cases) {
    assert.equal(
      loadError(() => createPrompt(definition, "review", PROMPT)),
      `Cannot load prompt "prompts/review.ts": ${problem}`,
    );
  }
  assert.equal(
    loadError(() =>
      createPrompt({ description: "d", get }, "my prompt", PROMPT)
    ),
    `Cannot load prompt "prompts/review.ts": the name "my prompt" is not 1 to 64 letters, digits, "_" or "-"; rename the file`,
  );
});

Deno.test("createPrompt lists its arguments from args' JSON Schema, in declared order", () => {
  const prompt = createPrompt(
    {
      title: "Code review",
      description: "Reviews code for bugs.",
      args: z.object({
        code: z.string().describe("The code"),
        language: z.string().optional().describe("Its language"),
        style: z.enum(["terse", "full"]).meta({ title: "Style" }),
        tone: z.string().default("kind"),
      }),
      complete: { language: () => [], style: () => [] },
      icons: [{ src: "data:," }],
      _meta: { "x/y": 1 },
      permissions: { env: ["HOME"] },
      get,
    },
    "review",
    PROMPT,
  );
  assert.deepEqual(prompt.listing, {
    name: "review",
    descriptor: {
      name: "review",
      title: "Code review",
      description: "Reviews code for bugs.",
      arguments: [
        { name: "code", description: "The code", required: true },
        { name: "language", description: "Its language", required: false },
        { name: "style", title: "Style", required: true },
        { name: "tone", required: false },
      ],
      icons: [{ src: "data:," }],
      _meta: { "x/y": 1 },
    },
    permissions: { env: ["HOME"] },
    timeoutMs: 60_000,
    completes: ["language", "style"],
  });
  assert.equal(prompt.label, 'prompt "review"');
  assert.equal(prompt.source, PROMPT);
  // Without args it lists no "arguments"; "name" overrides the stem.
  const bare = createPrompt(
    { name: "hello", description: "d", timeoutMs: 5, get },
    "stem",
    PROMPT,
  );
  assert.deepEqual(bare.listing, {
    name: "hello",
    descriptor: { name: "hello", description: "d" },
    permissions: undefined,
    timeoutMs: 5,
    completes: [],
  });
});

Deno.test("a prompt's get is shaped from each form it may return", async () => {
  const { ctx } = context();
  const shaped = (value: unknown) =>
    createPrompt({ description: "d", get: () => value }, "p", PROMPT).get(
      {},
      ctx,
    );
  const text = (t: string) => ({ type: "text", text: t });
  assert.deepEqual(await shaped("hi"), {
    messages: [{ role: "user", content: text("hi") }],
  });
  assert.deepEqual(await shaped({ role: "assistant", content: "ok" }), {
    messages: [{ role: "assistant", content: text("ok") }],
  });
  const image = { type: "image", data: "iVBORw0=", mimeType: "image/png" };
  assert.deepEqual(await shaped({ role: "user", content: image }), {
    messages: [{ role: "user", content: image }],
  });
  const embedded = {
    type: "resource",
    resource: { uri: "notes://todo", text: "milk" },
  };
  assert.deepEqual(
    await shaped([
      { role: "user", content: "a" },
      { role: "assistant", content: embedded },
    ]),
    {
      messages: [
        { role: "user", content: text("a") },
        { role: "assistant", content: embedded },
      ],
    },
  );
  assert.deepEqual(
    await shaped({
      description: "For Go",
      messages: [{ role: "user", content: "a" }],
    }),
    { description: "For Go", messages: [{ role: "user", content: text("a") }] },
  );
  assert.deepEqual(await shaped({ messages: [] }), { messages: [] });
  assert.deepEqual(await shaped([]), { messages: [] });
  assert.deepEqual(await shaped(Promise.resolve("later")), {
    messages: [{ role: "user", content: text("later") }],
  });
});

Deno.test("a prompt's get that returns no prompt is -32603 naming the flaw", async () => {
  const { ctx } = context();
  const shaped = (value: unknown) =>
    createPrompt({ description: "d", get: () => value }, "review", PROMPT).get(
      {},
      ctx,
    );
  const RETURNS =
    "return a string, a message { role, content }, an array of messages or { description, messages }";
  const cases: Array<[unknown, string]> = [
    [undefined, `undefined; ${RETURNS}`],
    [null, `null; ${RETURNS}`],
    [42, `a number; ${RETURNS}`],
    [{ text: "hi" }, `an object; ${RETURNS}`],
    [
      { role: "system", content: "x" },
      `an invalid message: "role" is "system"; use "user" or "assistant"`,
    ],
    [
      [{ role: "user", content: "a" }, "b"],
      `a string as message [1]; a message is { role, content }`,
    ],
    [
      [{ role: "user", content: { type: "image", data: "x" } }],
      `an invalid message [0]: "content" is an "image" block without "mimeType" as a string`,
    ],
    [
      { messages: [{ role: "user", content: { type: "txt", text: "x" } }] },
      `an invalid messages[0]: "content" needs a "type" of text, image, audio, resource_link, resource`,
    ],
    [
      { role: "user", content: { type: "resource", resource: { uri: "u" } } },
      `an invalid message: "content" is a "resource" block without a "resource" of a "uri" and a "text" or "blob" string`,
    ],
    [
      { role: "user", content: 7 },
      `an invalid message: "content" is a number; make it a string or a content block`,
    ],
    [
      { role: "user", content: { type: "resource_link", uri: "u" } },
      `an invalid message: "content" is a "resource_link" block without "name" as a string`,
    ],
    [
      { messages: "hello" },
      `"messages" as a string; make it an array of messages`,
    ],
    [
      { description: 3, messages: [] },
      `"description" as a number; make it a string`,
    ],
  ];
  for (const [value, what] of cases) {
    assert.deepEqual(await refusal(shaped(value)), [
      -32603,
      `Internal error: prompt "review" returned ${what}`,
      undefined,
    ]);
  }
});

Deno.test("a prompt checks its arguments, passes them parsed, and names itself in ctx", async () => {
  const { ctx, logs } = context();
  let seen: unknown;
  const prompt = createPrompt(
    {
      description: "d",
      args: z.object({
        code: z.string(),
        language: z.string().default("go"),
        lines: z.string().transform((s) => s.split("\n").length).optional(),
      }),
      get(args: unknown, promptCtx: ToolContext) {
        seen = args;
        promptCtx.log("info", `get as ${promptCtx.toolName}`);
        assert.equal(promptCtx.signal, ctx.signal);
        assert.equal(promptCtx.client.name, "test");
        return "ok";
      },
    },
    "review",
    PROMPT,
    describeIssues,
  );
  await prompt.get({ code: "x", lines: "a\nb", extra: "dropped" }, ctx);
  assert.deepEqual(seen, { code: "x", language: "go", lines: 2 });
  assert.deepEqual(logs, ["info get as review"]);
  // The server's field-naming text when it passes its describeIssues …
  assert.deepEqual(await refusal(prompt.get({}, ctx)), [
    -32602,
    'Invalid params: arguments of prompt "review": code: required (expected string)',
    undefined,
  ]);
  // … and the same words from the fallback.
  const plain = createPrompt(
    { description: "d", args: z.object({ code: z.string().min(3) }), get },
    "review",
    PROMPT,
  );
  assert.deepEqual(await refusal(plain.get({}, ctx)), [
    -32602,
    'Invalid params: arguments of prompt "review": code: required (expected string)',
    undefined,
  ]);
  assert.deepEqual(await refusal(plain.get({ code: "ab" }, ctx)), [
    -32602,
    'Invalid params: arguments of prompt "review": code: Too small: expected string to have >=3 characters',
    undefined,
  ]);
});

Deno.test("what get throws passes through; toKindError gives it its code", async () => {
  const { ctx } = context();
  const throwing = (error: unknown) =>
    createPrompt(
      {
        description: "d",
        get: () => {
          throw error;
        },
      },
      "review",
      PROMPT,
    ).get({}, ctx);
  const toolError = new ToolError('No language "cobol"; try "go"');
  await assert.rejects(throwing(toolError), (e) => e === toolError);
  assert.deepEqual(
    [toKindError(toolError, 'prompt "review"')].map((e) => [e.code, e.message]),
    [[-32602, 'No language "cobol"; try "go"']],
  );
  const boom = new TypeError("boom");
  await assert.rejects(throwing(boom), (e) => e === boom);
  const internal = toKindError(boom, 'prompt "review"');
  assert.deepEqual([internal.code, internal.message, internal.cause], [
    -32603,
    'Internal error: prompt "review" failed: TypeError: boom',
    boom,
  ]);
  assert.equal(
    toKindError("a string", 'resource "note"').message,
    'Internal error: resource "note" failed: a string',
  );
  const kind = new KindError("not_found", "Resource not found", { uri: "x" });
  assert.equal(toKindError(kind, "any"), kind);
});

Deno.test("a prompt's completions: cut to 100 with total and hasMore, nothing without a completer", async () => {
  const { ctx } = context();
  let given: unknown;
  const values = Array.from({ length: 150 }, (_, i) => `v${i}`);
  const prompt = createPrompt(
    {
      description: "d",
      args: z.object({
        code: z.string(),
        language: z.string(),
        many: z.string(),
        long: z.string(),
      }),
      complete: {
        language: (value: string, completeCtx: unknown) => {
          given = completeCtx;
          return ["python", "pypy", "go"].filter((l) => l.startsWith(value));
        },
        many: () => values,
        long: async () => {
          await Promise.resolve();
          return ["x".repeat(5000)];
        },
      },
      get,
    },
    "review",
    PROMPT,
  );
  const complete = (argument: string, value = "") =>
    prompt.complete({ argument, value, arguments: { code: "x" } }, ctx);
  assert.deepEqual(await complete("language", "py"), {
    completion: { values: ["python", "pypy"], total: 2, hasMore: false },
  });
  assert.deepEqual(given, { arguments: { code: "x" }, signal: ctx.signal });
  assert.ok(Object.isFrozen((given as { arguments: object }).arguments));
  assert.deepEqual(await complete("many"), {
    completion: { values: values.slice(0, 100), total: 150, hasMore: true },
  });
  assert.equal(
    (await complete("long")).completion.values[0]!.length,
    4096,
  );
  assert.deepEqual(await complete("code"), {
    completion: { values: [], hasMore: false },
  });
  assert.deepEqual(await refusal(complete("y")), [
    -32602,
    'Invalid params: prompt "review" has no argument "y"',
    undefined,
  ]);
});

Deno.test("a completer that returns anything but strings is -32603 naming it", async () => {
  const { ctx } = context();
  const completing = (value: unknown) =>
    createPrompt(
      {
        description: "d",
        args: z.object({ language: z.string() }),
        complete: { language: () => value },
        get,
      },
      "review",
      PROMPT,
    ).complete(
      { argument: "language", value: "", arguments: {} },
      ctx,
    );
  const whose =
    'Internal error: the completer of "language" in prompt "review"';
  assert.deepEqual(await refusal(completing("go")), [
    -32603,
    `${whose} returned a string; return an array of strings`,
    undefined,
  ]);
  assert.deepEqual(await refusal(completing(undefined)), [
    -32603,
    `${whose} returned undefined; return an array of strings`,
    undefined,
  ]);
  assert.deepEqual(await refusal(completing(["a", "b", "c", 4])), [
    -32603,
    `${whose} returned a number at [3]; return an array of strings`,
    undefined,
  ]);
  // A bad value past the 100 sent is refused too: the completer is wrong either way.
  assert.deepEqual(
    await refusal(completing([...Array(120).fill("a"), null])),
    [
      -32603,
      `${whose} returned null at [120]; return an array of strings`,
      undefined,
    ],
  );
});

Deno.test("createResource refuses each malformed definition with what to change", () => {
  const base = { description: "d", read };
  const cases: Array<[unknown, string]> = [
    [
      null,
      "it has no default export; end the file with `export default defineResource({ uri, description, read })`",
    ],
    [
      { uri: "docs://readme", description: "d" },
      `the default export has no "read" function; add \`read: (params, ctx) => "the resource's text"\``,
    ],
    [
      { uri: "docs://readme", read },
      `"description" is missing; say what the resource holds, for the user and the model to read`,
    ],
    [
      { ...base, uri: "docs://a", uriTemplate: "notes://{name}" },
      `it has both "uri" and "uriTemplate"; keep "uri" for one resource or "uriTemplate" for a family of them`,
    ],
    [
      base,
      `it has neither "uri" nor "uriTemplate"; add uri: "docs://readme" (one resource) or uriTemplate: "notes://{name}" (one per name)`,
    ],
    [
      { ...base, uri: "notes://{name}" },
      `"uri" "notes://{name}" holds "{", a template's variable; name the field "uriTemplate"`,
    ],
    [
      { ...base, uri: "readme" },
      `"uri" "readme" is not an absolute URI; give it a scheme, like "docs://readme"`,
    ],
    [
      { ...base, uri: 42 },
      `"uri" a number is not an absolute URI; give it a scheme, like "docs://readme"`,
    ],
    [
      { ...base, uriTemplate: ["notes://{name}"] },
      `"uriTemplate" must be a string, like "notes://{name}"; it is an array`,
    ],
    [
      { ...base, uriTemplate: "notes://{+path}" },
      `"uriTemplate" "notes://{+path}" is not a level-1 URI template: column 9: "{+path}" uses the operator "+" (RFC 6570 level 2–4); only plain {name} variables are supported`,
    ],
    [
      { ...base, uriTemplate: "notes://readme" },
      `"uriTemplate" "notes://readme" is not a level-1 URI template: it has no variable; a fixed address is a "uri", not a template`,
    ],
    [
      { ...base, uriTemplate: "{name}.md" },
      `"uriTemplate" "{name}.md" does not make an absolute URI; give it a scheme, like "notes://{name}"`,
    ],
    [
      { ...base, uri: "docs://a", name: "" },
      `"name" must be a non-empty string; it names the resource in lists`,
    ],
    [
      { ...base, uri: "docs://a", mimeType: "markdown" },
      `"mimeType" must be a media type, like "text/markdown"`,
    ],
    [
      { ...base, uriTemplate: "notes://{name}", size: 3 },
      `"size" is for one resource; a "uriTemplate" names many`,
    ],
    [
      { ...base, uri: "docs://a", size: -1 },
      `"size" must be a whole number of bytes`,
    ],
    [
      { ...base, uri: "docs://a", annotations: "user" },
      `"annotations" must be an object`,
    ],
    [
      { ...base, uri: "docs://a", timeoutMs: 2 ** 31 },
      `"timeoutMs" must be a positive number of milliseconds, a whole number from 1 to 2147483647 (about 24 days); it is 2147483648`,
    ],
    [
      { ...base, uri: "docs://a", cache: 60000 },
      `"cache" must be an object, like { ttlMs: 60000, scope: "public" }`,
    ],
    [
      { ...base, uri: "docs://a", cache: { ttlMs: -1 } },
      `"cache.ttlMs" must be a whole number of milliseconds from 0 to 2147483647; it is -1`,
    ],
    [
      { ...base, uri: "docs://a", cache: { ttlMs: 1.5 } },
      `"cache.ttlMs" must be a whole number of milliseconds from 0 to 2147483647; it is 1.5`,
    ],
    [
      { ...base, uri: "docs://a", cache: { ttlMs: "60s" } },
      `"cache.ttlMs" must be a whole number of milliseconds from 0 to 2147483647; it is a string`,
    ],
    [
      { ...base, uri: "docs://a", cache: { ttlMs: 2 ** 31 } },
      `"cache.ttlMs" must be a whole number of milliseconds from 0 to 2147483647; it is 2147483648`,
    ],
    [
      { ...base, uri: "docs://a", cache: { scope: "shared" } },
      `"cache.scope" must be "public" (any cache may keep a read) or "private" (only the client's)`,
    ],
    [
      { ...base, uri: "docs://a", watch: "README.md" },
      `"watch" must be an array of paths relative to the working directory, like ["notes/{name}.md"]`,
    ],
    [
      { ...base, uri: "docs://a", watch: [""] },
      `"watch" has an empty path; name a file or folder`,
    ],
    [
      { ...base, uri: "docs://a", watch: ["/etc/passwd"] },
      `"watch" path "/etc/passwd" is absolute; give it relative to the working directory, like "notes/{name}.md"`,
    ],
    [
      { ...base, uri: "docs://a", watch: ["C:\\notes"] },
      `"watch" path "C:\\\\notes" is absolute; give it relative to the working directory, like "notes/{name}.md"`,
    ],
    [
      { ...base, uri: "docs://a", watch: ["notes/../../secret"] },
      `"watch" path "notes/../../secret" climbs out with ".."; watch only inside the working directory`,
    ],
    [
      { ...base, uri: "docs://a", watch: ["notes\\..\\x"] },
      `"watch" path "notes\\\\..\\\\x" climbs out with ".."; watch only inside the working directory`,
    ],
    [
      { ...base, uri: "docs://a", watch: ["notes/{name}.md"] },
      `"watch" path "notes/{name}.md" has "{name}", but a "uri" has no variables; write the path out`,
    ],
    [
      { ...base, uriTemplate: "notes://{name}", watch: ["notes/{nam}.md"] },
      `"watch" path "notes/{nam}.md" has "{nam}", which is not a variable of "notes://{name}"; use {name}`,
    ],
    [
      { ...base, uriTemplate: "notes://{name}", watch: ["notes/{name.md"] },
      `"watch" path "notes/{name.md" has an unbalanced "{" or "}"`,
    ],
    [
      { ...base, uri: "docs://a", complete: { x: () => [] } },
      `"complete" suggests a "uriTemplate"'s variables; a "uri" has none, so remove it`,
    ],
    [
      {
        ...base,
        uriTemplate: "notes://{dir}/{name}",
        complete: { nam: () => [] },
      },
      `"complete" has "nam", which is not one of its variables (dir, name); complete only those`,
    ],
    [
      { ...base, uriTemplate: "notes://{name}", complete: { name: "todo" } },
      `"complete.name" must be a function, like (value) => ["suggestion"]`,
    ],
    [
      { ...base, uri: "docs://a", subscribe: true },
      `"subscribe" must be a function, like (params, ctx) => { … ctx.changed() … }`,
    ],
  ];
  for (const [definition, problem] of cases) {
    assert.equal(
      loadError(() => createResource(definition, "note", RESOURCE)),
      `Cannot load resource "resources/note.ts": ${problem}`,
    );
  }
});

Deno.test("createResource lists a uri in resources/list and a template in resources/templates/list", () => {
  const readme = createResource(
    {
      uri: "docs://readme",
      title: "README",
      description: "The project's README.",
      mimeType: "text/markdown",
      annotations: { audience: ["user"], priority: 0.5 },
      size: 1200,
      watch: ["README.md"],
      read,
    },
    "readme",
    "resources/readme.ts",
  );
  assert.deepEqual(readme.listing, {
    key: "readme",
    descriptor: {
      uri: "docs://readme",
      name: "readme",
      title: "README",
      description: "The project's README.",
      mimeType: "text/markdown",
      annotations: { audience: ["user"], priority: 0.5 },
      size: 1200,
    },
    permissions: undefined,
    timeoutMs: 60_000,
    completes: [],
    watch: ["README.md"],
    subscribes: false,
    cache: { ttlMs: 0, scope: "private" },
  });
  assert.equal(readme.template, undefined);
  const note = createResource(
    {
      name: "Notes",
      uriTemplate: "notes://{dir}/{name}",
      description: "A note by name.",
      complete: { name: () => [] },
      cache: { ttlMs: 60_000 },
      watch: ["notes/{dir}/{name}.md", "notes/index.json"],
      permissions: { read: ["notes"] },
      timeoutMs: 1000,
      _meta: { "x/y": true },
      icons: [{ src: "data:," }],
      subscribe: () => {},
      read,
    },
    "note",
    RESOURCE,
  );
  assert.deepEqual(note.listing, {
    key: "note",
    descriptor: {
      uriTemplate: "notes://{dir}/{name}",
      name: "Notes",
      description: "A note by name.",
      icons: [{ src: "data:," }],
      _meta: { "x/y": true },
    },
    permissions: { read: ["notes"] },
    timeoutMs: 1000,
    completes: ["name"],
    watch: ["notes/{dir}/{name}.md", "notes/index.json"],
    subscribes: true,
    cache: { ttlMs: 60_000, scope: "private" },
  });
  assert.deepEqual(note.template?.variables, ["dir", "name"]);
  assert.equal(note.label, 'resource "Notes"');
});

Deno.test("a resource's read is shaped from each form it may return", async () => {
  const { ctx } = context();
  const uri = "notes://todo";
  const shaped = (value: unknown, mimeType?: string) =>
    createResource(
      {
        uriTemplate: "notes://{name}",
        description: "d",
        ...(mimeType ? { mimeType } : {}),
        read: () => value,
      },
      "note",
      RESOURCE,
    ).read({ uri }, ctx);
  assert.deepEqual(await shaped("milk"), {
    contents: [{ uri, mimeType: "text/plain", text: "milk" }],
  });
  assert.deepEqual(await shaped("# Milk", "text/markdown"), {
    contents: [{ uri, mimeType: "text/markdown", text: "# Milk" }],
  });
  assert.deepEqual(await shaped(new Uint8Array([0, 1, 2, 253, 254, 255])), {
    contents: [{ uri, mimeType: "application/octet-stream", blob: "AAEC/f7/" }],
  });
  assert.deepEqual(await shaped(new Uint8Array([137, 80]), "image/png"), {
    contents: [{ uri, mimeType: "image/png", blob: "iVA=" }],
  });
  assert.deepEqual(await shaped(""), {
    contents: [{ uri, mimeType: "text/plain", text: "" }],
  });
  assert.deepEqual(await shaped({ text: "a", _meta: { k: 1 } }), {
    contents: [{ uri, mimeType: "text/plain", text: "a", _meta: { k: 1 } }],
  });
  assert.deepEqual(
    await shaped([
      { uri: "notes://todo/1", mimeType: "text/csv", text: "a,b" },
      { blob: new Uint8Array([255]) },
      { blob: "AAE=", mimeType: "x/y" },
    ], "text/markdown"),
    {
      contents: [
        { uri: "notes://todo/1", mimeType: "text/csv", text: "a,b" },
        { uri, mimeType: "text/markdown", blob: "/w==" },
        { uri, mimeType: "x/y", blob: "AAE=" },
      ],
    },
  );
  assert.deepEqual(await shaped(Promise.resolve("later")), {
    contents: [{ uri, mimeType: "text/plain", text: "later" }],
  });
});

Deno.test("a read that returns undefined is not found; [] and what is not contents are -32603", async () => {
  const { ctx } = context();
  const uri = "notes://todo";
  const shaped = (value: unknown) =>
    createResource(
      { uriTemplate: "notes://{name}", description: "d", read: () => value },
      "note",
      RESOURCE,
    ).read({ uri }, ctx);
  assert.deepEqual(await refusal(shaped(undefined)), [
    "not_found",
    "Resource not found",
    { uri },
  ]);
  assert.deepEqual(await refusal(shaped(Promise.resolve(undefined))), [
    "not_found",
    "Resource not found",
    { uri },
  ]);
  assert.deepEqual(await refusal(shaped([])), [
    -32603,
    `Internal error: resource "note" read no contents; return "" for an empty resource, undefined for one that does not exist`,
    undefined,
  ]);
  const RETURN =
    "return a string, a Uint8Array, { text } or { blob }, or an array of { text } and { blob } items";
  const cases: Array<[unknown, string]> = [
    [null, `an invalid item: it is null`],
    [42, `an invalid item: it is a number`],
    [new ArrayBuffer(2), `an invalid item: it is an ArrayBuffer`],
    [{ uri }, `an invalid item: it has no "text" or "blob"`],
    [
      { text: "a", blob: "AA==" },
      `an invalid item: it has both "text" and "blob"`,
    ],
    [{ text: 1 }, `an invalid item: "text" is a number`],
    [{ blob: [1, 2] }, `an invalid item: "blob" is an array`],
    [
      { blob: "not base64!" },
      `an invalid item: "blob" is a string that is not base64 (give the bytes as a Uint8Array)`,
    ],
    [
      { blob: "AAE" },
      `an invalid item: "blob" is a string that is not base64 (give the bytes as a Uint8Array)`,
    ],
    [{ text: "a", uri: 1 }, `an invalid item: "uri" is a number`],
    [{ text: "a", mimeType: true }, `an invalid item: "mimeType" is a boolean`],
    [{ text: "a", _meta: "m" }, `an invalid item: "_meta" is a string`],
    [["a"], `an invalid item [0]: it is a string`],
    [[{ text: "a" }, new Uint8Array(1)], `an invalid item [1]: it is bytes`],
  ];
  for (const [value, what] of cases) {
    assert.deepEqual(await refusal(shaped(value)), [
      -32603,
      `Internal error: resource "note" returned ${what}; ${RETURN}`,
      undefined,
    ], what);
  }
});

Deno.test("a read gets the template's decoded parameters and the URI in its context", async () => {
  const { ctx } = context();
  const seen: unknown[] = [];
  const note = createResource(
    {
      uriTemplate: "notes://{dir}/{name}",
      description: "d",
      read(params: unknown, readCtx: ToolContext & { uri: string }) {
        seen.push(params, readCtx.uri, readCtx.toolName);
        return "x";
      },
    },
    "note",
    RESOURCE,
  );
  await note.read({ uri: "notes://my%20dir/caf%C3%A9" }, ctx);
  assert.deepEqual(seen, [
    { dir: "my dir", name: "café" },
    "notes://my%20dir/caf%C3%A9",
    "note",
  ]);
  assert.ok(Object.isFrozen(seen[0]));
  // Parameters the server matched already are used as given.
  seen.length = 0;
  await note.read({ uri: "notes://a/b", params: { dir: "a", name: "b" } }, ctx);
  assert.deepEqual(seen[0], { dir: "a", name: "b" });
  // A URI the template does not make, or one that climbs out, is not found before read runs.
  seen.length = 0;
  for (
    const uri of ["notes://a/%2E%2E", "notes://..%2F..%2Fetc/passwd", "x://a/b"]
  ) {
    assert.deepEqual(await refusal(note.read({ uri }, ctx)), [
      "not_found",
      "Resource not found",
      { uri },
    ]);
  }
  assert.deepEqual(seen, []);
  const readme = createResource(
    {
      uri: "docs://readme",
      description: "d",
      read: (params: unknown) => JSON.stringify(params),
    },
    "readme",
    "resources/readme.ts",
  );
  assert.deepEqual(await readme.read({ uri: "docs://readme" }, ctx), {
    contents: [{ uri: "docs://readme", mimeType: "text/plain", text: "{}" }],
  });
  assert.deepEqual(await refusal(readme.read({ uri: "docs://other" }, ctx)), [
    "not_found",
    "Resource not found",
    { uri: "docs://other" },
  ]);
});

Deno.test("a template's completions; a variable it lacks is -32602", async () => {
  const { ctx } = context();
  const note = createResource(
    {
      uriTemplate: "notes://{dir}/{name}",
      description: "d",
      complete: {
        name: (value: string, c: { arguments: Record<string, string> }) =>
          [`${c.arguments.dir}/todo`, "tomorrow"].filter((n) =>
            n.includes(value)
          ),
      },
      read,
    },
    "note",
    RESOURCE,
  );
  const complete = (argument: string, value: string) =>
    note.complete({ argument, value, arguments: { dir: "work" } }, ctx);
  assert.deepEqual(await complete("name", "to"), {
    completion: { values: ["work/todo", "tomorrow"], total: 2, hasMore: false },
  });
  assert.deepEqual(await complete("dir", ""), {
    completion: { values: [], hasMore: false },
  });
  assert.deepEqual(await refusal(complete("nam", "")), [
    -32602,
    'Invalid params: resource "note" has no variable "nam"',
    undefined,
  ]);
  const readme = createResource(
    { uri: "docs://readme", description: "d", read },
    "readme",
    "resources/readme.ts",
  );
  assert.deepEqual(
    await refusal(
      readme.complete({ argument: "x", value: "", arguments: {} }, ctx),
    ),
    [
      -32602,
      'Invalid params: resource "readme" has no variable "x"',
      undefined,
    ],
  );
});

Deno.test("two prompts with one name, or two resources at one address, name both files", () => {
  const a = createPrompt({ description: "d", get }, "review", "prompts/a.ts");
  const b = createPrompt(
    { name: "review", description: "d", get },
    "b",
    "prompts/b.ts",
  );
  assert.equal(
    duplicatePromptError(b, a),
    'Cannot load prompt "prompts/b.ts": the name "review" is already used by "prompts/a.ts"; rename one of them or set "name"',
  );
  const one = createResource(
    { uri: "docs://readme", description: "d", read },
    "one",
    "resources/one.ts",
  );
  const two = createResource(
    { uriTemplate: "notes://{name}", description: "d", read },
    "two",
    "resources/two.ts",
  );
  assert.equal(
    duplicateResourceError(one, two),
    'Cannot load resource "resources/one.ts": the uri "docs://readme" is already served by "resources/two.ts"; change one of them',
  );
  assert.equal(
    duplicateResourceError(two, one),
    'Cannot load resource "resources/two.ts": the uriTemplate "notes://{name}" is already served by "resources/one.ts"; change one of them',
  );
});
