/**
 * install --env and doctor's report of it, in-process, against config files in temporary project
 * and home folders: the exact file each client gets, install's stderr lines, and that a value
 * given on the command line never reaches stdout or stderr.
 */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { parseArgs, USAGE } from "../src/cli/options.ts";
import { clientEnv } from "../src/cli/install/env.ts";
import { CLIENTS } from "../src/cli/install/clients.ts";
import { fakeIo } from "./wire.ts";
import { projectCopy, tempDir } from "./spawn.ts";

/** A tool that reads API_TOKEN, so declares it. */
const TOKEN_TOOL = `import { defineTool } from "tooldrop";
export default defineTool({
  description: "Says whether API_TOKEN is set.",
  permissions: { env: ["API_TOKEN"] },
  run: () => String(Deno.env.get("API_TOKEN") !== undefined),
});
`;

/** A value that must never be shown. */
const SECRET = "s3cr3t-9f2c41d7";

/**
 * A copy of tooldrop whose tools/ holds the fixture tools and one that declares API_TOKEN,
 * temporary project and home folders, and `run`, which runs a command as that copy's main.ts
 * would, returning its exit code, stderr and stdout.
 */
async function folders(env: Record<string, string> = {}) {
  const tooldrop = await projectCopy({ "tools/token.ts": TOKEN_TOOL });
  const folder = await tempDir({ "project/.keep": "", "home/.keep": "" });
  const project = `${folder.path}/project`;
  const home = `${folder.path}/home`;
  const run = async (args: string[]) => {
    const { io, errors, out } = fakeIo(
      args,
      { HOME: home, INIT_CWD: project, ...env },
      {
        entry: new URL(`file://${tooldrop.path}/main.ts`),
        toolsDir: new URL(`file://${tooldrop.path}/tools/`),
        os: "linux",
      },
    );
    const code = await runCli(io);
    return { code, text: errors.join(""), stdout: out.text };
  };
  const dir = {
    [Symbol.asyncDispose]: async () => {
      await folder[Symbol.asyncDispose]();
      await tooldrop[Symbol.asyncDispose]();
    },
  };
  return { dir, run, project, home };
}

/** The lines of `text` that are not the command line install prints. */
function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("install --env writes each client's env: a value as given, a forwarded variable in the client's own syntax", async () => {
  const { dir, run, project, home } = await folders();
  await using _ = dir;
  const cases = [
    ["claude-code", "project", `${project}/.mcp.json`, "mcpServers", "${"],
    ["vscode", "project", `${project}/.vscode/mcp.json`, "servers", "${env:"],
    [
      "cursor",
      "project",
      `${project}/.cursor/mcp.json`,
      "mcpServers",
      "${env:",
    ],
    [
      "cline",
      "user",
      `${home}/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`,
      "mcpServers",
      "${env:",
    ],
  ] as const;
  for (const [client, scope, path, key, open] of cases) {
    const { code, text } = await run([
      "install",
      "--client",
      client,
      "--scope",
      scope,
      "--env",
      "API_TOKEN",
      "--env",
      "MODE=fast",
    ]);
    assert.equal(code, 0, text);
    const written = await Deno.readTextFile(path);
    const { command, args } = JSON.parse(written)[key].tooldrop;
    assert.ok(args.includes("--allow-env=API_TOKEN,TOOLDROP_LOG"), client);
    const env = { API_TOKEN: `${open}API_TOKEN}`, MODE: "fast" };
    const entry = client === "cline"
      ? { command, args, env, disabled: false }
      : client === "cursor"
      ? { command, args, env }
      : { type: "stdio", command, args, env };
    assert.equal(
      written,
      `${JSON.stringify({ [key]: { tooldrop: entry } }, null, 2)}\n`,
    );
    const label = CLIENTS[client].label;
    const said = lines(text);
    assert.deepEqual(said.slice(0, scope === "project" ? 3 : 2), [
      `Note: API_TOKEN is not set in this shell; ${label} passes the API_TOKEN of its own environment, so set it where ${label} starts`,
      ...(scope === "project"
        ? [
          `Warning: the value of MODE is written into ${path}, a project file that is usually committed; \`--env MODE\` without a value has ${label} pass its own MODE instead`,
        ]
        : []),
      `Warning: no tool declares env: ["MODE"], so a tool that reads MODE is refused; add it to that tool's permissions, then run install again`,
    ]);
    assert.ok(
      said.includes(
        `  env API_TOKEN=${open}API_TOKEN}, MODE (a value, not shown)`,
      ),
      text,
    );
  }
});

Deno.test("install --env NAME for Claude Desktop, which expands no variables, is refused; a value is written", async () => {
  const { dir, run, home } = await folders({ API_TOKEN: SECRET });
  await using _ = dir;
  const path = `${home}/.config/Claude/claude_desktop_config.json`;
  const refused = await run([
    "install",
    "--client",
    "claude-desktop",
    "--env",
    "API_TOKEN",
  ]);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.text,
    `Claude Desktop does not expand variables in its configuration, so it cannot pass API_TOKEN from its own environment: give the value, --env API_TOKEN=…, which is written into ${path} (your user configuration)\n`,
  );
  await assert.rejects(Deno.stat(path));

  const given = await run([
    "install",
    "--client",
    "claude-desktop",
    "--env",
    `API_TOKEN=${SECRET}`,
  ]);
  assert.equal(given.code, 0, given.text);
  const written = await Deno.readTextFile(path);
  const { command, args } = JSON.parse(written).mcpServers.tooldrop;
  assert.equal(
    written,
    `${
      JSON.stringify(
        {
          mcpServers: {
            tooldrop: { command, args, env: { API_TOKEN: SECRET } },
          },
        },
        null,
        2,
      )
    }\n`,
  );
  // A user file, and a variable a tool declares: nothing to warn about.
  assert.match(given.text, /^Registered "tooldrop" in /);
  assert.ok(!given.text.includes(SECRET));
});

Deno.test("install run again with other --env updates its entry and prints the difference; without --env it keeps them", async () => {
  const { dir, run, project } = await folders({ API_TOKEN: "set" });
  await using _ = dir;
  const path = `${project}/.mcp.json`;
  const first = await run([
    "install",
    "--env",
    "API_TOKEN",
    "--env",
    `MODE=${SECRET}`,
  ]);
  assert.equal(first.code, 0, first.text);

  const changed = await run([
    "install",
    "--env",
    "API_TOKEN",
    "--env",
    `MODE=${SECRET}-2`,
    "--env",
    "REGION",
  ]);
  assert.equal(changed.code, 0, changed.text);
  assert.match(changed.text, /^(Note|Warning): .*\n/);
  const said = lines(changed.text);
  const updated = said.findIndex((line) => line.startsWith("Updated"));
  assert.deepEqual(said.slice(updated + 2, updated + 6), [
    "  env API_TOKEN=${API_TOKEN}, MODE (a value, not shown), REGION=${REGION}",
    "  - env MODE (a value, not shown)",
    "  + env MODE (a new value, not shown)",
    "  + env REGION=${REGION}",
  ]);
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(path)).mcpServers.tooldrop.env,
    { API_TOKEN: "${API_TOKEN}", MODE: `${SECRET}-2`, REGION: "${REGION}" },
  );

  // Registering again (after a tool declared a permission, say) keeps the variables.
  const kept = await run(["install"]);
  assert.equal(kept.code, 0, kept.text);
  assert.match(
    kept.text,
    /^"tooldrop" is already registered in .*; nothing to change\nDeno's cache holds what its first start needs \(.*\)\.\n$/,
  );

  const fewer = await run(["install", "--env", "API_TOKEN"]);
  assert.equal(fewer.code, 0, fewer.text);
  assert.match(
    fewer.text,
    /\n {2}env API_TOKEN=\$\{API_TOKEN\}\n {2}- env MODE \(a value, not shown\)\n {2}- env REGION=\$\{REGION\}\n/,
  );
  assert.ok(!`${first.text}${changed.text}${fewer.text}`.includes(SECRET));
});

Deno.test("doctor names the variables an entry sets, never their values, and says which forwarded ones are unset", async () => {
  const { dir, run } = await folders();
  await using _ = dir;
  const install = await run([
    "install",
    "--env",
    "API_TOKEN",
    "--env",
    `MODE=${SECRET}`,
  ]);
  assert.equal(install.code, 0, install.text);
  const doctor = await run(["doctor"]);
  assert.equal(doctor.code, 0, doctor.text);
  assert.match(
    doctor.text,
    /\nok {4}it sets env API_TOKEN=\$\{API_TOKEN\}, MODE \(a value, not shown\)\nwarn {2}API_TOKEN is not set here, so this check starts the server without it; Claude Code passes the API_TOKEN of its own environment\n/,
  );
  for (const output of [install, doctor]) {
    assert.ok(!output.text.includes(SECRET), output.text);
    assert.equal(output.stdout, "");
  }
});

Deno.test("doctor passes what the client would: its references expanded, defaults applied, unset ones left out", () => {
  const lookup = (name: string) =>
    ({ A: "a-value" } as Record<string, string>)[name];
  assert.deepEqual(
    clientEnv("claude-code", {
      A: "${A}",
      B: "${B:-fallback}",
      C: "x-${C}",
      D: "${env:A}",
      E: "plain",
    }, lookup),
    {
      env: { A: "a-value", B: "fallback", D: "${env:A}", E: "plain" },
      unset: ["C"],
    },
  );
  assert.deepEqual(
    clientEnv("vscode", { A: "${env:A}", B: "${env:B}", C: "${A}" }, lookup),
    { env: { A: "a-value", C: "${A}" }, unset: ["B"] },
  );
  assert.deepEqual(
    clientEnv("claude-desktop", { A: "${A}" }, lookup),
    { env: { A: "${A}" }, unset: [] },
  );
});

Deno.test("--env takes NAME or NAME=value, refuses a bad name without echoing the value, and a name given twice", () => {
  assert.deepEqual(
    parseArgs(["install", "--env", "A", "--env=B=x=y", "--env", "C="]).env,
    [
      { name: "A", value: undefined },
      { name: "B", value: "x=y" },
      { name: "C", value: "" },
    ],
  );
  assert.throws(
    () => parseArgs(["install", "--env", `1BAD=${SECRET}`]),
    (error: Error) =>
      error.message ===
        `The variable name "1BAD" (--env) must be letters, digits and "_", not starting with a digit`,
  );
  assert.throws(
    () => parseArgs(["install", "--env", `A-B=${SECRET}`]),
    (error: Error) => !error.message.includes(SECRET),
  );
  assert.throws(
    () => parseArgs(["install", "--env", "A", "--env", "A=1"]),
    /--env A is given twice/,
  );
  assert.throws(() => parseArgs(["install", "--env"]), /needs a value/);
  assert.match(USAGE, /\n {10}\[--env NAME\[=VALUE\]\]\.\.\.\n/);
});
