/**
 * The listing cache (tools/.listing.json): `serve --isolate` lists tools from it without
 * importing a tool module in the server's thread, refreshes a stale entry (its file or a helper
 * changed) in a worker, and still refuses a broken file, naming it.
 */

import assert from "node:assert/strict";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { ServerProcess, tempDir } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";
import {
  LISTING_FILE,
  loadListedTools,
  writeListing,
} from "../src/loading/listing.ts";
import { sourceHash, sourceKey } from "../src/loading/_source_hash.ts";
import type { LoadedTool, ToolFile } from "../src/loading/worker/protocol.ts";
import { Logger } from "../src/util/log.ts";

/** A tool that refuses to be imported outside a worker, and says its helper's word. */
const tool = (description: string) => `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { word } from "./_helper.ts";
if (typeof WorkerGlobalScope === "undefined") {
  throw new Error("imported in the server's thread");
}
export default defineTool({
  description: ${JSON.stringify(description)},
  input: z.object({}),
  run: () => word,
});
`;

const HELPER = 'export const word = "one";\n';
const PROBED = /Listing (\d+) tool file\(s\) not in \.listing\.json/;
const quiet = () => new Logger({ level: "error", write: () => {} });
const dirUrl = (path: string) => new URL(`file://${path}/`);

/** Serves `path` with --isolate; returns the list reply, call 3's text and stderr. */
async function listAndCall(path: string) {
  const server = new ServerProcess([
    ...isolatedArgs(path, []),
    "--log-level",
    "debug",
  ]);
  await server.send(
    initialize(1),
    initialized(),
    listTools(2),
    call(3, "mark", {}),
  );
  const list = await server.reply(2) as {
    result: { tools: { name: string; description: string }[] };
  };
  const called = await server.reply(3) as {
    result: { content: { text: string }[]; isError?: boolean };
  };
  await server.closeStdin();
  const { code } = await server.exit();
  return {
    code,
    tools: list.result.tools,
    text: called.result.content.map((block) => block.text).join(""),
    stderr: server.stderr.text,
  };
}

/**
 * Starts a server, asks for the list, ends its input once it answered; resolves to its exit code
 * and log. (Ending it before would leave the tools the shutdown grace, 500 ms, to load: a cold
 * probe on a busy machine takes longer.)
 */
async function listUntilExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const server = new ServerProcess(args, { env });
  await server.send(initialize(1), listTools(2));
  await server.reply(2);
  await server.closeStdin();
  const { code } = await server.exit();
  return { code, stderr: server.stderr.text };
}

Deno.test("serve --isolate with a warm listing cache lists and calls a tool without importing it in the server's thread", async () => {
  await using dir = await tempDir({
    "mark.ts": tool("Says a word."),
    "_helper.ts": HELPER,
  });
  assert.equal(await writeListing(dirUrl(dir.path), { log: quiet() }), true);
  assert.equal(await writeListing(dirUrl(dir.path), { log: quiet() }), false);
  const served = await listAndCall(dir.path);
  assert.equal(served.code, 0, served.stderr);
  assert.deepEqual(served.tools.map((t) => [t.name, t.description]), [
    ["mark", "Says a word."],
  ]);
  assert.equal(served.text, "one");
  assert.doesNotMatch(served.stderr, PROBED); // answered from the cache
  assert.doesNotMatch(served.stderr, /server's thread/);
});

Deno.test("serve --isolate refreshes a stale entry (the tool or its helper changed) in a worker, and lists without a cache", async () => {
  await using dir = await tempDir({
    "mark.ts": tool("Says a word."),
    "_helper.ts": HELPER,
  });
  const cold = await listAndCall(dir.path);
  assert.match(cold.stderr, PROBED);
  assert.equal(cold.text, "one");
  await writeListing(dirUrl(dir.path), { log: quiet() });
  await Deno.writeTextFile(`${dir.path}/mark.ts`, tool("Says a new word."));
  const edited = await listAndCall(dir.path);
  assert.equal(edited.stderr.match(PROBED)?.[1], "1", edited.stderr);
  assert.equal(edited.tools[0]?.description, "Says a new word.");
  await writeListing(dirUrl(dir.path), { log: quiet() });
  await Deno.writeTextFile(
    `${dir.path}/_helper.ts`,
    'export const word = "two";\n',
  );
  const helped = await listAndCall(dir.path);
  assert.equal(helped.stderr.match(PROBED)?.[1], "1", helped.stderr);
  assert.equal(helped.text, "two");
});

Deno.test("serve --isolate refuses a broken file that is not in the cache, naming it", async () => {
  await using dir = await tempDir({
    "mark.ts": tool("Says a word."),
    "_helper.ts": HELPER,
  });
  await writeListing(dirUrl(dir.path), { log: quiet() });
  await Deno.writeTextFile(
    `${dir.path}/broken.ts`,
    'throw new Error("boom");\n',
  );
  const { code, stderr } = await listUntilExit(isolatedArgs(dir.path, []));
  assert.equal(code, 1, stderr);
  assert.ok(
    stderr.includes(`Cannot load tool "${dir.path}/broken.ts"`),
    stderr,
  );
  assert.match(stderr, /boom/);
});

Deno.test("serve --isolate names the one file whose top-level await never settles, within the load timeout", async () => {
  await using dir = await tempDir({
    "mark.ts": tool("Says a word."),
    "_helper.ts": HELPER,
    "hang.ts": "await new Promise(() => {});\n",
  });
  const args = isolatedArgs(dir.path, []).map((flag) =>
    flag.startsWith("--allow-env=") ? `${flag},TOOLDROP_LOAD_TIMEOUT_MS` : flag
  );
  const { code, stderr } = await listUntilExit(args, {
    TOOLDROP_LOAD_TIMEOUT_MS: "300",
  });
  assert.equal(code, 1, stderr);
  assert.ok(
    stderr.includes(
      `Cannot load tool "${dir.path}/hang.ts": its module did not finish loading within 300 ms`,
    ),
    stderr,
  );
  assert.ok(!stderr.includes(`"${dir.path}/mark.ts"`), stderr);
});

Deno.test("the cache key covers local imports, followed recursively, and nothing else", async () => {
  await using dir = await tempDir({
    "a.ts": 'import { b } from "./_b.ts";\nexport { b };\n',
    "_b.ts":
      'import "./_c.ts";\nimport "../outside.ts";\nexport const b = 1;\n',
    "_c.ts": 'import "./_b.ts"; // a cycle\n',
    "other.ts": "export const other = 1;\n",
  });
  const url = dirUrl(dir.path);
  const hash = () => sourceHash(url, new URL("a.ts", url));
  const first = await hash();
  assert.match(first, /^sha256-[0-9a-f]{64}$/);
  await Deno.writeTextFile(`${dir.path}/other.ts`, "export const other = 2;\n");
  assert.equal(await hash(), first);
  await Deno.writeTextFile(
    `${dir.path}/_c.ts`,
    'import "./_b.ts"; // changed\n',
  );
  assert.notEqual(await hash(), first);
});

Deno.test("the modules a cache key covers are the file's local imports, as paths in the folder, missing ones included", async () => {
  await using dir = await tempDir({
    "a b.ts":
      'import "./_b.ts";\nimport "./lib/c%20d.ts";\nimport "../x.ts";\n',
    "_b.ts": 'import "./_gone.ts";\nimport("./lib/c%20d.ts");\n',
    "lib/c d.ts": "export {};\n",
  });
  const url = dirUrl(dir.path);
  const { hash, modules } = await sourceKey(url, new URL("a%20b.ts", url));
  assert.equal(hash, await sourceHash(url, new URL("a%20b.ts", url)));
  assert.deepEqual([...modules].sort(), [
    "_b.ts",
    "_gone.ts",
    "a b.ts",
    "lib/c d.ts",
  ]);
});

Deno.test("writeListing leaves out a file saved again while it was probed: its hash was read before the save", async () => {
  await using dir = await tempDir({
    "mark.ts": tool("Says a word."),
    "_helper.ts": HELPER,
  });
  const url = dirUrl(dir.path);
  const answer = (files: ToolFile[]): LoadedTool[] =>
    files.map((file) => ({
      source: file.source,
      name: file.stem,
      permissions: undefined,
      timeoutMs: 1000,
      descriptor: {
        name: file.stem,
        description: "Probed.",
        inputSchema: { type: "object" },
      },
    }));
  const read = async () =>
    JSON.parse(await Deno.readTextFile(`${dir.path}/${LISTING_FILE}`));
  await writeListing(url, {
    log: quiet(),
    probe: async (files) => {
      // The helper is saved while the probe imports its tool.
      await Deno.writeTextFile(
        `${dir.path}/_helper.ts`,
        'export const word = "two";\n',
      );
      return answer(files);
    },
  });
  assert.deepEqual((await read()).tools, {});
  // Written again after that save, it holds the file.
  await writeListing(url, {
    log: quiet(),
    probe: (files) => Promise.resolve(answer(files)),
  });
  assert.deepEqual(Object.keys((await read()).tools), ["mark.ts"]);
});

Deno.test("a cache that is not JSON, another version's, or hand-edited wrongly is ignored: its files are probed", async () => {
  await using dir = await tempDir({ "mark.ts": tool("Says a word.") });
  const url = dirUrl(dir.path);
  const probed: string[] = [];
  const probe = (files: ToolFile[]): Promise<LoadedTool[]> => {
    probed.push(...files.map((file) => file.source));
    return Promise.resolve(files.map((file) => ({
      source: file.source,
      name: file.stem,
      permissions: undefined,
      timeoutMs: 1000,
      descriptor: {
        name: file.stem,
        description: "Probed.",
        inputSchema: { type: "object" },
      },
    })));
  };
  const load = () =>
    loadListedTools(url, {
      log: quiet(),
      label: "tools/",
      attach: (t) => t,
      probe,
    });
  await writeListing(url, { log: quiet(), probe });
  probed.length = 0;
  const warm = await load();
  assert.deepEqual([warm.probed, warm.errors], [0, []]);
  const cache = JSON.parse(
    await Deno.readTextFile(`${dir.path}/${LISTING_FILE}`),
  );
  for (
    const text of [
      "{ not json",
      JSON.stringify({ ...cache, tooldrop: "0.0.0" }),
      JSON.stringify({
        ...cache,
        tools: { "mark.ts": { ...cache.tools["mark.ts"], timeoutMs: -1 } },
      }),
    ]
  ) {
    await Deno.writeTextFile(`${dir.path}/${LISTING_FILE}`, text);
    const cold = await load();
    assert.equal(cold.probed, 1);
    assert.deepEqual(cold.tools.map((t) => t.descriptor.description), [
      "Probed.",
    ]);
  }
});
