/**
 * Prompts and resources under `serve --watch`, at the wire, in both eras (issue 16, items 3 and
 * 5): a saved, added or deleted file reloads in place with the list_changed of its kind, and
 * resource subscriptions — legacy `resources/subscribe`, 2026 `resourceSubscriptions` on
 * `subscriptions/listen` — send `notifications/resources/updated` when a file the resource
 * watches changes, when its subscribe hook says so, and when its own file reloads.
 */

import assert from "node:assert/strict";
import {
  initialize,
  initialized,
  listen,
  modern,
  request,
} from "./requests.ts";
import { ROOT, ServerProcess, tempDir, type TextTap } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";

const TOOL = `
import { defineTool } from "tooldrop";
export default defineTool({ description: "Says ok.", run: () => "ok" });
`;

const prompt = (text: string) => `
import { definePrompt } from "tooldrop";
export default definePrompt({ description: "Greets.", get: () => ${
  JSON.stringify(text)
} });
`;

const note = (description: string) => `
import { defineResource } from "tooldrop";
export default defineResource({
  uriTemplate: "notes://{name}",
  description: ${JSON.stringify(description)},
  watch: ["notes/{name}.md"],
  read: ({ name }) => Deno.readTextFile(\`notes/\${name}.md\`).catch(() => undefined),
});
`;

/** A resource whose subscribe hook reports one change 50 ms after each subscription. */
const PULSE = `
import { defineResource } from "tooldrop";
export default defineResource({
  uri: "pulse://once",
  description: "Changes once after each subscription.",
  read: () => "pulse",
  subscribe: (_params, ctx) => {
    const timer = setTimeout(() => ctx.changed(), 50);
    ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  },
});
`;

const EXTRA = `
import { defineResource } from "tooldrop";
export default defineResource({ uri: "docs://extra", description: "Extra.", read: () => "x" });
`;

/** `serve --watch` over a project folder with tools/, prompts/, resources/ and notes/. */
async function watching() {
  const dir = await tempDir({
    "tools/ok.ts": TOOL,
    "prompts/greet.ts": prompt("hello v1"),
    "resources/note.ts": note("A note."),
    "resources/pulse.ts": PULSE,
    "notes/todo.md": "buy milk",
  });
  const args = isolatedArgs(`${dir.path}/tools`, [{ read: [dir.path, ROOT] }]);
  const server = new ServerProcess(
    [
      ...args.slice(0, args.indexOf(`${ROOT}/main.ts`)),
      "--config",
      `${ROOT}/deno.json`,
      ...args.slice(args.indexOf(`${ROOT}/main.ts`)),
      "serve",
      "--watch",
    ],
    { cwd: dir.path },
  );
  return {
    dir: dir.path,
    server,
    async [Symbol.asyncDispose]() {
      await server.closeStdin();
      await server.exit();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Resolves once `pattern` matches `count` lines of `tap`. */
async function lines(
  tap: TextTap,
  pattern: RegExp,
  count = 1,
  limitMs = 15_000,
): Promise<string[]> {
  const start = performance.now();
  while (true) {
    const found = tap.lines.filter((line) => pattern.test(line));
    if (found.length >= count) return found;
    if (performance.now() - start > limitMs) {
      throw new Error(
        `Waited ${limitMs} ms for ${count} line(s) matching ${pattern}; got:\n${
          tap.lines.join("\n")
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const rpc = request;

const UPDATED_TODO =
  `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"notes://todo"}}`;

Deno.test("serve --watch, legacy era: prompts and resources reload in place with their list_changed; subscriptions follow watched files, hooks and reloads", async () => {
  await using run = await watching();
  const { server, dir } = run;
  const out = server.stdout;
  await server.send(initialize(1), initialized());
  const hello = await server.reply(1);
  assert.deepEqual(
    (hello.result as { capabilities: Record<string, unknown> }).capabilities
      .resources,
    { subscribe: true, listChanged: true },
  );

  // A saved prompt: its list_changed, then its new text.
  await server.send(rpc(2, "prompts/get", { name: "greet" }));
  assert.match(JSON.stringify(await server.reply(2)), /hello v1/);
  await Deno.writeTextFile(`${dir}/prompts/greet.ts`, prompt("hello v2"));
  await lines(out, /"method":"notifications\/prompts\/list_changed"/);
  await server.send(rpc(3, "prompts/get", { name: "greet" }));
  assert.match(JSON.stringify(await server.reply(3)), /hello v2/);

  // A watched file of a subscribed URI.
  await server.send(rpc(4, "resources/subscribe", { uri: "notes://todo" }));
  assert.deepEqual(await server.reply(4), {
    jsonrpc: "2.0",
    id: 4,
    result: {},
  });
  await Deno.writeTextFile(`${dir}/notes/todo.md`, "buy bread");
  assert.deepEqual(await lines(out, /resources\/updated/), [UPDATED_TODO]);

  // A subscribe hook's changed().
  await server.send(rpc(5, "resources/subscribe", { uri: "pulse://once" }));
  await server.reply(5);
  await lines(out, /"uri":"pulse:\/\/once"/);

  // Unsubscribed: the file's changes send nothing more (a later update proves time passed).
  await server.send(rpc(6, "resources/unsubscribe", { uri: "notes://todo" }));
  await server.reply(6);
  await Deno.writeTextFile(`${dir}/notes/todo.md`, "buy tea");
  await new Promise((resolve) => setTimeout(resolve, 300));
  await server.send(rpc(7, "resources/subscribe", { uri: "notes://todo" }));
  await server.reply(7);
  assert.equal(out.lines.filter((l) => l === UPDATED_TODO).length, 1);

  // The resource's own file reloads: list_changed, and its subscribers are told.
  await Deno.writeTextFile(`${dir}/resources/note.ts`, note("A note, v2."));
  await lines(out, /"method":"notifications\/resources\/list_changed"/);
  await lines(
    out,
    /^\{"jsonrpc":"2.0","method":"notifications\/resources\/updated","params":\{"uri":"notes:\/\/todo"\}\}$/,
    2,
  );
  await server.send(rpc(8, "resources/templates/list"));
  assert.match(JSON.stringify(await server.reply(8)), /A note, v2\./);

  // An added resource, a deleted prompt.
  await Deno.writeTextFile(`${dir}/resources/extra.ts`, EXTRA);
  await lines(out, /"method":"notifications\/resources\/list_changed"/, 2);
  await server.send(rpc(9, "resources/list"));
  assert.match(JSON.stringify(await server.reply(9)), /docs:\/\/extra/);
  await Deno.remove(`${dir}/prompts/greet.ts`);
  await lines(out, /"method":"notifications\/prompts\/list_changed"/, 2);
  await server.send(rpc(10, "prompts/list"));
  assert.deepEqual(await server.reply(10), {
    jsonrpc: "2.0",
    id: 10,
    result: { prompts: [] },
  });
  // No tool changed: tools/list_changed was never sent.
  assert.equal(
    out.lines.filter((l) => l.includes("notifications/tools/list_changed"))
      .length,
    0,
  );
});

Deno.test("serve --watch, 2026-07-28 era: a listen stream gets the list_changed and resource updates it asked for, with its subscription id; resources/subscribe is not a method there", async () => {
  await using run = await watching();
  const { server, dir } = run;
  const out = server.stdout;
  await server.send(
    modern(listen("L", {
      toolsListChanged: true,
      promptsListChanged: true,
      resourceSubscriptions: ["notes://todo", "notes://none"],
    })),
  );
  await lines(out, /subscriptions\/acknowledged/);
  assert.equal(
    out.lines[0],
    `{"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"L"},"notifications":{"toolsListChanged":true,"promptsListChanged":true,"resourceSubscriptions":["notes://todo","notes://none"]}}}`,
  );
  await server.send(modern(rpc(2, "resources/read", { uri: "notes://todo" })));
  await server.reply(2); // the resources are loaded
  await Deno.writeTextFile(`${dir}/notes/todo.md`, "buy bread");
  assert.deepEqual(await lines(out, /resources\/updated/), [
    `{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"L"},"uri":"notes://todo"}}`,
  ]);
  await Deno.writeTextFile(`${dir}/prompts/greet.ts`, prompt("hello v2"));
  assert.deepEqual(await lines(out, /prompts\/list_changed/), [
    `{"jsonrpc":"2.0","method":"notifications/prompts/list_changed","params":{"_meta":{"io.modelcontextprotocol/subscriptionId":"L"}}}`,
  ]);
  // resourcesListChanged was not asked for: an added resource is not told on this stream.
  await Deno.writeTextFile(`${dir}/resources/extra.ts`, EXTRA);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await server.send(
    modern(rpc(3, "resources/subscribe", { uri: "notes://todo" })),
  );
  const refused = await server.reply(3);
  assert.equal((refused.error as { code: number }).code, -32601);
  assert.equal(
    out.lines.filter((l) => l.includes("resources/list_changed")).length,
    0,
  );
});
