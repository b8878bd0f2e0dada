/**
 * End-to-end on the compiled binary: `deno task compile` builds dist/tooldrop, and the official
 * SDK client uses it from another folder. Where Deno cannot download the runtime it compiles
 * into (no internet), this prints one SKIP line; any other compile failure fails the test.
 * It builds in a copy of tooldrop with the fixture tools: the project's tools/ is the user's,
 * and a build there would rewrite its manifest and leave dist/ behind.
 */

import assert from "node:assert/strict";
import { Client, StdioClientTransport } from "./sdk.ts";
import { projectCopy, tempDir } from "./spawn.ts";

const project = await projectCopy({
  // The binary serves prompts too, from the manifest: compile names it.
  "prompts/hello.ts": `import { definePrompt } from "tooldrop";
export default definePrompt({
  description: "Says hello.",
  permissions: { env: ["HELLO_NAME"] },
  get: () => \`hello \${Deno.env.get("HELLO_NAME") ?? "you"}\`,
});
`,
});
// Removed when this file's tests are done, whichever of them ran.
globalThis.addEventListener(
  "unload",
  () => Deno.removeSync(project.path, { recursive: true }),
);

const BINARY = `${project.path}/dist/tooldrop${
  Deno.build.os === "windows" ? ".exe" : ""
}`;

/** `deno task compile` in `cwd` (default the copy above): what it said, and why it failed. */
async function compile(cwd = project.path): Promise<
  { ok: true; output: string } | {
    ok: false;
    offline: boolean;
    output: string;
  }
> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile"],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout) +
    new TextDecoder().decode(stderr);
  if (success) return { ok: true, output };
  const offline =
    /dl\.deno\.land|error sending request|dns error|could not download/i.test(
      output,
    );
  return { ok: false, offline, output };
}

const built = await compile();
if (!built.ok && built.offline) {
  // deno-lint-ignore no-console
  console.log(
    "SKIP compiled binary tests: deno compile could not download the Deno runtime (offline)",
  );
}

Deno.test("deno task compile names the prompts the binary serves, and leaves nothing out", () => {
  // It runs in the binary's thread, so the binary holds what it declares.
  assert.match(
    built.output,
    /^Compiling 2 tool\(s\) \(echo, get_cwd\), 1 prompt\(s\) \(hello\) with: .*--allow-env=\S*\bHELLO_NAME\b/m,
  );
  assert.doesNotMatch(built.output, /Not in the binary|serves tools only/);
  // Its tools declare no FFI: it moves its streams with libc, then gives FFI up.
  assert.match(
    built.output,
    /^Compiling .* with: .*--allow-ffi=\S*\/libc\.so\.6\b/m,
  );
  assert.match(
    built.output,
    /^It moves its streams off fd 0 and fd 1, then gives up FFI before loading its tools \(--drop-ffi\)$/m,
  );
  assert.match(
    Deno.readTextFileSync(`${project.path}/tools/_manifest.ts`),
    /^export const promptModules: ReadonlyArray<readonly \[string, unknown\]> = \[\n {2}\["hello\.ts", \$2\],\n\];$/m,
  );
});

Deno.test("deno task compile builds dist/tooldrop, or fails only for want of the runtime download", () => {
  if (!built.ok) {
    assert.ok(built.offline, `deno task compile failed:\n${built.output}`);
    // The task ends with one sentence that says why, not Deno's backtrace.
    assert.match(
      built.output.trimEnd().split("\n").at(-1)!,
      /^Could not build dist\/tooldrop: `deno compile` downloads the Deno runtime for this platform from dl\.deno\.land, and it could not be reached from this machine\.$/,
    );
    assert.doesNotMatch(built.output, /Stack backtrace/);
  }
});

Deno.test({
  name:
    "the compiled binary serves its tools to the SDK client from any folder",
  ignore: !built.ok,
  fn: async () => {
    await using elsewhere = await tempDir({});
    const client = new Client({
      name: "tooldrop-binary-e2e",
      version: "1.0.0",
    });
    await client.connect(
      new StdioClientTransport({
        command: BINARY,
        cwd: elsewhere.path,
        stderr: "pipe",
      }),
    );
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t: { name: string }) => t.name), [
        "echo",
        "get_cwd",
      ]);
      const echo = await client.callTool({
        name: "echo",
        arguments: { text: "from the binary ✓" },
      });
      assert.deepEqual(echo.content, [{
        type: "text",
        text: "from the binary ✓",
      }]);
      const cwd = await client.callTool({ name: "get_cwd", arguments: {} });
      assert.deepEqual(cwd.content, [{ type: "text", text: elsewhere.path }]);
    } finally {
      await client.close();
    }
  },
});

/** `deno task compile` with `args` in the project copy: its exit code and everything it said. */
async function compileWith(
  args: string[],
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", ...args],
    cwd: project.path,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("compile --http bakes serve --http and what serving needs into dist/tooldrop-http, which serves over HTTP", async () => {
  const port = 40_000 + Math.floor(Math.random() * 20_000);
  const { code, output } = await compileWith([
    "--http",
    `127.0.0.1:${port}`,
    "--token-env",
    "MCP_TOKEN",
    "--allow-host",
    "tools.example.com",
    "--sse-hold",
    "30",
  ]);
  // What it builds with is said before `deno compile` runs (and needs the download).
  const flags = output.match(
    /^Compiling 2 tool\(s\) \(echo, get_cwd\), 1 prompt\(s\) \(hello\) with: (.*)$/m,
  )?.[1];
  assert.ok(flags, output);
  assert.match(
    flags,
    new RegExp(`--allow-net=(?:\\S+,)?127\\.0\\.0\\.1:${port}\\b`),
  );
  assert.match(flags, /--allow-env=\S*\bMCP_TOKEN\b/);
  assert.match(flags, /--allow-env=\S*\bTOOLDROP_STATE_KEY\b/);
  // Its stdin and stdout are not the protocol: nothing to move, no FFI.
  assert.doesNotMatch(flags, /--allow-ffi/);
  assert.doesNotMatch(output, /--drop-ffi/);
  assert.ok(
    output.includes(
      `It runs: serve --http 127.0.0.1:${port} --token-env MCP_TOKEN --allow-host tools.example.com --sse-hold 30 (more arguments go after)\n`,
    ),
    output,
  );
  if (code !== 0) {
    assert.ok(!built.ok && built.offline, output);
    assert.match(
      output.trimEnd().split("\n").at(-1)!,
      /^Could not build dist\/tooldrop-http: `deno compile` downloads the Deno runtime/,
    );
    return; // offline: the SKIP line above says so
  }
  const binary = `${project.path}/dist/tooldrop-http${
    Deno.build.os === "windows" ? ".exe" : ""
  }`;
  await using elsewhere = await tempDir({});
  const child = new Deno.Command(binary, {
    cwd: elsewhere.path,
    env: { MCP_TOKEN: "binary-test-token" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}`;
    let health: Response | undefined;
    for (let tries = 0; tries < 100 && !health?.ok; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      health = await fetch(`${url}/healthz`).catch(() => undefined);
      await health?.body?.cancel();
    }
    assert.ok(health?.ok, "the binary answers /healthz");
    const list = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        authorization: "Bearer binary-test-token",
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/list",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/list",
        params: {
          _meta: {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": { name: "t", version: "1" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        },
      }),
    });
    assert.match(await list.text(), /"name":"echo".*"name":"get_cwd"/s);
  } finally {
    child.kill("SIGTERM");
    await child.stderr.cancel();
    await child.status;
  }
});

Deno.test("a binary whose tool declares FFI keeps that grant: compile adds no libc and bakes no --drop-ffi", async () => {
  await using native = await projectCopy({
    "tools/native.ts": `import { defineTool } from "tooldrop";
export default defineTool({
  description: "Declares FFI of its own.",
  permissions: { ffi: ["/opt/native/libnative.so"] },
  run: () => "ok",
});
`,
  });
  const { output } = await compile(native.path);
  assert.match(
    output,
    /^Compiling .* with: .*--allow-ffi=\/opt\/native\/libnative\.so( |$)/m,
  );
  assert.doesNotMatch(output, /libc\.so\.6|--drop-ffi|gives up FFI/);
});
