/** install and doctor, in-process, against config files in temporary project and home folders. */

import { permissionFlags, STDIO_PERMISSIONS } from "../src/tool/permissions.ts";
import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { inNpxCache } from "../src/cli/install/server_command.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, projectCopy, tempDir } from "./spawn.ts";

/**
 * A copy of tooldrop whose tools/ holds the fixture tools (what is registered and started: never
 * the project's own tools/), temporary project and home folders, and `run`, which runs a command
 * as that copy's main.ts would; disposing `dir` removes them all.
 */
async function folders() {
  const tooldrop = await projectCopy();
  const folder = await tempDir({ "project/.keep": "", "home/.keep": "" });
  const env = {
    HOME: `${folder.path}/home`,
    INIT_CWD: `${folder.path}/project`,
  };
  const run = async (args: string[]) => {
    const { io, errors } = fakeIo(args, env, {
      entry: new URL(`file://${tooldrop.path}/main.ts`),
      toolsDir: new URL(`file://${tooldrop.path}/tools/`),
      os: "linux",
    });
    const code = await runCli(io);
    return { code, text: errors.join("") };
  };
  const dir = {
    [Symbol.asyncDispose]: async () => {
      await folder[Symbol.asyncDispose]();
      await tooldrop[Symbol.asyncDispose]();
    },
  };
  const root = tooldrop.path;
  return { dir, env, run, root, project: env.INIT_CWD, home: env.HOME };
}

/** Rewrites the arguments of the "tooldrop" entry in the Claude Code configuration `file`. */
async function editArgs(
  file: string,
  edit: (args: string[]) => string[],
): Promise<void> {
  const config = JSON.parse(await Deno.readTextFile(file));
  const server = config.mcpServers.tooldrop;
  server.args = edit(server.args);
  await Deno.writeTextFile(file, JSON.stringify(config, null, 2));
}

Deno.test("install writes each client's file in its place and shape", async () => {
  const { dir, run, root, project, home } = await folders();
  await using _ = dir;
  const cases = [
    ["claude-code", "project", `${project}/.mcp.json`, "mcpServers", "stdio"],
    ["claude-code", "user", `${home}/.claude.json`, "mcpServers", "stdio"],
    ["vscode", "project", `${project}/.vscode/mcp.json`, "servers", "stdio"],
    [
      "vscode",
      "user",
      `${home}/.config/Code/User/mcp.json`,
      "servers",
      "stdio",
    ],
    [
      "cursor",
      "project",
      `${project}/.cursor/mcp.json`,
      "mcpServers",
      undefined,
    ],
    ["cursor", "user", `${home}/.cursor/mcp.json`, "mcpServers", undefined],
    [
      "claude-desktop",
      "user",
      `${home}/.config/Claude/claude_desktop_config.json`,
      "mcpServers",
      undefined,
    ],
    [
      "cline",
      "user",
      `${home}/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`,
      "mcpServers",
      undefined,
    ],
  ] as const;
  for (const [client, scope, path, key, type] of cases) {
    const { code, text } = await run([
      "install",
      "--client",
      client,
      "--scope",
      scope,
    ]);
    assert.equal(code, 0, text);
    const entry = JSON.parse(await Deno.readTextFile(path))[key].tooldrop;
    assert.equal(entry.type, type, client);
    // A Deno in npx's cache (CI runs the tests with one) is registered as its lasting copy.
    assert.equal(
      entry.command,
      inNpxCache(Deno.execPath()) ? `${root}/.deno/deno` : Deno.execPath(),
    );
    assert.deepEqual(entry.args.slice(-3), [
      `${root}/main.ts`,
      "serve",
      "--watch",
    ]);
    assert.ok(
      entry.args.includes(`--allow-read=.,${root}/src,${root}/tools`),
      entry.args.join(" "),
    );
    assert.ok(
      !entry.args.some((a: string) => /^--allow-(all|write|net|run)/.test(a)),
    );
  }
  const refused = await run([
    "install",
    "--client",
    "cline",
    "--scope",
    "project",
  ]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.text,
    /Cline has no project configuration; use --scope user/,
  );
  const unknown = await run(["install", "--client", "emacs"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.text,
    /Unknown --client "emacs"; use one of claude-code, vscode/,
  );
});

Deno.test("install keeps comments, formatting and other servers; is idempotent; refuses a different entry without --force", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const path = `${project}/.mcp.json`;
  const original = `{
    // servers for this repository
    "mcpServers": {
        "notes": { "command": "notes-server", "args": ["--fast"] }, // keep
    },
}
`;
  await Deno.writeTextFile(path, original);
  assert.equal((await run(["install"])).code, 0);
  const once = await Deno.readTextFile(path);
  assert.match(once, /\/\/ servers for this repository/);
  assert.match(
    once,
    /"notes": \{ "command": "notes-server", "args": \["--fast"\] \}, \/\/ keep/,
  );
  assert.match(once, /\/\/ keep\n {8}"tooldrop": \{\n {12}"type": "stdio",/);
  assert.match(once, /\n {12}\]\n {8}\},\n {4}\},\n\}\n$/); // trailing commas kept

  const again = await run(["install"]);
  assert.equal(again.code, 0);
  assert.match(again.text, /already registered .* nothing to change/);
  assert.equal(await Deno.readTextFile(path), once);

  const clash = await run(["install", "--name", "notes"]);
  assert.equal(clash.code, 1);
  assert.match(
    clash.text,
    /already has a different server named "notes":\n {2}\{"command":"notes-server","args":\["--fast"\]\}\nUse --force/,
  );
  assert.equal(await Deno.readTextFile(path), once);

  const forced = await run(["install", "--name", "notes", "--force"]);
  assert.equal(forced.code, 0, forced.text);
  const config = await Deno.readTextFile(path);
  assert.match(
    config,
    /"notes": \{"type":"stdio",.*"--name","notes"\]\}, \/\/ keep\n/,
  );
  assert.match(config, /\n {8}"tooldrop": \{\n {12}"type": "stdio",/);

  await Deno.writeTextFile(path, '{ "mcpServers": { "a": 1 ');
  const broken = await run(["install"]);
  assert.equal(broken.code, 1);
  assert.match(
    broken.text,
    /\.mcp\.json is not valid JSON \(.* on line 1\); fix it/,
  );
});

Deno.test("doctor starts the registered server like the client and confirms it answers and exits", async () => {
  const { dir, run, root } = await folders();
  await using _ = dir;
  const missing = await run(["doctor"]);
  assert.equal(missing.code, 1);
  // Run from the project's folder: the command names tooldrop's configuration.
  assert.match(
    missing.text,
    new RegExp(
      `FAIL {2}.*\\.mcp\\.json does not exist; \`${
        RegExp.escape(DENO_WORD)
      } task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop install\` adds it`,
    ),
  );

  assert.equal((await run(["install"])).code, 0);
  const healthy = await run(["doctor"]);
  assert.equal(healthy.code, 0, healthy.text);
  assert.match(
    healthy.text,
    /ok {4}it answers initialize in \d+ ms: tooldrop \S+, protocol 2025-11-25/,
  );
  assert.match(healthy.text, /ok {4}it lists 2 tool\(s\): echo, get_cwd/);
  assert.match(healthy.text, /ok {4}it exits when its input ends/);
  assert.match(healthy.text, /"tooldrop" is ready for Claude Code\.\n$/);
});

Deno.test("doctor names a server that writes non-protocol text to stdout, or one that cannot start", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  await Deno.writeTextFile(
    `${project}/noisy.ts`,
    `console.log("Server starting...");\nfor await (const _ of Deno.stdin.readable) break;\n`,
  );
  await Deno.writeTextFile(
    `${project}/.mcp.json`,
    JSON.stringify({
      mcpServers: {
        noisy: {
          command: Deno.execPath(),
          args: ["run", `${project}/noisy.ts`],
        },
        gone: { command: `${project}/no-such-binary`, args: [] },
      },
    }),
  );
  const noisy = await run(["doctor", "--name", "noisy"]);
  assert.equal(noisy.code, 1);
  assert.match(
    noisy.text,
    /FAIL {2}it did not answer initialize: it wrote something that is not protocol to stdout, which breaks clients: "Server starting\.\.\."/,
  );
  const gone = await run(["doctor", "--name", "gone"]);
  assert.equal(gone.code, 1);
  assert.match(gone.text, /no-such-binary does not exist/);
});

Deno.test("install --project writes that project's file, read against the caller's folder; a missing folder or --scope user is refused", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const other = `${project}/../other`;
  await Deno.mkdir(other);
  // Relative to INIT_CWD (the caller's folder), not to tooldrop's, where `deno task` runs.
  const done = await run(["install", "--project", "../other"]);
  assert.equal(done.code, 0, done.text);
  const written = JSON.parse(await Deno.readTextFile(`${other}/.mcp.json`));
  assert.equal(typeof written.mcpServers.tooldrop.command, "string");
  assert.match(done.text, /tooldrop doctor --project \.\.\/other/);
  await assert.rejects(Deno.stat(`${project}/.mcp.json`));

  const missing = await run(["install", "--project", "../nowhere"]);
  assert.equal(missing.code, 2);
  assert.equal(
    missing.text,
    `The project folder ${
      Deno.realPathSync(`${project}/..`)
    }/nowhere (--project ../nowhere) does not exist or is not a folder\n`,
  );
  const user = await run([
    "install",
    "--project",
    "../other",
    "--scope",
    "user",
  ]);
  assert.equal(user.code, 2);
  assert.equal(
    user.text,
    "--project names a project's configuration; it does not go with --scope user\n",
  );
});

Deno.test("--tools is read against the caller's folder, and a folder that is not there is refused", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const missing = await run(["list", "--tools", "mine"]);
  assert.equal(missing.code, 2);
  assert.equal(
    missing.text,
    `The tools folder ${project}/mine (--tools mine) is not a folder this process can read\n`,
  );
  await Deno.mkdir(`${project}/mine`);
  const listed = await run(["list", "--tools", "mine"]);
  assert.equal(listed.code, 0, listed.text);
});

Deno.test("install updates an entry it wrote when only what it runs with changed, and prints the difference", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const path = `${project}/.mcp.json`;
  assert.equal((await run(["install"])).code, 0);
  const written = await Deno.readTextFile(path);
  const config = JSON.parse(written);
  const args: string[] = config.mcpServers.tooldrop.args;
  const flag = args.find((arg) => arg.startsWith("--v8-flags="))!;
  // As an older tooldrop registered it, with a permission a tool no longer declares.
  config.mcpServers.tooldrop.args = args.map((arg) =>
    arg === flag ? "--v8-flags=--initial-old-space-size=64" : arg
  ).concat("--allow-net=example.com");
  await Deno.writeTextFile(path, JSON.stringify(config));
  const updated = await run(["install"]);
  assert.equal(updated.code, 0, updated.text);
  assert.match(updated.text, /^Updated "tooldrop" in /);
  assert.match(
    updated.text,
    new RegExp(
      `\\n  - --v8-flags=--initial-old-space-size=64\\n  - --allow-net=example\\.com\\n  \\+ ${
        flag.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&")
      }\\n`,
    ),
  );
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(path)).mcpServers.tooldrop,
    JSON.parse(written).mcpServers.tooldrop,
  );
});

Deno.test("install run by a Deno in npx's cache registers a copy in .deno/ that lasts; doctor flags an entry that points into npx's cache", async () => {
  const { dir, root, env, project } = await folders();
  await using _ = dir;
  // A Deno where `npx -y deno@…` unpacks it.
  const npxDeno = `${project}/../npm/_npx/0123abcd/node_modules/deno/deno`;
  await Deno.mkdir(npxDeno.slice(0, npxDeno.lastIndexOf("/")), {
    recursive: true,
  });
  try {
    await Deno.link(Deno.execPath(), npxDeno);
  } catch {
    await Deno.copyFile(Deno.execPath(), npxDeno);
  }
  const install = await new Deno.Command(npxDeno, {
    args: ["run", "-A", `${root}/main.ts`, "install"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const said = new TextDecoder().decode(install.stderr);
  assert.equal(install.code, 0, said);
  assert.match(
    said,
    /copied from npx's cache \(which npm may clear\) to \.deno\//,
  );
  // The command it suggests runs Deno as it was run: through npx.
  assert.match(
    said,
    new RegExp(
      ` \`npx -y deno@${RegExp.escape(Deno.version.deno)} task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop doctor\` checks that it starts and answers\.\n$`,
    ),
  );
  const entry = JSON.parse(await Deno.readTextFile(`${project}/.mcp.json`))
    .mcpServers.tooldrop;
  assert.equal(entry.command, `${root}/.deno/deno`);
  const copy = await Deno.stat(entry.command);
  assert.equal(copy.size, (await Deno.stat(npxDeno)).size);
  assert.notEqual((copy.mode ?? 0) & 0o111, 0);

  // An entry written before, pointing into the cache.
  const config = JSON.parse(await Deno.readTextFile(`${project}/.mcp.json`));
  config.mcpServers.tooldrop.command = npxDeno;
  await Deno.writeTextFile(`${project}/.mcp.json`, JSON.stringify(config));
  const doctor = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}/main.ts`, "doctor"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(doctor.stdout) +
    new TextDecoder().decode(doctor.stderr);
  assert.equal(doctor.code, 1, out);
  assert.match(
    out,
    new RegExp(
      `it runs .*_npx.*deno, a Deno in npx's cache, which npm may clear; \`${
        RegExp.escape(DENO_WORD)
      } task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop install\` registers a copy that lasts`,
    ),
  );
});

Deno.test("doctor says an entry registered without FFI to libc runs with its protocol stream on fd 1, and install updates it", async () => {
  const { dir, run, root, project } = await folders();
  await using _ = dir;
  assert.equal((await run(["install"])).code, 0);
  const [flag] = permissionFlags(STDIO_PERMISSIONS);
  await editArgs(`${project}/.mcp.json`, (args) => {
    assert.ok(args.includes(flag!), args.join(" "));
    return args.filter((arg) => arg !== flag);
  });
  const stale = await run(["doctor"]);
  assert.equal(stale.code, 1, stale.text);
  assert.match(
    stale.text,
    new RegExp(
      `FAIL {2}it runs without ${
        RegExp.escape(flag!)
      }, with which the server moves the protocol streams off fd 0 and fd 1 so that nothing a tool runs can read or write them \\(registered by an older tooldrop\\); \`${
        RegExp.escape(DENO_WORD)
      } task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop install\` updates it\n`,
    ),
  );
  assert.doesNotMatch(stale.text, /which its tools now need/);
  const updated = await run(["install"]);
  assert.equal(updated.code, 0, updated.text);
  assert.ok(updated.text.includes(`\n  + ${flag}\n`), updated.text);
  assert.equal((await run(["doctor"])).code, 0);
});

Deno.test("doctor tells an entry whose FFI flag lacks only libc's paths (a tool declares FFI of its own) that it is the stream's move it misses", async () => {
  const { dir, run, root, project } = await folders();
  await using _ = dir;
  await Deno.writeTextFile(
    `${root}/tools/native.ts`,
    `import { defineTool } from "tooldrop";
export default defineTool({
  description: "Declares FFI of its own.",
  permissions: { ffi: ["/opt/native/libnative.so"] },
  run: () => "ok",
});
`,
  );
  assert.equal((await run(["install"])).code, 0);
  await editArgs(
    `${project}/.mcp.json`,
    (args) =>
      args.map((arg) =>
        arg.startsWith("--allow-ffi=")
          ? "--allow-ffi=/opt/native/libnative.so"
          : arg
      ),
  );
  const stale = await run(["doctor"]);
  assert.equal(stale.code, 1, stale.text);
  assert.match(stale.text, /moves the protocol streams off fd 0 and fd 1/);
  assert.doesNotMatch(stale.text, /which its tools now need/);
});

Deno.test("doctor names the permission flags an entry lacks once a tool declares more, and install updates it", async () => {
  const { dir, run, root } = await folders();
  await using _ = dir;
  assert.equal((await run(["install"])).code, 0);
  assert.equal((await run(["doctor"])).code, 0);
  await Deno.writeTextFile(
    `${root}/tools/secret.ts`,
    `import { defineTool } from "tooldrop";
export default defineTool({
  description: "Says whether a secret is set.",
  permissions: { env: ["TOOLDROP_TEST_SECRET"] },
  run: () => String(Deno.env.get("TOOLDROP_TEST_SECRET") !== undefined),
});
`,
  );
  const stale = await run(["doctor"]);
  assert.equal(stale.code, 1, stale.text);
  assert.match(
    stale.text,
    new RegExp(
      `FAIL {2}it runs without --allow-env=TOOLDROP_LOG,TOOLDROP_TEST_SECRET, which its tools now need \\(a permission declared since it was registered\\); \`${
        RegExp.escape(DENO_WORD)
      } task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop install\` updates it\n`,
    ),
  );
  const updated = await run(["install"]);
  assert.equal(updated.code, 0, updated.text);
  assert.match(
    updated.text,
    /\n {2}\+ --allow-env=TOOLDROP_LOG,TOOLDROP_TEST_SECRET\n/,
  );
  const ready = await run(["doctor"]);
  assert.equal(ready.code, 0, ready.text);
});

Deno.test("install grants what prompts and resources declare, as it does for tools", async () => {
  const { dir, run, root, project } = await folders();
  await using _ = dir;
  await Deno.mkdir(`${root}/resources`);
  await Deno.writeTextFile(
    `${root}/resources/weather.ts`,
    `import { defineResource } from "tooldrop";
export default defineResource({
  uri: "weather://today",
  description: "Today's weather.",
  permissions: { net: ["weather.example"] },
  read: () => "sunny",
});
`,
  );
  const installed = await run(["install"]);
  assert.equal(installed.code, 0, installed.text);
  const entry = JSON.parse(await Deno.readTextFile(`${project}/.mcp.json`))
    .mcpServers.tooldrop as { args: string[] };
  assert.ok(
    entry.args.includes("--allow-net=weather.example"),
    entry.args.join(" "),
  );
  assert.ok(
    entry.args.some((arg) =>
      arg.startsWith("--allow-read=") && arg.includes(`${root}/resources`)
    ),
    entry.args.join(" "),
  );
});
