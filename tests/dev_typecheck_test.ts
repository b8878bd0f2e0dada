/**
 * `dev`'s type check on save. End to end, on a copy of the project with the real `deno check`:
 * a tool with type errors reloads first (list_changed), then one block names each error by
 * file:line:column, the call that fails on one says what happened, and a fixing save prints
 * "types OK". In this process, over a stand-in check program that a test answers through a
 * socket (no sleeps): which tools a save concerns, one check at a time with saves during it
 * checked together after it, the wait for the reload, the time bound, the kill at close, and
 * how errors are cut short.
 */

import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { projectCopy, ServerProcess, tempDir } from "./spawn.ts";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { TypeChecker } from "../src/cli/dev/typecheck.ts";
import { Logger } from "../src/util/log.ts";

/** Two type errors: line 3, and the empty list passed where a path belongs on line 9. */
const BAD = `import { z } from "zod";
import { defineTool } from "tooldrop";
const limit: number = "10";
const paths: string[] = [];
export default defineTool({
  description: "Reads the first file.",
  input: z.object({}),
  run: async () =>
    (await Deno.readTextFile(paths)).slice(0, limit),
});
`;

const GOOD = BAD.replace(`"10"`, "10").replace(
  "readTextFile(paths)",
  'readTextFile(paths[0] ?? "tools/bad.ts")',
);

Deno.test("dev: a tool with type errors reloads first, then one block names each error; its failing call says why; a fix prints types OK", async () => {
  await using project = await projectCopy();
  const devArgs = denoJson.tasks.dev.split(" ").slice(1);
  const server = new ServerProcess(
    [
      ...devArgs.map((a) => (a === "main.ts" ? `${project.path}/main.ts` : a)),
      "--log-level",
      "debug",
    ],
    { cwd: project.path },
  );
  await server.send(initialize(1), initialized(), listTools(2));
  await server.reply(2);
  await server.stderr.waitFor(/serving 2 tool\(s\)/);

  await Deno.writeTextFile(`${project.path}/tools/bad.ts`, BAD);
  await server.stdout.waitFor(/notifications\/tools\/list_changed/);
  // The reload did not wait for the check: it has not even reported yet.
  assert.doesNotMatch(server.stderr.text, /dev: deno check/);
  await server.stderr.waitFor(/dev: deno check tools\/bad\.ts: /);
  const text = server.stderr.text;
  // Started once the child had reloaded the file. Both write to this stderr, the child through
  // its own buffer: their clock orders them, not the order their lines arrive in.
  const stamp = (pattern: RegExp) =>
    Date.parse(new RegExp(`^(\\S+) .*${pattern.source}`, "m").exec(text)![1]!);
  assert.ok(
    stamp(/Loaded tool "bad" \(tools\/bad\.ts\)/) <=
      stamp(/dev: checking types: tools\/bad\.ts/),
    text,
  );
  const block = text.slice(text.indexOf("dev: deno check tools/bad.ts: "))
    .split("\n");
  assert.match(
    block[0]!,
    /^dev: deno check tools\/bad\.ts: 2 type errors \(the server runs the code all the same\); checked in \d+\.\d s$/,
  );
  assert.deepEqual(block.slice(1, 3), [
    "  tools/bad.ts:3:7 type error TS2322: Type 'string' is not assignable to type 'number'.",
    "  tools/bad.ts:9:30 type error TS2345: Argument of type 'string[]' is not assignable to parameter of type 'string | URL'.",
  ]);
  assert.doesNotMatch(block[3] ?? "", /^ {2}/);

  // The call fails on the second error, and says so rather than only Deno's words.
  await server.send(call(3, "bad", {}));
  assert.deepEqual((await server.reply(3)).result, {
    content: [{
      type: "text",
      text:
        'Tool "bad" failed: it passed an empty path to a file operation (Deno: "Empty path is not allowed"); its code gave "" or a value whose text is empty, such as [], where a path belongs',
    }],
    isError: true,
  });

  await Deno.writeTextFile(`${project.path}/tools/bad.ts`, GOOD);
  await server.stderr.waitFor(/dev: types OK: tools\/bad\.ts\n/);
  assert.equal(server.stderr.text.match(/dev: deno check /g)?.length, 1);
  await server.send(call(4, "bad", {}));
  assert.deepEqual((await server.reply(4)).result, {
    content: [{ type: "text", text: GOOD.slice(0, 10) }],
  });
  await server.closeStdin();
  assert.equal((await server.exit()).code, 0);
});

// A stand-in for `deno check`: sends the test its arguments over a socket, then prints what the
// test answers to stderr and exits with the code it names. Killed, its socket closes.
const FAKE_CHECK = `
const [port, ...files] = Deno.args;
const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
await conn.write(new TextEncoder().encode(JSON.stringify(files) + "\\n"));
let text = "";
const buffer = new Uint8Array(65536);
while (!text.endsWith("\\n")) {
  const n = await conn.read(buffer);
  if (n === null) Deno.exit(3);
  text += new TextDecoder().decode(buffer.subarray(0, n));
}
const { out, code } = JSON.parse(text);
Deno.stderr.writeSync(new TextEncoder().encode(out));
Deno.exit(code);
`;

/** `promise`, or a failure naming `what` after 20 s: a check that never comes must not hang. */
async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Waited 20 s for ${what}`)),
      20_000,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One run of the stand-in: the files it was given (relative to the project). */
interface Check {
  files: string[];
  /** Makes it print `out` and exit with `code`. */
  answer(out: string, code: number): Promise<void>;
  /** Resolves when its process has ended (its socket closed). */
  ended(): Promise<void>;
}

/**
 * A project folder with `files`, a TypeChecker on it that runs the stand-in, and its log; `next`
 * resolves with each run of the stand-in, in the order they connect.
 */
async function fakeChecks(
  files: Record<string, string>,
  options: { timeoutMs?: number; reloadWaitMs?: number } = {},
) {
  const project = await tempDir({ ...files, "fake_check.ts": FAKE_CHECK });
  const root = `${project.path}/`;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  const log = new Logger({
    level: "debug",
    now: () => new Date(0),
    write: (text) => {
      lines.push(...text.slice(0, -1).split("\n"));
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const checker = new TypeChecker({
    root,
    toolsDir: new URL(`file://${root}tools/`),
    log,
    command: [
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      `${root}fake_check.ts`,
      String(listener.addr.port),
    ],
    ...options,
  });
  const conns: Deno.Conn[] = [];
  return {
    checker,
    lines,
    /** The project folder, with a trailing slash. */
    root,
    /** The next run of the stand-in, once it has connected. */
    async next(): Promise<Check> {
      const conn = await within(listener.accept(), "a check to start");
      conns.push(conn);
      const buffer = new Uint8Array(65536);
      let text = "";
      while (!text.endsWith("\n")) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error("The stand-in ended before saying");
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      const ended = (async () => {
        while (await conn.read(buffer) !== null) {
          // nothing more is sent
        }
      })();
      return {
        files: (JSON.parse(text) as string[]).map((file) =>
          file.slice(root.length)
        ),
        answer: async (out, code) => {
          await conn.write(
            new TextEncoder().encode(`${JSON.stringify({ out, code })}\n`),
          );
          await ended;
        },
        ended: () => within(ended, "a check to end"),
      };
    },
    /** Resolves once a log line matches `pattern`. */
    async logged(pattern: RegExp): Promise<void> {
      while (!lines.some((line) => pattern.test(line))) {
        await within(
          new Promise<void>((resolve) => waiters.push(resolve)),
          `a log line matching ${pattern}`,
        );
      }
    },
    async [Symbol.asyncDispose]() {
      await checker.close();
      for (const conn of conns) conn.close();
      listener.close();
      await project[Symbol.asyncDispose]();
    },
  };
}

const TOOL = `export default {};\n`;

Deno.test("dev's type check: one check at a time, after the reload; saves during a check are checked together after it", async () => {
  await using fake = await fakeChecks({
    "tools/a.ts": TOOL,
    "tools/b.ts": TOOL,
    "tools/c.ts": TOOL,
  }, { reloadWaitMs: 60_000 });
  fake.checker.saved(["tools/a.ts"]);
  // The child's list_changed lets it start (the wait without one is a minute here).
  fake.checker.reloaded();
  const first = await fake.next();
  assert.deepEqual(first.files, ["tools/a.ts"]);
  fake.checker.saved(["tools/b.ts"]);
  fake.checker.saved(["tools/a.ts", "tools/c.ts"]);
  fake.checker.reloaded();
  await first.answer("", 0);
  // Had a second check started while the first ran, it would have had b.ts alone.
  const second = await fake.next();
  assert.deepEqual(second.files, ["tools/a.ts", "tools/b.ts", "tools/c.ts"]);
  await second.answer("", 0);
  await fake.logged(/checked types of tools\/a\.ts, tools\/b\.ts/);
  // In this order: the second check began after the first had ended.
  assert.deepEqual(
    untimed(
      fake.lines.filter((line) => / dev: check(?:ing|ed) types/.test(line)),
    ),
    [
      "1970-01-01T00:00:00.000Z debug   dev: checking types: tools/a.ts",
      "1970-01-01T00:00:00.000Z debug   dev: checked types of tools/a.ts in … s",
      "1970-01-01T00:00:00.000Z debug   dev: checking types: tools/a.ts, tools/b.ts, tools/c.ts",
      "1970-01-01T00:00:00.000Z debug   dev: checked types of tools/a.ts, tools/b.ts, tools/c.ts in … s",
    ],
  );
});

Deno.test("dev's type check: without list_changed (a save that lists the same) a check starts once the reload wait has passed", async () => {
  await using fake = await fakeChecks({ "tools/a.ts": TOOL }, {
    reloadWaitMs: 300,
  });
  const saved = performance.now();
  fake.checker.saved(["tools/a.ts"]);
  const check = await fake.next();
  assert.ok(performance.now() - saved >= 300);
  await check.answer("", 0);
});

Deno.test("dev's type check: a saved helper checks the tools that import it, directly or through another; not the others, a deleted tool or the manifest", async () => {
  await using fake = await fakeChecks({
    "tools/a.ts": `import { x } from "./_h.ts";\nexport default x;\n`,
    "tools/b.ts": `import { y } from './lib/mid.ts';\nexport default y;\n`,
    "tools/lib/mid.ts": `export { x as y } from "../_h.ts";\n`,
    "tools/c.ts": `import { z } from "zod";\nexport default z;\n`,
    "tools/_h.ts": `export const x = 1;\n`,
  }, { reloadWaitMs: 0 });
  fake.checker.saved(["tools/_h.ts"]);
  const helper = await fake.next();
  assert.deepEqual(helper.files, ["tools/a.ts", "tools/b.ts"]);
  await helper.answer("", 0);
  // Outside tools/, the manifest and a test are not checked; a tool that is gone neither.
  fake.checker.saved(["src/mod.ts", "tools/_manifest.ts", "tools/gone.ts"]);
  fake.checker.saved(["tools/c_test.ts", "tools/notes.md", "tools/c.ts"]);
  const saved = await fake.next();
  assert.deepEqual(saved.files, ["tools/c.ts"]);
  await saved.answer("", 0);
});

/** Log lines with the time a check took (`in 1.6 s` at the end) left out. */
function untimed(lines: string[]): string[] {
  return lines.map((line) => line.replace(/\bin \d+\.\d s$/, "in … s"));
}

/** `deno check` output (Deno 2.9, NO_COLOR) for `count` errors in tools/a.ts and src/x.ts. */
function checkOutput(count: number): string {
  let text = "";
  for (let i = 1; i <= count; i++) {
    const file = i % 2 ? "tools/a.ts" : "src/x.ts";
    text +=
      `TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.\n  More detail ${i}.\nconst n: number = "x";\n      ^\n    at file://ROOT${file}:${i}:7\n\n`;
  }
  return `${text}Found ${count} errors.\n\nerror: Type checking failed.\n`;
}

Deno.test("dev's type check: errors are one block, file:line:column each, cut at 8 with how many more; types OK only for a tool that had failed", async () => {
  await using fake = await fakeChecks({
    "tools/a.ts": TOOL,
    "tools/b.ts": TOOL,
  }, { reloadWaitMs: 0 });
  fake.checker.saved(["tools/a.ts"]);
  const failing = await fake.next();
  await failing.answer(checkOutput(10).replaceAll("ROOT", fake.root), 1);
  await fake.logged(/^ {2}and 2 more$/);
  const at = fake.lines.findIndex((line) => line.includes("dev: deno check"));
  assert.deepEqual(untimed(fake.lines.slice(at)), [
    "1970-01-01T00:00:00.000Z warning dev: deno check tools/a.ts: 10 type errors (the server runs the code all the same); checked in … s",
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) =>
      `  ${
        i % 2 ? "tools/a.ts" : "src/x.ts"
      }:${i}:7 type error TS2322: Type 'string' is not assignable to type 'number'.`
    ),
    "  and 2 more",
  ]);

  // b.ts had not failed: its clean check says nothing above debug; a.ts's says types OK.
  fake.checker.saved(["tools/b.ts"]);
  await (await fake.next()).answer("", 0);
  fake.checker.saved(["tools/a.ts"]);
  await (await fake.next()).answer("", 0);
  await fake.logged(/types OK/);
  assert.deepEqual(
    fake.lines.slice(at + 10).filter((line) => !line.includes(" debug ")),
    ["1970-01-01T00:00:00.000Z info    dev: types OK: tools/a.ts"],
  );

  // A failure with no type error read (a module not found) shows deno's own lines, the file
  // named as above.
  fake.checker.saved(["tools/b.ts"]);
  await (await fake.next()).answer(
    `error: Module not found "file://${fake.root}tools/nope.ts".\n    at file://${fake.root}tools/b.ts:1:15\n`,
    1,
  );
  await fake.logged(/Module not found/);
  assert.deepEqual(untimed(fake.lines.slice(-3)), [
    "1970-01-01T00:00:00.000Z warning dev: deno check tools/b.ts: failed; checked in … s",
    `  error: Module not found "file://${fake.root}tools/nope.ts".`,
    "      at tools/b.ts:1:15",
  ]);
});

Deno.test("dev's type check: a check over its time bound is killed and abandoned with a note; the next save checks again", async () => {
  await using fake = await fakeChecks({ "tools/a.ts": TOOL }, {
    reloadWaitMs: 0,
    timeoutMs: 300,
  });
  fake.checker.saved(["tools/a.ts"]);
  const stuck = await fake.next();
  await stuck.ended();
  await fake.logged(/abandoned/);
  assert.ok(fake.lines.includes(
    "1970-01-01T00:00:00.000Z warning dev: deno check tools/a.ts took over 0.3 s and was abandoned; the next save checks again",
  ));
  fake.checker.saved(["tools/a.ts"]);
  const again = await fake.next();
  assert.deepEqual(again.files, ["tools/a.ts"]);
  await again.answer("", 0);
});

Deno.test("dev's type check: close kills the check under way and reports nothing of it", async () => {
  await using fake = await fakeChecks({ "tools/a.ts": TOOL }, {
    reloadWaitMs: 0,
  });
  fake.checker.saved(["tools/a.ts"]);
  const running = await fake.next();
  await within(fake.checker.close(), "close to end the check");
  await running.ended();
  fake.checker.saved(["tools/a.ts"]);
  assert.deepEqual(
    fake.lines.filter((line) => !line.includes(" debug ")),
    [],
  );
});
