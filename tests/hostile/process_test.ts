/**
 * The server as a real process under hostile conditions (issue 12, items 1, 4-8): a flood of
 * pending calls, tools that reach for stdout every way they can, replies at shutdown, a client
 * that reads neither stdout nor stderr, and memory where memory is the point.
 */

import assert from "node:assert/strict";
import { ROOT, serverArgs, tempDir, TextTap } from "../spawn.ts";
import { initializeRequest } from "../wire.ts";

const encoder = new TextEncoder();

/** A server process whose stdout and stderr are read only when the test says so. */
class Server {
  readonly child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  stdout: TextTap | undefined;
  stderr: TextTap | undefined;

  constructor(
    args: string[],
    read: { stdout?: boolean; stderr?: boolean } = {},
    env: Record<string, string> = {},
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    if (read.stdout !== false) this.readStdout();
    if (read.stderr !== false) this.stderr = new TextTap(this.child.stderr);
  }

  readStdout(): TextTap {
    return this.stdout ??= new TextTap(this.child.stdout);
  }

  async send(...messages: unknown[]): Promise<void> {
    await this.#stdin.write(encoder.encode(
      messages.map((m) => `${typeof m === "string" ? m : JSON.stringify(m)}\n`)
        .join(""),
    ));
  }

  async closeStdin(): Promise<void> {
    await this.#stdin.close();
  }

  /** Peak resident memory so far, in MiB (Linux); undefined elsewhere. */
  peakRssMiB(): number | undefined {
    try {
      const status = Deno.readTextFileSync(`/proc/${this.child.pid}/status`);
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
      return kb / 1024;
    } catch {
      return undefined;
    }
  }

  /** Waits for the exit; kills the process and fails after `limitMs`, so a hang cannot stall CI. */
  async exit(limitMs: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<"hung">((resolve) =>
      timer = setTimeout(() => resolve("hung"), limitMs)
    );
    const status = await Promise.race([this.child.status, limit]);
    clearTimeout(timer);
    if (status === "hung") this.child.kill("SIGKILL");
    await this.child.status;
    await this.stdout?.done;
    await this.stderr?.done;
    if (!this.stdout) await this.child.stdout.cancel();
    if (!this.stderr) await this.child.stderr.cancel();
    if (status === "hung") {
      throw new Error(
        `The server did not exit within ${limitMs} ms; stderr:\n${
          this.stderr?.text ?? "(not read)"
        }`,
      );
    }
    return status.code;
  }
}

const call = (
  id: number,
  name: string,
  args: Record<string, unknown> = {},
) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args },
});

const TOOLS = {
  "nap.ts": `
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Sleeps 10 ms.",
      run: () => new Promise((resolve) => setTimeout(() => resolve("rested"), 10)),
    });`,
  "big.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Returns that many characters, after a turn of the event loop.",
      input: z.object({ chars: z.number() }),
      // A flat string: "x".repeat() would build a rope of a few nodes that takes no memory.
      run: async ({ chars }) => {
        await new Promise((r) => setTimeout(r, 1));
        return new TextDecoder().decode(new Uint8Array(chars).fill(120));
      },
    });`,
  "chatty.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Logs that many debug messages.",
      input: z.object({ times: z.number() }),
      run: async ({ times }, ctx) => {
        for (let i = 0; i < times; i++) {
          ctx.log("debug", "a debug message from a tool that logs far too much: " + i);
          if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 0));
        }
        ctx.log("warning", "chatty is done");
        return "said it all";
      },
    });`,
};

const INITIALIZE = initializeRequest(0);

/** One clear line for a check this platform cannot make. */
function skip(why: string): void {
  // deno-lint-ignore no-console
  console.log(`SKIP: ${why}`);
}
const PING = { jsonrpc: "2.0", id: "ping", method: "ping" };

Deno.test("2,000 pending calls pause reading without spinning: all are answered, then a ping", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(serverArgs(tools.path));
  const calls = Array.from({ length: 2000 }, (_, id) => call(id + 1, "nap"));
  await server.send(...calls, PING);
  await server.stdout!.waitFor(/^(?:.*\n){2001}/, 60_000);
  const ids = new Set(server.stdout!.lines.map((l) => JSON.parse(l).id));
  assert.equal(ids.size, 2001);
  await server.closeStdin();
  assert.equal(await server.exit(10_000), 0);
});

const STDOUT_ROUTES = `
  import process from "node:process";
  import { stdout as namedStdout } from "node:process";
  import fs from "node:fs";
  import { defineTool } from "tooldrop";
  const captured = process.stdout;
  function everyRoute(when) {
    captured.write("captured process.stdout " + when + "\\n");
    namedStdout.write("node:process stdout " + when + "\\n");
    process.stdout.write("process.stdout " + when + "\\n");
    fs.writeSync(1, "fs.writeSync(1) " + when + "\\n");
    fs.write(1, "fs.write(1) " + when + "\\n", () => {});
    fs.createWriteStream("", { fd: 1, autoClose: false }).write("createWriteStream fd 1 " + when + "\\n");
    Deno.stdout.writeSync(new TextEncoder().encode("Deno.stdout " + when + "\\n"));
    console.log("console.log " + when);
  }
  everyRoute("at import");
  export default defineTool({
    description: "Writes to stdout every way it can.",
    run: async () => {
      everyRoute("in run");
      await new Promise((r) => setTimeout(r, 20));
      return "done";
    },
  });
`;

for (const mode of ["start", "serve --watch"]) {
  Deno.test(`under ${mode}, no route a tool takes to stdout reaches the protocol stream`, async () => {
    await using tools = await tempDir({ "noisy.ts": STDOUT_ROUTES });
    const args = serverArgs(tools.path);
    if (mode !== "start") args.push(...mode.split(" "));
    const server = new Server(args);
    await server.send(INITIALIZE, call(1, "noisy"));
    await server.stdout!.waitFor(/"id":1,/);
    await server.stderr!.waitFor(/createWriteStream fd 1 in run/);
    await server.send(PING);
    await server.stdout!.waitFor(/"id":"ping"/);
    await server.closeStdin();
    assert.equal(await server.exit(10_000), 0);
    for (const line of server.stdout!.lines) {
      assert.doesNotThrow(() => JSON.parse(line), `not protocol: ${line}`);
    }
    for (
      const route of [
        "captured process.stdout",
        "node:process stdout",
        "fs.writeSync(1)",
        "fs.write(1)",
        "createWriteStream fd 1",
        "Deno.stdout",
        "console.log",
      ]
    ) {
      assert.ok(
        server.stderr!.text.includes(`${route} at import`) &&
          server.stderr!.text.includes(`${route} in run`),
        `${route} did not land on stderr:\n${server.stderr!.text}`,
      );
    }
  });
}

Deno.test("five 2 MB replies to calls made just before EOF all arrive whole", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(serverArgs(tools.path));
  await server.send(
    ...[1, 2, 3, 4, 5].map((id) => call(id, "big", { chars: 2_000_000 })),
  );
  await server.closeStdin();
  assert.equal(await server.exit(20_000), 0);
  const { text } = server.stdout!;
  assert.ok(text.endsWith("\n"), "stdout ends inside a line");
  const replies = server.stdout!.lines.map((l) => JSON.parse(l));
  assert.deepEqual(replies.map((r) => r.id).sort(), [1, 2, 3, 4, 5]);
  for (const reply of replies) {
    assert.equal(reply.result.content[0].text.length, 2_000_000);
  }
});

Deno.test("a client that starts reading 0.6 s after EOF still gets its 200 KB reply", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(
    [...serverArgs(tools.path), "--log-level", "debug"],
    { stdout: false },
  );
  await server.send(call(1, "big", { chars: 200_000 }));
  // The reply is on its way: 64 KiB of it fill the pipe, the rest waits for the client.
  await server.stderr!.waitFor(/call "big" ok/);
  await server.closeStdin();
  // The scenario itself, not synchronization: the client is late to read.
  await new Promise((resolve) => setTimeout(resolve, 600));
  const stdout = server.readStdout();
  assert.equal(await server.exit(20_000), 0);
  assert.equal(stdout.lines.length, 1);
  assert.equal(
    JSON.parse(stdout.lines[0]!).result.content[0].text.length,
    200_000,
  );
});

Deno.test("SIGTERM ends the process while a 2 MB reply waits for a client that does not read", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(
    [...serverArgs(tools.path), "--log-level", "debug"],
    { stdout: false },
  );
  await server.send(call(1, "big", { chars: 2_000_000 }));
  await server.stderr!.waitFor(/call "big" ok/);
  // Reading pauses behind the 2 MB nobody reads.
  await server.send(PING);
  server.child.kill("SIGTERM");
  assert.equal(await server.exit(5_000), 0);
  await server.closeStdin().catch(() => {}); // the reader is gone
});

Deno.test("SIGTERM ends the process while a tool module's top-level await never settles", async () => {
  await using tools = await tempDir({
    "stuck.ts": `await new Promise(() => {}); export default {};`,
  });
  const server = new Server(serverArgs(tools.path));
  await server.send(INITIALIZE, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/list",
  });
  await server.stdout!.waitFor(/"id":0,/);
  server.child.kill("SIGTERM");
  // Well before the 10 s load timeout: the signal does not wait for the load.
  await server.exit(5_000);
});

Deno.test("300 calls returning 2 MB each to a client that does not read keep the server's memory bounded", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(serverArgs(tools.path), { stdout: false });
  await server.send(
    ...Array.from(
      { length: 300 },
      (_, i) => call(i, "big", { chars: 2_000_000 }),
    ),
  );
  // The window in which the unbounded server grew past 1 GiB.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const peak = server.peakRssMiB();
  server.child.kill("SIGTERM");
  await server.closeStdin();
  await server.exit(10_000);
  if (peak === undefined) return skip("no /proc here to read RSS");
  // 64 calls at once × 2 MB, plus the runtime: well under this bound.
  assert.ok(peak < 400, `peak RSS ${peak.toFixed(0)} MiB`);
});

Deno.test("a tool logging a million debug messages to a client that does not read keeps memory bounded", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(serverArgs(tools.path), { stdout: false });
  await server.send(
    INITIALIZE,
    {
      jsonrpc: "2.0",
      id: 1,
      method: "logging/setLevel",
      params: { level: "debug" },
    },
    call(2, "chatty", { times: 1_000_000 }),
  );
  await server.stderr!.waitFor(/chatty is done/, 60_000);
  const peak = server.peakRssMiB();
  server.child.kill("SIGTERM");
  await server.closeStdin();
  await server.exit(10_000);
  if (peak === undefined) return skip("no /proc here to read RSS");
  assert.ok(peak < 250, `peak RSS ${peak.toFixed(0)} MiB`);
});

Deno.test("a client that never reads stderr does not block serving: 1,000 initializes and a ping are answered", async () => {
  await using tools = await tempDir(TOOLS);
  const server = new Server(serverArgs(tools.path), { stderr: false });
  await server.send(
    ...Array.from({ length: 1000 }, (_, id) => initializeRequest(id)),
    PING,
  );
  await server.stdout!.waitFor(/"id":"ping"/, 30_000);
  assert.equal(server.stdout!.lines.length, 1001);
  await server.closeStdin();
  assert.equal(await server.exit(10_000), 0);
});
