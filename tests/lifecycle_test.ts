import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { VERSION } from "../src/server/protocol.ts";
import { call, initialize, initialized, jsonLines, ping } from "./requests.ts";
import { exchange, toolSet } from "./wire.ts";

/** An `initialize` request as one input line. */
const hello = (version: string, id: number | string = 1) =>
  jsonLines(initialize(id, version));

const initResult = (id: number, version: string) =>
  `{"jsonrpc":"2.0","id":${id},"result":{"protocolVersion":"${version}","capabilities":{"tools":{"listChanged":true},"logging":{}},"serverInfo":{"name":"tooldrop","version":"${VERSION}"}}}`;

Deno.test("initialize echoes every supported protocol version", async () => {
  const versions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
  const out = await exchange(versions.map((v, i) => hello(v, i + 1)));
  assert.deepEqual(out, versions.map((v, i) => initResult(i + 1, v)));
});

Deno.test("initialize answers the latest version for one it does not speak", async () => {
  assert.deepEqual(
    await exchange([hello("2099-01-01"), hello("2026-07-28", 2)]),
    [
      initResult(1, "2025-11-25"),
      initResult(2, "2025-11-25"),
    ],
  );
});

Deno.test("initialize without a protocolVersion gets -32602", async () => {
  assert.deepEqual(
    await exchange([
      `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n`,
    ]),
    [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params: \\"protocolVersion\\" must be a string"}}`,
    ],
  );
});

Deno.test("initialize sends instructions and a custom server name when given", async () => {
  const out = await exchange([hello("2025-06-18")], {
    info: { name: "notes", version: "2.0.0", title: "Notes" },
    instructions: "Search notes before answering.",
  });
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true},"logging":{}},"serverInfo":{"name":"notes","version":"2.0.0","title":"Notes"},"instructions":"Search notes before answering."}}`,
  ]);
});

Deno.test("ping, tools/list and tools/call are served before initialize", async () => {
  const tools = toolSet({
    echo: defineTool({
      description: "Echo",
      input: z.object({ text: z.string() }),
      run: (a) => a.text,
    }),
  });
  const out = await exchange(
    jsonLines(ping(1), call(2, "echo", { text: "hi" })),
    { tools },
  );
  assert.deepEqual(out, [
    `{"jsonrpc":"2.0","id":1,"result":{}}`,
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hi"}]}}`,
  ]);
});

Deno.test("ping answers {} after initialize too, and a second initialize is answered", async () => {
  const out = await exchange([
    hello("2025-11-25"),
    jsonLines(initialized(), ping(2)),
    hello("2025-06-18", 3),
  ]);
  assert.deepEqual(out, [
    initResult(1, "2025-11-25"),
    `{"jsonrpc":"2.0","id":2,"result":{}}`,
    initResult(3, "2025-06-18"),
  ]);
});
