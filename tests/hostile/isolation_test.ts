/**
 * Every tool in a worker with exactly the permissions it declares (issue 14, item 8), at the
 * wire: the real server over fixture tool files, granted the union of their permissions as
 * `start` grants it. A permission another tool declared is still denied; a spinning, exiting,
 * stdin-reading or prototype-poisoning tool harms only its own worker; stdout carries replies
 * only. Longer than ~300 lines: one scenario per item, each needing its fixtures beside it.
 *
 * Messages still being designed (the denial, the restart) are asserted by the parts the issue
 * fixes, marked TODO: tighten them to exact lines once the wording lands.
 */

import assert from "node:assert/strict";
import { call, cancel, listTools, ping } from "../requests.ts";
import {
  errorText,
  fixture,
  pingReply,
  replyWithin,
  type Running,
  startServer,
  stderrWithin,
  textReply,
} from "./_isolation_tools.ts";
import { LIBC_PATHS } from "../../src/util/stdio_fds.ts";

/** Default grace before a tool that ignores its aborted signal has its worker terminated. */
const GRACE_MS = 1_000;
/** Slack for a loaded 2-core machine on top of every bound made of the server's own timers. */
const MARGIN_MS = 2_000;
/** A reply that needs no timer at all (a ping, a quick tool on a started or new worker). */
const QUICK_MS = 5_000;

// 1. A permission another tool declared is still denied.

Deno.test("a tool without net cannot fetch while another tool declares net; the declaring tool can", async () => {
  await using target = serveText("hello from the test");
  const url = `http://127.0.0.1:${target.port}/`;
  const fetcher = (permissions?: { net: string[] }) =>
    fixture({
      input: `url: z.string().describe("A URL")`,
      ...(permissions ? { permissions } : {}),
      run: `async ({ url }) => await (await fetch(url)).text()`,
    });
  await using running = await startServer({
    "fetcher.ts": fetcher({ net: ["127.0.0.1"] }),
    "sneaky.ts": fetcher(),
  });
  const { server } = running;
  await server.send(call(1, "fetcher", { url }), call(2, "sneaky", { url }));
  const allowed = await replyWithin(server, 1, QUICK_MS, "fetcher");
  assert.equal(allowed.line, textReply(1, "hello from the test"));
  const denied = errorText(
    await replyWithin(server, 2, QUICK_MS, "sneaky"),
  );
  // TODO: tighten to the exact line once the denial's wording lands.
  assertDenial(denied, "sneaky", "net", "127.0.0.1");
});

Deno.test("a tool without env cannot read a variable another tool declares; the declaring tool can", async () => {
  const reader = (permissions?: { env: string[] }) =>
    fixture({
      ...(permissions ? { permissions } : {}),
      run: `() => Deno.env.get("ISOLATION_SECRET") ?? "unset"`,
    });
  await using running = await startServer({
    "keeper.ts": reader({ env: ["ISOLATION_SECRET"] }),
    "peeker.ts": reader(),
  }, { env: { ISOLATION_SECRET: "s3cret" } });
  const { server } = running;
  await server.send(call(1, "keeper"), call(2, "peeker"));
  const allowed = await replyWithin(server, 1, QUICK_MS, "keeper");
  assert.equal(allowed.line, textReply(1, "s3cret"));
  const denied = errorText(
    await replyWithin(server, 2, QUICK_MS, "peeker"),
  );
  // TODO: tighten to the exact line once the denial's wording lands.
  assertDenial(denied, "peeker", "env", "ISOLATION_SECRET");
});

// 2. A synchronous loop, before and after an await.

/**
 * Small, but above a fresh worker's start: the timer starts in the server's thread, so a call
 * that starts a worker (the first, or the one after a restart) spends its start-up (120–380 ms
 * measured here, with the terminated worker's thread still spinning on one of two cores) inside
 * its timeout. TODO: 300 once the start is left out of the timeout or within the bench's 50 ms.
 */
const SPIN_TIMEOUT_MS = 1_000;

/** `spin` loops forever when asked to (after `await`ing first, when `awaitFirst`). */
function spinTools(awaitFirst: boolean) {
  return {
    "spin.ts": fixture({
      input: `spin: z.boolean().describe("Loop forever")`,
      timeoutMs: SPIN_TIMEOUT_MS,
      run: `async ({ spin }) => {
        if (!spin) return "ok";
        ${awaitFirst ? "await new Promise((r) => setTimeout(r, 1));" : ""}
        mark("spin is spinning");
        while (true) {}
      }`,
    }),
    // Another permission group, so another worker.
    "other.ts": fixture({
      permissions: { env: ["ISOLATION_OTHER"] },
      run: `() => "other answered"`,
    }),
  };
}

/** The warning naming `tool` that its worker was terminated (TODO: the exact wording). */
const terminated = (tool: string) =>
  new RegExp(
    `^(?=.*"${tool}")(?=.*(?:terminat|restart|did not stop|spinning)).*$`,
    "im",
  );

for (const awaitFirst of [false, true]) {
  const when = awaitFirst ? "after an await" : "before any await";

  Deno.test(`while (true) {} ${when}: isError after the timeout, ping and another tool answered meanwhile, the next call works`, async () => {
    await using running = await startServer(spinTools(awaitFirst));
    const { server } = running;
    const sent = performance.now();
    await server.send(call(1, "spin", { spin: true }));
    await stderrWithin(server, /spin is spinning/, QUICK_MS, "spin");
    await server.send(ping("p"));
    assert.equal(
      (await replyWithin(server, "p", QUICK_MS, "ping while spin spins")).line,
      pingReply("p"),
    );
    await server.send(call(2, "other"));
    assert.equal(
      (await replyWithin(server, 2, QUICK_MS, "other while spin spins")).line,
      textReply(2, "other answered"),
    );
    const bound = SPIN_TIMEOUT_MS + GRACE_MS + MARGIN_MS;
    const stopped = await replyWithin(server, 1, bound, "spin", sent);
    assert.ok(
      stopped.ms >= SPIN_TIMEOUT_MS,
      `spin was answered after ${stopped.ms} ms, before its ${SPIN_TIMEOUT_MS} ms timeout`,
    );
    // TODO: tighten to the exact line ("did not stop and was restarted"?) once it lands.
    assert.match(errorText(stopped), /"spin"/);
    // A call sent before the worker is terminated would land on the spinning worker.
    await stderrWithin(
      server,
      terminated("spin"),
      GRACE_MS + MARGIN_MS,
      "the terminated worker's warning",
    );
    await server.send(call(3, "spin", { spin: false }));
    assert.equal(
      (await replyWithin(server, 3, QUICK_MS, "spin on a fresh worker")).line,
      textReply(3, "ok"),
    );
  });

  for (const ending of ["EOF", "SIGTERM"] as const) {
    Deno.test(`while (true) {} ${when}: ${ending} ends the process within the shutdown and worker graces`, async () => {
      await using running = await startServer(spinTools(awaitFirst));
      const { server } = running;
      await server.send(call(1, "spin", { spin: true }));
      await stderrWithin(server, /spin is spinning/, QUICK_MS, "spin");
      if (ending === "EOF") await server.closeStdin();
      else server.child.kill("SIGTERM");
      const bound = 1_000 + GRACE_MS + MARGIN_MS;
      // A hang fails here, after the bound and a second more, with the server's stderr.
      const { code, ms } = await server.exit(bound + 1_000);
      assert.ok(
        ms < bound,
        `the process took ${
          ms.toFixed(0)
        } ms to exit after ${ending}, over ${bound} ms (1 s + grace + margin)`,
      );
      assert.equal(code, 0);
      assert.equal(
        server.stdout.lines.length,
        1,
        `not one reply:\n${server.stdout.text}`,
      );
      const stopped = await replyWithin(server, 1, 0, `spin at ${ending}`);
      // TODO: tighten to the exact line once the wording lands.
      assert.match(errorText(stopped), /"spin"/);
    });
  }
}

Deno.test("a cancelled call spinning in while (true) {} gets no reply; its worker is replaced and the next call works", async () => {
  await using running = await startServer(spinTools(false));
  const { server } = running;
  await server.send(call(1, "spin", { spin: true }));
  await stderrWithin(server, /spin is spinning/, QUICK_MS, "spin");
  await server.send(cancel(1, "changed my mind"));
  await stderrWithin(
    server,
    terminated("spin"),
    GRACE_MS + MARGIN_MS,
    "the terminated worker's warning",
  );
  await server.send(call(2, "spin", { spin: false }));
  assert.equal(
    (await replyWithin(server, 2, QUICK_MS, "spin on a fresh worker")).line,
    textReply(2, "ok"),
  );
  // Answered after every reply the server meant to send: none for the cancelled call.
  await server.send(ping("p"));
  await replyWithin(server, "p", QUICK_MS, "ping");
  assert.deepEqual(server.stdout.lines, [textReply(2, "ok"), pingReply("p")]);
});

// 3. Ending the worker.

for (
  const [how, code] of [
    ["Deno.exit(3)", `Deno.exit(3);`],
    ["process.exit(4)", `process.exit(4);`],
    ["globalThis.close()", `globalThis.close();`],
  ] as const
) {
  Deno.test(`${how} in a tool ends only its worker: isError, the server serves on, the next call works`, async () => {
    await using running = await startServer({
      "quitter.ts": fixture({
        header: `import process from "node:process";`,
        input: `quit: z.boolean().describe("End the worker")`,
        // Far beyond the bound below: the reply must come from noticing the exit, not the timer.
        timeoutMs: 30_000,
        run: `async ({ quit }) => {
          if (!quit) return "alive";
          ${code}
          await new Promise(() => {}); // close() ends the worker only after this turn
        }`,
      }),
    });
    const { server } = running;
    await server.send(call(1, "quitter", { quit: true }));
    const ended = await replyWithin(server, 1, QUICK_MS, `${how} in quitter`);
    // TODO: tighten to the exact line once the wording lands.
    assert.match(errorText(ended), /"quitter"/);
    await server.send(ping("p"), call(2, "quitter", { quit: false }));
    assert.equal(
      (await replyWithin(server, "p", QUICK_MS, "ping after the exit")).line,
      pingReply("p"),
    );
    assert.equal(
      (await replyWithin(server, 2, QUICK_MS, "quitter's next call")).line,
      textReply(2, "alive"),
    );
  });
}

// 4. Stdin belongs to the client.

for (
  const [route, run] of [
    [
      "Deno.stdin.read()",
      `async () => {
        mark("reader is reading");
        const buffer = new Uint8Array(4096);
        const n = await Deno.stdin.read(buffer);
        return "read: " + (n === null ? "EOF" : new TextDecoder().decode(buffer.subarray(0, n)));
      }`,
    ],
    [
      "process.stdin",
      `() => new Promise((resolve) => {
        mark("reader is reading");
        process.stdin.once("data", (data) => resolve("read: " + data));
        process.stdin.once("end", () => resolve("read: EOF"));
      })`,
    ],
    [
      // Node's own function: no guard in the worker reaches it; fd 0 is /dev/null there.
      "readSync(0) from a named node:fs import",
      `() => {
        mark("reader is reading");
        const buffer = new Uint8Array(4096);
        const n = readSync(0, buffer);
        return "read: " + (n === 0 ? "EOF" : new TextDecoder().decode(buffer.subarray(0, n)));
      }`,
    ],
    [
      // What Deno.Command(…).spawn() does unless told otherwise: the child shares fd 0.
      "a child process that inherits stdin",
      `async () => {
        mark("reader is reading");
        const child = new Deno.Command("sh", {
          args: ["-c", "head -c 100"],
          stdout: "piped",
        }).spawn();
        const { stdout } = await child.output();
        return "read: " + (stdout.length === 0 ? "EOF" : new TextDecoder().decode(stdout));
      }`,
    ],
  ] as const
) {
  Deno.test(`${route} in a tool does not consume the client's requests`, async () => {
    await using running = await startServer({
      "reader.ts": fixture({
        header: `import process from "node:process";
import { readSync } from "node:fs";`,
        timeoutMs: 1_000,
        permissions: { run: ["sh"] },
        run,
      }),
    });
    const { server } = running;
    const sent = performance.now();
    await server.send(call(1, "reader"));
    await stderrWithin(server, /reader is reading/, QUICK_MS, "reader");
    // One at a time: a ping that arrives while the server waits on its next read would
    // otherwise share a chunk with the first, and a tool's read queued meanwhile goes unseen.
    // Ten: a reader beside the server's (a child's) gets a given write only now and then.
    for (let i = 1; i <= 10; i++) {
      const id = `p${i}`;
      await server.send(ping(id));
      assert.equal(
        (await replyWithin(
          server,
          id,
          QUICK_MS,
          "a ping sent while the tool reads stdin",
        )).line,
        pingReply(id),
      );
    }
    // Whatever the tool makes of it (an error, a timeout), it saw none of the client's bytes.
    const { line } = await replyWithin(
      server,
      1,
      1_000 + GRACE_MS + MARGIN_MS,
      "reader",
      sent,
    );
    assert.doesNotMatch(
      line,
      /ping/,
      `the tool read the client's requests: ${line}`,
    );
  });
}

// 5. Global mutations stay in their worker.

Deno.test("global mutations in one tool affect neither later replies nor a tool in another group", async () => {
  await using running = await startServer({
    "vandal.ts": fixture({
      timeoutMs: 1_000,
      run: `() => {
        const done = new TextEncoder().encode("vandal is done\\n");
        JSON.stringify = () => "null";
        Array.prototype.push = function () { return 0; };
        TextEncoder.prototype.encodeInto = () => ({ read: 0, written: 0 });
        try {
          // Refused in a worker: a thenable Object.prototype panics Deno 2.9.6's worker loop.
          (Object.prototype as Record<string, unknown>).then = function () {};
        } catch {
          Deno.stderr.writeSync(new TextEncoder().encode("then refused\\n"));
        }
        Deno.stderr.writeSync(done);
        return "vandalized";
      }`,
    }),
    "bystander.ts": fixture({
      permissions: { env: ["ISOLATION_BYSTANDER"] },
      run:
        `() => ({ content: [{ type: "text", text: "one" }, { type: "text", text: "two" }] })`,
    }),
  }, { env: { ISOLATION_BYSTANDER: "" } });
  const { server } = running;
  const bystander = (id: number) =>
    `{"jsonrpc":"2.0","id":${id},"result":{"content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}}`;
  await server.send(listTools(1), call(2, "bystander"));
  const listed = (await replyWithin(server, 1, QUICK_MS, "tools/list")).line;
  assert.equal(
    (await replyWithin(server, 2, QUICK_MS, "bystander")).line,
    bystander(2),
  );
  const sent = performance.now();
  await server.send(call(3, "vandal"));
  await stderrWithin(
    server,
    /then refused\nvandal is done/,
    QUICK_MS,
    "vandal",
  );
  // Its own reply may suffer from what it did (within its worker), but it comes, once.
  await replyWithin(server, 3, 1_000 + GRACE_MS + MARGIN_MS, "vandal", sent);
  await server.send(ping("p"), call(4, "bystander"), listTools(5));
  assert.equal(
    (await replyWithin(server, "p", QUICK_MS, "ping after vandal")).line,
    pingReply("p"),
  );
  assert.equal(
    (await replyWithin(server, 4, QUICK_MS, "bystander after vandal")).line,
    bystander(4),
  );
  assert.equal(
    (await replyWithin(server, 5, QUICK_MS, "tools/list after vandal")).line,
    listed.replace(`"id":1,`, `"id":5,`),
  );
});

// 6. Stdout carries replies only.

const STDOUT_ROUTES = [
  "console.log",
  "Deno.stdout.writeSync",
  "process.stdout.write",
  "node:process stdout",
  "fs.writeSync(1)",
];

Deno.test("every stdout route a tool takes in its worker reaches stderr; stdout carries the exact replies only", async () => {
  await using running = await startServer({
    "noisy.ts": fixture({
      header: `import process, { stdout as namedStdout } from "node:process";
import fs from "node:fs";`,
      run: `() => {
        console.log("console.log in run");
        Deno.stdout.writeSync(new TextEncoder().encode("Deno.stdout.writeSync in run\\n"));
        process.stdout.write("process.stdout.write in run\\n");
        namedStdout.write("node:process stdout in run\\n");
        fs.writeSync(1, "fs.writeSync(1) in run\\n");
        return "done";
      }`,
    }),
  });
  await routesReachStderr(running, "noisy", STDOUT_ROUTES);
});

/**
 * Calls tool `name`, which writes "<route> in run" by each of `routes` and returns "done";
 * each line must reach stderr, and stdout carry exactly the replies.
 */
async function routesReachStderr(
  { server }: Running,
  name: string,
  routes: readonly string[],
): Promise<void> {
  await server.send(call(1, name));
  await replyWithin(server, 1, QUICK_MS, name);
  for (const route of routes) {
    await stderrWithin(
      server,
      new RegExp(`${escape(route)} in run`),
      QUICK_MS,
      route,
    );
  }
  await server.send(ping("p"));
  await replyWithin(server, "p", QUICK_MS, `ping after ${name}`);
  await server.closeStdin();
  assert.equal((await server.exit(QUICK_MS)).code, 0);
  assert.deepEqual(server.stdout.lines, [textReply(1, "done"), pingReply("p")]);
}

/** Routes to fd 1 no guard inside a worker reaches: the server moves its streams off fd 1. */
const FD1_ROUTES = [
  "named writeSync(1)",
  "namespace writeSync(1)",
  "writeFileSync(1)",
  "appendFileSync(1)",
  "createWriteStream fd 1",
  "child with inherited stdout",
];

Deno.test("writes to fd 1 that no in-process guard reaches (named node:fs imports, writeFileSync, a child's inherited stdout) reach stderr; stdout carries the exact replies only", async () => {
  await using running = await startServer({
    "raw.ts": fixture({
      header: `import { writeSync } from "node:fs";
import * as namespace from "node:fs";`,
      permissions: { run: ["sh"] },
      run: `async () => {
        writeSync(1, "named writeSync(1) in run\\n");
        namespace.writeSync(1, "namespace writeSync(1) in run\\n");
        namespace.writeFileSync(1, "writeFileSync(1) in run\\n");
        namespace.appendFileSync(1, "appendFileSync(1) in run\\n");
        const stream = namespace.createWriteStream("", { fd: 1, autoClose: false });
        await new Promise((resolve) => stream.write("createWriteStream fd 1 in run\\n", resolve));
        const child = new Deno.Command("sh", {
          args: ["-c", "echo child with inherited stdout in run"],
          stdout: "inherit",
        }).spawn();
        await child.status;
        return "done";
      }`,
    }),
  });
  await routesReachStderr(running, "raw", FD1_ROUTES);
});

/** Tries to open libc at each of its usual paths; the distinct outcomes, joined. */
const TRY_LIBC = `(() => {
  const why = ${JSON.stringify(LIBC_PATHS)}.map((path) => {
    try {
      Deno.dlopen(path, { getpid: { parameters: [], result: "i32" } });
      return "opened " + path;
    } catch (error) {
      return (error as Error).name;
    }
  });
  return [...new Set(why)].join(", ");
})()`;

Deno.test("a tool cannot open libc by FFI, which the server held to move its streams: not in its run, not at its top level when the probe (with the server's permissions) lists it", async () => {
  await using running = await startServer({
    // No listing cache: the file is probed, its top level evaluated with what the process holds.
    "native.ts": {
      source: `import { defineTool } from "tooldrop";
const TOP = ${TRY_LIBC};
export default defineTool({
  description: "At top level: " + TOP,
  run: () => "in run: " + ${TRY_LIBC},
});
`,
      permissions: undefined,
    },
  });
  const { server } = running;
  await server.send(listTools(1), call(2, "native"));
  const listed = await replyWithin(server, 1, QUICK_MS, "tools/list");
  assert.match(listed.line, /"description":"At top level: NotCapable"/);
  const reply = await replyWithin(server, 2, QUICK_MS, "native");
  assert.equal(reply.line, textReply(2, "in run: NotCapable"));
  await server.closeStdin();
  assert.equal((await server.exit(QUICK_MS)).code, 0);
});

// 7. What a tool declares, it gets.

Deno.test("a tool gets what it declares: a variable from the server's environment and a file outside the tools folder", async () => {
  const outside = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "tooldrop-outside-" }),
  );
  try {
    await Deno.writeTextFile(`${outside}/note.txt`, "read from outside");
    await using running = await startServer({
      "greeter.ts": fixture({
        permissions: { env: ["ISOLATION_GREETING"] },
        run: `() => Deno.env.get("ISOLATION_GREETING") ?? "unset"`,
      }),
      "peruser.ts": fixture({
        permissions: { read: [outside] },
        run: `() => Deno.readTextFile(${
          JSON.stringify(`${outside}/note.txt`)
        })`,
      }),
    }, { env: { ISOLATION_GREETING: "hello from the env" } });
    const { server } = running;
    await server.send(call(1, "greeter"), call(2, "peruser"));
    assert.equal(
      (await replyWithin(server, 1, QUICK_MS, "greeter")).line,
      textReply(1, "hello from the env"),
    );
    assert.equal(
      (await replyWithin(server, 2, QUICK_MS, "peruser")).line,
      textReply(2, "read from outside"),
    );
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

/** Asserts what the issue fixes of a denial: the tool, the kind, the value, the line to add. */
function assertDenial(text: string, tool: string, kind: string, value: string) {
  assert.ok(text.includes(`"${tool}"`), `the tool's name is missing: ${text}`);
  assert.ok(text.includes(kind), `the permission kind is missing: ${text}`);
  assert.ok(text.includes(value), `the denied value is missing: ${text}`);
  assert.match(
    text,
    new RegExp(`permissions:[^\\n]*${kind}`),
    `no "permissions:" line to add: ${text}`,
  );
}

/** A local HTTP server answering `text`, for a tool to fetch; disposing shuts it down. */
function serveText(text: string) {
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(text),
  );
  return {
    port: http.addr.port,
    [Symbol.asyncDispose]: () => http.shutdown(),
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
