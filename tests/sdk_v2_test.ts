/**
 * End-to-end: the official MCP SDK v2 client (`@modelcontextprotocol/client`, which speaks the
 * 2026-07-28 era) drives the server as a real child process. In the 2026 era `ctx.roots()`
 * reaches the client as an `input_required` result; the client answers it from its registered
 * `roots/list` handler and retries the call itself (multi round-trip requests). The same client
 * forced to the 2025 era gets a `roots/list` request instead. Imported by its full npm
 * specifier, pinned, like tests/sdk.ts pins v1, so it stays out of the root deno.lock.
 */

import assert from "node:assert/strict";
import { Client } from "npm:@modelcontextprotocol/client@2.4.0";
import { StdioClientTransport } from "npm:@modelcontextprotocol/client@2.4.0/stdio";
import { serverArgs, tempDir } from "./spawn.ts";

const WHERE = `import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Reports the client's roots, after the label when there is one.",
  input: z.object({ label: z.string().optional() }),
  run: async ({ label }, ctx) =>
    (label ? label + " " : "") + JSON.stringify(await ctx.roots() ?? null),
});
`;

const ROOTS = [
  { uri: "file:///home/me/project", name: "Project" },
  { uri: "file:///home/me/other%20place" },
];

interface Connected {
  client: Client;
  /**
   * Every message the session's transport sent (`>`) and received (`<`, as the client parsed
   * it: its schemas reorder keys, so not the server's bytes), as JSON.
   */
  wire: string[];
  /** How often the client's roots handler ran. */
  asked: () => number;
  [Symbol.asyncDispose]: () => Promise<void>;
}

/**
 * Spawns the server on `toolsPath` and connects the v2 client to it with a roots capability and
 * handler: in the 2026 era (`pin`), in the era `server/discover` offers (`auto`, probed on a
 * second, short-lived server process the client spawns), or in the 2025 era (`legacy`, the
 * client's default).
 */
async function connect(
  toolsPath: string,
  mode: "legacy" | "auto" | { pin: string },
  capabilities: Record<string, unknown> = { roots: {} },
): Promise<Connected> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: serverArgs(toolsPath),
    env: Deno.env.toObject(),
    stderr: "pipe",
  });
  transport.stderr?.on("data", () => {}); // drained, not shown
  const wire: string[] = [];
  // The client chains a handler set before it connects; send is looked up on each call.
  transport.onmessage = (message: unknown) =>
    void wire.push(`< ${JSON.stringify(message)}`);
  const send = transport.send.bind(transport);
  transport.send = (message) => {
    wire.push(`> ${JSON.stringify(message)}`);
    return send(message);
  };
  let asked = 0;
  const client = new Client({ name: "tooldrop-e2e-v2", version: "1.0.0" }, {
    capabilities,
    versionNegotiation: { mode },
  });
  client.setRequestHandler("roots/list", () => {
    asked++;
    return { roots: ROOTS };
  });
  await client.connect(transport);
  return {
    client,
    wire,
    asked: () => asked,
    [Symbol.asyncDispose]: () => client.close(),
  };
}

/** A wire line as its direction and method, or the id a reply answers: `> tools/call`, `< reply 0`. */
const summary = (line: string) => {
  const json = JSON.parse(line.slice(2)) as { id?: unknown; method?: string };
  return `${line[0]} ${json.method ?? `reply ${JSON.stringify(json.id)}`}`;
};

const text = (result: unknown) =>
  (result as { content: Array<{ text: string }> }).content[0]!.text;

Deno.test("the SDK v2 client in the 2026 era answers ctx.roots()'s input_required and retries the call itself", async () => {
  await using dir = await tempDir({ "where.ts": WHERE });
  await using server = await connect(dir.path, { pin: "2026-07-28" });
  const { client, wire } = server;
  assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
  assert.equal(client.getServerVersion()?.name, "tooldrop");
  const result = await client.callTool({ name: "where", arguments: {} });
  assert.equal(text(result), JSON.stringify(ROOTS));
  assert.equal(server.asked(), 1);

  // The wire: the call, its input_required answer, the retry under a new id with the answer
  // keyed as asked and the state echoed byte for byte, and the result answering the retry.
  assert.deepEqual(
    wire.map(summary),
    ["> tools/call", "< reply 0", "> tools/call", "< reply 1"],
    wire.join("\n"),
  );
  const [call, asked, retry, done] = wire.map((line) =>
    JSON.parse(line.slice(2)) as Record<string, Record<string, unknown>>
  );
  assert.equal(call!.id, 0);
  assert.deepEqual(call!.params!._meta, {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {
      name: "tooldrop-e2e-v2",
      version: "1.0.0",
    },
    "io.modelcontextprotocol/clientCapabilities": { roots: {} },
  });
  assert.equal(asked!.result!.resultType, "input_required");
  assert.deepEqual(asked!.result!.inputRequests, {
    "roots-1": { method: "roots/list", params: {} },
  });
  assert.equal(retry!.id, 1);
  assert.deepEqual(retry!.params, {
    ...call!.params,
    inputResponses: { "roots-1": { roots: ROOTS } },
    requestState: asked!.result!.requestState,
  });
  assert.equal(done!.result!.resultType, "complete");
  assert.deepEqual(done!.result!.content, [{
    type: "text",
    text: JSON.stringify(ROOTS),
  }]);

  // The next call asks again (roots are asked per call in this era), and is answered alike.
  const again = await client.callTool({ name: "where", arguments: {} });
  assert.equal(text(again), JSON.stringify(ROOTS));
  assert.equal(server.asked(), 2);
});

Deno.test("the SDK v2 client negotiating the era picks 2026 and resumes two calls asking at once, each with its own state", async () => {
  await using dir = await tempDir({ "where.ts": WHERE });
  // Shaped like Claude Code 2.1.328, which bundles this client and negotiates the same way on
  // stdio: its capabilities, and a _meta key of its own on each call.
  await using server = await connect(dir.path, "auto", {
    roots: { listChanged: true },
    elicitation: { form: {}, url: {} },
  });
  const { client, wire } = server;
  assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
  assert.ok(
    client.getDiscoverResult()?.supportedVersions.includes("2026-07-28"),
  );
  const results = await Promise.all(["a", "b"].map((label) =>
    client.callTool({
      name: "where",
      arguments: { label },
      _meta: { "claudecode/toolUseId": `toolu_${label}` },
    })
  ));
  assert.deepEqual(results.map(text), [
    `a ${JSON.stringify(ROOTS)}`,
    `b ${JSON.stringify(ROOTS)}`,
  ]);
  assert.equal(server.asked(), 2);
  // Each input_required reply's state is echoed by exactly one retry, sent after it under a
  // fresh id, and that retry is answered complete. (Which call the worker suspends first
  // varies, so the order is not asserted.)
  const messages = wire.map((line) =>
    JSON.parse(line.slice(2)) as {
      id: number;
      method?: string;
      params?: { requestState?: string; arguments?: unknown; _meta?: unknown };
      result?: { resultType: string; requestState?: string };
    }
  );
  const asks = messages.flatMap((m, at) =>
    m.result?.resultType === "input_required" ? [{ at, m }] : []
  );
  assert.deepEqual(asks.map(({ m }) => m.id).sort(), [0, 1], wire.join("\n"));
  assert.notEqual(
    asks[0]!.m.result!.requestState,
    asks[1]!.m.result!.requestState,
  );
  for (const { at, m } of asks) {
    const state = m.result!.requestState!;
    const retries = messages.flatMap((r, i) =>
      r.params?.requestState === state ? [{ i, r }] : []
    );
    assert.equal(retries.length, 1, wire.join("\n"));
    const { i, r } = retries[0]!;
    assert.ok(i > at && r.id > 1, wire.join("\n"));
    // The same arguments and _meta as the request it retries.
    const first = messages.find((o) => o.method && o.id === m.id)!;
    assert.deepEqual(r.params!.arguments, first.params!.arguments);
    assert.deepEqual(r.params!._meta, first.params!._meta);
    const answer = messages.find((a) => a.id === r.id && a.result);
    assert.equal(answer?.result?.resultType, "complete", wire.join("\n"));
  }
});

Deno.test("the SDK v2 client forced to the 2025 era answers ctx.roots()'s roots/list request", async () => {
  await using dir = await tempDir({ "where.ts": WHERE });
  await using server = await connect(dir.path, "legacy");
  const { client, wire } = server;
  assert.equal(client.getNegotiatedProtocolVersion(), "2025-11-25");
  const result = await client.callTool({ name: "where", arguments: {} });
  assert.equal(text(result), JSON.stringify(ROOTS));
  assert.equal(server.asked(), 1);
  assert.deepEqual(wire.map(summary), [
    "> initialize",
    "< reply 0",
    "> notifications/initialized",
    "> tools/call",
    "< roots/list",
    '> reply "tooldrop-1"',
    "< reply 1",
  ], wire.join("\n"));
  assert.ok(
    !wire.some((line) => line.includes("input_required")),
    wire.join("\n"),
  );
});
