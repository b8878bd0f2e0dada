/**
 * Commands whose reader goes away (`tooldrop list --json | head -c 1`, `| true`): the CLI stops
 * quietly with exit 0, and only command output ever reaches stdout.
 */

import assert from "node:assert/strict";
import { print } from "../../src/cli/io.ts";
import { ROOT, tempDir } from "../spawn.ts";
import { fakeIo } from "../wire.ts";

const TRIVIAL = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Says hello.",
  input: z.object({}),
  run: () => "hello",
});
`;

const NOISY = `
import { z } from "zod";
import { defineTool } from "tooldrop";
console.log("loading noisy");
export default defineTool({
  description: "Says hello, and logs while it does.",
  input: z.object({}),
  run: () => {
    console.log("running noisy");
    return "hello";
  },
});
`;

/** Runs `tooldrop <args>` from source, as `deno task tooldrop` does, with stdout piped. */
function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-all", `${ROOT}/main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `tooldrop <args>` with its reader gone before it writes; resolves to its exit and stderr. */
async function withReaderGone(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const child = spawn(args);
  // Closed at once: the process is still starting, so its first write finds no reader (EPIPE).
  await child.stdout.cancel();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
  ]);
  return { code: status.code, stderr };
}

/** Runs `tooldrop <args>` to the end; resolves to its exit, stdout and stderr. */
async function run(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(args);
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code: status.code, stdout, stderr };
}

function assertQuiet(result: { code: number; stderr: string }): void {
  assert.doesNotMatch(result.stderr, /Uncaught|BrokenPipe|Broken pipe/);
  assert.equal(result.stderr, "");
  assert.equal(result.code, 0);
}

Deno.test("help exits 0 without a stack trace when its reader has closed stdout", async () => {
  assertQuiet(await withReaderGone(["help"]));
});

Deno.test("version exits 0 without a stack trace when its reader has closed stdout", async () => {
  assertQuiet(await withReaderGone(["version"]));
});

Deno.test("list --json exits 0 without a stack trace when its reader has closed stdout", async () => {
  await using dir = await tempDir({ "hello.ts": TRIVIAL });
  assertQuiet(await withReaderGone(["list", "--json", "--tools", dir.path]));
  assertQuiet(await withReaderGone(["list", "--tools", dir.path]));
});

Deno.test("call exits 0 without a stack trace when its reader has closed stdout", async () => {
  await using dir = await tempDir({ "hello.ts": TRIVIAL });
  assertQuiet(await withReaderGone(["call", "hello", "--tools", dir.path]));
  assertQuiet(
    await withReaderGone(["call", "hello", "--json", "--tools", dir.path]),
  );
});

Deno.test("list --json and call keep a tool's console.log off stdout, on stderr", async () => {
  // Without a listing cache, list imports the tool in a probe worker, at the command's level.
  await using dir = await tempDir({ "noisy.ts": NOISY });
  const list = await run(["list", "--json", "--tools", dir.path]);
  assert.equal(list.code, 0);
  assert.deepEqual(
    JSON.parse(list.stdout).tools.map((t: { name: string }) => t.name),
    ["noisy"],
  );
  assert.doesNotMatch(list.stdout, /loading noisy/);

  const call = await run(["call", "noisy", "--json", "--tools", dir.path]);
  assert.equal(call.code, 0);
  assert.deepEqual(JSON.parse(call.stdout), {
    content: [{ type: "text", text: "hello" }],
  });
  assert.match(call.stderr, /loading noisy\n[^]*running noisy\n/);
});

Deno.test("print resolves false on a broken pipe and still throws any other write error", async () => {
  const failing = (error: Error) =>
    fakeIo([], {}, {
      stdout: { write: () => Promise.reject(error) },
    }).io;
  assert.equal(
    await print(failing(new Deno.errors.BrokenPipe("Broken pipe")), "x\n"),
    false,
  );
  assert.equal(
    await print(failing(new Deno.errors.ConnectionReset("reset")), "x\n"),
    false,
  );
  await assert.rejects(
    print(failing(new Error("No space left on device")), "x\n"),
    /No space left on device/,
  );

  const { io, out } = fakeIo([]);
  assert.equal(await print(io, "written\n"), true);
  assert.equal(out.text, "written\n");
});
