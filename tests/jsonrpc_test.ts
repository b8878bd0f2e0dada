import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { call, initialized, jsonLines, listTools, ping } from "./requests.ts";
import { exchange, toolSet } from "./wire.ts";

const tools = toolSet({
  echo: defineTool({
    description: "Echo",
    input: z.object({ text: z.string() }),
    run: ({ text }) => text,
  }),
});

/** One line in, the exact reply lines out. */
async function replies(...lines: string[]): Promise<string[]> {
  return await exchange(lines.map((l) => `${l}\n`), { tools });
}

Deno.test("an unparseable line gets -32700 with id null and a short excerpt", async () => {
  assert.deepEqual(await replies(`{"jsonrpc":"2.0","id":1,"method":"ping"`), [
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: line is not valid JSON","data":{"line":"{\\"jsonrpc\\":\\"2.0\\",\\"id\\":1,\\"metho…"}}}`,
  ]);
});

Deno.test("a JSON array (batch) gets -32600 with id null", async () => {
  const expected =
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: batches (JSON arrays) are not supported; send each message on its own (a line on stdio, a POST over HTTP)"}}`;
  assert.deepEqual(
    await replies(`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`, `[]`),
    [
      expected,
      expected,
    ],
  );
});

Deno.test("a JSON value that is not an object gets -32600 naming its type", async () => {
  assert.deepEqual(await replies(`42`, `"ping"`, `null`, `true`), [
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: expected a JSON object, got number"}}`,
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: expected a JSON object, got string"}}`,
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: expected a JSON object, got null"}}`,
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: expected a JSON object, got boolean"}}`,
  ]);
});

Deno.test('a missing or wrong "jsonrpc" gets -32600, echoing a valid id', async () => {
  assert.deepEqual(
    await replies(
      `{"id":1,"method":"ping"}`,
      `{"jsonrpc":"1.0","id":"a","method":"ping"}`,
      `{"jsonrpc":2,"id":3,"method":"ping"}`,
    ),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid request: \\"jsonrpc\\" must be \\"2.0\\""}}`,
      `{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"Invalid request: \\"jsonrpc\\" must be \\"2.0\\""}}`,
      `{"jsonrpc":"2.0","id":3,"error":{"code":-32600,"message":"Invalid request: \\"jsonrpc\\" must be \\"2.0\\""}}`,
    ],
  );
});

Deno.test('a non-string "method" gets -32600', async () => {
  assert.deepEqual(await replies(`{"jsonrpc":"2.0","id":7,"method":42}`), [
    `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"Invalid request: \\"method\\" must be a string"}}`,
  ]);
});

Deno.test("ids of the wrong type get -32600 with id null", async () => {
  const expected =
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: \\"id\\" must be a string or a number"}}`;
  assert.deepEqual(
    await replies(
      `{"jsonrpc":"2.0","id":null,"method":"ping"}`,
      `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`,
      `{"jsonrpc":"2.0","id":[1],"method":"ping"}`,
      `{"jsonrpc":"2.0","id":true,"method":"ping"}`,
    ),
    [expected, expected, expected, expected],
  );
});

Deno.test("params that are not an object get -32600", async () => {
  const expected = (id: number) =>
    `{"jsonrpc":"2.0","id":${id},"error":{"code":-32600,"message":"Invalid request: \\"params\\" must be an object"}}`;
  assert.deepEqual(
    await replies(
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}`,
      `{"jsonrpc":"2.0","id":2,"method":"ping","params":"x"}`,
      `{"jsonrpc":"2.0","id":3,"method":"ping","params":null}`,
    ),
    [expected(1), expected(2), expected(3)],
  );
});

Deno.test('an object without "method" that is no response gets -32600', async () => {
  assert.deepEqual(
    await replies(`{"jsonrpc":"2.0","id":1}`, `{"jsonrpc":"2.0"}`),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"Invalid request: missing \\"method\\""}}`,
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: missing \\"method\\""}}`,
    ],
  );
});

Deno.test("ids are echoed exactly: strings, 0, negatives, fractions, integers beyond 2^53", async () => {
  const ids = [
    `""`,
    `"abc"`,
    `"1"`,
    `0`,
    `-7`,
    `1.5`,
    `9007199254740993`,
    `-12345678901234567890`,
  ];
  const out = await replies(
    ...ids.map((id) => `{"jsonrpc":"2.0","id":${id},"method":"ping"}`),
  );
  assert.deepEqual(
    out,
    ids.map((id) => `{"jsonrpc":"2.0","id":${id},"result":{}}`),
  );
});

Deno.test("an unknown method gets -32601 naming it", async () => {
  assert.deepEqual(
    await replies(`{"jsonrpc":"2.0","id":1,"method":"resources/list"}`),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found: \\"resources/list\\""}}`,
    ],
  );
});

Deno.test("notifications get no reply, known or not", async () => {
  assert.deepEqual(
    await replies(
      `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
      `{"jsonrpc":"2.0","method":"notifications/whatever","params":{}}`,
      `{"jsonrpc":"2.0","method":"tools/list"}`,
      `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}`,
    ),
    [],
  );
});

Deno.test("responses from the client are ignored", async () => {
  assert.deepEqual(
    await replies(
      `{"jsonrpc":"2.0","id":1,"result":{}}`,
      `{"jsonrpc":"2.0","id":"x","error":{"code":-1,"message":"no"}}`,
    ),
    [],
  );
});

Deno.test("every request is answered exactly once, whatever else is on the line", async () => {
  const input = [
    ping(1),
    "not json",
    listTools(2),
    initialized(),
    { jsonrpc: "2.0", id: 3, method: "nope" },
    call(4, "echo", { text: "x" }),
    call(5, "missing"),
    call(6, "echo", {}),
  ];
  const out = (await exchange(jsonLines(...input), { tools })).map((l) =>
    JSON.parse(l)
  );
  const ids = out.map((m) => m.id);
  assert.deepEqual(ids.filter((id) => id !== null).sort(), [1, 2, 3, 4, 5, 6]);
  assert.equal(ids.filter((id) => id === null).length, 1); // the unparseable line
});
