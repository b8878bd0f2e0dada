/**
 * Deno's cache for the registered command: install fills it, doctor says when it is cold. Each
 * test points the entry at a fresh DENO_DIR through its env (what the client passes the server,
 * and so the cache its start uses), which costs one download from the npm registry: two here.
 */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { RpcChild } from "../src/cli/rpc_child.ts";
import { LATEST_LEGACY_VERSION } from "../src/server/protocol.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, projectCopy, tempDir } from "./spawn.ts";

/** Milliseconds a reply may take: a cold start downloads packages. */
const REPLY_MS = 60_000;

/**
 * A copy of tooldrop with the fixture tools (echo imports zod), temporary project, home and
 * empty DENO_DIR folders, and `run`, which runs a command as that copy's main.ts would.
 */
async function folders() {
  const tooldrop = await projectCopy();
  const folder = await tempDir({
    "project/.keep": "",
    "home/.keep": "",
    "deno_dir/.keep": "",
  });
  const project = `${folder.path}/project`;
  const run = async (args: string[]) => {
    const { io, errors } = fakeIo(
      args,
      { HOME: `${folder.path}/home`, INIT_CWD: project },
      {
        entry: new URL(`file://${tooldrop.path}/main.ts`),
        toolsDir: new URL(`file://${tooldrop.path}/tools/`),
        os: "linux",
      },
    );
    const code = await runCli(io);
    return { code, text: errors.join("") };
  };
  const dir = {
    [Symbol.asyncDispose]: async () => {
      await folder[Symbol.asyncDispose]();
      await tooldrop[Symbol.asyncDispose]();
    },
  };
  return {
    dir,
    run,
    project,
    root: tooldrop.path,
    denoDir: `${folder.path}/deno_dir`,
  };
}

interface Entry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

async function readEntry(project: string): Promise<Entry> {
  return JSON.parse(await Deno.readTextFile(`${project}/.mcp.json`))
    .mcpServers.tooldrop;
}

Deno.test("install fills Deno's cache for the registered command: it then starts, lists and calls with --cached-only", async () => {
  const { dir, run, project, denoDir } = await folders();
  await using _ = dir;
  const install = await run(["install", "--env", `DENO_DIR=${denoDir}`]);
  assert.equal(install.code, 0, install.text);
  assert.match(
    install.text,
    /\nDeno's cache holds what its first start needs \(`deno install --entrypoint`, \d+ ms\)\.\nClaude Code asks/,
  );
  const entry = await readEntry(project);
  assert.equal(entry.env.DENO_DIR, denoDir);
  const [run0, ...rest] = entry.args;
  assert.equal(run0, "run");
  // Offline: anything the start, the listing or the tool's worker still needed would fail here.
  const child = new RpcChild(entry.command, {
    args: ["run", "--cached-only", ...rest],
    env: entry.env,
    cwd: project,
  });
  try {
    const init = await child.call(1, "initialize", {
      protocolVersion: LATEST_LEGACY_VERSION,
      capabilities: {},
      clientInfo: { name: "test", version: "1" },
    }, REPLY_MS);
    assert.ok(init.message.result, JSON.stringify(init.message));
    await child.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const list = await child.call(2, "tools/list", {}, REPLY_MS);
    assert.deepEqual(
      (list.message.result as { tools: Array<{ name: string }> }).tools.map((
        tool,
      ) => tool.name),
      ["echo", "get_cwd"],
    );
    const called = await child.call(3, "tools/call", {
      name: "echo",
      arguments: { text: "offline" },
    }, REPLY_MS);
    assert.deepEqual(called.message, {
      jsonrpc: "2.0",
      id: 3,
      result: { content: [{ type: "text", text: "offline" }] },
    }, child.stderr);
  } finally {
    await child.close(5_000);
  }
  const doctor = await run(["doctor"]);
  assert.equal(doctor.code, 0, doctor.text);
  assert.match(
    doctor.text,
    /\nok {4}Deno's cache holds what its first start needs\n/,
  );
  assert.doesNotMatch(doctor.text, /warn/);
});

Deno.test("doctor warns when Deno's cache is cold for the registered command, and names the command that fills it", async () => {
  const { dir, run, project, root, denoDir } = await folders();
  await using _ = dir;
  const install = await run(["install", "--scope", "project"]);
  assert.equal(install.code, 0, install.text);
  // The same entry, started by a client whose cache is empty.
  const config = JSON.parse(await Deno.readTextFile(`${project}/.mcp.json`));
  config.mcpServers.tooldrop.env = { DENO_DIR: denoDir };
  await Deno.writeTextFile(`${project}/.mcp.json`, JSON.stringify(config));
  const entry = await readEntry(project);

  const cold = await run(["doctor"]);
  // A warning: the server still starts (downloading), which the checks after it confirm.
  assert.equal(cold.code, 0, cold.text);
  const line = cold.text.split("\n").find((l) => l.startsWith("warn"));
  const fill = [
    entry.command,
    "install",
    "--entrypoint",
    "--config",
    `${root}/deno.json`,
    `${root}/main.ts`,
    `${root}/tools/echo.ts`,
    `${root}/tools/get_cwd.ts`,
  ].join(" ");
  assert.match(
    line ?? cold.text,
    new RegExp(
      `^warn {2}Deno's cache lacks what its first start needs \\(npm package not found in cache: "(zod|jsonc-parser)", --cached-only is specified\\.\\), so that start downloads it and may outlast the client's wait \\(about 2 s for Claude Code\\); \`${
        RegExp.escape(DENO_WORD)
      } task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop install\` fills it, as does: `,
    ),
  );
  assert.ok(line!.endsWith(`, as does: ${fill}`), line);
  assert.match(cold.text, /\nok {4}it lists 2 tool\(s\): echo, get_cwd\n/);
  assert.doesNotMatch(cold.text, /ok {4}Deno's cache holds/);
});

/** What `install` (into `project`) says once tools/broken.ts holds `source`; it succeeds. */
async function installWith(
  root: string,
  project: string,
  source: string,
): Promise<string> {
  await Deno.writeTextFile(`${root}/tools/broken.ts`, source);
  const { io, errors } = fakeIo(["install"], { INIT_CWD: project }, {
    entry: new URL(`file://${root}/main.ts`),
    toolsDir: new URL(`file://${root}/tools/`),
    os: "linux",
  });
  assert.equal(await runCli(io), 0);
  return errors.join("");
}

Deno.test("install names a tool file that does not load, and fills Deno's cache for the others", async () => {
  const { dir, project, root } = await folders();
  await using _ = dir;
  // A tool whose local import does not exist: its own code, which no cache can fix.
  const text = await installWith(
    root,
    project,
    `import "./_missing.ts";\nexport default {};\n`,
  );
  assert.match(
    text,
    new RegExp(
      `\\nWarning: ${root}/tools/broken\\.ts does not load \\(Module not found "file://${root}/tools/_missing\\.ts"\\.\\): the server leaves it out until it is fixed\\nDeno's cache holds what its first start needs \\(\`deno install --entrypoint\`, the other files, \\d+ ms\\)\\.\\n`,
    ),
  );
  assert.doesNotMatch(text, /could not fill Deno's cache/);
});

Deno.test("install warns, and still succeeds, when Deno's cache cannot be filled", async () => {
  const { dir, project, root } = await folders();
  await using _ = dir;
  // A tool importing a remote module Deno may not fetch: the cache cannot be filled (at once,
  // offline), and no syntax or missing local file is at fault.
  const text = await installWith(
    root,
    project,
    `import "https://tooldrop.invalid/mod.ts";\nexport default {};\n`,
  );
  const entry = await readEntry(project);
  assert.match(
    text,
    new RegExp(
      `\\nWarning: could not fill Deno's cache for its first start \\([^)]*tooldrop\\.invalid[^)]*\\); that start downloads what it needs and may outlast the client's wait\\. To retry: ${
        entry.command.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")
      } install --entrypoint .*/tools/broken\\.ts .*\\nClaude Code asks`,
    ),
  );
});
