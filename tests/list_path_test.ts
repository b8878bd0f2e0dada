/**
 * @module
 * `serve --isolate` with a warm listing cache answers `tools/list` without loading zod (40–60 ms
 * of start-up) or any tool module in the server's thread. Two views of that path:
 * - the module graph (`deno info --json main.ts`), following every import, static or dynamic,
 *   except the dynamic imports only other paths take (SKIPPED, each with why): a new import on
 *   the path is followed by default, and a skipped import that no longer exists fails the test;
 * - the process itself: the modules its main thread compiles before the reply, as the inspector
 *   reports them (`Debugger.scriptParsed`), which catches what a graph cannot (a computed
 *   specifier, a module imported on an unexpected branch).
 */

import assert from "node:assert/strict";
import { initialize, initialized, listTools } from "./requests.ts";
import { projectCopy, ROOT, ServerProcess, tempDir } from "./spawn.ts";
import { isolatedArgs } from "./hostile/_isolation_tools.ts";
import { writeListing } from "../src/loading/listing.ts";
import { Logger } from "../src/util/log.ts";

/** Dynamic imports off the warm `serve --isolate` path to `tools/list`, by importer. */
const SKIPPED: Record<string, Record<string, string>> = {
  "main.ts": { "tools/_manifest.ts": "a compiled binary's tools" },
  "src/cli/mod.ts": {
    "src/cli/list.ts": "another command",
    "src/cli/call.ts": "another command",
    "src/cli/prompt.ts": "another command",
    "src/cli/read.ts": "another command",
    "src/cli/new.ts": "another command",
    "src/cli/install/mod.ts": "another command",
    "src/cli/doctor.ts": "another command",
    "src/cli/compile.ts": "another command",
    "src/cli/dev/mod.ts": "another command",
    "src/loading/manifest.ts": "the manifest command",
  },
  "src/cli/serve.ts": {
    "src/cli/_watching.ts": "serve --watch",
  },
  "src/cli/serve_http.ts": {
    "src/cli/_watching.ts": "serve --watch --http",
  },
  "src/loading/load.ts": {
    "src/loading/discover.ts":
      "imports and checks tools in this thread: without --isolate, or from a manifest",
    "src/loading/_manifest_kinds.ts":
      "prompts and resources from a manifest (a compiled binary)",
  },
  "src/loading/listing.ts": {
    "src/loading/worker/probe.ts": "files the cache has no current entry for",
  },
  "src/tool/client_requests.ts": {
    zod: "the form of a ctx.elicit, built where the tool runs",
  },
};

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** `specifier` relative to the folder `root`, when it is a file there. */
const relativeTo = (root: string, specifier: string) =>
  specifier.startsWith(`file://${root}/`)
    ? specifier.slice(`file://${root}/`.length)
    : specifier;

const isZod = (specifier: string) =>
  /^npm:\/?zod@/.test(specifier) || /\/npm\/[^ ]*\/zod\//.test(specifier);

Deno.test("the module graph of serve --isolate's path to a tools/list reply from the cache has no zod", async () => {
  // A copy of tooldrop with the fixture tools: the graph from main.ts takes in tools/, and the
  // project's own is the user's.
  await using copy = await projectCopy();
  const root = copy.path;
  const relative = (specifier: string) => relativeTo(root, specifier);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-lock", `${root}/main.ts`],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seenSkips = new Set<string>();
  const via = new Map<string, string | undefined>([[
    `file://${root}/main.ts`,
    undefined,
  ]]);
  const queue = [...via.keys()];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const dependency of modules.get(from)?.dependencies ?? []) {
      const raw = dependency.code?.specifier; // type-only imports have none
      if (raw === undefined) continue;
      const to = info.redirects[raw] ?? raw;
      const target = isZod(to) ? "zod" : relative(to);
      const skipped = dependency.isDynamic && SKIPPED[relative(from)]?.[target];
      if (skipped) {
        seenSkips.add(`${relative(from)} -> ${target}`);
        continue;
      }
      if (via.has(to)) continue;
      via.set(to, from);
      queue.push(to);
    }
  }
  const chain = (specifier: string) => {
    const names = [];
    for (let s: string | undefined = specifier; s; s = via.get(s)) {
      names.push(relative(s));
    }
    return names.join(" <- ");
  };
  const zod = [...via.keys()].filter(isZod);
  assert.deepEqual(zod.map(chain), [], "zod is on the path");
  for (const path of ["load.ts", "listing.ts", "worker/host.ts"]) {
    assert.ok(
      via.has(`file://${root}/src/loading/${path}`),
      `src/loading/${path} is on the path`,
    );
  }
  const listed = Object.entries(SKIPPED).flatMap(([from, tos]) =>
    Object.keys(tos).map((to) => `${from} -> ${to}`)
  );
  assert.deepEqual(
    listed.filter((edge) => !seenSkips.has(edge)),
    [],
    "SKIPPED names dynamic imports the code no longer has: update it",
  );
});

Deno.test("serve --isolate with a warm cache compiles neither zod nor a tool module in its main thread before the tools/list reply", async () => {
  await using dir = await tempDir({
    "echo.ts": `import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Echoes text.",
  input: z.object({ text: z.string() }),
  run: ({ text }) => text,
});
`,
  });
  await writeListing(new URL(`file://${dir.path}/`), {
    log: new Logger({ level: "error", write: () => {} }),
  });
  const [run, ...rest] = isolatedArgs(dir.path, []);
  const server = new ServerProcess([
    run!,
    "--inspect-wait=127.0.0.1:0",
    ...rest,
    "--log-level",
    "debug",
  ]);
  await server.stderr.waitFor(/ws:\/\/\S+/);
  const socket = new WebSocket(/ws:\/\/\S+/.exec(server.stderr.text)![0]);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const parsed: string[] = [];
  const answered = new Map<number, () => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "Debugger.scriptParsed") {
      parsed.push(message.params.url);
    }
    answered.get(message.id)?.();
  };
  let id = 0;
  const command = (method: string) => {
    const { promise, resolve } = Promise.withResolvers<void>();
    answered.set(++id, resolve);
    socket.send(JSON.stringify({ id, method, params: {} }));
    return promise;
  };
  await command("Debugger.enable");
  await command("Runtime.runIfWaitingForDebugger");
  await server.send(initialize(1), initialized(), listTools(2));
  const list = await server.reply(2) as {
    result: { tools: { name: string }[] };
  };
  // Answered after every event sent before it: the scripts compiled before the reply.
  await command("Runtime.getIsolateId");
  const before = [...parsed];
  socket.close();
  await server.closeStdin();
  const { code } = await server.exit();
  assert.equal(code, 0, server.stderr.text);
  assert.deepEqual(list.result.tools.map((t) => t.name), ["echo"]);
  assert.doesNotMatch(server.stderr.text, /Listing \d+ tool file\(s\) not in/);
  assert.ok(
    before.includes(`file://${ROOT}/src/loading/listing.ts`),
    `listed from the cache; compiled:\n${before.join("\n")}`,
  );
  assert.deepEqual(before.filter(isZod), [], "zod compiled before the reply");
  assert.deepEqual(
    before.filter((url) => url.startsWith(`file://${dir.path}/`)),
    [],
    "a tool module compiled in the main thread",
  );
});
