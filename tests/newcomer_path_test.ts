/**
 * The newcomer's path as one test (issue 15, item 11), on a copy of the project as a clone has it
 * (the files git tracks, as they are now): `new` for the minimal tool and every template, the
 * project's own `deno task test` and `deno task check` green, `install --project` into another
 * folder, `doctor` there, and the registered command started from that folder as the client
 * starts it, answering calls of the new tools (get_cwd's folder is that one). The framework's
 * own tests are left out of the copy: the rest of the suite runs them, and running them here
 * too would double its time. Each step's time is printed, for the notes.
 */

import assert from "node:assert/strict";
import { initialize, initialized, jsonLines } from "./requests.ts";
import { ROOT, tempDir } from "./spawn.ts";

/**
 * The templates `new --template` offers, each with a call made from the other project (whose
 * folder holds README.md, a git repository and data.db) and whether its answer is an error: the
 * http template may fetch only api.github.com, which a machine offline cannot reach, so its call
 * asks for another host and must be refused cleanly.
 */
const TEMPLATES: ReadonlyArray<
  { name: string; args: Record<string, unknown>; error: RegExp | undefined }
> = [
  { name: "files", args: { path: "README.md" }, error: undefined },
  { name: "command", args: { subcommand: "status" }, error: undefined },
  {
    name: "sqlite",
    args: { database: "data.db", sql: "SELECT 40 + 2 AS answer" },
    error: undefined,
  },
  {
    name: "http",
    args: { url: "https://example.com/" },
    error: /example\.com/,
  },
];

/** The files git tracks, less the framework's tests (see the module documentation). */
async function trackedFiles(): Promise<string[]> {
  const { stdout, success } = await new Deno.Command("git", {
    args: ["ls-files", "-z"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert.ok(success, "git ls-files failed");
  return new TextDecoder().decode(stdout).split("\0").filter((file) =>
    file !== "" && !file.startsWith("tests/") && !file.startsWith("bench/")
  );
}

/** Runs deno with `args` in `cwd`; its exit code and all its output. */
async function deno(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; text: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const out = decoder.decode(stdout);
  return { code, stdout: out, text: out + decoder.decode(stderr) };
}

/** Prints how long `step` took. */
async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await run();
  } finally {
    // deno-lint-ignore no-console -- the figures go into the notes
    console.log(`${step}: ${Math.round(performance.now() - start)} ms`);
  }
}

Deno.test("clone → new tools → test and check green → install into another project → doctor → the client's command answers there", async () => {
  await using project = await tempDir({});
  await using other = await tempDir({ "README.md": "Another project.\n" });
  for (const file of await trackedFiles()) {
    const to = `${project.path}/${file}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(`${ROOT}/${file}`, to);
  }
  // tests/deno.lock pins what the project's test task resolves; a clone has it.
  await Deno.mkdir(`${project.path}/tests`);
  await Deno.copyFile(
    `${ROOT}/tests/deno.lock`,
    `${project.path}/tests/deno.lock`,
  );
  const task = (...args: string[]) => deno(project.path, ["task", ...args]);

  const names = ["hello", ...TEMPLATES.map((t) => `my_${t.name}`)];
  await timed("new (each)", async () => {
    const made = await task("tooldrop", "new", "hello");
    assert.equal(made.code, 0, made.text);
    for (const template of TEMPLATES) {
      const { code, text } = await task(
        "tooldrop",
        "new",
        `my_${template.name}`,
        "--template",
        template.name,
      );
      assert.equal(code, 0, text);
    }
  });
  const tested = await timed("deno task test", () => task("test"));
  assert.equal(tested.code, 0, tested.text);
  assert.match(tested.text, /\nok \| \d+ passed \| 0 failed/);
  for (const name of names) {
    assert.match(tested.text, new RegExp(`from \\./tools/${name}_test\\.ts`));
  }
  const checked = await timed("deno task check", () => task("check"));
  assert.equal(checked.code, 0, checked.text);

  const installed = await timed(
    "install --project",
    () => task("tooldrop", "install", "--project", other.path),
  );
  assert.equal(installed.code, 0, installed.text);
  const config = JSON.parse(
    await Deno.readTextFile(`${other.path}/.mcp.json`),
  ) as {
    mcpServers: Record<
      string,
      { command: string; args: string[]; env?: Record<string, string> }
    >;
  };
  const entry = config.mcpServers.tooldrop;
  assert.ok(entry, await Deno.readTextFile(`${other.path}/.mcp.json`));
  const doctor = await timed(
    "doctor",
    () => task("tooldrop", "doctor", "--project", other.path),
  );
  assert.equal(doctor.code, 0, doctor.text);
  assert.match(doctor.text, /ready/);

  // The client's start: the registered command, in the other project's folder.
  const server = new Deno.Command(entry.command, {
    args: entry.args,
    cwd: other.path,
    env: { NO_COLOR: "1", ...entry.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  // What the template tools reach in the other project.
  const git = await new Deno.Command("git", {
    args: ["init", "-q"],
    cwd: other.path,
  }).output();
  assert.ok(git.success, "git init failed");
  const { DatabaseSync } = await import("node:sqlite");
  new DatabaseSync(`${other.path}/data.db`).close();
  const calls = [
    { name: "hello", args: { name: "path" }, error: undefined },
    ...TEMPLATES.map((t) => ({ ...t, name: `my_${t.name}` })),
  ].map((call, i) => ({
    jsonrpc: "2.0",
    id: i + 2,
    method: "tools/call",
    params: { name: call.name, arguments: call.args },
    error: call.error,
  }));
  const writer = server.stdin.getWriter();
  const lines = await timed(
    "the client's command: start, handshake, list and calls",
    async () => {
      await writer.write(
        new TextEncoder().encode(jsonLines(
          initialize(0),
          initialized(),
          { jsonrpc: "2.0", id: 1, method: "tools/list" },
          {
            jsonrpc: "2.0",
            id: "cwd",
            method: "tools/call",
            params: { name: "get_cwd", arguments: {} },
          },
          ...calls.map(({ error: _, ...request }) => request),
        )),
      );
      // stdin stays open until every reply is in: at EOF a server gives running calls only a
      // short grace, as a client that closes it is leaving.
      const wanted = calls.length + 3; // initialize, tools/list, get_cwd, the calls
      let text = "";
      const decoder = new TextDecoder();
      for await (const chunk of server.stdout) {
        text += decoder.decode(chunk, { stream: true });
        if (text.split("\n").length > wanted) break;
      }
      await writer.close();
      await server.status;
      return text.trim().split("\n").map((line) => JSON.parse(line));
    },
  );
  const byId = new Map(lines.map((message) => [message.id, message]));
  const listed = byId.get(1)?.result?.tools?.map((t: { name: string }) =>
    t.name
  );
  for (const name of ["get_cwd", ...names]) {
    assert.ok(listed?.includes(name), `${name} is not listed: ${listed}`);
  }
  const cwd = byId.get("cwd")?.result;
  assert.equal(cwd?.isError, undefined, JSON.stringify(cwd));
  assert.equal(
    await Deno.realPath(cwd.content[0].text),
    await Deno.realPath(other.path),
  );
  for (const request of calls) {
    const reply = byId.get(request.id);
    assert.ok(reply?.result, JSON.stringify(reply));
    const said = `${request.params.name}: ${JSON.stringify(reply.result)}`;
    if (request.error) {
      assert.equal(reply.result.isError, true, said);
      assert.match(reply.result.content[0].text, request.error, said);
    } else assert.notEqual(reply.result.isError, true, said);
  }
});
