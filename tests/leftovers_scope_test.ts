/**
 * install and doctor for Claude Code's local scope (an entry per project in ~/.claude.json), and
 * doctor's working folder for a user-scope entry, in-process against temporary folders.
 */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { claudeProjectKey } from "../src/cli/install/claude_project.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, projectCopy, tempDir } from "./spawn.ts";

/**
 * A server that names the folder it was started in as its serverInfo.name: doctor prints that
 * name, so its output shows where the server ran.
 */
const WHERE_SERVER = `
const encoder = new TextEncoder();
let buffer = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffer += chunk;
  let end;
  while ((end = buffer.indexOf("\\n")) >= 0) {
    const message = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (message.id === undefined) continue;
    const result = message.method === "initialize"
      ? { protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: Deno.cwd(), version: "1" } }
      : { tools: [] };
    Deno.stdout.writeSync(encoder.encode(JSON.stringify({ jsonrpc: "2.0", id: message.id, result }) + "\\n"));
  }
}
`;

/** A tooldrop copy, a home, a project and another project, and `run` from the project. */
async function folders() {
  const tooldrop = await projectCopy();
  const folder = await tempDir({
    "project/.keep": "",
    "other/.keep": "",
    "home/.keep": "",
    "where.ts": WHERE_SERVER,
  });
  const home = `${folder.path}/home`;
  const project = `${folder.path}/project`;
  const run = async (args: string[], from = project) => {
    const { io, errors } = fakeIo(args, { HOME: home, INIT_CWD: from }, {
      entry: new URL(`file://${tooldrop.path}/main.ts`),
      toolsDir: new URL(`file://${tooldrop.path}/tools/`),
      os: "linux",
    });
    const code = await runCli(io);
    return { code, text: errors.join("") };
  };
  return {
    dir: {
      [Symbol.asyncDispose]: async () => {
        await folder[Symbol.asyncDispose]();
        await tooldrop[Symbol.asyncDispose]();
      },
    },
    run,
    /** tooldrop's folder: commands it suggests from the project name its deno.json. */
    root: tooldrop.path,
    base: folder.path,
    home,
    project,
    other: `${folder.path}/other`,
  };
}

/** What Claude Code 2.1.328 wrote into a fresh ~/.claude.json for `claude mcp add --scope local`. */
function claudeJson(project: string) {
  return {
    firstStartTime: "2026-11-29T08:11:49.928Z",
    numStartups: 3,
    projects: {
      [project]: {
        allowedTools: [],
        mcpContextUris: [],
        mcpServers: {
          demo: { type: "stdio", command: "/bin/echo", args: ["hi"], env: {} },
        },
        enabledMcpjsonServers: [],
        hasTrustDialogAccepted: false,
      },
      "/somewhere/else": { allowedTools: ["Bash"], mcpServers: {} },
    },
  };
}

Deno.test({
  name:
    "doctor starts a user-scope entry in the caller's folder, or in --project, and says so",
  ignore: Deno.build.os === "windows", // the entry's Deno is a shell script
}, async () => {
  const { dir, run, base, home, project, other } = await folders();
  await using _ = dir;
  // A Deno of its own: doctor fails an entry that points into npx's cache (CI runs from one).
  const deno = `${base}/deno`;
  await Deno.writeTextFile(deno, `#!/bin/sh\nexec '${Deno.execPath()}' "$@"\n`);
  await Deno.chmod(deno, 0o755);
  await Deno.writeTextFile(
    `${home}/.claude.json`,
    JSON.stringify({
      mcpServers: {
        where: { command: deno, args: ["run", `${base}/where.ts`] },
      },
    }),
  );
  const here = await run(["doctor", "--scope", "user", "--name", "where"]);
  assert.equal(here.code, 0, here.text);
  const startsLine = (folder: string) =>
    `ok    it starts in ${folder}: the project Claude Code is opened in (this folder, or --project), where a user-scope server starts\n`;
  assert.ok(here.text.includes(startsLine(project)), here.text);
  assert.match(here.text, new RegExp(`: ${project} 1, protocol 2025-11-25\n`));

  const there = await run([
    "doctor",
    "--scope",
    "user",
    "--name",
    "where",
    "--project",
    "../other",
  ]);
  assert.equal(there.code, 0, there.text);
  assert.ok(there.text.includes(startsLine(other)), there.text);
  assert.match(there.text, new RegExp(`: ${other} 1, protocol 2025-11-25\n`));

  // install still refuses --project with --scope user: that file is no project's.
  const install = await run(["install", "--scope", "user", "--project", "."]);
  assert.equal(install.code, 2);
  assert.equal(
    install.text,
    "--project names a project's configuration; it does not go with --scope user\n",
  );
});

Deno.test("install --scope local writes projects[<project>].mcpServers in ~/.claude.json as claude mcp add does, keeping the rest", async () => {
  const { dir, run, root, home, project, other } = await folders();
  await using _ = dir;
  const path = `${home}/.claude.json`;
  await Deno.writeTextFile(path, JSON.stringify(claudeJson(project), null, 2));

  const done = await run(["install", "--scope", "local"]);
  assert.equal(done.code, 0, done.text);
  assert.ok(
    done.text.startsWith(
      `Registered "tooldrop" in ${path} (projects["${project}"]) (Claude Code, local scope): `,
    ),
    done.text,
  );
  const written = JSON.parse(await Deno.readTextFile(path));
  const { tooldrop, ...others } = written.projects[project].mcpServers;
  assert.deepEqual(others, claudeJson(project).projects[project]!.mcpServers);
  assert.equal(tooldrop.type, "stdio");
  assert.deepEqual(tooldrop.args.slice(-3).slice(1), ["serve", "--watch"]);
  // Everything else as it was.
  written.projects[project].mcpServers = others;
  assert.deepEqual(written, claudeJson(project));

  const again = await run(["install", "--scope", "local"]);
  assert.equal(again.code, 0, again.text);
  assert.match(
    again.text,
    /is already registered in .*\(projects\[".*"\]\) \(Claude Code, local scope\); nothing to change\n/,
  );

  // Another project: created under projects, the first one's entry untouched.
  const elsewhere = await run([
    "install",
    "--scope",
    "local",
    "--project",
    "../other",
  ]);
  assert.equal(elsewhere.code, 0, elsewhere.text);
  const both = JSON.parse(await Deno.readTextFile(path));
  assert.deepEqual(both.projects[other], {
    mcpServers: { tooldrop: both.projects[project].mcpServers.tooldrop },
  });
  assert.match(
    elsewhere.text,
    new RegExp(
      `\`${RegExp.escape(DENO_WORD)} task --config ${
        RegExp.escape(`${root}/deno.json`)
      } tooldrop doctor --scope local --project \\.\\./other\``,
    ),
  );

  const doctor = await run(["doctor", "--scope", "local"]);
  assert.equal(doctor.code, 0, doctor.text);
  assert.ok(
    doctor.text.startsWith(
      `ok    ${path} (projects["${project}"]) registers "tooldrop" for Claude Code\n`,
    ),
    doctor.text,
  );
  assert.ok(
    doctor.text.includes(
      `ok    it starts in ${project}: the project's folder, where Claude Code starts it\n`,
    ),
    doctor.text,
  );
  assert.match(doctor.text, /"tooldrop" is ready for Claude Code\.\n$/);
});

Deno.test("install --scope local creates ~/.claude.json when missing; doctor says which project has no entry; other clients have no local scope", async () => {
  const { dir, run, root, home, project } = await folders();
  await using _ = dir;
  const path = `${home}/.claude.json`;
  const missing = await run(["doctor", "--scope", "local"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.text,
    `FAIL  ${path} does not exist; \`${DENO_WORD} task --config ${root}/deno.json tooldrop install --scope local\` adds it\n`,
  );
  await Deno.writeTextFile(path, JSON.stringify(claudeJson("/somewhere")));
  const none = await run(["doctor", "--scope", "local"]);
  assert.equal(none.code, 1);
  assert.equal(
    none.text,
    `FAIL  ${path} (projects["${project}"]) has no server named "tooldrop"; \`${DENO_WORD} task --config ${root}/deno.json tooldrop install --scope local\` adds it\n`,
  );
  await Deno.remove(path);
  assert.equal((await run(["install", "--scope", "local"])).code, 0);
  assert.deepEqual(
    Object.keys(JSON.parse(await Deno.readTextFile(path)).projects),
    [project],
  );
  await Deno.writeTextFile(path, `{"projects": {"${project}": []}}`);
  const broken = await run(["install", "--scope", "local"]);
  assert.equal(broken.code, 1);
  assert.equal(
    broken.text,
    `"projects" → "${project}" in ${path} is not an object; fix it, then run this again\n`,
  );
  for (const client of ["vscode", "cursor", "cline", "claude-desktop"]) {
    const refused = await run([
      "install",
      "--client",
      client,
      "--scope",
      "local",
    ]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.text,
      /^.* has no local scope \(Claude Code's\); use --scope project or user\n$/,
    );
  }
  const unknown = await run(["install", "--scope", "team"]);
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.text,
    'Unknown --scope "team"; use project, user or local\n',
  );
});

Deno.test("the local-scope key is the project as Claude Code files it: real path, git root, a worktree's main repository", async () => {
  await using dir = await tempDir({
    "plain/.keep": "",
    "repo/sub/deep/.keep": "",
  });
  const git = (cwd: string, ...args: string[]) =>
    new Deno.Command("git", {
      args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
      cwd,
      stdout: "null",
      stderr: "null",
    }).output().then((out) => assert.equal(out.code, 0, args.join(" ")));
  const repo = `${dir.path}/repo`;
  await git(repo, "init", "-q", ".");
  await git(repo, "commit", "-q", "--allow-empty", "-m", "first");
  await git(repo, "worktree", "add", "-q", `${dir.path}/tree`);
  await Deno.mkdir(`${dir.path}/tree/inner`);
  await Deno.symlink(`${dir.path}/plain`, `${dir.path}/link`);
  // A submodule-like .git file that points at no worktree: its own folder.
  await Deno.mkdir(`${dir.path}/module`);
  await Deno.writeTextFile(`${dir.path}/module/.git`, "gitdir: ../nowhere\n");

  assert.deepEqual(
    [
      "plain",
      "link",
      "repo",
      "repo/sub/deep",
      "tree",
      "tree/inner",
      "module",
    ].map((folder) => claudeProjectKey(`${dir.path}/${folder}`)),
    [
      `${dir.path}/plain`,
      `${dir.path}/plain`,
      repo,
      repo,
      repo,
      repo,
      `${dir.path}/module`,
    ],
  );
});
