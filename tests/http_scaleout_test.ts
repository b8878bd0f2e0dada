/**
 * Scale-out (issue 17, item 8): two instances that share the request-state key behind a
 * round-robin proxy (test code only), driven by a 2026-era client: calls, progress, a listen
 * stream, and an elicitation whose retry lands on the other instance — which runs the call again
 * with the answer the retry carries.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import type { HttpServer } from "../src/server/http/serve_http.ts";
import { call, listen, modern } from "./requests.ts";
import { fakeIo, toolSet } from "./wire.ts";
import { runCli } from "../src/cli/mod.ts";
import { events, modernHeaders, post, start } from "./http_client.ts";

const runs: string[] = [];
const tools = toolSet({
  greet: defineTool({
    description: "Asks the user's name, then greets them.",
    run: async (_args, ctx) => {
      runs.push("greet");
      const answer = await ctx.elicit({
        message: "Your name?",
        schema: z.object({ name: z.string() }),
      });
      return answer.action === "accept" ? `hi ${answer.content.name}` : "bye";
    },
  }),
  steps: defineTool({
    description: "Reports progress twice, then returns.",
    run: async (_args, ctx) => {
      ctx.progress(1, 2);
      await new Promise((resolve) => setTimeout(resolve, 0));
      ctx.progress(2, 2);
      return "done";
    },
  }),
});

const KEY = new Uint8Array(32).fill(42);
const CAPS = {
  "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
};

/** A proxy that sends each request to the next backend in turn; the backend that served it. */
function roundRobin(backends: HttpServer[]) {
  let next = 0;
  const served: number[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const at = next++ % backends.length;
      served.push(at);
      const url = new URL(request.url);
      const target = new URL(url.pathname, backends[at]!.url);
      const headers = new Headers(request.headers);
      headers.delete("host");
      return await fetch(target, {
        method: request.method,
        headers,
        body: request.body,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/mcp`,
    served,
    stop: () => server.shutdown(),
  };
}

Deno.test("behind a round-robin proxy, a 2026 client's calls, progress, listen stream and an elicitation retried on the other instance all work", async () => {
  runs.length = 0;
  await using a = start({ tools, stateKey: KEY });
  await using b = start({ tools, stateKey: KEY });
  const proxy = roundRobin([a, b]);
  const via = { url: proxy.url } as HttpServer;
  try {
    // 1 → a: the call asks for a name.
    const asked = await (await post(
      via,
      modern(call(1, "greet"), CAPS),
      modernHeaders("tools/call", "greet"),
    )).json();
    assert.equal(asked.result.resultType, "input_required");
    assert.deepEqual(Object.keys(asked.result.inputRequests), [
      "elicitation-1",
    ]);
    // 2 → b: the retry, which b did not suspend: it runs the call again with the answer.
    const retry = modern(call(2, "greet"), CAPS) as {
      params: Record<string, unknown>;
    };
    retry.params.requestState = asked.result.requestState;
    retry.params.inputResponses = {
      "elicitation-1": { action: "accept", content: { name: "Ada" } },
    };
    const done = await (await post(
      via,
      retry,
      modernHeaders("tools/call", "greet"),
    )).json();
    assert.equal(done.id, 2);
    assert.deepEqual(done.result.content, [{ type: "text", text: "hi Ada" }]);
    assert.deepEqual(runs, ["greet", "greet"]);
    // 3 → a: progress streams through the proxy.
    const progress = await events(
      await post(
        via,
        modern(call(3, "steps"), { progressToken: "t" }),
        modernHeaders("tools/call", "steps"),
      ),
    );
    assert.deepEqual(progress.slice(0, 2), [
      `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2}}`,
      `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":2,"total":2}}`,
    ]);
    assert.match(progress[2]!, /^\{"jsonrpc":"2.0","id":3,"result"/);
    // 4 → b: a listen stream is acknowledged first.
    const stream = await post(
      via,
      modern(listen("L", { toolsListChanged: true })),
      modernHeaders("subscriptions/listen"),
    );
    const reader = stream.body!.pipeThrough(new TextDecoderStream())
      .getReader();
    let text = "";
    while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
    assert.match(
      text,
      /data: \{"jsonrpc":"2.0","method":"notifications\/subscriptions\/acknowledged","params":\{"_meta":\{"io.modelcontextprotocol\/subscriptionId":"L"\},"notifications":\{"toolsListChanged":true\}\}\}/,
    );
    await reader.cancel();
    assert.deepEqual(proxy.served, [0, 1, 0, 1]);
  } finally {
    await proxy.stop();
  }
});

Deno.test("serve --http refuses a TOOLDROP_STATE_KEY too short or not hex or base64, before it loads anything", async () => {
  for (const value of ["abc", "00".repeat(16), "not base64 at all!"]) {
    const { io, out, errors } = fakeIo(["serve", "--http", ":0"], {
      TOOLDROP_STATE_KEY: value,
    });
    assert.equal(await runCli(io), 2);
    assert.equal(out.text, "");
    assert.equal(
      errors.join(""),
      "TOOLDROP_STATE_KEY must be at least 32 random bytes, written in hex or base64 (e.g. `openssl rand -hex 32`)\n",
    );
  }
});
