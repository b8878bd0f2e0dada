/**
 * install --http and doctor of an HTTP entry, in-process, against config files in temporary
 * project and home folders: the exact file each client gets, install's and doctor's stderr
 * lines, against a real `serve --http` on a free port (running, stopped, at a wrong path) and
 * stub servers that answer 401 or something other than MCP. A header's secret value never
 * reaches stdout or stderr.
 */

import assert from "node:assert/strict";
import { runCli } from "../src/cli/mod.ts";
import { fakeIo } from "./wire.ts";
import { ROOT, START_FLAGS, tempDir, TextTap } from "./spawn.ts";
import { modern, request } from "./requests.ts";
import { start } from "./http_client.ts";
import { VERSION } from "../src/server/protocol.ts";

const SECRET = "s3cr3t-77c1e0a4";
const MAIN = new URL("../main.ts", import.meta.url);

/** Temporary project and home folders, and `run`, which runs a command there in-process. */
async function folders(env: Record<string, string> = {}) {
  const folder = await tempDir({ "project/.keep": "", "home/.keep": "" });
  const project = `${folder.path}/project`;
  const home = `${folder.path}/home`;
  const run = async (args: string[]) => {
    const { io, errors, out } = fakeIo(
      args,
      { HOME: home, INIT_CWD: project, ...env },
      { entry: MAIN, os: "linux" },
    );
    const code = await runCli(io);
    return { code, text: errors.join(""), stdout: out.text };
  };
  return { dir: folder, run, project, home };
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

Deno.test("install --http writes each client's HTTP entry, a ${NAME} header in the client's own syntax", async () => {
  const { dir, run, project, home } = await folders();
  await using _ = dir;
  const url = "http://127.0.0.1:3748/mcp";
  const cases = [
    ["claude-code", "project", `${project}/.mcp.json`, "mcpServers", {
      type: "http",
      url,
      headers: { Authorization: "Bearer ${TOKEN}", "X-Team": "blue" },
    }],
    ["vscode", "project", `${project}/.vscode/mcp.json`, "servers", {
      type: "http",
      url,
      headers: { Authorization: "Bearer ${env:TOKEN}", "X-Team": "blue" },
    }],
    ["cursor", "project", `${project}/.cursor/mcp.json`, "mcpServers", {
      url,
      headers: { Authorization: "Bearer ${env:TOKEN}", "X-Team": "blue" },
    }],
    [
      "cline",
      "user",
      `${home}/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`,
      "mcpServers",
      {
        type: "streamableHttp",
        url,
        headers: { Authorization: "Bearer ${env:TOKEN}", "X-Team": "blue" },
        disabled: false,
      },
    ],
  ] as const;
  for (const [client, scope, path, key, entry] of cases) {
    const args = [
      "install",
      "--client",
      client,
      "--scope",
      scope,
      "--http",
      url,
      "--header",
      // Either syntax is taken, and written in the client's.
      client === "cursor"
        ? "Authorization: Bearer ${env:TOKEN}"
        : "Authorization: Bearer ${TOKEN}",
      "--header",
      "X-Team: blue",
    ];
    const { code, text } = await run(args);
    assert.equal(code, 0, text);
    assert.equal(
      await Deno.readTextFile(path),
      `${JSON.stringify({ [key]: { tooldrop: entry } }, null, 2)}\n`,
    );
    const said = lines(text);
    assert.deepEqual(said.slice(0, 3), [
      `Registered "tooldrop" in ${path} (${
        {
          "claude-code": "Claude Code",
          vscode: "VS Code",
          cursor: "Cursor",
          cline: "Cline",
        }[client]
      }, ${scope} scope): the server at ${url}, over HTTP`,
      `  header Authorization: ${entry.headers.Authorization}`,
      "  header X-Team (a value, not shown)",
    ]);
    // Again: nothing to change, the file as it was.
    const again = await run(args);
    assert.equal(again.code, 0);
    assert.match(
      again.text,
      /is already registered in .*; nothing to change\n$/,
    );
  }
});

Deno.test("install --http keeps comments, updates its own entry printing the header difference, and replaces another only with --force", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const path = `${project}/.mcp.json`;
  const url = "http://127.0.0.1:3748/mcp";
  await Deno.writeTextFile(
    path,
    `{
  // the team's servers
  "mcpServers": {
    "other": { "command": "other-server" }
  }
}
`,
  );
  assert.equal((await run(["install", "--http", url])).code, 0);
  const changed = await run([
    "install",
    "--http",
    url,
    "--header",
    "Authorization: Bearer ${TOKEN}",
  ]);
  assert.equal(changed.code, 0, changed.text);
  assert.deepEqual(lines(changed.text).slice(0, 3), [
    `Updated "tooldrop" in ${path} (Claude Code, project scope): the server at ${url}, over HTTP`,
    "  header Authorization: Bearer ${TOKEN}",
    "  + header Authorization: Bearer ${TOKEN}",
  ]);
  assert.equal(
    await Deno.readTextFile(path),
    `{
  // the team's servers
  "mcpServers": {
    "other": { "command": "other-server" },
    "tooldrop": {
      "type": "http",
      "url": "http://127.0.0.1:3748/mcp",
      "headers": {
        "Authorization": "Bearer \${TOKEN}"
      }
    }
  }
}
`,
  );
  const refused = await run(["install", "--http", url, "--name", "other"]);
  assert.equal(refused.code, 1);
  assert.match(refused.text, /already has a different server named "other"/);
  const forced = await run([
    "install",
    "--http",
    url,
    "--name",
    "other",
    "--force",
  ]);
  assert.equal(forced.code, 0, forced.text);
  assert.deepEqual(
    JSON.parse(
      (await Deno.readTextFile(path)).replace("// the team's servers", ""),
    ).mcpServers.other,
    { type: "http", url },
  );
});

Deno.test("install --http warns of a literal token in a project file and of plain http off this machine, never printing the token", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const { code, text, stdout } = await run([
    "install",
    "--http",
    "http://tools.example.com:3748/mcp",
    "--header",
    `Authorization: Bearer ${SECRET}`,
  ]);
  assert.equal(code, 0, text);
  assert.deepEqual(lines(text).slice(0, 4), [
    "Warning: tools.example.com:3748 is reached over plain http, so its headers (a token too) cross the network readable; use https (a proxy in front of `serve --http`), or a loopback address",
    `Warning: the value of the Authorization header is written into ${project}/.mcp.json, a project file that is usually committed; write a variable instead (--header 'Authorization: Bearer \${TOKEN}' has Claude Code send \${TOKEN} from its own environment)`,
    `Registered "tooldrop" in ${project}/.mcp.json (Claude Code, project scope): the server at http://tools.example.com:3748/mcp, over HTTP`,
    "  header Authorization (a value, not shown)",
  ]);
  assert.ok(!text.includes(SECRET) && !stdout.includes(SECRET));
});

Deno.test("install --http refuses what a client could not use, saying why", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const cases: Array<[string[], string]> = [
    [
      ["--http", "ftp://127.0.0.1/mcp"],
      "--http ftp:… is not http or https; give the server's endpoint, e.g. http://127.0.0.1:3748/mcp",
    ],
    [
      ["--http", "http://127.0.0.1:3748/"],
      "--http http://127.0.0.1:3748/ does not end where the server serves MCP; `serve --http` serves http://127.0.0.1:3748/mcp",
    ],
    [
      ["--http", "127.0.0.1:3748"],
      `--http "127.0.0.1:3748" is not a URL; give the server's endpoint, e.g. http://127.0.0.1:3748/mcp`,
    ],
    [
      ["--http", `https://ada:${SECRET}@example.com/mcp`],
      '--http must not carry a user or password (clients would send it to every redirect and log it); use --header "Authorization: Bearer ${TOKEN}"',
    ],
    [
      ["--header", "X-Team: blue"],
      "--header goes with --http URL: the headers a client sends to a server it reaches over HTTP",
    ],
    [
      ["--http", "http://127.0.0.1:3748/mcp", "--env", "MODE=fast"],
      "--env sets the variables of a server the client starts; a server reached over HTTP runs on its own, so give them to `serve --http` where it runs",
    ],
    [
      ["--http", "http://127.0.0.1:3748/mcp", "--header", `Bearer ${SECRET}`],
      '--header takes "Name: value" (a name of letters, digits and -, then ":")',
    ],
    [
      ["--http", "http://127.0.0.1:3748/mcp", "--client", "claude-desktop"],
      "Claude Desktop's claude_desktop_config.json has no entry for a server reached over HTTP: add http://127.0.0.1:3748/mcp in Claude Desktop under Settings → Connectors, or register the stdio server (install without --http)",
    ],
  ];
  for (const [args, message] of cases) {
    const { code, text } = await run(["install", ...args]);
    assert.equal(code, 2, text);
    assert.equal(text, `${message}\n`);
    assert.ok(!text.includes(SECRET));
  }
  await assert.rejects(Deno.stat(`${project}/.mcp.json`), Deno.errors.NotFound);
});

Deno.test("doctor checks an HTTP entry as a client would: OK against serve --http, FAIL when stopped or at a wrong path", async () => {
  const { dir, run, project } = await folders();
  await using _ = dir;
  const path = `${project}/.mcp.json`;
  {
    await using server = start();
    assert.equal((await run(["install", "--http", server.url])).code, 0);
    const { code, text } = await run(["doctor"]);
    assert.equal(code, 0, text);
    const said = lines(text).map((line) => line.replace(/\d+ ms/, "N ms"));
    assert.deepEqual(said, [
      `ok    ${path} registers "tooldrop" for Claude Code`,
      `ok    it answers server/discover in N ms: tooldrop ${VERSION}, protocols 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05`,
      `ok    it answers initialize in N ms: tooldrop ${VERSION}, protocol 2025-11-25, in a session`,
      "ok    it lists 3 tool(s): echo, steps, chatty",
      '"tooldrop" is ready for Claude Code.',
    ]);
    // Wrong path: the server answers 404 there.
    const wrong = server.url.replace("/mcp", "/v1/mcp");
    assert.equal(
      (await run(["install", "--http", wrong, "--name", "wrong"])).code,
      0,
    );
    const missed = await run(["doctor", "--name", "wrong"]);
    assert.equal(missed.code, 1);
    assert.deepEqual(lines(missed.text).slice(1), [
      "FAIL  it answered server/discover with 404 Not Found at /v1/mcp: no MCP endpoint there (`serve --http` serves /mcp)",
      '"wrong" would not work in Claude Code: see above.',
    ]);
  }
  // The server is stopped: nothing listens at its port.
  const stopped = await run(["doctor"]);
  assert.equal(stopped.code, 1);
  const url = JSON.parse(await Deno.readTextFile(path)).mcpServers.tooldrop.url;
  assert.deepEqual(lines(stopped.text).slice(1), [
    `FAIL  it cannot be reached at ${url}: connection refused; is \`serve --http\` running there?`,
    '"tooldrop" would not work in Claude Code: see above.',
  ]);
});

/** A stub server on a free loopback port answering every request with `respond`. */
function stub(respond: (request: Request) => Response) {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    respond,
  );
  return Object.assign(server, {
    url: `http://127.0.0.1:${server.addr.port}/mcp`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  });
}

Deno.test("doctor names the Authorization header a 401 lacked, the token it refused (never shown), and a reply that is not MCP", async () => {
  const { dir, run } = await folders({ TOKEN: SECRET });
  await using _ = dir;
  const seen: Array<string | null> = [];
  await using locked = stub((request) => {
    seen.push(request.headers.get("authorization"));
    return new Response("", {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="tooldrop"' },
    });
  });
  assert.equal((await run(["install", "--http", locked.url])).code, 0);
  const bare = await run(["doctor"]);
  assert.equal(bare.code, 1);
  assert.equal(
    lines(bare.text)[1],
    `FAIL  it answered server/discover with 401 Unauthorized (WWW-Authenticate: Bearer realm="tooldrop"): the entry sends no Authorization header; \`install --http … --header 'Authorization: Bearer \${TOKEN}'\` adds one`,
  );
  assert.equal(
    (await run([
      "install",
      "--http",
      locked.url,
      "--header",
      "Authorization: Bearer ${TOKEN}",
    ])).code,
    0,
  );
  const refused = await run(["doctor"]);
  assert.equal(refused.code, 1);
  assert.deepEqual(lines(refused.text).slice(1, 3), [
    "ok    it sends Authorization: Bearer ${TOKEN}",
    `FAIL  it answered server/discover with 401 Unauthorized (WWW-Authenticate: Bearer realm="tooldrop"): it refused the Authorization header sent (a wrong or expired token)`,
  ]);
  // The variable was expanded from the environment, as the client does; never printed.
  assert.deepEqual(seen, [null, `Bearer ${SECRET}`]);
  assert.ok(!refused.text.includes(SECRET));

  await using page = stub(() =>
    new Response("<html>hello</html>", {
      headers: { "content-type": "text/html" },
    })
  );
  assert.equal(
    (await run(["install", "--http", page.url, "--name", "page"])).code,
    0,
  );
  const html = await run(["doctor", "--name", "page"]);
  assert.equal(html.code, 1);
  assert.equal(
    lines(html.text)[1],
    'FAIL  its answer to server/discover is not MCP (text/html: "<html>hello</html>")',
  );
});

Deno.test("a worker stuck in a loop shows at /healthz (counts only) and doctor of the HTTP entry warns of it", async () => {
  const { dir, run } = await folders();
  await using _ = dir;
  await using tools = await tempDir({
    "spin.ts": `import { defineTool } from "tooldrop";
export default defineTool({
  description: "Spins forever.",
  timeoutMs: 200,
  run: () => {
    while (true) {}
  },
});
`,
  });
  // A process of its own: the thread left spinning ends with it.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...START_FLAGS.map((flag) =>
        flag.startsWith("--allow-read=") ? `${flag},${tools.path}` : flag
      ),
      "--allow-net=127.0.0.1",
      `${ROOT}/main.ts`,
      "serve",
      "--http",
      "127.0.0.1:0",
      "--tools",
      tools.path,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new TextTap(child.stderr);
  try {
    await stderr.waitFor(/at http:\/\/\S+\/mcp/);
    const url = /at (http:\/\/\S+\/mcp)/.exec(stderr.text)![1]!;
    const health = async () =>
      await (await fetch(new URL("/healthz", url))).text();
    assert.equal(await health(), "ok");
    const call = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "spin",
      },
      body: JSON.stringify(modern(request(1, "tools/call", { name: "spin" }))),
    });
    assert.match(await call.text(), /timed out after 200 ms/);
    await stderr.waitFor(/did not stop within/);
    const said =
      "1 tool worker(s) were terminated while stuck in a loop and may keep a CPU core busy each until the server restarts (its log names the tools)";
    assert.equal(await health(), `ok; ${said}`);
    assert.equal((await run(["install", "--http", url])).code, 0);
    const doctor = await run(["doctor"]);
    assert.equal(doctor.code, 0, doctor.text);
    assert.ok(
      lines(doctor.text).includes(`warn  its /healthz says: ${said}`),
      doctor.text,
    );
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
