/**
 * Hostile clients against prompts, resources and completions, and hostile prompts, resources
 * and completers against the server (issue 16, items 2–4), at the wire and in both eras: every
 * bad input gets its JSON-RPC error or a correct result, a ping after it is answered, nothing is
 * dropped silently but what the client cancelled. The first half drives `serve()` in memory
 * with definitions written here; the second the real server over the files of
 * tests/fixtures/hostile_kinds/, whose code runs in workers: `Deno.exit`, endless loops and
 * promises that never settle there. (Over 300 lines: seven groups of attacks, each with the
 * exact replies it expects, and the hostile definitions they share.)
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  type CompleteContext,
  definePrompt,
  defineResource,
  ToolError,
} from "tooldrop";
import { VERSION } from "../../src/server/protocol.ts";
import { COMPLETE_TIMEOUT_MS } from "../../src/tool/served_kinds.ts";
import { createPrompt, servePrompt } from "../../src/tool/prompt_check.ts";
import {
  cancel,
  initialize,
  initialized,
  jsonLines,
  type Message,
  modern,
  ping,
} from "../requests.ts";
import { ROOT, ServerProcess, START_FLAGS } from "../spawn.ts";
import { Session, toolSet } from "../wire.ts";
import { pingReply, replyWithin, stderrWithin } from "./_isolation_tools.ts";

const SERVER_META =
  `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"${VERSION}"}}`;
const RETURN_PROMPT =
  "return a string, a message { role, content }, an array of messages or { description, messages }";
const RETURN_ITEMS =
  "return a string, a Uint8Array, { text } or { blob }, or an array of { text } and { blob } items";

function request(id: number | string, method: string, params?: unknown) {
  return (params === undefined
    ? { jsonrpc: "2.0", id, method }
    : { jsonrpc: "2.0", id, method, params }) as Message;
}

/** The exact line of an error reply. */
function errorLine(
  id: number | string,
  code: number,
  message: string,
  data?: unknown,
): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    error: data === undefined ? { code, message } : { code, message, data },
  });
}

/** The exact line of a result reply: as it is (legacy), or marked and signed (2026). */
function resultLine(id: number | string, result: object, era: Era): string {
  const body = JSON.stringify({ jsonrpc: "2.0", id, result });
  return era === "legacy"
    ? body
    : `${body.slice(0, -2)},"resultType":"complete",${SERVER_META}}}`;
}

/** A `prompts/get` result of one user text message. */
const says = (text: string) => ({
  messages: [{ role: "user", content: { type: "text", text } }],
});

type Era = "legacy" | "2026";
const ERAS: readonly Era[] = ["legacy", "2026"];

/** `message` as a client of `era` sends it. */
const inEra = (era: Era, message: Message) =>
  era === "legacy" ? message : modern(message);

/** A Proxy every trap of which throws: reading it, or asking what it is, fails. */
function throwingProxy(): object {
  const trap = () => {
    throw new Error("trap");
  };
  return new Proxy({}, {
    get: trap,
    has: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    getPrototypeOf: trap,
  });
}

const cycle: Record<string, unknown> = { role: "user", content: "x" };
cycle.self = cycle;
/** How long the stuck prompt and resource may run (theirs never settle). */
const SHORT_MS = 300;
/**
 * The most a reply that needs no timer may take (a ping, a quick request, a new worker's start
 * on a loaded 2-core machine): a bound for failing, never a measure.
 */
const QUICK_MS = 10_000;

const set = toolSet({}, {
  prompts: {
    greet: definePrompt({
      description: "Greets.",
      args: z.object({ name: z.string(), tone: z.string().optional() }),
      complete: { tone: (value) => [value] },
      get: ({ name }) => `hi ${name}`,
    }),
    proto: definePrompt({
      description: "Arguments named like Object.prototype's keys.",
      args: z.object({
        constructor: z.string().optional(),
        toString: z.string().optional(),
      }),
      // Typed loosely: the object literal inherits a `toString`, which the type of `complete`
      // takes for the completer of the argument "toString".
      complete: {
        constructor: (
          value: string,
          { arguments: resolved }: CompleteContext,
        ) => [
          value,
          JSON.stringify(resolved),
        ],
      } as never,
      get: (args) => JSON.stringify(args),
    }),
    shapes: definePrompt({
      description: "Returns, throws or completes what it is asked to.",
      args: z.object({ what: z.string() }),
      complete: { what: hostileCompleter },
      get: ({ what }, ctx) => hostileGet(what, ctx.signal) as never,
    }),
    stuck: definePrompt({
      description: "Never settles, nor does its completer.",
      args: z.object({ what: z.string() }),
      timeoutMs: SHORT_MS,
      complete: { what: () => new Promise<string[]>(() => {}) },
      get: () => new Promise<string>(() => {}),
    }),
  },
  resources: {
    note: defineResource({
      uriTemplate: "notes://{name}",
      description: "Echoes its parameter.",
      read: (params) => JSON.stringify(params),
    }),
    two: defineResource({
      uriTemplate: "two://{a}/{b}",
      description: "Echoes its parameters.",
      read: (params) => JSON.stringify(params),
    }),
    proto: defineResource({
      uriTemplate: "proto://{__proto__}/{constructor}",
      description: "Variables named like Object.prototype's keys.",
      complete: {
        ["__proto__"]: (value: string) => [`proto ${value}`],
        constructor: (value: string) => [`constructor ${value}`],
      },
      read: (params) => JSON.stringify(params),
    }),
    readme: defineResource({
      uri: "docs://readme",
      description: "A fixed resource.",
      read: () => "# Read me",
    }),
    hostile: defineResource({
      uriTemplate: "hostile://{what}",
      description: "Returns or throws what it is asked to.",
      read: ({ what }, ctx) => hostileRead(what, ctx.signal) as never,
    }),
    stuck: defineResource({
      uri: "stuck://forever",
      description: "Never settles.",
      timeoutMs: SHORT_MS,
      read: () => new Promise<string>(() => {}),
    }),
    blob: defineResource({
      uriTemplate: "blob://{size}",
      description: "Zero bytes, as many as asked.",
      read: ({ size }) => new Uint8Array(Number(size)),
    }),
  },
});

/** Resolves when `signal` aborts: what a `get` that answers only after its cancel awaits. */
const afterAbort = <T>(signal: AbortSignal, value: T) =>
  new Promise<T>((resolve) =>
    signal.addEventListener("abort", () => resolve(value))
  );

function hostileGet(what: string, signal: AbortSignal): unknown {
  switch (what) {
    case "number":
      return 5;
    case "null":
      return null;
    case "cycle":
      return cycle;
    case "cyclic block":
      return { role: "user", content: { type: "text", text: "t", cycle } };
    case "bigint":
      return { role: "user", content: { type: "text", text: "t", n: 1n } };
    case "toJSON":
      return {
        role: "user",
        content: {
          type: "text",
          text: "t",
          toJSON() {
            throw new Error("no JSON");
          },
        },
      };
    case "proxy":
      return throwingProxy();
    case "thrown proxy":
      throw throwingProxy();
    case "role":
      return { role: "system", content: "x" };
    case "block":
      return { role: "user", content: { type: "image", data: 5 } };
    case "description":
      return { description: 5, messages: [] };
    case "then":
      return {
        then() {
          throw new Error("then");
        },
      };
    case "tool error":
      throw new ToolError("Not today");
    case "late":
      return afterAbort(signal, "too late");
  }
  return what;
}

function hostileCompleter(
  value: string,
  { signal }: { signal: AbortSignal },
): string[] | Promise<string[]> {
  switch (value) {
    case "number":
      return 5 as never;
    case "mixed":
      return ["a", 5] as never;
    case "many":
      return Array.from({ length: 1_000_000 }, (_, i) => `v${i}`);
    case "throw":
      throw new TypeError("boom");
    case "thrown proxy":
      throw throwingProxy();
    case "tool error":
      throw new ToolError("Not here");
    case "late":
      return afterAbort(signal, ["too", "late"]);
  }
  return [value];
}

function hostileRead(what: string, signal: AbortSignal): unknown {
  switch (what) {
    case "number":
      return 5;
    case "empty":
      return [];
    case "undefined":
      return undefined;
    case "not base64":
      return { blob: "not base64!" };
    case "short base64":
      return { blob: "AAA" };
    case "both":
      return { text: "a", blob: "AAAA" };
    case "dataview":
      return new DataView(new ArrayBuffer(4));
    case "strings":
      return ["a", "b"];
    case "bigint meta":
      return { text: "a", _meta: { n: 1n } };
    case "cyclic meta":
      return { text: "a", _meta: cycle };
    case "other uri":
      return { text: "a", uri: "other://x" };
    case "proxy":
      return throwingProxy();
    case "tool error":
      throw new ToolError("Not yours");
    case "late":
      return afterAbort(signal, "too late");
  }
  return what;
}

/**
 * Sends `messages` (a ping after each request, to show the server still serves) and returns
 * the replies in the order the requests were sent, each its exact line.
 */
async function replies(
  session: Session,
  era: Era,
  messages: Array<Message | RawLine>,
): Promise<string[]> {
  const order: Array<number | string> = [];
  for (const [i, message] of messages.entries()) {
    session.send("line" in message ? message.line : inEra(era, message));
    session.send(inEra(era, ping(`p${i}`)));
    order.push(message.id!, `p${i}`);
  }
  const byId = new Map<unknown, string>();
  for (const _ of order) {
    const line = await session.next();
    byId.set(JSON.parse(line).id, line);
  }
  const pong = (id: string) =>
    era === "legacy"
      ? pingReply(id)
      : `{"jsonrpc":"2.0","id":"${id}","result":{"resultType":"complete",${SERVER_META}}}`;
  return order.flatMap((id) => {
    const line = byId.get(id)!;
    if (typeof id === "string") {
      assert.equal(line, pong(id));
      return [];
    }
    return [line];
  });
}

/** A request written out by hand, as it is sent. */
interface RawLine {
  id: number;
  line: string;
}

/** Runs `body` with a fresh in-memory session of `era` (legacy: after `initialize`). */
async function withSession(
  era: Era,
  body: (session: Session) => Promise<void>,
): Promise<void> {
  const session = new Session({ tools: set });
  if (era === "legacy") {
    session.send(initialize("init"));
    await session.next();
  }
  await body(session);
  await session.end();
}

// 1. Params of the wrong type, at every level.

Deno.test("params that are not an object get -32600 from every kind method, a _meta that is not one -32602; a ping after each is answered", async () => {
  await withSession("legacy", async (session) => {
    const methods = [
      "prompts/list",
      "prompts/get",
      "resources/list",
      "resources/templates/list",
      "resources/read",
      "completion/complete",
    ];
    const sent: Message[] = [];
    for (const method of methods) {
      for (const params of [null, [], "x", 5, true]) {
        sent.push(request(sent.length + 1, method, params));
      }
    }
    const metas: Message[] = [];
    for (const method of methods) {
      for (const meta of [null, 5, "m", []]) {
        metas.push(request(100 + metas.length, method, { _meta: meta }));
      }
    }
    assert.deepEqual(
      await replies(session, "legacy", [...sent, ...metas]),
      [
        ...sent.map(({ id }) =>
          errorLine(id!, -32600, `Invalid request: "params" must be an object`)
        ),
        ...metas.map(({ id }) =>
          errorLine(id!, -32602, `Invalid params: "_meta" must be an object`)
        ),
      ],
    );
  });
});

const NOT_STRING = (name: string) =>
  `Invalid params: "${name}" must be a string`;
const REF =
  `Invalid params: "ref" must be { type: "ref/prompt", name } or { type: "ref/resource", uri }`;
const ARGUMENT =
  `Invalid params: "argument" must be { name, value }, both strings`;
const ARGUMENTS = `Invalid params: "arguments" must be an object of strings`;
const prompt = { type: "ref/prompt", name: "greet" };
const template = { type: "ref/resource", uri: "notes://{name}" };

/** Requests whose params are wrong somewhere inside, and the error each gets in both eras. */
const WRONG_PARAMS: Array<[string, Record<string, unknown>, string]> = [
  // A cursor of any kind: every list is one page, so no cursor is one this server gave.
  ...["prompts/list", "resources/list", "resources/templates/list"].flatMap(
    (method) =>
      [null, 5, -1, "", "garbage", { page: 2 }, "eyJwYWdlIjoyfQ=="].map((
        cursor,
      ): [string, Record<string, unknown>, string] => [
        method,
        { cursor },
        `Invalid params: unknown cursor (${method} returns every ${
          { "prompts/list": "prompt", "resources/list": "resource" }[method] ??
            "template"
        } on one page)`,
      ]),
  ),
  ["prompts/get", {}, NOT_STRING("name")],
  ["prompts/get", { name: 5 }, NOT_STRING("name")],
  ["prompts/get", { name: ["greet"] }, NOT_STRING("name")],
  ["prompts/get", { name: { toString: "greet" } }, NOT_STRING("name")],
  ["prompts/get", { name: "greet", arguments: [] }, ARGUMENTS],
  ["prompts/get", { name: "greet", arguments: "name=a" }, ARGUMENTS],
  ["prompts/get", { name: "greet", arguments: 5 }, ARGUMENTS],
  ["prompts/get", { name: "greet", arguments: { name: 5 } }, ARGUMENTS],
  ["prompts/get", { name: "greet", arguments: { name: null } }, ARGUMENTS],
  ["prompts/get", { name: "greet", arguments: { name: ["a"] } }, ARGUMENTS],
  [
    "prompts/get",
    { name: "greet", arguments: { name: "a", tone: { deep: "x" } } },
    ARGUMENTS,
  ],
  ["resources/read", {}, NOT_STRING("uri")],
  ["resources/read", { uri: 5 }, NOT_STRING("uri")],
  ["resources/read", { uri: null }, NOT_STRING("uri")],
  ["resources/read", { uri: ["notes://a"] }, NOT_STRING("uri")],
  ["resources/read", { uri: { href: "notes://a" } }, NOT_STRING("uri")],
  ["completion/complete", {}, REF],
  ["completion/complete", { ref: "ref/prompt" }, REF],
  ["completion/complete", { ref: [prompt] }, REF],
  ["completion/complete", { ref: { type: 5 } }, REF],
  ["completion/complete", { ref: { name: "greet" } }, REF],
  ["completion/complete", { ref: prompt }, ARGUMENT],
  ["completion/complete", { ref: prompt, argument: "tone" }, ARGUMENT],
  [
    "completion/complete",
    { ref: prompt, argument: { name: "tone" } },
    ARGUMENT,
  ],
  [
    "completion/complete",
    { ref: prompt, argument: { name: "tone", value: 5 } },
    ARGUMENT,
  ],
  [
    "completion/complete",
    { ref: prompt, argument: { name: 5, value: "" } },
    ARGUMENT,
  ],
  [
    "completion/complete",
    {
      ref: { type: "ref/tool", name: "greet" },
      argument: { name: "a", value: "" },
    },
    `Invalid params: unknown ref type "ref/tool"; use "ref/prompt" or "ref/resource"`,
  ],
  // Refs to what is not there, or cannot complete.
  [
    "completion/complete",
    {
      ref: { type: "ref/prompt", name: "nope" },
      argument: { name: "a", value: "" },
    },
    `Invalid params: unknown prompt "nope"`,
  ],
  [
    "completion/complete",
    {
      ref: { type: "ref/resource", uri: "nope://{x}" },
      argument: { name: "x", value: "" },
    },
    `Invalid params: no resource or resource template is "nope://{x}"`,
  ],
  [
    "completion/complete",
    {
      ref: { type: "ref/resource", uri: "notes://todo" },
      argument: { name: "name", value: "" },
    },
    `Invalid params: no resource or resource template is "notes://todo"`,
  ],
  [
    "completion/complete",
    {
      ref: { type: "ref/resource", uri: "docs://readme" },
      argument: { name: "name", value: "" },
    },
    `Invalid params: resource "readme" has no argument "name"`,
  ],
  [
    "completion/complete",
    { ref: template, argument: { name: "nme", value: "" } },
    `Invalid params: resource "note" has no argument "nme"`,
  ],
];

for (const era of ERAS) {
  Deno.test(`${era}: params of the wrong type inside get -32602 naming the field; a ping after each is answered`, async () => {
    await withSession(era, async (session) => {
      const sent = WRONG_PARAMS.map(([method, params], i) =>
        request(i + 1, method, params)
      );
      assert.deepEqual(
        await replies(session, era, sent),
        WRONG_PARAMS.map(([, , message], i) =>
          errorLine(i + 1, -32602, message)
        ),
      );
    });
  });
}

Deno.test({
  name:
    "a ref/prompt without a name, or a ref/resource without a uri, is told which field is missing",
  fn: async () => {
    await withSession("legacy", async (session) => {
      const argument = { name: "a", value: "" };
      assert.deepEqual(
        await replies(session, "legacy", [
          request(1, "completion/complete", {
            ref: { type: "ref/prompt" },
            argument,
          }),
          request(2, "completion/complete", {
            ref: { type: "ref/resource", uri: 5 },
            argument,
          }),
        ]),
        [
          errorLine(1, -32602, `Invalid params: "ref.name" must be a string`),
          errorLine(2, -32602, `Invalid params: "ref.uri" must be a string`),
        ],
      );
    });
  },
});

// 2. Names and keys of Object.prototype.

for (const era of ERAS) {
  Deno.test(`${era}: __proto__, constructor and toString are names like any other: as prompt names, arguments, template variables and completion refs`, async () => {
    await withSession(era, async (session) => {
      const proto = (json: string) => JSON.parse(json);
      const unknown = (id: number, name: string) =>
        errorLine(id, -32602, `Invalid params: unknown prompt "${name}"`, {
          prompts: ["greet", "proto", "shapes", "stuck"],
        });
      const sent = [
        request(1, "prompts/get", { name: "__proto__" }),
        request(2, "prompts/get", { name: "constructor" }),
        request(3, "prompts/get", { name: "hasOwnProperty" }),
        // An own "__proto__" key from JSON: an argument nobody declared, dropped.
        request(4, "prompts/get", {
          name: "greet",
          arguments: proto(`{"__proto__":"x","name":"Ada"}`),
        }),
        request(5, "prompts/get", {
          name: "greet",
          arguments: proto(`{"__proto__":{"name":"Ada"}}`),
        }),
        request(6, "prompts/get", {
          name: "proto",
          arguments: { constructor: "c", toString: "t" },
        }),
        request(7, "resources/read", { uri: "proto://__proto__/constructor" }),
        request(8, "resources/read", { uri: "notes://__proto__" }),
        request(9, "completion/complete", {
          ref: { type: "ref/prompt", name: "__proto__" },
          argument: { name: "a", value: "" },
        }),
        request(10, "completion/complete", {
          ref: { type: "ref/prompt", name: "greet" },
          argument: { name: "__proto__", value: "" },
        }),
        request(11, "completion/complete", {
          ref: { type: "ref/prompt", name: "greet" },
          argument: { name: "toString", value: "" },
        }),
        // Resolved arguments reach the completer as own keys; what is not a string is left out.
        request(12, "completion/complete", {
          ref: { type: "ref/prompt", name: "proto" },
          argument: { name: "constructor", value: "c" },
          context: {
            arguments: proto(`{"__proto__":"p","toString":"t","n":5}`),
          },
        }),
        request(13, "completion/complete", {
          ref: {
            type: "ref/resource",
            uri: "proto://{__proto__}/{constructor}",
          },
          argument: { name: "__proto__", value: "v" },
        }),
        request(14, "completion/complete", {
          ref: { type: "ref/resource", uri: "constructor" },
          argument: { name: "a", value: "" },
        }),
      ];
      const read = (id: number, uri: string, text: string) =>
        resultLine(id, {
          contents: [{ uri, mimeType: "text/plain", text }],
          ...(era === "2026" ? { ttlMs: 0, cacheScope: "private" } : {}),
        }, era);
      const completion = (id: number, values: string[]) =>
        resultLine(id, {
          completion: { values, total: values.length, hasMore: false },
        }, era);
      assert.deepEqual(await replies(session, era, sent), [
        unknown(1, "__proto__"),
        unknown(2, "constructor"),
        unknown(3, "hasOwnProperty"),
        resultLine(4, says("hi Ada"), era),
        errorLine(5, -32602, ARGUMENTS),
        resultLine(6, says(`{"constructor":"c","toString":"t"}`), era),
        read(
          7,
          "proto://__proto__/constructor",
          `{"__proto__":"__proto__","constructor":"constructor"}`,
        ),
        read(8, "notes://__proto__", `{"name":"__proto__"}`),
        errorLine(9, -32602, `Invalid params: unknown prompt "__proto__"`),
        errorLine(
          10,
          -32602,
          `Invalid params: prompt "greet" has no argument "__proto__"`,
        ),
        errorLine(
          11,
          -32602,
          `Invalid params: prompt "greet" has no argument "toString"`,
        ),
        completion(12, ["c", `{"__proto__":"p","toString":"t"}`]),
        completion(13, ["proto v"]),
        errorLine(
          14,
          -32602,
          `Invalid params: no resource or resource template is "constructor"`,
        ),
      ]);
    });
  });
}

Deno.test("a prompt argument named __proto__ is refused when the prompt loads: get would never receive it", () => {
  assert.throws(
    () =>
      createPrompt(
        {
          description: "d",
          args: z.object({ ["__proto__"]: z.string() }),
          get: () => "x",
        },
        "proto",
        "prompts/proto.ts",
      ),
    {
      message:
        `Cannot load prompt "prompts/proto.ts": an argument cannot be named "__proto__": get would never receive it; rename it`,
    },
  );
});

// 3. Percent-encoding.

/** URIs and what `notes://{name}` reads for each: its parameter, or nothing (not found). */
const ENCODINGS: Array<[string, string | undefined]> = [
  ["notes://a%20b", "a b"],
  ["notes://%F0%9F%98%80", "😀"],
  ["notes://caf%C3%A9", "café"],
  ["notes://%252e%252e", "%2e%2e"], // decoded once, never twice
  ["notes://..%2e", "..."],
  ["notes://a.b", "a.b"],
  ["notes://%00", undefined],
  ["notes://a%00b", undefined],
  ["notes://a\u0000b", undefined],
  ["notes://.", undefined],
  ["notes://%2e", undefined],
  ["notes://..", undefined],
  ["notes://%2e%2e", undefined],
  ["notes://%2E%2e", undefined],
  ["notes://.%2e", undefined],
  ["notes://a%2Fb", undefined],
  ["notes://%2e%2e%2Fsecret", undefined],
  ["notes://a%5Cb", undefined],
  ["notes://a\\b", undefined],
  ["notes://%zz", undefined],
  ["notes://%", undefined],
  ["notes://%2", undefined],
  ["notes://%C0%AE", undefined], // overlong "."
  ["notes://%C0%AF", undefined], // overlong "/"
  ["notes://%E0%80%AE", undefined], // overlong "." in three bytes
  ["notes://%ED%A0%80", undefined], // an escaped lone surrogate
  ["notes://\ud800", undefined], // a raw lone surrogate
  ["notes://a\udc00b", undefined],
  ["notes://%FF", undefined],
  ["notes://", undefined], // a template that would match with its parameter empty
  ["two:///b", undefined],
  ["two://a/", undefined],
  ["two://a/b/c", undefined],
  ["notes://a?b", undefined],
  ["notes://a#b", undefined],
  ["NOTES://a", undefined],
  ["notes:/a", undefined],
  ["", undefined],
  ["docs://readme/", undefined],
];

for (const era of ERAS) {
  Deno.test(`${era}: a parameter decodes once to text, or the URI is not found: NUL, dot segments, slashes, bad escapes, overlong UTF-8, lone surrogates`, async () => {
    await withSession(era, async (session) => {
      const sent = ENCODINGS.map(([uri], i) =>
        request(i + 1, "resources/read", { uri })
      );
      assert.deepEqual(
        await replies(session, era, sent),
        ENCODINGS.map(([uri, name], i) =>
          name === undefined
            ? errorLine(
              i + 1,
              era === "legacy" ? -32002 : -32602,
              "Resource not found",
              { uri },
            )
            : resultLine(i + 1, {
              contents: [{
                uri,
                mimeType: "text/plain",
                text: JSON.stringify({ name }),
              }],
              ...(era === "2026" ? { ttlMs: 0, cacheScope: "private" } : {}),
            }, era)
        ),
      );
    });
  });
}

// 4. Huge and deep.

/** `{"a":{"a":…"x"}}`, `depth` deep, as JSON text (too deep for `JSON.stringify`). */
function deep(depth: number): string {
  return `${'{"a":'.repeat(depth)}"x"${"}".repeat(depth)}`;
}

/** A request line with `params` as JSON text. */
function rawRequest(id: number, method: string, params: string): RawLine {
  return {
    id,
    line:
      `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}`,
  };
}

Deno.test("huge and deep params: 1 MB names and URIs, 100,000 levels, 100,000 arguments, a 1 MB completion value; each answered", async () => {
  await withSession("legacy", async (session) => {
    const mb = "a".repeat(1 << 20);
    const levels = deep(100_000);
    const sent = [
      request(1, "prompts/get", { name: mb }),
      request(2, "resources/read", { uri: `notes://${mb}` }),
      rawRequest(
        3,
        "prompts/get",
        `{"name":"greet","arguments":${levels}}`,
      ),
      rawRequest(4, "completion/complete", levels),
      rawRequest(
        5,
        "completion/complete",
        `{"ref":${levels},"argument":${levels}}`,
      ),
      request(6, "prompts/get", {
        name: "greet",
        arguments: Object.fromEntries(
          Array.from({ length: 100_000 }, (_, i) => [`k${i}`, "v"]),
        ),
      }),
      rawRequest(
        7,
        "completion/complete",
        `{"ref":${
          JSON.stringify(prompt)
        },"argument":{"name":"tone","value":"${mb}"},"context":{"arguments":${levels}}}`,
      ),
      rawRequest(
        8,
        "prompts/get",
        `{"name":"greet","arguments":{"name":"Ada"},"_meta":${levels}}`,
      ),
      request(9, "resources/read", { uri: `nope://${mb}` }),
    ];
    const got = await replies(session, "legacy", sent);
    assert.deepEqual(got.slice(0, 6), [
      errorLine(
        1,
        -32602,
        `Invalid params: unknown prompt "${"a".repeat(30)}…"`,
        {
          prompts: ["greet", "proto", "shapes", "stuck"],
        },
      ),
      // A match: the reply carries the URI, as every read does.
      resultLine(2, {
        contents: [{
          uri: `notes://${mb}`,
          mimeType: "text/plain",
          text: JSON.stringify({ name: mb }),
        }],
      }, "legacy"),
      errorLine(3, -32602, ARGUMENTS),
      errorLine(4, -32602, REF),
      errorLine(5, -32602, REF),
      errorLine(
        6,
        -32602,
        `Invalid params: arguments of prompt "greet": name: required (expected string)`,
      ),
    ]);
    // Each value is cut to 4,096 characters.
    assert.equal(
      got[6],
      resultLine(7, {
        completion: { values: ["a".repeat(4_096)], total: 1, hasMore: false },
      }, "legacy"),
    );
    assert.equal(got[7], resultLine(8, says("hi Ada"), "legacy"));
    // Not found: its data names the URI whole, as the protocol's error does.
    assert.equal(
      got[8],
      errorLine(9, -32002, "Resource not found", { uri: `nope://${mb}` }),
    );
  });
});

// 5. What get, read and completers return or throw, in this thread.

for (const era of ERAS) {
  Deno.test(`${era}: what a get returns or throws that is not a prompt is -32603 naming the flaw; a ToolError -32602; a timeout -32603`, async () => {
    await withSession(era, async (session) => {
      const cases: Array<[string, string | object]> = [
        [
          "number",
          `Internal error: prompt "shapes" returned a number; ${RETURN_PROMPT}`,
        ],
        [
          "null",
          `Internal error: prompt "shapes" returned null; ${RETURN_PROMPT}`,
        ],
        // Only a message's role and content are read: its cycle is left behind.
        ["cycle", says("x")],
        ["proxy", `Internal error: prompt "shapes" failed: Error: trap`],
        [
          "thrown proxy",
          `Internal error: prompt "shapes" failed: (an object that cannot be shown)`,
        ],
        [
          "role",
          `Internal error: prompt "shapes" returned an invalid message: "role" is "system"; use "user" or "assistant"`,
        ],
        [
          "block",
          `Internal error: prompt "shapes" returned an invalid message: "content" is an "image" block without "data" and "mimeType" as strings`,
        ],
        [
          "description",
          `Internal error: prompt "shapes" returned "description" as a number; make it a string`,
        ],
        ["then", `Internal error: prompt "shapes" failed: Error: then`],
      ];
      const sent = cases.map(([what], i) =>
        request(i + 1, "prompts/get", { name: "shapes", arguments: { what } })
      );
      sent.push(
        request(98, "prompts/get", {
          name: "shapes",
          arguments: { what: "tool error" },
        }),
        request(99, "prompts/get", { name: "stuck", arguments: { what: "" } }),
      );
      assert.deepEqual(await replies(session, era, sent), [
        ...cases.map(([, expected], i) =>
          typeof expected === "string"
            ? errorLine(i + 1, -32603, expected)
            : resultLine(i + 1, expected, era)
        ),
        errorLine(98, -32602, "Not today"),
        errorLine(
          99,
          -32603,
          `Internal error: Prompt "stuck" timed out after ${SHORT_MS} ms and was stopped`,
        ),
      ]);
    });
  });
}

for (const era of ERAS) {
  Deno.test(`${era}: what a read returns that is not contents is -32603 naming the flaw; undefined is not found in the era's code`, async () => {
    await withSession(era, async (session) => {
      const invalid = (what: string) =>
        `Internal error: resource "hostile" returned an invalid item${what}; ${RETURN_ITEMS}`;
      const cases: Array<[string, string]> = [
        ["number", invalid(": it is a number")],
        [
          "empty",
          `Internal error: resource "hostile" read no contents; return "" for an empty resource, undefined for one that does not exist`,
        ],
        [
          "not base64",
          invalid(
            `: "blob" is a string that is not base64 (give the bytes as a Uint8Array)`,
          ),
        ],
        [
          "short base64",
          invalid(
            `: "blob" is a string that is not base64 (give the bytes as a Uint8Array)`,
          ),
        ],
        ["both", invalid(`: it has both "text" and "blob"`)],
        ["dataview", invalid(": it is a DataView")],
        ["strings", invalid(" [0]: it is a string")],
        ["proxy", `Internal error: resource "hostile" failed: Error: trap`],
      ];
      const sent = cases.map(([what], i) =>
        request(i + 1, "resources/read", {
          uri: `hostile://${encodeURIComponent(what)}`,
        })
      );
      sent.push(
        request(98, "resources/read", { uri: "hostile://undefined" }),
        request(99, "resources/read", { uri: "hostile://tool%20error" }),
        request(100, "resources/read", { uri: "hostile://other%20uri" }),
        request(101, "resources/read", { uri: "stuck://forever" }),
      );
      assert.deepEqual(await replies(session, era, sent), [
        ...cases.map(([, message], i) => errorLine(i + 1, -32603, message)),
        errorLine(
          98,
          era === "legacy" ? -32002 : -32602,
          "Resource not found",
          { uri: "hostile://undefined" },
        ),
        errorLine(99, -32602, "Not yours"),
        // An item may name another URI: it is kept as given.
        resultLine(100, {
          contents: [{ uri: "other://x", mimeType: "text/plain", text: "a" }],
          ...(era === "2026" ? { ttlMs: 0, cacheScope: "private" } : {}),
        }, era),
        errorLine(
          101,
          -32603,
          `Internal error: Resource "stuck" timed out after ${SHORT_MS} ms and was stopped`,
        ),
      ]);
    });
  });
}

for (const era of ERAS) {
  Deno.test(`${era}: a completer that returns no array of strings, throws or never resolves is -32603; a million values are cut to 100 with their total`, async () => {
    await withSession(era, async (session) => {
      const whose = `the completer of "what" in prompt "shapes"`;
      const cases: Array<[string, string]> = [
        [
          "number",
          `Internal error: ${whose} returned a number; return an array of strings`,
        ],
        [
          "mixed",
          `Internal error: ${whose} returned a number at [1]; return an array of strings`,
        ],
        [
          "throw",
          `Internal error: the completer of prompt "shapes" failed: TypeError: boom`,
        ],
        [
          "thrown proxy",
          `Internal error: the completer of prompt "shapes" failed: (an object that cannot be shown)`,
        ],
      ];
      const complete = (id: number, value: string, name = "shapes") =>
        request(id, "completion/complete", {
          ref: { type: "ref/prompt", name },
          argument: { name: "what", value },
        });
      const sent = cases.map(([value], i) => complete(i + 1, value));
      sent.push(
        complete(97, "", "stuck"),
        complete(98, "tool error"),
        complete(99, "many"),
      );
      assert.deepEqual(await replies(session, era, sent), [
        ...cases.map(([, message], i) => errorLine(i + 1, -32603, message)),
        errorLine(
          97,
          -32603,
          `Internal error: The completer of prompt "stuck" timed out after ${SHORT_MS} ms and was stopped`,
        ),
        errorLine(98, -32602, "Not here"),
        resultLine(99, {
          completion: {
            values: Array.from({ length: 100 }, (_, i) => `v${i}`),
            total: 1_000_000,
            hasMore: true,
          },
        }, era),
      ]);
    });
  });
}

Deno.test({
  name: "a result that cannot be written as JSON names the prompt or resource",
  fn: async () => {
    await withSession("legacy", async (session) => {
      const why = (label: string, error: string) =>
        `Internal error: ${label} returned a result that cannot be sent as JSON: ${error}`;
      assert.deepEqual(
        await replies(session, "legacy", [
          request(1, "prompts/get", {
            name: "shapes",
            arguments: { what: "bigint" },
          }),
          request(2, "prompts/get", {
            name: "shapes",
            arguments: { what: "toJSON" },
          }),
          request(3, "resources/read", { uri: "hostile://bigint%20meta" }),
        ]),
        [
          errorLine(
            1,
            -32603,
            why(
              `Prompt "shapes"`,
              "TypeError: Do not know how to serialize a BigInt",
            ),
          ),
          errorLine(2, -32603, why(`Prompt "shapes"`, "Error: no JSON")),
          errorLine(
            3,
            -32603,
            why(
              `Resource "hostile"`,
              "TypeError: Do not know how to serialize a BigInt",
            ),
          ),
        ],
      );
    });
  },
});

Deno.test("a result that cannot be written as JSON (a BigInt, a cycle, a throwing toJSON) is -32603, and the server goes on", async () => {
  await withSession("legacy", async (session) => {
    const sent = [
      request(1, "prompts/get", {
        name: "shapes",
        arguments: { what: "bigint" },
      }),
      request(2, "prompts/get", {
        name: "shapes",
        arguments: { what: "cyclic block" },
      }),
      request(3, "prompts/get", {
        name: "shapes",
        arguments: { what: "toJSON" },
      }),
      request(4, "resources/read", { uri: "hostile://bigint%20meta" }),
      request(5, "resources/read", { uri: "hostile://cyclic%20meta" }),
    ];
    const got = await replies(session, "legacy", sent);
    // TODO: the exact lines once the runnable is named (see the ignored test above).
    got.forEach((line, i) =>
      assert.match(
        line,
        new RegExp(
          `^\\{"jsonrpc":"2.0","id":${
            i + 1
          },"error":\\{"code":-32603,"message":"Internal error: .* returned a result that cannot be sent as JSON: (TypeError|Error): `,
        ),
      )
    );
  });
});

Deno.test({
  name:
    "a completer that never resolves is answered after 5 s even when its prompt may run longer",
  fn: () => {
    const slow = servePrompt({
      description: "d",
      args: z.object({ a: z.string() }),
      complete: { a: () => new Promise<string[]>(() => {}) },
      get: () => "x",
    }, "slow");
    // The completer's runnable is timed as the prompt is (60 s by default).
    assert.equal(slow.complete.timeoutMs, COMPLETE_TIMEOUT_MS);
    assert.equal(slow.get.timeoutMs, 60_000);
  },
});

// 6. Cancellation, concurrency and size, in this thread.

for (const era of ERAS) {
  Deno.test(`${era}: a cancelled get, read or completion that answers after its cancel gets no reply; its id is free at once`, async () => {
    await withSession(era, async (session) => {
      session.send(inEra(
        era,
        request(1, "prompts/get", {
          name: "shapes",
          arguments: { what: "late" },
        }),
      ));
      session.send(
        inEra(era, request(2, "resources/read", { uri: "hostile://late" })),
      );
      session.send(inEra(
        era,
        request(3, "completion/complete", {
          ref: { type: "ref/prompt", name: "shapes" },
          argument: { name: "what", value: "late" },
        }),
      ));
      // Taken while in flight.
      session.send(inEra(era, request(1, "prompts/get", { name: "greet" })));
      assert.equal(
        await session.next(),
        errorLine(
          1,
          -32600,
          "Invalid request: this id is already used by a call in progress",
        ),
      );
      for (const id of [1, 2, 3]) session.send(cancel(id, "changed my mind"));
      // Each id again at once, for another request.
      session.send(inEra(
        era,
        request(1, "prompts/get", {
          name: "greet",
          arguments: { name: "Ada" },
        }),
      ));
      session.send(
        inEra(era, request(2, "resources/read", { uri: "notes://b" })),
      );
      session.send(inEra(
        era,
        request(3, "completion/complete", {
          ref: prompt,
          argument: { name: "tone", value: "w" },
        }),
      ));
      // The cancelled calls answer "too late" as their cancel reaches them: none is written
      // before this ping's reply, nor after.
      session.send(inEra(era, ping("after")));
      const lines = [];
      for (let i = 0; i < 4; i++) lines.push(await session.next());
      assert.equal(
        lines.pop(),
        era === "legacy"
          ? pingReply("after")
          : `{"jsonrpc":"2.0","id":"after","result":{"resultType":"complete",${SERVER_META}}}`,
      );
      assert.deepEqual(
        lines.sort(),
        [
          resultLine(1, says("hi Ada"), era),
          resultLine(2, {
            contents: [{
              uri: "notes://b",
              mimeType: "text/plain",
              text: `{"name":"b"}`,
            }],
            ...(era === "2026" ? { ttlMs: 0, cacheScope: "private" } : {}),
          }, era),
          resultLine(3, {
            completion: { values: ["w"], total: 1, hasMore: false },
          }, era),
        ].sort(),
      );
      assert.equal(session.out.lines.length, 5 + (era === "legacy" ? 1 : 0));
    });
  });
}

Deno.test("a hundred concurrent reads, gets and completions are each answered once, with pings among them", async () => {
  await withSession("legacy", async (session) => {
    const sent: Message[] = [];
    for (let i = 1; i <= 100; i++) {
      sent.push(
        i % 3 === 0
          ? request(i, "prompts/get", {
            name: "greet",
            arguments: { name: `n${i}` },
          })
          : i % 3 === 1
          ? request(i, "resources/read", { uri: `notes://n${i}` })
          : request(i, "completion/complete", {
            ref: prompt,
            argument: { name: "tone", value: `n${i}` },
          }),
      );
    }
    const got = await replies(session, "legacy", sent);
    assert.deepEqual(
      got,
      sent.map(({ id }) => {
        const n = `n${id}`;
        return (id as number) % 3 === 0
          ? resultLine(id!, says(`hi ${n}`), "legacy")
          : (id as number) % 3 === 1
          ? resultLine(id!, {
            contents: [{
              uri: `notes://${n}`,
              mimeType: "text/plain",
              text: JSON.stringify({ name: n }),
            }],
          }, "legacy")
          : resultLine(id!, {
            completion: { values: [n], total: 1, hasMore: false },
          }, "legacy");
      }),
    );
  });
});

/**
 * A sink that checks, as ASCII bytes arrive, that they are exactly the expected parts in order:
 * texts, and one character repeated (a run), checked by a native search rather than a byte at
 * a time; it keeps nothing of them. `done` resolves once all arrived, rejects at the first
 * difference.
 */
class ExpectedBytes {
  readonly #parts: Array<{ text: string; run: number; other?: RegExp }>;
  #part = 0;
  /** Characters of the current part already seen. */
  #seen = 0;
  readonly #decoder = new TextDecoder("latin1");
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;

  /** `parts`: a text, or `[char, count]` for `count` times one letter or digit. */
  constructor(parts: Array<string | [string, number]>) {
    this.#parts = parts.map((part) =>
      typeof part === "string"
        ? { text: part, run: 0 }
        : { text: part[0], run: part[1], other: new RegExp(`[^${part[0]}]`) }
    );
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  write(chunk: Uint8Array): void {
    let text = this.#decoder.decode(chunk);
    while (text.length > 0) {
      const part = this.#parts[this.#part];
      if (!part) {
        return this.#reject(new Error(`Unexpected: ${text.slice(0, 80)}`));
      }
      const size = part.run > 0 ? part.run : part.text.length;
      const take = Math.min(size - this.#seen, text.length);
      const got = text.slice(0, take);
      const ok = part.other
        ? !part.other.test(got)
        : got === part.text.slice(this.#seen, this.#seen + take);
      if (!ok) {
        return this.#reject(
          new Error(
            `Part ${this.#part} differs at ${this.#seen}: ${got.slice(0, 80)}`,
          ),
        );
      }
      this.#seen += take;
      text = text.slice(take);
      if (this.#seen === size) {
        this.#part++;
        this.#seen = 0;
      }
    }
    if (this.#part === this.#parts.length) this.#resolve();
  }
}

/** `promise`, or a failure naming `what` after `ms`: a stall fails rather than hangs. */
async function within<T>(promise: Promise<T>, ms: number, what: string) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(
      () => reject(new Error(`${what} did not arrive within ${ms} ms`)),
      ms,
    )
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a read of 50 MiB of bytes is sent whole as base64, after a ping sent behind it", async () => {
  const size = 50 * 1024 * 1024;
  const base64 = Math.ceil(size / 3) * 4;
  const uri = `blob://${size}`;
  // Zero bytes are "A" in base64; 50 MiB is not a multiple of 3, so it ends with padding.
  const head =
    `{"jsonrpc":"2.0","id":"p","result":{}}\n{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"${uri}","mimeType":"application/octet-stream","blob":"`;
  const padding = "=".repeat((3 - (size % 3)) % 3);
  const expected = new ExpectedBytes([
    head,
    ["A", base64 - padding.length],
    `${padding}"}]}}\n`,
  ]);
  const session = new Session(
    { tools: set },
    new WritableStream({ write: (chunk) => expected.write(chunk) }),
  );
  // In one chunk: both are read before the read's bytes are made.
  session.raw(jsonLines(request(1, "resources/read", { uri }), ping("p")));
  await within(expected.done, QUICK_MS, "the 50 MiB reply");
  await session.end();
});

// 7. The real server: the fixtures' code runs in workers.

const FOLDER = `${ROOT}/tests/fixtures/hostile_kinds`;

/** The server as `deno task start` runs it on the fixture folder, logging at debug. */
function hostileServer(
  options: { unread?: Array<"stdout" | "stderr"> } = {},
): ServerProcess & AsyncDisposable {
  const flags = START_FLAGS.map((flag) =>
    flag.startsWith("--allow-read=") ? `${flag},${FOLDER}` : flag
  );
  const server = new ServerProcess([
    ...flags,
    `${ROOT}/main.ts`,
    "--tools",
    `${FOLDER}/tools`,
    "--log-level",
    "debug",
  ], options) as ServerProcess & AsyncDisposable;
  server[Symbol.asyncDispose] = async () => {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // it has exited already
    }
    await server.child.status;
    await server.closeStdin().catch(() => {});
    if (!options.unread?.includes("stdout")) await server.stdout.done;
    else await server.child.stdout.cancel().catch(() => {});
    await server.stderr.done;
  };
  return server;
}

/** The handshake of `era`, then a list whose reply says the folders are loaded. */
async function ready(server: ServerProcess, era: Era): Promise<void> {
  if (era === "legacy") await server.send(initialize("init"), initialized());
  await server.send(inEra(era, request("ready", "prompts/list")));
  await replyWithin(server, "ready", QUICK_MS, "the prompts' list");
}

/** Default grace before a call that ignores its aborted signal has its worker terminated. */
const GRACE_MS = 1_000;
/** The spinning fixtures' `timeoutMs`. */
const SPIN_TIMEOUT_MS = 1_000;

/** Waits for the reply to `id`; returns its exact line. */
async function line(
  server: ServerProcess,
  id: number | string,
  what: string,
  limitMs = QUICK_MS,
): Promise<string> {
  return (await replyWithin(server, id, limitMs, what)).line;
}

/** The index of the reply line to `id` among the lines written so far. */
function position(server: ServerProcess, id: number | string): number {
  return server.stdout.lines.findIndex((l) =>
    l.startsWith(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},`)
  );
}

Deno.test("Deno.exit in a get, a completer or a read ends only its worker: -32603, ping answered, the next request runs on a new worker", async () => {
  await using server = hostileServer();
  await ready(server, "legacy");
  const exits: Array<[Message, RegExp]> = [
    [
      request(1, "prompts/get", { name: "exit", arguments: { how: "exit" } }),
      /ended its worker with Deno\.exit\(3\)/,
    ],
    [
      request(2, "completion/complete", {
        ref: { type: "ref/prompt", name: "exit" },
        argument: { name: "how", value: "exit" },
      }),
      /ended its worker with Deno\.exit\(4\)/,
    ],
    [
      request(3, "resources/read", { uri: "exit://now" }),
      /ended its worker with Deno\.exit\(5\)/,
    ],
  ];
  for (const [message, exit] of exits) {
    const id = message.id!;
    await server.send(message, ping(`p${id}`));
    const reply = JSON.parse(await line(server, id, `exit ${id}`));
    assert.equal(reply.error.code, -32603);
    // TODO: the exact line once the runnable is named (see the ignored test below).
    assert.match(reply.error.message, exit);
    assert.equal(await line(server, `p${id}`, "ping"), pingReply(`p${id}`));
    // The next request of the same file starts a new worker.
    await server.send(
      request(10 + (id as number), "prompts/get", {
        name: "exit",
        arguments: { how: "stay" },
      }),
    );
    assert.equal(
      await line(server, 10 + (id as number), "the next get"),
      resultLine(10 + (id as number), says("still here"), "legacy"),
    );
  }
  await server.send(
    request(20, "completion/complete", {
      ref: { type: "ref/prompt", name: "exit" },
      argument: { name: "how", value: "" },
    }),
    request(21, "tools/call", { name: "echo", arguments: { text: "hi" } }),
  );
  assert.equal(
    await line(server, 20, "the next completion"),
    resultLine(20, {
      completion: { values: ["exit", "stay"], total: 2, hasMore: false },
    }, "legacy"),
  );
  assert.equal(
    await line(server, 21, "the tool of the same worker"),
    `{"jsonrpc":"2.0","id":21,"result":{"content":[{"type":"text","text":"hi"}]}}`,
  );
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0, server.stderr.text);
});

Deno.test({
  name:
    "Deno.exit in a get, a completer or a read is told as the prompt's, the completer's or the resource's",
  fn: async () => {
    await using server = hostileServer();
    await ready(server, "legacy");
    await server.send(
      request(1, "prompts/get", { name: "exit", arguments: { how: "exit" } }),
    );
    assert.equal(
      await line(server, 1, "exit"),
      errorLine(
        1,
        -32603,
        `Internal error: Prompt "exit" ended its worker with Deno.exit(3); the next call starts a new one (a prompt should return or throw, not exit)`,
      ),
    );
    await server.send(request(2, "completion/complete", {
      ref: { type: "ref/prompt", name: "exit" },
      argument: { name: "how", value: "exit" },
    }));
    assert.equal(
      await line(server, 2, "exit"),
      errorLine(
        2,
        -32603,
        `Internal error: The completer of prompt "exit" ended its worker with Deno.exit(4); the next call starts a new one (a completer should return or throw, not exit)`,
      ),
    );
    await server.send(request(3, "resources/read", { uri: "exit://now" }));
    assert.equal(
      await line(server, 3, "exit"),
      errorLine(
        3,
        -32603,
        `Internal error: Resource "exit" ended its worker with Deno.exit(5); the next call starts a new one (a resource should return or throw, not exit)`,
      ),
    );
  },
});

Deno.test("an endless loop in a get, a getter of its result, a read or a completer is answered at its timeout; ping and a tool answer meanwhile; a new worker serves the next request", async () => {
  await using server = hostileServer();
  await ready(server, "legacy");
  // Four files, four workers (each declares its own permissions): they spin side by side.
  const calm: Array<[Message, string]> = [
    [
      request("c1", "prompts/get", {
        name: "spin",
        arguments: { how: "calm" },
      }),
      resultLine("c1", says("spun"), "legacy"),
    ],
    [
      request("c2", "prompts/get", {
        name: "spin_getter",
        arguments: { how: "calm" },
      }),
      resultLine("c2", says("calm"), "legacy"),
    ],
    [
      request("c3", "resources/read", { uri: "spin://calm" }),
      resultLine("c3", {
        contents: [{
          uri: "spin://calm",
          mimeType: "text/plain",
          text: "not spinning: calm",
        }],
      }, "legacy"),
    ],
    [
      request("c4", "completion/complete", {
        ref: { type: "ref/resource", uri: "spincomplete://{what}" },
        argument: { name: "what", value: "calm" },
      }),
      resultLine("c4", {
        completion: { values: ["calm!"], total: 1, hasMore: false },
      }, "legacy"),
    ],
  ];
  // Each worker started and its file imported first: a call's timer starts in the server's
  // thread, and on a loaded machine a worker's start can use up the time the loop is to fill
  // (then the warm-up is sent again, to the worker it started).
  for (const [message, expected] of calm) {
    for (let attempt = 1;; attempt++) {
      await server.send({ ...message, id: `${message.id}.${attempt}` });
      const got = await line(server, `${message.id}.${attempt}`, "a warm-up");
      const want = expected.replace(
        `"id":"${message.id}"`,
        `"id":"${message.id}.${attempt}"`,
      );
      if (got === want) break;
      assert.match(got, /timed out after/);
      assert.ok(attempt < 3, got);
    }
  }
  const timedOut = (who: string) =>
    `Internal error: ${who} timed out after ${SPIN_TIMEOUT_MS} ms and was stopped`;
  const spins: Array<[Message, string, RegExp]> = [
    [
      request(1, "prompts/get", { name: "spin", arguments: { how: "spin" } }),
      timedOut(`Prompt "spin"`),
      /HOSTILE get spinning/,
    ],
    [
      request(2, "prompts/get", {
        name: "spin_getter",
        arguments: { how: "spin" },
      }),
      timedOut(`Prompt "spin_getter"`),
      /HOSTILE getter spinning/,
    ],
    [
      request(3, "resources/read", { uri: "spin://read" }),
      timedOut(`Resource "spin"`),
      /HOSTILE read spinning/,
    ],
    [
      request(4, "completion/complete", {
        ref: { type: "ref/resource", uri: "spincomplete://{what}" },
        argument: { name: "what", value: "spin" },
      }),
      timedOut(`The completer of resource "spin_completer"`),
      /HOSTILE completer spinning/,
    ],
  ];
  await server.send(...spins.map(([message]) => message));
  for (const [, , spinning] of spins) {
    await stderrWithin(server, spinning, QUICK_MS, "the loop's start");
  }
  // While they loop: a ping, and a tool of another worker.
  await server.send(
    ping("p"),
    request("echo", "tools/call", {
      name: "echo",
      arguments: { text: "meanwhile" },
    }),
  );
  assert.equal(await line(server, "p", "ping"), pingReply("p"));
  assert.equal(
    await line(server, "echo", "a tool meanwhile"),
    `{"jsonrpc":"2.0","id":"echo","result":{"content":[{"type":"text","text":"meanwhile"}]}}`,
  );
  for (const [message, error] of spins) {
    const id = message.id!;
    assert.equal(
      await line(server, id, "the loop's timeout"),
      errorLine(id, -32603, error),
    );
    // Answered meanwhile: before the loop's own reply.
    assert.ok(position(server, "p") < position(server, id));
    assert.ok(position(server, "echo") < position(server, id));
  }
  // The four workers are terminated after the grace. The completer's shares its worker with
  // prompts/hang.ts, whose next get (no tight timeout: Deno 2.9.6 leaves a thread stuck in a
  // loop spinning, and four of them slow every start) runs on a new worker.
  await stderrWithin(
    server,
    /(ended \(stuck\)[^]*){4}/,
    GRACE_MS + QUICK_MS,
    "the workers' termination",
  );
  await server.send(
    request(5, "prompts/get", { name: "hang", arguments: { how: "now" } }),
  );
  assert.equal(
    await line(server, 5, "a new worker"),
    resultLine(5, says("answered"), "legacy"),
  );
  assert.match(
    server.stderr.text,
    /Started a worker for "[^"]*prompts\/hang\.ts"[^\n]*resources\/spin_completer\.ts"[^]*ended \(stuck\)[^]*Started a worker for "[^"]*prompts\/hang\.ts"/,
  );
});

Deno.test("2026: a get, a completion or a read that never settles, cancelled, gets no reply; its late answer is dropped; the worker is replaced after the grace", async () => {
  await using server = hostileServer();
  await ready(server, "2026");
  await server.send(
    modern(request(1, "prompts/get", {
      name: "hang",
      arguments: { how: "never" },
    })),
    modern(request(2, "prompts/get", {
      name: "hang",
      arguments: { how: "late" },
    })),
    modern(request(3, "completion/complete", {
      ref: { type: "ref/prompt", name: "hang" },
      argument: { name: "how", value: "late" },
    })),
    modern(request(4, "resources/read", { uri: "never://settles" })),
  );
  for (const marker of [/getting never/, /getting late/, /completing late/]) {
    await stderrWithin(server, marker, QUICK_MS, "the worker's start");
  }
  // Taken while in flight, even by another method.
  await server.send(modern(request(1, "resources/read", { uri: "slow://1" })));
  assert.equal(
    await line(server, 1, "an id in use"),
    errorLine(
      1,
      -32600,
      "Invalid request: this id is already used by a call in progress",
    ),
  );
  const stuck = server.stderr.text.match(/ended \(stuck\)/g)?.length ?? 0;
  await server.send(
    cancel(1),
    cancel(2),
    cancel(3),
    cancel(4),
    modern(ping("p")),
  );
  assert.equal(
    await line(server, "p", "ping"),
    `{"jsonrpc":"2.0","id":"p","result":{"resultType":"complete",${SERVER_META}}}`,
  );
  // Two calls never stop: the worker is terminated after the grace.
  await stderrWithin(
    server,
    new RegExp(`(ended \\(stuck\\)[^]*){${stuck + 1}}`),
    GRACE_MS + QUICK_MS,
    "the worker's termination",
  );
  await server.send(
    modern(request(5, "prompts/get", {
      name: "hang",
      arguments: { how: "now" },
    })),
  );
  assert.equal(
    await line(server, 5, "the next get, on a new worker"),
    resultLine(5, says("answered"), "2026"),
  );
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  // The cancelled requests got nothing; the late answers went nowhere.
  assert.deepEqual(
    server.stdout.lines.map((l) => JSON.parse(l).id),
    ["ready", 1, "p", 5],
  );
});

Deno.test("through workers, in both eras: what cannot leave a worker is -32603; a hundred concurrent reads are each answered once; proto keys; not found in the era's code", async () => {
  await using server = hostileServer();
  await ready(server, "legacy");
  for (const era of ERAS) {
    const base = era === "legacy" ? 0 : 1000;
    const sent: Message[] = [];
    for (let i = 1; i <= 100; i++) {
      sent.push(
        request(base + i, "resources/read", { uri: `slow://${i % 7}` }),
      );
    }
    sent.push(
      request(base + 101, "prompts/get", {
        name: "shapes",
        arguments: { what: "proxy" },
      }),
      request(base + 102, "completion/complete", {
        ref: { type: "ref/prompt", name: "shapes" },
        argument: { name: "what", value: "function" },
      }),
      request(base + 103, "completion/complete", {
        ref: { type: "ref/prompt", name: "shapes" },
        argument: { name: "what", value: "many" },
      }),
      request(base + 104, "resources/read", { uri: "blob://bad" }),
      request(base + 105, "resources/read", {
        uri: "proto://__proto__/%E2%82%AC",
      }),
      request(base + 106, "completion/complete", {
        ref: { type: "ref/resource", uri: "proto://{__proto__}/{constructor}" },
        argument: { name: "__proto__", value: "v" },
      }),
      request(base + 107, "completion/complete", {
        ref: { type: "ref/resource", uri: "params://{a}/{b}" },
        argument: { name: "a", value: "x" },
        context: { arguments: JSON.parse(`{"__proto__":"p","b":"q"}`) },
      }),
      request(base + 108, "resources/read", { uri: "params://%2e%2e/x" }),
      request(base + 109, "resources/read", { uri: "params://\ud800/x" }),
    );
    await server.send(
      ...sent.map((message) => inEra(era, message)),
      ping(`p${era}`),
    );
    const cache = era === "2026" ? { ttlMs: 0, cacheScope: "private" } : {};
    for (let i = 1; i <= 100; i++) {
      assert.equal(
        await line(server, base + i, `read ${i}`),
        resultLine(base + i, {
          contents: [{
            uri: `slow://${i % 7}`,
            mimeType: "text/plain",
            text: `after ${i % 7}`,
          }],
          ...cache,
        }, era),
      );
    }
    const notFound = era === "legacy" ? -32002 : -32602;
    const expected: Array<[number, string]> = [
      [
        101,
        errorLine(
          base + 101,
          -32603,
          `Internal error: prompt "shapes" failed: Error: trap`,
        ),
      ],
      [
        102,
        errorLine(
          base + 102,
          -32603,
          `Internal error: the completer of "what" in prompt "shapes" returned a function at [0]; return an array of strings`,
        ),
      ],
      [
        103,
        resultLine(base + 103, {
          completion: {
            values: Array.from({ length: 100 }, (_, i) => `v${i}`),
            total: 1_000_000,
            hasMore: true,
          },
        }, era),
      ],
      [
        104,
        errorLine(
          base + 104,
          -32603,
          `Internal error: resource "blob" returned an invalid item: "blob" is a string that is not base64 (give the bytes as a Uint8Array); ${RETURN_ITEMS}`,
        ),
      ],
      [
        105,
        resultLine(base + 105, {
          contents: [{
            uri: "proto://__proto__/%E2%82%AC",
            mimeType: "text/plain",
            text: `{"__proto__":"__proto__","constructor":"€"}`,
          }],
          ...cache,
        }, era),
      ],
      [
        106,
        resultLine(base + 106, {
          completion: { values: ["proto v"], total: 1, hasMore: false },
        }, era),
      ],
      [
        107,
        resultLine(base + 107, {
          completion: {
            values: ["x", `{"__proto__":"p","b":"q"}`],
            total: 2,
            hasMore: false,
          },
        }, era),
      ],
      [
        108,
        errorLine(base + 108, notFound, "Resource not found", {
          uri: "params://%2e%2e/x",
        }),
      ],
      [
        109,
        errorLine(base + 109, notFound, "Resource not found", {
          uri: "params://\ud800/x",
        }),
      ],
    ];
    for (const [n, expectedLine] of expected) {
      assert.equal(await line(server, base + n, `request ${n}`), expectedLine);
    }
    await line(server, `p${era}`, "ping");
  }
  // What a structured clone refuses (a function, a symbol) and what JSON refuses (a BigInt, a
  // cycle): -32603, whatever the wording (see the ignored test).
  await server.send(
    ...["function", "symbol", "bigint", "cycle"].map((what, i) =>
      request(2001 + i, "prompts/get", { name: "shapes", arguments: { what } })
    ),
  );
  for (let i = 0; i < 4; i++) {
    const reply = JSON.parse(await line(server, 2001 + i, "a shape"));
    assert.equal(reply.error.code, -32603);
    assert.match(reply.error.message, /^Internal error: .*cannot be sent/);
  }
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  // Every request got one reply, no more.
  const ids = server.stdout.lines.map((l) => JSON.stringify(JSON.parse(l).id));
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test({
  name:
    "what cannot leave a worker or be written as JSON is told as the prompt's",
  fn: async () => {
    await using server = hostileServer();
    await ready(server, "legacy");
    await server.send(
      ...["function", "bigint"].map((what, i) =>
        request(1 + i, "prompts/get", { name: "shapes", arguments: { what } })
      ),
    );
    assert.equal(
      await line(server, 1, "a function"),
      errorLine(
        1,
        -32603,
        `Internal error: Prompt "shapes" returned a result that cannot be sent: DataCloneError: ()=>1 could not be cloned.`,
      ),
    );
    assert.equal(
      await line(server, 2, "a BigInt"),
      errorLine(
        2,
        -32603,
        `Internal error: Prompt "shapes" returned a result that cannot be sent as JSON: TypeError: Do not know how to serialize a BigInt`,
      ),
    );
  },
});

/** The lines of a byte stream: small ones as text, or one streamed into a checking sink. */
class StreamLines {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer: Uint8Array = new Uint8Array(0);

  constructor(reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#reader = reader;
  }

  async #more(): Promise<void> {
    const { value, done } = await this.#reader.read();
    if (done) throw new Error("The stream ended");
    const joined = new Uint8Array(this.#buffer.length + value.length);
    joined.set(this.#buffer);
    joined.set(value, this.#buffer.length);
    this.#buffer = joined;
  }

  /** The next line, without its newline. */
  async next(): Promise<string> {
    let end: number;
    while ((end = this.#buffer.indexOf(10)) === -1) await this.#more();
    const text = new TextDecoder().decode(this.#buffer.subarray(0, end));
    this.#buffer = this.#buffer.slice(end + 1);
    return text;
  }

  /** Writes the next line, with its newline, into `sink` as it arrives, keeping none of it. */
  async pipe(sink: ExpectedBytes): Promise<void> {
    for (;;) {
      const end = this.#buffer.indexOf(10);
      const part = end === -1
        ? this.#buffer
        : this.#buffer.subarray(0, end + 1);
      sink.write(part);
      this.#buffer = end === -1
        ? new Uint8Array(0)
        : this.#buffer.slice(end + 1);
      if (end !== -1) return;
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("The stream ended inside a line");
      this.#buffer = value;
    }
  }
}

Deno.test("a read of 50 MiB through a worker arrives whole, after a ping sent behind it", async () => {
  // Read here: the harness's text tap would keep all 70 MB it reads, and scan it at each chunk.
  await using server = hostileServer({ unread: ["stdout"] });
  const reader = server.child.stdout.getReader();
  const lines = new StreamLines(reader);
  await server.send(
    initialize("init"),
    initialized(),
    request("ready", "prompts/list"),
  );
  await lines.next();
  await lines.next();
  const size = 50 * 1024 * 1024;
  const uri = `blob://${size}`;
  await server.send(request(1, "resources/read", { uri }), ping("p"));
  assert.equal(await lines.next(), pingReply("p"));
  const padding = "=".repeat((3 - (size % 3)) % 3);
  const expected = new ExpectedBytes([
    `{"jsonrpc":"2.0","id":1,"result":{"contents":[{"uri":"${uri}","mimeType":"application/octet-stream","blob":"`,
    ["A", Math.ceil(size / 3) * 4 - padding.length],
    `${padding}"}]}}\n`,
  ]);
  await within(lines.pipe(expected), QUICK_MS, "the 50 MiB reply");
  await within(expected.done, QUICK_MS, "the 50 MiB reply");
  reader.releaseLock();
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0, server.stderr.text);
});
