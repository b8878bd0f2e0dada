/**
 * Prompts and resources served from their folders, as tools are (issue 16, step 3): listed from
 * each folder's `.listing.json` without evaluating a module in the server's thread, their gets,
 * reads and completions run in the workers of their permission groups, shared with tools of the
 * same permissions, with the same isolation: an undeclared permission is refused and named, and
 * `Deno.exit` ends only its worker.
 */

import assert from "node:assert/strict";
import { initialize, initialized, type Message } from "./requests.ts";
import { ROOT, ServerProcess, START_FLAGS, tempDir } from "./spawn.ts";
import { writeListing } from "../src/loading/listing.ts";
import { Logger } from "../src/util/log.ts";

const FIXTURES = `${ROOT}/tests/fixtures/kinds`;
const QUIET = new Logger({ level: "error", write: () => {} });

const request = (
  id: number,
  method: string,
  params?: Record<string, unknown>,
): Message => ({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });

/** The server on the project `dir` (tools/, prompts/, resources/), as `deno task start` runs it. */
function serverIn(dir: string, extra: string[] = []): ServerProcess {
  const flags = START_FLAGS.map((flag) =>
    flag.startsWith("--allow-read=") ? `${flag},${dir}` : flag
  );
  return new ServerProcess([
    ...flags,
    `${ROOT}/main.ts`,
    ...extra,
    "--tools",
    `${dir}/tools`,
    "--log-level",
    "debug",
  ]);
}

/** The fixture folders' files, and `extra`, as a project's files. */
async function project(extra: Record<string, string>) {
  const files: Record<string, string> = {};
  for (const kind of ["tools", "prompts", "resources"]) {
    for await (const entry of Deno.readDir(`${FIXTURES}/${kind}`)) {
      if (!entry.name.endsWith(".ts")) continue;
      files[`${kind}/${entry.name}`] = await Deno.readTextFile(
        `${FIXTURES}/${kind}/${entry.name}`,
      );
    }
  }
  return await tempDir({ ...files, ...extra });
}

const QUIT = `import { z } from "zod";
import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Ends its worker when asked to.",
  args: z.object({ how: z.string() }),
  get: ({ how }) => {
    if (how === "exit") Deno.exit(3);
    return "still here";
  },
});
`;

const SECRET = `import { defineResource } from "tooldrop";
export default defineResource({
  uri: "secret://home",
  description: "Reads a variable it does not declare.",
  read: () => Deno.env.get("TOOLDROP_UNDECLARED") ?? "unset",
});
`;

const APART = `import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Declares a permission: a worker of its own.",
  permissions: { env: ["TOOLDROP_LOG"] },
  get: () => "apart",
});
`;

Deno.test("prompts and resources from their folders answer at the wire through workers, a prompt sharing a tool's worker", async () => {
  await using dir = await project({
    "prompts/quit.ts": QUIT,
    "prompts/apart.ts": APART,
    "resources/secret.ts": SECRET,
  });
  const server = serverIn(dir.path);
  await server.send(initialize(1), initialized());
  const init = await server.reply(1) as {
    result: { capabilities: Record<string, unknown> };
  };
  // Advertised from the folders' existence, before anything loaded.
  assert.deepEqual(init.result.capabilities, {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { subscribe: true, listChanged: true },
    completions: {},
    logging: {},
  });
  await server.send(
    request(2, "prompts/list"),
    request(3, "prompts/get", {
      name: "greet",
      arguments: { name: "Ada", tone: "formal" },
    }),
    request(4, "resources/read", { uri: "notes://todo" }),
    request(5, "completion/complete", {
      ref: { type: "ref/prompt", name: "greet" },
      argument: { name: "tone", value: "f" },
    }),
    request(6, "completion/complete", {
      ref: { type: "ref/resource", uri: "notes://{name}" },
      argument: { name: "name", value: "to" },
    }),
    request(7, "resources/read", { uri: "notes://nope" }),
    request(8, "prompts/get", { name: "greet", arguments: {} }),
    request(9, "tools/call", { name: "echo", arguments: { text: "hi" } }),
    request(10, "resources/templates/list"),
    request(11, "resources/list"),
  );
  assert.deepEqual((await server.reply(2)).result, {
    prompts: [
      {
        name: "apart",
        description: "Declares a permission: a worker of its own.",
      },
      {
        name: "greet",
        title: "Greeting",
        description: "Writes a greeting for someone.",
        arguments: [
          { name: "name", description: "Who to greet", required: true },
          { name: "tone", description: "warm or formal", required: false },
        ],
      },
      {
        name: "quit",
        description: "Ends its worker when asked to.",
        arguments: [{ name: "how", required: true }],
      },
    ],
  });
  assert.deepEqual((await server.reply(3)).result, {
    messages: [{
      role: "user",
      content: { type: "text", text: "Write a formal greeting for Ada." },
    }],
  });
  assert.deepEqual((await server.reply(4)).result, {
    contents: [{ uri: "notes://todo", mimeType: "text/plain", text: "milk" }],
  });
  assert.deepEqual((await server.reply(5)).result, {
    completion: { values: ["formal"], total: 1, hasMore: false },
  });
  assert.deepEqual((await server.reply(6)).result, {
    completion: { values: ["todo", "tomorrow"], total: 2, hasMore: false },
  });
  // Not found as the worker says it (read returned undefined), in the legacy era's code.
  assert.deepEqual((await server.reply(7)).error, {
    code: -32002,
    message: "Resource not found",
    data: { uri: "notes://nope" },
  });
  assert.deepEqual((await server.reply(8)).error, {
    code: -32602,
    message:
      'Invalid params: arguments of prompt "greet": name: required (expected string)',
  });
  assert.deepEqual((await server.reply(9)).result, {
    content: [{ type: "text", text: "hi" }],
  });
  assert.deepEqual((await server.reply(10)).result, {
    resourceTemplates: [{
      uriTemplate: "notes://{name}",
      name: "note",
      description: "A note by name.",
      mimeType: "text/plain",
    }],
  });
  assert.deepEqual((await server.reply(11)).result, {
    resources: [{
      uri: "secret://home",
      name: "secret",
      description: "Reads a variable it does not declare.",
    }],
  });

  // Isolation: an undeclared variable is refused in the worker, named, as -32603.
  await server.send(request(12, "resources/read", { uri: "secret://home" }));
  const secret = (await server.reply(12)).error as {
    code: number;
    message: string;
  };
  assert.equal(secret.code, -32603);
  assert.match(
    secret.message,
    /^Internal error: Resource "secret" needs env access to "TOOLDROP_UNDECLARED", which it does not declare; add permissions: \{ env: \["TOOLDROP_UNDECLARED"\] \} to its definition/,
  );
  // Deno.exit in a get ends its worker and that get; the next get starts a new worker.
  await server.send(
    request(13, "prompts/get", { name: "quit", arguments: { how: "exit" } }),
  );
  const exited = (await server.reply(13)).error as {
    code: number;
    message: string;
  };
  assert.equal(exited.code, -32603);
  assert.match(exited.message, /ended its worker with Deno\.exit\(3\)/);
  await server.send(
    request(14, "prompts/get", { name: "quit", arguments: { how: "stay" } }),
    request(15, "prompts/get", { name: "apart" }),
  );
  assert.deepEqual((await server.reply(14)).result, {
    messages: [{ role: "user", content: { type: "text", text: "still here" } }],
  });
  assert.deepEqual((await server.reply(15)).result, {
    messages: [{ role: "user", content: { type: "text", text: "apart" } }],
  });
  await server.closeStdin();
  const { code } = await server.exit();
  assert.equal(code, 0, server.stderr.text);
  // One worker for the tool, prompts and resources without permissions; another for the one
  // that declares some.
  const started = server.stderr.lines.filter((line) =>
    line.includes("Started a worker for")
  );
  const shared = started.filter((line) => line.includes("tools/echo.ts"));
  assert.ok(shared.length >= 2, started.join("\n")); // again after the exit
  for (const line of shared) {
    for (const file of ["prompts/greet.ts", "resources/note.ts"]) {
      assert.ok(line.includes(file), line);
    }
    assert.ok(!line.includes("prompts/apart.ts"), line);
  }
  assert.ok(
    started.some((line) =>
      line.includes("prompts/apart.ts") && !line.includes("tools/echo.ts")
    ),
    started.join("\n"),
  );
});

const MARKED = `import { definePrompt } from "tooldrop";
console.error(
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined"
    ? "MARKER evaluated in the main thread"
    : "MARKER evaluated in a worker",
);
export default definePrompt({ description: "Marks where it is evaluated.", get: () => "marked" });
`;

Deno.test("a warm cache lists prompts and resources without evaluating their modules in the server's thread; a stale entry is probed again", async () => {
  await using dir = await project({ "prompts/marked.ts": MARKED });
  for (const kind of ["prompt", "resource"] as const) {
    assert.ok(
      await writeListing(new URL(`file://${dir.path}/${kind}s/`), {
        log: QUIET,
        kind,
      }),
    );
  }
  // A save after the cache was written: its entry is stale.
  await Deno.writeTextFile(
    `${dir.path}/prompts/greet.ts`,
    (await Deno.readTextFile(`${dir.path}/prompts/greet.ts`)).replace(
      "Writes a greeting for someone.",
      "Writes a greeting, saved since.",
    ),
  );
  const server = serverIn(dir.path);
  await server.send(
    initialize(1),
    initialized(),
    request(2, "prompts/list"),
    request(3, "resources/templates/list"),
  );
  const list = (await server.reply(2)).result as {
    prompts: { name: string; description: string }[];
  };
  assert.deepEqual(
    list.prompts.map((p) => [p.name, p.description]),
    [
      ["greet", "Writes a greeting, saved since."],
      ["marked", "Marks where it is evaluated."],
    ],
  );
  await server.reply(3);
  // Only the stale prompt was probed (in a worker); the resources came from their cache.
  assert.match(
    server.stderr.text,
    /Listing 1 prompt file\(s\) not in \.listing\.json/,
  );
  assert.doesNotMatch(server.stderr.text, /Listing \d+ resource file\(s\)/);
  assert.doesNotMatch(server.stderr.text, /MARKER/);
  await server.send(request(4, "prompts/get", { name: "marked" }));
  assert.deepEqual((await server.reply(4)).result, {
    messages: [{ role: "user", content: { type: "text", text: "marked" } }],
  });
  await server.closeStdin();
  const { code } = await server.exit();
  assert.equal(code, 0, server.stderr.text);
  // Evaluated, to run its get: in a worker, never in the server's thread.
  assert.match(server.stderr.text, /MARKER evaluated in a worker/);
  assert.doesNotMatch(
    server.stderr.text,
    /MARKER evaluated in the main thread/,
  );
});

Deno.test("without prompts/ and resources/ beside the tools folder the handshake advertises tools only", async () => {
  await using dir = await tempDir({
    "tools/echo.ts": await Deno.readTextFile(`${FIXTURES}/tools/echo.ts`),
  });
  const server = serverIn(dir.path);
  await server.send(initialize(1), initialized(), request(2, "prompts/list"));
  const init = await server.reply(1) as {
    result: { capabilities: Record<string, unknown> };
  };
  assert.deepEqual(init.result.capabilities, {
    tools: { listChanged: true },
    logging: {},
  });
  assert.deepEqual((await server.reply(2)).error, {
    code: -32601,
    message: 'Method not found: "prompts/list"',
  });
  await server.closeStdin();
  const { code } = await server.exit();
  assert.equal(code, 0, server.stderr.text);
});

Deno.test("serve --watch, the command install registers, serves prompts and resources too, through workers", async () => {
  await using dir = await project({});
  const server = serverIn(dir.path, ["serve", "--watch"]);
  await server.send(initialize(1), initialized());
  const init = await server.reply(1) as {
    result: { capabilities: Record<string, unknown> };
  };
  assert.deepEqual(Object.keys(init.result.capabilities), [
    "tools",
    "prompts",
    "resources",
    "completions",
    "logging",
  ]);
  await server.send(
    request(2, "prompts/get", {
      name: "greet",
      arguments: { name: "Ada", tone: "formal" },
    }),
    request(3, "resources/read", { uri: "notes://todo" }),
  );
  const greeting = await server.reply(2) as {
    result: { messages: Array<{ content: { text: string } }> };
  };
  assert.match(greeting.result.messages[0]!.content.text, /Ada/);
  const note = await server.reply(3) as {
    result: { contents: Array<{ uri: string }> };
  };
  assert.equal(note.result.contents[0]!.uri, "notes://todo");
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0, server.stderr.text);
  assert.match(
    server.stderr.text,
    /serving 1 tool\(s\); 1 prompt\(s\); 1 resource\(s\) on stdio, watching/,
  );
});

Deno.test("prompt and resource requests written just before the input ends are all answered", async () => {
  // Their handlers load at the first such request: the input's end must not overtake them.
  await using dir = await project({});
  const server = serverIn(dir.path);
  await server.send(
    initialize(1),
    initialized(),
    request(2, "prompts/list"),
    request(3, "tools/list"),
    request(4, "resources/list"),
    request(5, "resources/templates/list"),
  );
  await server.closeStdin();
  for (const id of [1, 2, 3, 4, 5]) {
    assert.ok("result" in await server.reply(id), `request ${id} answered`);
  }
  assert.equal((await server.exit()).code, 0);
});
