/**
 * `tooldrop prompt` and `tooldrop read` at the terminal (exact output and exit codes), and
 * `getPrompt` and `readResource` for a prompt's or resource's own tests: a file runs as served,
 * in a worker with only what it declares, and answers as `prompt --json` / `read --json` do; a
 * definition runs in the test's thread.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import {
  definePrompt,
  defineResource,
  getPrompt,
  readResource,
} from "tooldrop";
import { runCli } from "../src/cli/mod.ts";
import { folderLabel } from "../src/loading/tool_files.ts";
import { fakeIo } from "./wire.ts";
import { DENO_WORD, projectCopy, ROOT, tempDir } from "./spawn.ts";

/** The fixture project: tools/, prompts/greet.ts, resources/note.ts (notes://{name}). */
const KINDS = new URL("./fixtures/kinds/tools/", import.meta.url);

/** Runs the command line on the project whose tools folder is `toolsDir`. */
async function cli(toolsDir: URL, ...args: string[]) {
  const { io, out, errors } = fakeIo(args, {}, { toolsDir });
  const code = await runCli(io);
  return { code, out: out.text, err: errors.join("") };
}

/** What a client gets for `args` (`prompt … --json` or `read … --json`): the served result. */
async function servedJson(toolsDir: URL, ...args: string[]) {
  const { code, out, err } = await cli(toolsDir, ...args, "--json");
  assert.equal(code, 0, err);
  return JSON.parse(out);
}

/** A prompt file the server refuses to serve, naming it. */
const BROKEN = {
  "prompts/broken.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({ get: () => "no description" });
`,
};

const FILES = {
  "tools/echo.ts": await Deno.readTextFile(new URL("echo.ts", KINDS)),
  // Every kind of content, in two roles, with a description.
  "prompts/rich.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Shows every kind of content.",
  get: () => ({
    description: "A conversation",
    messages: [
      { role: "user", content: "First line\\n\\nThird line" },
      { role: "assistant", content: "Noted." },
      { role: "user", content: { type: "image", data: "iVBORw==", mimeType: "image/png" } },
      { role: "user", content: { type: "resource", resource: { uri: "notes://todo", mimeType: "text/plain", text: "milk" } } },
      { role: "assistant", content: { type: "resource_link", uri: "docs://readme", name: "readme" } },
    ],
  }),
});
`,
  "prompts/boom.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({ description: "Fails.", get: () => { throw new Error("it broke"); } });
`,
  "prompts/secret.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Reads a variable it does not declare.",
  get: () => Deno.env.get("TOOLDROP_UNDECLARED") ?? "unset",
});
`,
  "prompts/where.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Names the client's first root.",
  get: async (_args, ctx) => \`root: \${(await ctx.roots())?.[0]?.uri ?? "none"}\`,
});
`,
  "prompts/_helper.ts": `export const HELPER = 1;\n`,
  "resources/logo.ts": `import { defineResource } from "tooldrop";
export default defineResource({
  uri: "logo://png",
  description: "Four bytes of a PNG.",
  mimeType: "image/png",
  read: () => new Uint8Array([137, 80, 78, 71]),
});
`,
  "resources/pair.ts": `import { defineResource } from "tooldrop";
export default defineResource({
  uri: "pair://both",
  description: "Two items.",
  read: () => [{ uri: "pair://a", text: "one" }, { uri: "pair://b", text: "two\\n" }],
});
`,
};

Deno.test("prompt prints the messages of a prompt, role then text; --json the exact result", async () => {
  const greet = await cli(
    KINDS,
    "prompt",
    "greet",
    '{"name": "Ada", "tone": "formal"}',
  );
  assert.deepEqual(greet, {
    code: 0,
    out: "user:\n  Write a formal greeting for Ada.\n",
    err: "",
  });
  assert.deepEqual(
    await servedJson(KINDS, "prompt", "greet", '{"name": "Ada"}'),
    {
      messages: [{
        role: "user",
        content: { type: "text", text: "Say hi to Ada." },
      }],
    },
  );

  await using dir = await tempDir(FILES);
  const tools = new URL(`file://${dir.path}/tools/`);
  const rich = await cli(tools, "prompt", "rich");
  assert.equal(rich.code, 0, rich.err);
  assert.equal(
    rich.out,
    `description: A conversation

user:
  First line

  Third line

assistant:
  Noted.

user:
  [image: image/png, 4 bytes]

user:
  [resource: notes://todo, text/plain, 4 characters]

assistant:
  [link: docs://readme]
`,
  );
});

Deno.test("prompt says what is wrong: arguments as the server words them, an unknown prompt with the ones there are, JSON with a caret", async () => {
  const refusals: [string[], number, string][] = [
    [
      ["greet", "{}"],
      1,
      'Invalid params: arguments of prompt "greet": name: required (expected string)',
    ],
    [
      ["greet", '{"name": 1}'],
      1,
      'Invalid params: "arguments" must be an object of strings',
    ],
    [["gret"], 2, 'There is no prompt "gret"; the prompts are: greet'],
    // A name is echoed quoted and escaped, never as terminal control codes.
    [
      ["\x1b[31mred"],
      2,
      'There is no prompt "\\u001b[31mred"; the prompts are: greet',
    ],
    [
      ["greet", "{name: 1}"],
      2,
      `Cannot parse the arguments as JSON at line 1, column 2: expected property name or '}'
  {name: 1}
   ^
Pass one JSON object, in single quotes for the shell: '{"text": "hello"}'`,
    ],
    [
      ["greet", '"Ada"'],
      2,
      `The arguments must be one JSON object, like '{"text": "hello"}'; got a string: "Ada"`,
    ],
    [
      [],
      2,
      `Usage: ${DENO_WORD} task tooldrop prompt <name> ['{"argument": "value"}']`,
    ],
  ];
  for (const [args, code, message] of refusals) {
    const { io, out, errors } = fakeIo(["prompt", ...args], {}, {
      toolsDir: KINDS,
      entry: new URL("../main.ts", import.meta.url),
    });
    assert.equal(await runCli(io), code, args.join(" "));
    assert.equal(errors.join(""), `${message}\n`);
    assert.equal(out.text, "");
  }
  // No prompts folder beside the tools: where it looked.
  const none = await cli(
    new URL("./fixtures/tools/", import.meta.url),
    "prompt",
    "greet",
  );
  assert.deepEqual(none, {
    code: 2,
    out: "",
    err: `There is no prompt "greet"; there are no prompts in ${
      folderLabel(new URL("./fixtures/prompts/", import.meta.url))
    }\n`,
  });
});

Deno.test("prompt runs the prompt in its worker as served: a throw is -32603's text, an undeclared permission is named, a broken file stops it", async () => {
  await using dir = await tempDir(FILES);
  const tools = new URL(`file://${dir.path}/tools/`);
  // (Its stack goes to this process's stderr, from the worker, as a tool's does.)
  assert.deepEqual(await cli(tools, "prompt", "boom"), {
    code: 1,
    out: "",
    err: 'Internal error: prompt "boom" failed: Error: it broke\n',
  });
  // A broken file in the folder stops it, as it stops serving.
  await using broken = await tempDir({ ...FILES, ...BROKEN });
  const refused = await cli(
    new URL(`file://${broken.path}/tools/`),
    "prompt",
    "rich",
  );
  assert.equal(refused.code, 1);
  assert.equal(refused.out, "");
  assert.match(
    refused.err,
    /error {3}Cannot load prompt ".*\/prompts\/broken\.ts": "description" is missing; .*\n.* error {3}Cannot get prompt "rich": fix the prompt or resource file\(s\) above, or move them out of their folder\n$/,
  );
  assert.deepEqual(await cli(tools, "prompt", "secret"), {
    code: 1,
    out: "",
    err:
      'Internal error: Prompt "secret" needs env access to "TOOLDROP_UNDECLARED", which it does not declare; add permissions: { env: ["TOOLDROP_UNDECLARED"] } to its definition, then run `deno task tooldrop install` again in tooldrop\'s folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)\n',
  });
});

Deno.test("read prints text as it is, summarizes bytes, heads several items; not found is the server's message, exit 1 or 2", async () => {
  assert.deepEqual(await cli(KINDS, "read", "notes://todo"), {
    code: 0,
    out: "milk\n",
    err: "",
  });
  assert.deepEqual(await servedJson(KINDS, "read", "notes://todo"), {
    contents: [{ uri: "notes://todo", mimeType: "text/plain", text: "milk" }],
  });
  // The template matches; its read finds nothing: the server's message, exit 1.
  assert.deepEqual(await cli(KINDS, "read", "notes://nope"), {
    code: 1,
    out: "",
    err: 'Resource not found: "notes://nope"\n',
  });
  // Nothing matches (a parameter never climbs out: %2E%2E is ".."): what there is, exit 2.
  for (const uri of ["nope://x", "notes://%2E%2E"]) {
    assert.deepEqual(await cli(KINDS, "read", uri), {
      code: 2,
      out: "",
      err: `Resource not found: ${
        JSON.stringify(uri)
      }\nThe resources are: notes://{name}\n`,
    });
  }
  const usage = await cli(KINDS, "read");
  assert.equal(usage.code, 2);
  assert.match(usage.err, /^Usage: .* read <uri>\n$/);

  await using dir = await tempDir(FILES);
  const tools = new URL(`file://${dir.path}/tools/`);
  assert.deepEqual(await cli(tools, "read", "logo://png"), {
    code: 0,
    out: "4 bytes of image/png (--json has them, base64-encoded)\n",
    err: "",
  });
  assert.deepEqual(await servedJson(tools, "read", "logo://png"), {
    contents: [{ uri: "logo://png", mimeType: "image/png", blob: "iVBORw==" }],
  });
  assert.deepEqual(await cli(tools, "read", "pair://both"), {
    code: 0,
    out: "==> pair://a <==\none\n\n==> pair://b <==\ntwo\n",
    err: "",
  });
});

Deno.test("getPrompt and readResource on a file answer as served, in a worker with only what it declares", async () => {
  await using dir = await tempDir(FILES);
  const tools = new URL(`file://${dir.path}/tools/`);
  const file = (path: string) => `file://${dir.path}/${path}`;
  assert.deepEqual(
    await getPrompt(file("prompts/rich.ts"), {}),
    await servedJson(tools, "prompt", "rich"),
  );
  assert.deepEqual(
    await readResource(new URL(file("resources/logo.ts")), "logo://png"),
    await servedJson(tools, "read", "logo://png"),
  );
  // This process holds every permission; the prompt's worker holds what it declares.
  await assert.rejects(getPrompt(file("prompts/secret.ts"), {}), (error) => {
    const { code, message } = error as { code: number; message: string };
    assert.equal(code, -32603);
    assert.match(
      message,
      /^Internal error: Prompt "secret" needs env access to "TOOLDROP_UNDECLARED", which it does not declare/,
    );
    return true;
  });
  await assert.rejects(readResource(file("resources/logo.ts"), "logo://svg"), {
    code: -32002,
    message: 'Resource not found: "logo://svg"',
    data: { uri: "logo://svg" },
  });
  // The client a test gives answers ctx.roots().
  assert.deepEqual(
    await getPrompt(file("prompts/where.ts"), {}, {
      client: { roots: [{ uri: "file:///work" }] },
    }),
    {
      messages: [{
        role: "user",
        content: { type: "text", text: "root: file:///work" },
      }],
    },
  );

  // Files the server would not serve, and what is not a file URL, say what to pass.
  const label = `${folderLabel(new URL(file("prompts/")))}`;
  await assert.rejects(getPrompt(file("prompts/_helper.ts"), {}), {
    message:
      `Cannot get prompt "${label}_helper.ts" as served: the server skips it (helpers start with "_", tests end in "_test"); pass the prompt's own file`,
  });
  await assert.rejects(getPrompt(file("prompts/gone.ts"), {}), {
    message:
      `Cannot get prompt "${label}gone.ts" as served: there is no such file`,
  });
  await using broken = await tempDir(BROKEN);
  await assert.rejects(
    getPrompt(`file://${broken.path}/prompts/broken.ts`, {}),
    {
      message: `Cannot load prompt "${
        folderLabel(new URL(`file://${broken.path}/prompts/`))
      }broken.ts": "description" is missing; say what the prompt is for, for the user to read`,
    },
  );
  await assert.rejects(readResource("./note.ts", "notes://todo"), {
    name: "TypeError",
    message:
      'Cannot test "./note.ts" as a resource file: pass its file: URL, like import.meta.resolve("./note.ts")',
  });
});

Deno.test("getPrompt and readResource on a definition run in this thread, with this process's permissions", async () => {
  const secret = definePrompt({
    description: "Says whether it may read every variable.",
    args: z.object({ name: z.string() }),
    get: ({ name }) =>
      `${name}: ${Deno.permissions.querySync({ name: "env" }).state}`,
  });
  assert.deepEqual(await getPrompt(secret, { name: "env" }), {
    messages: [{
      role: "user",
      content: { type: "text", text: "env: granted" },
    }],
  });
  // No file exports it: it is named "unnamed" in messages.
  // @ts-expect-error: "name" is left out on purpose
  await assert.rejects(getPrompt(secret, {}), {
    code: -32602,
    message:
      'Invalid params: arguments of prompt "unnamed": name: required (expected string)',
  });
  const bytes = defineResource({
    uriTemplate: "bytes://{n}",
    description: "n zero bytes.",
    read: ({ n }) => new Uint8Array(Number(n)),
  });
  assert.deepEqual(await readResource(bytes, "bytes://3"), {
    contents: [{
      uri: "bytes://3",
      mimeType: "application/octet-stream",
      blob: "AAAA",
    }],
  });
});

Deno.test("getPrompt and readResource name a definition after the file beside the test that exports it", async () => {
  await using copy = await projectCopy({
    "tests/deno.lock": await Deno.readTextFile(`${ROOT}/tests/deno.lock`),
    "prompts/hello.ts": `import { z } from "zod";
import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Says hello.",
  args: z.object({ name: z.string() }),
  get: ({ name }) => \`Hello, \${name}\`,
});
`,
    "prompts/hello_test.ts": `import assert from "node:assert/strict";
import { getPrompt } from "tooldrop";
import definition from "./hello.ts";
Deno.test("named hello", async () => {
  // @ts-expect-error: "name" is left out on purpose
  await assert.rejects(getPrompt(definition, {}), {
    message: 'Invalid params: arguments of prompt "hello": name: required (expected string)',
  });
});
`,
  });
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "test",
      "-A",
      "--no-prompt",
      "--lock=tests/deno.lock",
      "prompts/hello_test.ts",
    ],
    cwd: copy.path,
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  assert.equal(code, 0, text);
  assert.match(text, /\nok \| 1 passed \| 0 failed/);
});
