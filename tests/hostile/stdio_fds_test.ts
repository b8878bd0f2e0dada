/**
 * Serving stdio from source, the server moves the protocol streams off fd 0 and fd 1
 * (src/util/stdio_fds.ts): an adversarial pass at the wire, with the real server spawned as
 * `deno task start` runs it. Where a scenario has a before, it is run both ways in the same test:
 * moved (the start task's flags) and kept (the same flags without `--allow-ffi`, with which the
 * server leaves the streams on fd 0 and fd 1 and says so at debug).
 *
 * Covered here: a child a tool leaves running must not hold the client's pipes (the server's
 * copies of them must be close-on-exec), under `deno task start` and across a `deno task dev`
 * restart; signals and EOF while the server's read waits on its thread; a client that stops
 * reading and resumes; a closed stdout under a large reply; stdin from a file or /dev/null and
 * stdout to a file. Over 300 lines: one scenario each, with the fixture tools they share.
 */

import assert from "node:assert/strict";
import { call, initialize, modern, ping, request } from "../requests.ts";
import { isolatedArgs, pingReply, textReply } from "./_isolation_tools.ts";
import {
  FIXTURE_TOOLS,
  projectCopy,
  ROOT,
  serverArgs,
  ServerProcess,
  tempDir,
} from "../spawn.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { LIBC_PATHS } from "../../src/util/stdio_fds.ts";
import { modernHeaders, post } from "../http_client.ts";
import type { HttpServer } from "../../src/server/http/serve_http.ts";

/** What the server logs at debug when it keeps the streams where they are. */
const KEPT = /The protocol streams stay on fd 0 and fd 1/;
/** A wait that a working server meets in well under a second, even on a loaded machine. */
const LIMIT_MS = 10_000;
const POSIX = Deno.build.os !== "windows";

type Mode = "moved" | "kept";

/** `args` as they are (moved), or without the FFI grant, so the streams stay (kept). */
function inMode(args: string[], mode: Mode): string[] {
  return mode === "moved"
    ? args
    : args.filter((arg) => !arg.startsWith("--allow-ffi"));
}

/** Leaves `sleep 600` running with every stdio stream at /dev/null; returns its pid. */
const ORPHAN = `
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Leaves a child running, its stdio streams all /dev/null.",
  permissions: { run: ["sleep"] },
  run: () => {
    const child = new Deno.Command("sleep", {
      args: ["600"], stdin: "null", stdout: "null", stderr: "null",
    }).spawn();
    child.unref();
    return String(child.pid);
  },
});
`;

/** Lists the descriptors a child it spawns holds (Linux: /proc). */
const FDS = `
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Names the descriptors a child of this tool holds.",
  permissions: { run: ["sh"] },
  run: async () => {
    const { stdout } = await new Deno.Command("sh", {
      args: ["-c", "ls /proc/$$/fd"], stdin: "null", stdout: "piped", stderr: "null",
    }).output();
    return new TextDecoder().decode(stdout).split("\\n").filter(Boolean).map(Number)
      .sort((a, b) => a - b).join(",");
  },
});
`;

/** Returns a string of \`mib\` MiB of "x" after \`tag\`; says on stderr when it is made. */
const BIG = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Returns a large string.",
  input: z.object({ mib: z.number().describe("MiB"), tag: z.string().describe("first") }),
  run: ({ mib, tag }) => {
    const text = tag + new TextDecoder().decode(new Uint8Array(mib * 1048576).fill(120));
    Deno.stderr.writeSync(new TextEncoder().encode("made " + tag + "\\n"));
    return text;
  },
});
`;

/** A server over `tools` (file name → source) in `mode`, with the tools' permissions granted. */
async function spawn(
  tools: Record<string, string>,
  mode: Mode,
  declared: Array<{ run: string[] }> = [],
  unread: Array<"stdout" | "stderr"> = [],
) {
  const dir = await tempDir(tools);
  const server = new ServerProcess(
    inMode(isolatedArgs(dir.path, declared), mode),
    { env: { TOOLDROP_LOG: "debug" }, unread },
  );
  return {
    server,
    [Symbol.asyncDispose]: async () => {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // it has exited already
      }
      await server.child.status;
      await server.closeStdin().catch(() => {});
      await server.stdout.cancel().catch(() => {});
      await Promise.all([server.stdout.done, server.stderr.done]);
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Kills `pid` if it still runs; true if it did. */
function killIfAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid)) return false;
  try {
    Deno.kill(pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/** Resolves true once `done` settles, false after `ms`. */
async function settlesWithin(done: Promise<unknown>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) =>
    timer = setTimeout(() => resolve(false), ms)
  );
  try {
    return await Promise.race([done.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** The text of a successful call's only block. */
function textOf(reply: Record<string, unknown>): string {
  const result = reply.result as { content?: Array<{ text?: string }> };
  const text = result?.content?.[0]?.text;
  if (typeof text !== "string") {
    throw new Error(`not a text result: ${JSON.stringify(reply)}`);
  }
  return text;
}

function figure(text: string): void {
  // deno-lint-ignore no-console -- a figure for the reader of the test log, not an assertion
  console.log(text);
}

Deno.test({
  name:
    "a child a tool leaves running holds none of the client's pipes: the client sees stdout end when the server exits",
  ignore: !POSIX,
  fn: async () => {
    const ms: Record<Mode, number> = { moved: 0, kept: 0 };
    for (const mode of ["kept", "moved"] as const) {
      await using running = await spawn({ "orphan.ts": ORPHAN }, mode, [{
        run: ["sleep"],
      }]);
      const { server } = running;
      let orphan: number | undefined;
      try {
        await server.send(call(1, "orphan"));
        const reply = await server.reply(1);
        orphan = Number(textOf(reply));
        await server.closeStdin();
        assert.equal((await server.child.status).code, 0);
        const exited = performance.now();
        // The orphan sleeps 600 s: stdout can only end before that if it holds no copy of it.
        const ended = await settlesWithin(server.stdout.done, LIMIT_MS);
        ms[mode] = performance.now() - exited;
        assert.ok(
          ended,
          `${mode}: stdout did not end within ${LIMIT_MS} ms of the server's exit: the child the tool left running holds the server's copy of it (not close-on-exec)`,
        );
        assert.equal(
          killIfAlive(orphan),
          true,
          "the orphan still runs (or the test proves nothing)",
        );
        orphan = undefined;
        assert.equal(KEPT.test(server.stderr.text), mode === "kept");
      } finally {
        killIfAlive(orphan); // else disposing waits for it
      }
    }
    figure(
      `stdout ended ${ms.kept.toFixed(0)} ms (kept) / ${
        ms.moved.toFixed(0)
      } ms (moved) after the server exited, a child it left running`,
    );
  },
});

Deno.test({
  name:
    "a tool's child inherits no descriptor from the moved server that it would not from the server that keeps fd 0 and fd 1",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const seen: Record<Mode, number[]> = { moved: [], kept: [] };
    for (const mode of ["kept", "moved"] as const) {
      await using running = await spawn({ "fds.ts": FDS }, mode, [{
        run: ["sh"],
      }]);
      const { server } = running;
      await server.send(call(1, "fds"));
      const reply = await server.reply(1);
      seen[mode] = textOf(reply).split(",").map(Number);
      await server.closeStdin();
      assert.equal((await server.exit(LIMIT_MS)).code, 0);
    }
    const extra = seen.moved.filter((fd) => !seen.kept.includes(fd));
    assert.deepEqual(
      extra,
      [],
      `a child of the moved server holds fds ${extra} besides those of the kept one (${seen.kept}): the server's copies of fd 0 and fd 1 are not close-on-exec`,
    );
  },
});

Deno.test({
  name:
    "deno task dev: a restart completes and answers though a tool left a child running",
  ignore: !POSIX,
  fn: async () => {
    await using project = await projectCopy({ "tools/orphan.ts": ORPHAN });
    const devArgs = denoJson.tasks.dev.split(" ").slice(1);
    const server = new ServerProcess(
      devArgs.map((a) => (a === "main.ts" ? `${project.path}/main.ts` : a)),
      { cwd: project.path },
    );
    let orphan: number | undefined;
    try {
      await server.send(initialize(1, "2025-06-18"), call(2, "orphan"));
      const reply = await server.reply(2);
      orphan = Number(textOf(reply));
      await Deno.writeTextFile(
        `${project.path}/src/server/protocol.ts`,
        "\n// edited\n",
        { append: true },
      );
      await server.stderr.waitFor(/restarting the server/);
      await server.send(ping(3));
      // The old child's stdout is read to its end before the new one starts: a copy of it in the
      // orphan stalls the restart for as long as the orphan runs.
      await server.stdout.waitFor(/"id":3,/, LIMIT_MS).catch(() => {
        throw new Error(
          `no reply to a ping within ${LIMIT_MS} ms of a restart, a child a tool left running; stderr:\n${server.stderr.text}`,
        );
      });
      assert.ok(server.stdout.lines.includes(pingReply(3)));
    } finally {
      killIfAlive(orphan);
      await server.closeStdin().catch(() => {});
      await server.exit(LIMIT_MS);
    }
  },
});

for (const how of ["SIGTERM", "SIGINT", "EOF"] as const) {
  Deno.test({
    name:
      `${how} while the server's read waits on its thread: it exits 0, as soon as the server that keeps fd 0 does`,
    ignore: !POSIX && how !== "EOF",
    fn: async () => {
      const ms: Record<Mode, number[]> = { moved: [], kept: [] };
      for (let round = 0; round < 2; round++) {
        for (const mode of ["moved", "kept"] as const) {
          const server = new ServerProcess(inMode(serverArgs(), mode), {
            env: { TOOLDROP_LOG: "debug" },
          });
          await server.send(ping(1));
          await server.reply(1);
          // The tools load after the first replies: exit with nothing else under way.
          await server.stderr.waitFor(/serving 2 tool\(s\)/);
          const start = performance.now();
          if (how === "EOF") await server.closeStdin();
          else server.child.kill(how);
          const { code } = await server.exit(LIMIT_MS);
          ms[mode].push(performance.now() - start);
          if (how !== "EOF") await server.closeStdin().catch(() => {});
          assert.equal(code, 0);
          assert.equal(KEPT.test(server.stderr.text), mode === "kept");
          assert.deepEqual(server.stdout.lines, [pingReply(1)]);
        }
      }
      const moved = median(ms.moved);
      const kept = median(ms.kept);
      figure(
        `exit after ${how}: ${moved.toFixed(0)} ms moved, ${
          kept.toFixed(0)
        } ms kept (medians of 2)`,
      );
      // A read left pending on its thread must not hold the exit: a bound far above the noise.
      assert.ok(moved < 3 * kept + 1_000, `moved ${moved} ms, kept ${kept} ms`);
    },
  });
}

Deno.test("a client that stops reading while 8 MiB replies wait, then resumes, gets every byte, each line whole, pings in order", async () => {
  await using running = await spawn({ "big.ts": BIG }, "moved", [], [
    "stdout",
  ]);
  const { server } = running;
  const pings = Array.from({ length: 20 }, (_, i) => ping(`p${i}`));
  await server.send(
    ...[1, 2, 3].map((id) => call(id, "big", { mib: 8, tag: `t${id}` })),
    ...pings,
  );
  for (const id of [1, 2, 3]) {
    await server.stderr.waitFor(new RegExp(`made t${id}`));
  }
  // Not read: the server's writes fill the pipe and wait (partial writes on its thread).
  await new Promise((resolve) => setTimeout(resolve, 500));
  const lines = await readLines(server.child.stdout, 23);
  const x = "x".repeat(8 * 1048576);
  const byId = new Map(
    lines.map((line) => [String(JSON.parse(line).id), line]),
  );
  for (const id of [1, 2, 3]) {
    assert.ok(
      byId.get(String(id)) === textReply(id, `t${id}${x}`),
      `reply ${id}`,
    );
  }
  assert.deepEqual(
    lines.filter((line) => line.includes('"id":"p')),
    pings.map((p) => pingReply(p.id!)),
  );
  await server.closeStdin();
  assert.equal((await server.exit(LIMIT_MS)).code, 0);
});

/** Reads `count` lines from `stream` (bytes counted, decoded once), then lets go of it. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  count: number,
): Promise<string[]> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let newlines = 0;
  try {
    while (newlines < count) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      for (const byte of value) if (byte === 10) newlines++;
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  const text = new TextDecoder().decode(bytes);
  return text.split("\n").slice(0, -1);
}

Deno.test("the client closes stdout while a 16 MiB reply is being written: the server exits 0 and says why, without a stack trace", async () => {
  await using running = await spawn({ "big.ts": BIG }, "moved");
  const { server } = running;
  await server.send(call(1, "big", { mib: 16, tag: "t" }));
  await server.stdout.waitFor(/^\{"jsonrpc":"2.0","id":1,/, LIMIT_MS);
  await server.stdout.cancel(); // mid-line: most of the reply is still to be written
  const { code } = await server.exit(LIMIT_MS);
  assert.equal(code, 0);
  assert.match(server.stderr.text, /the client closed its end of stdout/);
  assert.doesNotMatch(server.stderr.text, /Uncaught|error:|\n\s+at /);
});

Deno.test({
  name:
    "stdin a file and stdout a file: every reply, exactly, then exit 0; stdin /dev/null: exit 0, nothing written",
  ignore: !POSIX,
  fn: async () => {
    await using dir = await tempDir({
      // The call last: pings are answered as they are read, a call once the tools load.
      "in.txt": [ping(1), ping(2), call(3, "echo", { text: "from a file" })]
        .map((m) => JSON.stringify(m) + "\n").join(""),
    });
    const run = async (stdin: string, out: string) => {
      const { code, stderr } = await new Deno.Command("sh", {
        args: [
          "-c",
          `exec "$0" "$@" < '${stdin}' > '${out}'`,
          Deno.execPath(),
          ...serverArgs(FIXTURE_TOOLS),
        ],
        cwd: ROOT,
        env: { TOOLDROP_LOG: "debug" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code, stderr: new TextDecoder().decode(stderr) };
    };
    const fromFile = await run(`${dir.path}/in.txt`, `${dir.path}/out.txt`);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.doesNotMatch(fromFile.stderr, KEPT);
    assert.equal(
      await Deno.readTextFile(`${dir.path}/out.txt`),
      [pingReply(1), pingReply(2), textReply(3, "from a file")].join("\n") +
        "\n",
    );
    const fromNull = await run("/dev/null", `${dir.path}/null.txt`);
    assert.equal(fromNull.code, 0, fromNull.stderr);
    assert.doesNotMatch(fromNull.stderr, KEPT);
    assert.equal(await Deno.readTextFile(`${dir.path}/null.txt`), "");
  },
});

Deno.test("--drop-ffi (what compile bakes into a binary): the streams are moved, then FFI is given up, and the server answers through what it opened", async () => {
  const server = new ServerProcess(
    [...serverArgs(FIXTURE_TOOLS), "--drop-ffi"],
    { env: { TOOLDROP_LOG: "debug" } },
  );
  await server.send(initialize(1), call(2, "echo", { text: "after" }));
  assert.equal(textOf(await server.reply(2)), "after");
  await server.stderr.waitFor(/Gave up FFI before loading the tools/);
  assert.match(
    server.stderr.text,
    /Gave up FFI before loading the tools \(ffi: (?:prompt|denied)\)/,
  );
  assert.doesNotMatch(server.stderr.text, KEPT);
  await server.closeStdin();
  assert.equal((await server.exit(LIMIT_MS)).code, 0);
});

Deno.test("call --json prints exactly the result, whatever the tool writes to fd 1 (named node:fs import, a child's inherited stdout)", async () => {
  await using dir = await tempDir({
    "leak.ts": `import { defineTool } from "tooldrop";
import { writeSync } from "node:fs";
export default defineTool({
  description: "Writes to fd 1 as no guard in a worker can stop.",
  permissions: { run: ["sh"] },
  run: async () => {
    writeSync(1, "LEAKED by writeSync\\n");
    await new Deno.Command("sh", { args: ["-c", "echo LEAKED by a child"], stdout: "inherit" }).spawn().status;
    return "done";
  },
});
`,
  });
  const run = async (mode: Mode) => {
    const args = isolatedArgs(dir.path, [{ run: ["sh"] }]);
    const at = args.indexOf(`${ROOT}/main.ts`);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        ...inMode(
          [...args.slice(0, at + 1), "call", "leak", "{}", "--json"],
          mode,
        ),
        ...args.slice(at + 1),
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code,
      stdout: new TextDecoder().decode(stdout),
      stderr: new TextDecoder().decode(stderr),
    };
  };
  const result = `${
    JSON.stringify({ content: [{ type: "text", text: "done" }] })
  }\n`;
  const moved = await run("moved");
  assert.equal(moved.code, 0, moved.stderr);
  assert.equal(moved.stdout, result);
  assert.match(moved.stderr, /LEAKED by writeSync/);
  assert.match(moved.stderr, /LEAKED by a child/);
  // The reference: where the stream stays on fd 1, both writes land in the output.
  const kept = await run("kept");
  assert.match(kept.stdout, /LEAKED by writeSync/);
});

Deno.test("serve --http moves nothing and gives libc up at once: a tool's top level, evaluated by the probe with the server's permissions, cannot open it", async () => {
  const paths = JSON.stringify(LIBC_PATHS);
  await using dir = await tempDir({
    "native.ts": `import { defineTool } from "tooldrop";
const TOP = [...new Set(${paths}.map((path) => {
  try {
    Deno.dlopen(path, { getpid: { parameters: [], result: "i32" } });
    return "opened";
  } catch (error) {
    return (error as Error).name;
  }
}))].join(", ");
export default defineTool({ description: "At top level: " + TOP, run: () => TOP });
`,
  });
  const args = isolatedArgs(dir.path, [{ net: ["127.0.0.1"] }]);
  const at = args.indexOf(`${ROOT}/main.ts`);
  const server = new ServerProcess([
    ...args.slice(0, at + 1),
    "serve",
    "--http",
    "127.0.0.1:0",
    ...args.slice(at + 1),
  ]);
  try {
    await server.stderr.waitFor(/at http:\/\/\S+\/mcp/);
    const url = /at (http:\/\/\S+\/mcp)/.exec(server.stderr.text)![1]!;
    const response = await post(
      { url: new URL(url) } as unknown as HttpServer,
      modern(request(1, "tools/list")),
      modernHeaders("tools/list"),
    );
    const body = await response.text();
    assert.match(body, /"description":"At top level: NotCapable"/);
  } finally {
    server.child.kill("SIGTERM");
    await server.exit(LIMIT_MS);
  }
});
