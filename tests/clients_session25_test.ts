/**
 * Where real clients and tooldrop disagreed (session 25), each pinned at the wire without the
 * clients (the suite stays offline): what the official SDK v2 client
 * (`@modelcontextprotocol/client` 2.4.0, 2026-07-28 era, recorded through its `fetch` option)
 * sends for a tool whose input has an `x-mcp-header`, which tools it (and Claude Code 2.1.328)
 * drops from tools/list, and the priming event that SDK 1.20.0's client (2025-06-18) cannot
 * parse. Each test asserts the reply the spec asks for.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { call, initialize, initialized, modern } from "./requests.ts";
import { toolSet } from "./wire.ts";
import { checkModules } from "../src/loading/discover.ts";
import { modernHeaders, post, start } from "./http_client.ts";
import { paramHeaderMismatch } from "../src/server/http/guard.ts";

// A tool that asks for `region` to be mirrored in an `Mcp-Param-Region` header, as the
// 2026-07-28 Streamable HTTP transport's `x-mcp-header` extension lets a server do (and zod's
// `.meta()` lets a tool author write). tooldrop advertises it as written.
const REGION = toolSet({
  region: defineTool({
    description: "Runs a query in a region.",
    input: z.object({
      region: z.string().describe("The region").meta({
        "x-mcp-header": "Region",
      }),
      query: z.string().describe("The query"),
    }),
    run: ({ region, query }) => `${region}: ${query}`,
  }),
});

/** The v2 client's tools/call of `region`, as it sent it (its `_meta` trimmed to the version). */
const regionCall = (region: string) =>
  modern({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "region", arguments: { region, query: "q" } },
  });

Deno.test("tools/list advertises a tool's x-mcp-header as its input schema writes it", async () => {
  await using server = start({ tools: REGION });
  const response = await post(
    server,
    modern({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    modernHeaders("tools/list"),
  );
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.deepEqual(body.result.tools[0].inputSchema.properties.region, {
    type: "string",
    description: "The region",
    "x-mcp-header": "Region",
  });
});

Deno.test("a base64 Mcp-Param header that matches the body is served (the v2 client's bytes)", async () => {
  await using server = start({ tools: REGION });
  const response = await post(server, regionCall("Hello, 世界"), {
    ...modernHeaders("tools/call", "region"),
    "mcp-param-region": "=?base64?SGVsbG8sIOS4lueVjA==?=",
  });
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.deepEqual(body.result.content, [{
    type: "text",
    text: "Hello, 世界: q",
  }]);
});

// Spec 2026-07-28, basic/transports/streamable-http, "Server Behavior for Custom Headers" and
// "Server Validation": a server that processes the body MUST check that each Mcp-Param header
// matches its argument, and MUST reject a request whose argument is in the body but whose
// header is missing ("Client omits header but value is in body: Server MUST reject"), with
// 400 and -32020. A load balancer routing on the header must not see another region than the
// tool runs in.
Deno.test("an Mcp-Param header that contradicts the body is 400 with -32020", async () => {
  await using server = start({ tools: REGION });
  const response = await post(server, regionCall("us-west1"), {
    ...modernHeaders("tools/call", "region"),
    "mcp-param-region": "eu-west1",
  });
  assert.equal(response.status, 400);
  assert.equal(
    await response.text(),
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: Mcp-Param-Region header does not match the body's arguments.region"}}`,
  );
});

Deno.test("a missing Mcp-Param header for an argument the body carries is 400 with -32020", async () => {
  await using server = start({ tools: REGION });
  const response = await post(
    server,
    regionCall("us-west1"),
    modernHeaders("tools/call", "region"),
  );
  assert.equal(response.status, 400);
  assert.equal(
    await response.text(),
    `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: the Mcp-Param-Region header is missing"}}`,
  );
});

Deno.test("an argument the body leaves out needs no Mcp-Param header", async () => {
  const optional = toolSet({
    region: defineTool({
      description: "Runs a query, in a region when given.",
      input: z.object({
        region: z.string().optional().describe("The region").meta({
          "x-mcp-header": "Region",
        }),
        query: z.string().describe("The query"),
      }),
      run: ({ region, query }) => `${region ?? "any"}: ${query}`,
    }),
  });
  await using server = start({ tools: optional });
  const response = await post(
    server,
    modern({
      jsonrpc: "2.0",
      id: 3,
      method: "tools/call",
      params: { name: "region", arguments: { query: "q" } },
    }),
    modernHeaders("tools/call", "region"),
  );
  assert.equal(response.status, 200);
  assert.deepEqual((await response.json()).result.content, [{
    type: "text",
    text: "any: q",
  }]);
});

Deno.test("an Mcp-Param header that is a bad base64 sentinel or a wrong boolean is 400 with -32020", async () => {
  const tools = toolSet({
    flag: defineTool({
      description: "Runs dry or not.",
      input: z.object({
        dry: z.boolean().describe("D").meta({ "x-mcp-header": "Dry" }),
      }),
      run: ({ dry }) => `dry=${dry}`,
    }),
  });
  await using server = start({ tools });
  const body = modern({
    jsonrpc: "2.0",
    id: 5,
    method: "tools/call",
    params: { name: "flag", arguments: { dry: true } },
  });
  const headers = modernHeaders("tools/call", "flag");
  const refused = async (value: string, message: string) => {
    const response = await post(server, body, {
      ...headers,
      "mcp-param-dry": value,
    });
    assert.equal(response.status, 400);
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":5,"error":{"code":-32020,"message":"Header mismatch: ${message}"}}`,
    );
  };
  await refused(
    "false",
    "Mcp-Param-Dry header does not match the body's arguments.dry",
  );
  await refused(
    "True",
    "Mcp-Param-Dry header does not match the body's arguments.dry",
  );
  await refused(
    "=?base64?not base64!?=",
    "the Mcp-Param-Dry header is not a valid header value (plain ASCII, or =?base64?…?= of UTF-8)",
  );
  // true is "true".
  const served = await post(server, body, {
    ...headers,
    "mcp-param-dry": "true",
  });
  assert.equal(served.status, 200);
  assert.deepEqual((await served.json()).result.content, [{
    type: "text",
    text: "dry=true",
  }]);
});

Deno.test("a null or absent argument needs no Mcp-Param header; a header that is there is checked anyway", () => {
  const note = [{ name: "Note", path: ["note"], type: "string" }] as const;
  const none = new Headers();
  assert.equal(paramHeaderMismatch(none, note, { note: null }), undefined);
  assert.equal(paramHeaderMismatch(none, note, {}), undefined);
  assert.equal(
    paramHeaderMismatch(none, note, { note: "x" }),
    "the Mcp-Param-Note header is missing",
  );
  assert.equal(
    paramHeaderMismatch(
      new Headers({ "mcp-param-note": "=?base64?%%?=" }),
      note,
      {},
    ),
    "the Mcp-Param-Note header is not a valid header value (plain ASCII, or =?base64?…?= of UTF-8)",
  );
});

Deno.test("an x-mcp-header that is no header name stops the server", () => {
  const { errors } = checkModules([[
    "spaced.ts",
    headerTool(z.object({
      region: z.string().describe("R").meta({ "x-mcp-header": "My Region" }),
    })),
  ]]);
  assert.deepEqual(errors, [
    `Cannot load tool "tools/spaced.ts": "region" has "x-mcp-header" "My Region", which is not a header name (letters, digits and !#$%&'*+-.^_\`|~); clients leave such a tool out`,
  ]);
});

// Spec 2026-07-28, basic/transports/streamable-http, "Schema Extension": an x-mcp-header MUST
// be on a string, integer or boolean property reached through `properties` only, and unique
// case-insensitively; a client over HTTP MUST leave a tool that breaks this out of tools/list.
// The v2 client does (it logs "[mcp-sdk] excluding tool 'badhdr' from tools/list: invalid
// x-mcp-header declaration — n: x-mcp-header is only permitted on primitive-typed properties
// (string, integer, boolean); got number"), so the tool vanishes from an HTTP client with only
// the client's log to say why. Start-up already stops on what clients reject (README, "Checks at
// start-up"); these should stop it too, naming the file.
const headerTool = (input: z.ZodObject) => ({
  default: defineTool({ description: "d", input, run: () => "" }),
});

Deno.test("an x-mcp-header on a number argument stops the server, naming the file", () => {
  const { tools, errors } = checkModules([[
    "badhdr.ts",
    headerTool(z.object({
      n: z.number().describe("N").meta({ "x-mcp-header": "N" }),
    })),
  ]]);
  assert.deepEqual(tools, []);
  assert.deepEqual(errors, [
    `Cannot load tool "tools/badhdr.ts": "n" has "x-mcp-header" but is a number; clients leave such a tool out, so mirror only a string, integer or boolean argument`,
  ]);
});

Deno.test("two x-mcp-header names that differ only in case stop the server", () => {
  const { tools, errors } = checkModules([[
    "twice.ts",
    headerTool(z.object({
      a: z.string().describe("A").meta({ "x-mcp-header": "Region" }),
      b: z.string().describe("B").meta({ "x-mcp-header": "region" }),
    })),
  ]]);
  assert.deepEqual(tools, []);
  assert.deepEqual(errors, [
    `Cannot load tool "tools/twice.ts": "x-mcp-header" names "Region" and "region" are the same header; give each argument its own`,
  ]);
});

Deno.test("an x-mcp-header inside an array item stops the server", () => {
  const { tools, errors } = checkModules([[
    "items.ts",
    headerTool(z.object({
      list: z.array(
        z.string().meta({ "x-mcp-header": "Item" }),
      ).describe("L"),
    })),
  ]]);
  assert.deepEqual(tools, []);
  assert.deepEqual(errors, [
    `Cannot load tool "tools/items.ts": "list" has an "x-mcp-header" inside "items"; clients leave such a tool out, so put it only on an argument reached through "properties"`,
  ]);
});

Deno.test("a valid x-mcp-header on a string, integer or boolean argument loads", () => {
  const { tools, errors } = checkModules([[
    "good.ts",
    headerTool(z.object({
      region: z.string().describe("R").meta({ "x-mcp-header": "Region" }),
      shard: z.number().int().describe("S").meta({ "x-mcp-header": "Shard" }),
      dry: z.boolean().describe("D").meta({ "x-mcp-header": "Dry-Run" }),
      nested: z.object({
        zone: z.string().describe("Z").meta({ "x-mcp-header": "Zone" }),
      }).describe("N"),
    })),
  ]]);
  assert.deepEqual(errors, []);
  assert.equal(tools.length, 1);
});

Deno.test("nested, integer and base64 Mcp-Param headers that match the body are served (the v2 client's bytes)", async () => {
  const tools = toolSet({
    placed: defineTool({
      description: "Runs on a shard in a zone.",
      input: z.object({
        shard: z.number().int().describe("S").meta({ "x-mcp-header": "Shard" }),
        nested: z.object({
          zone: z.string().describe("Z").meta({ "x-mcp-header": "Zone" }),
        }).describe("N"),
      }),
      run: ({ shard, nested }) => `${shard} ${nested.zone}`,
    }),
  });
  await using server = start({ tools });
  const body = modern({
    jsonrpc: "2.0",
    id: 4,
    method: "tools/call",
    params: {
      name: "placed",
      arguments: { shard: 3, nested: { zone: " eu " } },
    },
  });
  const sent = {
    ...modernHeaders("tools/call", "placed"),
    "mcp-param-shard": "3",
    "mcp-param-zone": "=?base64?IGV1IA==?=",
  };
  const response = await post(server, body, sent);
  assert.equal(response.status, 200);
  assert.deepEqual((await response.json()).result.content, [{
    type: "text",
    text: "3  eu ",
  }]);
  // Integers are compared as numbers (the spec's SHOULD): 3.0 is 3.
  const numeric = await post(server, body, {
    ...sent,
    "mcp-param-shard": "3.0",
  });
  assert.equal(numeric.status, 200);
  await numeric.body?.cancel();
  const other = await post(server, body, { ...sent, "mcp-param-zone": "eu" });
  assert.equal(other.status, 400);
  assert.equal(
    await other.text(),
    `{"jsonrpc":"2.0","id":4,"error":{"code":-32020,"message":"Header mismatch: Mcp-Param-Zone header does not match the body's arguments.nested.zone"}}`,
  );
});

// With --cors-origin, a page's client mirrors x-mcp-header arguments too; its preflight asks for
// them, and a preflight whose answer leaves one out makes the browser refuse the call.
Deno.test("a CORS preflight allows the Mcp-Param headers of the tools served", async () => {
  const app = "https://app.example.com";
  await using server = start({ tools: REGION, corsOrigins: [app] });
  const preflight = await fetch(server.url, {
    method: "OPTIONS",
    headers: {
      origin: app,
      "access-control-request-method": "POST",
      "access-control-request-headers":
        "content-type, mcp-method, mcp-name, mcp-param-region, mcp-protocol-version",
    },
  });
  assert.equal(preflight.status, 204);
  await preflight.body?.cancel();
  const allowed = (preflight.headers.get("access-control-allow-headers") ?? "")
    .toLowerCase().split(/\s*,\s*/);
  assert.ok(
    allowed.includes("mcp-param-region"),
    `access-control-allow-headers: ${allowed.join(", ")}`,
  );
});

/** A legacy session opened at `version`, with the headers its later requests carry. */
async function sessionAt(
  server: Parameters<typeof post>[0],
  version: string,
): Promise<Record<string, string>> {
  const opened = await post(server, initialize(1, version));
  assert.equal(opened.status, 200);
  await opened.body?.cancel();
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-session-id": opened.headers.get("mcp-session-id")!,
  };
  // 2025-03-26 had no MCP-Protocol-Version header; later versions send it.
  if (version !== "2025-03-26") headers["mcp-protocol-version"] = version;
  const done = await post(server, initialized(), headers);
  assert.equal(done.status, 202);
  return headers;
}

// The priming event (an id and an empty `data`) came with 2025-11-25 (SEP-1699). Clients of the
// versions before it parse every event's data as JSON: SDK 1.20.0's client (2025-06-18), against
// `serve --http`, reported "Unexpected end of JSON input" to its onerror once per stream (three in
// a session of two calls); VS Code logs "Failed to parse message" (microsoft/vscode#309104),
// strict scanners fail the handshake. The official TypeScript and Python SDK servers send it only
// to sessions of 2025-11-25 or later (typescript-sdk#1233, python-sdk#1719). A session's GET
// stream opens the same way (src/server/http/resumable.ts, `connect`); this checks a POST's.
for (const version of ["2025-03-26", "2025-06-18"]) {
  Deno.test(`a ${version} session's streams carry no priming event with empty data`, async () => {
    await using server = start();
    const headers = await sessionAt(server, version);
    const response = await post(
      server,
      call(2, "echo", { text: "hi" }),
      headers,
    );
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(
      text,
      /^id: [0-9a-f]{12}-\d+\nevent: message\ndata: \{"jsonrpc":"2.0","id":2,"result":\{"content":\[\{"type":"text","text":"echo: hi"\}\]\}\}\n\n$/,
    );
  });
}

Deno.test("a 2025-11-25 session's streams still open with the priming event", async () => {
  await using server = start();
  const headers = await sessionAt(server, "2025-11-25");
  const response = await post(server, call(2, "echo", { text: "hi" }), headers);
  const text = await response.text();
  assert.match(text, /^id: [0-9a-f]{12}-0\nretry: 1000\ndata: \n\n/);
});
