/**
 * Session 25's review of the day's changes (3acc56d..579b981): each defect it found, pinned at
 * the wire (all three fixed the same day).
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { modern } from "../requests.ts";
import { toolSet } from "../wire.ts";
import { checkModules } from "../../src/loading/discover.ts";
import { modernHeaders, post, start } from "../http_client.ts";

Deno.test({
  name:
    "a tool whose tools/list entry cannot be written as JSON is an error naming its file, not a throw out of checkModules",
  // Found in review (53c1874): lintTool (src/loading/lint.ts) now calls descriptorJson, whose
  // JSON.stringify throws on a BigInt or a cycle in `_meta` or `annotations`; checkModules (the
  // compiled binary's manifest path, and `tooldrop/server`) then throws a bare TypeError that
  // names no file, where before the tool loaded. A worker reports the same file as `Cannot load
  // tool "…": its tools/list entry cannot be written as JSON: …` (_tool_imports.ts `report`);
  // the lint now does too (before the change such a tool loaded, and broke tools/list).
  fn: () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const meta of [{ big: 1n }, cyclic]) {
      const { tools, errors } = checkModules([[
        "meta.ts",
        {
          default: defineTool({
            description: "d",
            input: z.object({}),
            _meta: meta,
            run: () => "",
          }),
        },
      ]]);
      assert.deepEqual(tools, []);
      assert.equal(errors.length, 1);
      assert.match(
        errors[0]!,
        /^Cannot load tool "tools\/meta\.ts": its tools\/list entry cannot be written as JSON: /,
      );
    }
  },
});

/** A tool whose optional `region` is mirrored in `Mcp-Param-Region`. */
const OPTIONAL_REGION = toolSet({
  region: defineTool({
    description: "Runs a query, in a region when given.",
    input: z.object({
      region: z.string().optional().describe("The region").meta({
        "x-mcp-header": "Region",
      }),
      count: z.int().optional().describe("How many").meta({
        "x-mcp-header": "Count",
      }),
      query: z.string().describe("The query"),
    }),
    run: ({ region, query }) => `${region ?? "any"}: ${query}`,
  }),
});

const regionCall = (args: Record<string, unknown>) =>
  modern({
    jsonrpc: "2.0",
    id: 2,
    method: "tools/call",
    params: { name: "region", arguments: args },
  });

Deno.test({
  name:
    "an Mcp-Param header with invalid characters is 400 with -32020 even when the body leaves its argument out",
  // Found in review (579b981): spec 2026-07-28, basic/transports/streamable-http, "Server Behavior for
  // Custom Headers": "Servers MUST reject requests with a recognized Mcp-Param-{Name} header
  // that contains invalid characters". paramHeaderMismatch (src/server/http/guard.ts) looks at
  // a header only when the body carries its argument, so this one (a raw Latin-1 byte, which a
  // conforming client sends as =?base64?…?=) was served. Fixed: a present header is checked
  // whatever the body holds.
  fn: async () => {
    await using server = start({ tools: OPTIONAL_REGION });
    const response = await post(server, regionCall({ query: "q" }), {
      ...modernHeaders("tools/call", "region"),
      "mcp-param-region": "caf\u00e9",
    });
    assert.equal(response.status, 400);
    assert.equal(
      await response.text(),
      `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: the Mcp-Param-Region header is not a valid header value (plain ASCII, or =?base64?…?= of UTF-8)"}}`,
    );
  },
});

Deno.test({
  name:
    "an integer Mcp-Param header that is another number than the body's is 400 with -32020, though it rounds to it as a double",
  // Found in review (579b981): paramHeaderMismatch compares an integer as `Number(decoded) === value`
  // after DECIMAL (/^-?\d+(?:\.\d+)?$/), so `1.0000000000000001` passes for 1 (and
  // `9007199254740991.4` for 9007199254740991): a proxy that reads the header as a decimal (or
  // as text) routes on another value than the tool runs with. The spec's numeric comparison is
  // for `42.0` and `42`. Fixed: a zero fraction only (INTEGER in guard.ts).
  fn: async () => {
    await using server = start({ tools: OPTIONAL_REGION });
    for (
      const [count, header] of [[1, "1.0000000000000001"], [
        9007199254740991,
        "9007199254740991.4",
      ]] as const
    ) {
      const response = await post(
        server,
        regionCall({ count, query: "q" }),
        { ...modernHeaders("tools/call", "region"), "mcp-param-count": header },
      );
      assert.equal(response.status, 400, header);
      assert.equal(
        await response.text(),
        `{"jsonrpc":"2.0","id":2,"error":{"code":-32020,"message":"Header mismatch: Mcp-Param-Count header does not match the body's arguments.count"}}`,
      );
    }
    // The spec's own example stays equal.
    const same = await post(server, regionCall({ count: 42, query: "q" }), {
      ...modernHeaders("tools/call", "region"),
      "mcp-param-count": "42.0",
    });
    assert.equal(same.status, 200);
    await same.body?.cancel();
  },
});
