/**
 * `serve --watch --http` at the wire (issue 17): a tool file added, saved or broken while serving
 * over HTTP reaches every connection — the 2026 era's (a listen stream that asked for
 * toolsListChanged, then tools/list) and each legacy session's (list_changed on its GET stream) —
 * and a session opened after the change starts from the new list.
 */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { listen, modern, request } from "./requests.ts";
import { fakeIo } from "./wire.ts";
import { tempDir } from "./spawn.ts";
import { runCli } from "../src/cli/mod.ts";
import {
  legacyHeaders,
  modernHeaders,
  openSession,
  post,
  readUntil,
  replyText,
} from "./http_client.ts";
import type { HttpServer } from "../src/server/http/serve_http.ts";

const tool = (text: string) => `
import { defineTool } from "tooldrop";
export default defineTool({ description: "Says ${text}.", run: () => "${text}" });
`;

const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;

/** `serve --watch --http 127.0.0.1:0` over `dir`, in this process; its URL once it listens. */
async function serving(dir: string) {
  const stop = new AbortController();
  const { promise: url, resolve } = Promise.withResolvers<URL>();
  const said: string[] = [];
  const { io } = fakeIo(
    ["serve", "--watch", "--http", "127.0.0.1:0"],
    {},
    {
      toolsDir: pathToFileURL(`${dir}/tools/`),
      promptsDir: pathToFileURL(`${dir}/prompts/`),
      resourcesDir: pathToFileURL(`${dir}/resources/`),
      signal: stop.signal,
      stderr: (text) => {
        said.push(text);
        const at = /at (http:\/\/\S+\/mcp)/.exec(text);
        if (at) resolve(new URL(at[1]!));
      },
    },
  );
  const code = runCli(io);
  const server = { url: await url } as unknown as HttpServer;
  return {
    server,
    said,
    async [Symbol.asyncDispose]() {
      stop.abort();
      assert.equal(await code, 0);
    },
  };
}

async function toolNames(server: HttpServer, id: number): Promise<string[]> {
  const response = await post(
    server,
    modern(request(id, "tools/list")),
    modernHeaders("tools/list"),
  );
  const body = await response.json();
  return body.result.tools.map((t: { name: string }) => t.name);
}

Deno.test("serve --watch --http: a new, saved or deleted tool file reaches every connection; a broken save keeps the last good one", async () => {
  await using dir = await tempDir({ "tools/first.ts": tool("one") });
  await using run = await serving(dir.path);
  const { server } = run;
  assert.match(run.said.join(""), /, watching .*\/tools\/ for changes/);
  assert.deepEqual(await toolNames(server, 1), ["first"]);

  // A legacy session with its GET stream, and a 2026 listen stream for tool list changes.
  const session = await openSession(server);
  const get = await fetch(server.url, {
    headers: { accept: "text/event-stream", "mcp-session-id": session },
  });
  const legacy = get.body!.pipeThrough(new TextDecoderStream()).getReader();
  await readUntil(legacy, (text) => text.includes("\n\n"));
  const listening = await post(
    server,
    modern(listen("L", { toolsListChanged: true })),
    modernHeaders("subscriptions/listen"),
  );
  const stream = listening.body!.pipeThrough(new TextDecoderStream())
    .getReader();
  await readUntil(stream, (text) => text.includes("acknowledged"));

  await Deno.writeTextFile(`${dir.path}/tools/second.ts`, tool("two"));
  assert.match(
    await readUntil(legacy, (text) => text.includes(LIST_CHANGED)),
    /^id: g[0-9a-f]{12}-1\nevent: message\ndata: \{"jsonrpc":"2\.0","method":"notifications\/tools\/list_changed"\}\n\n$/,
  );
  assert.match(
    await readUntil(stream, (text) => text.includes("list_changed")),
    /"method":"notifications\/tools\/list_changed","params":\{"_meta":\{"io\.modelcontextprotocol\/subscriptionId":"L"\}\}/,
  );
  assert.deepEqual(await toolNames(server, 2), ["first", "second"]);
  const call = await post(
    server,
    modern(request(3, "tools/call", { name: "second", arguments: {} })),
    modernHeaders("tools/call", "second"),
  );
  assert.equal(
    await replyText(call), // JSON, or SSE: the new tool's worker starts first
    `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"two"}],"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"0.1.0"}}}}`,
  );

  // A session opened after the change lists the new set from the start.
  const later = await openSession(server);
  const listed = await post(
    server,
    request(4, "tools/list"),
    legacyHeaders(later),
  );
  assert.match(await listed.text(), /"name":"first".*"name":"second"/s);

  // A broken save is reported and the previous version keeps serving; a deleted file goes.
  await Deno.writeTextFile(`${dir.path}/tools/second.ts`, "export default 1;");
  while (!run.said.join("").includes("the previous version keeps serving")) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(await toolNames(server, 5), ["first", "second"]);
  await Deno.remove(`${dir.path}/tools/second.ts`);
  assert.match(
    await readUntil(legacy, (text) => text.includes(LIST_CHANGED)),
    /^id: g[0-9a-f]{12}-2\nevent: message\ndata: \{"jsonrpc":"2\.0","method":"notifications\/tools\/list_changed"\}\n\n$/,
  );
  await readUntil(stream, (text) => text.includes("list_changed"));
  assert.deepEqual(await toolNames(server, 6), ["first"]);
  await legacy.cancel();
  await stream.cancel();
});
