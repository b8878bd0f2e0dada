import assert from "node:assert/strict";
import { formatArgs, redirectConsole } from "../src/util/_console.ts";
import { runCli } from "../src/cli/mod.ts";
import { parseArgs } from "../src/cli/options.ts";
import { Logger } from "../src/util/log.ts";
import { VERSION } from "../src/server/protocol.ts";
import { call, jsonLines, listTools, ping } from "./requests.ts";
import { fakeIo } from "./wire.ts";

Deno.test("parseArgs reads the command and options, in either --flag value or --flag=value form", () => {
  assert.deepEqual(parseArgs([]), {
    command: "serve",
    maxLineBytes: 64 * 1024 * 1024,
    logLevel: undefined,
    check: false,
    toolsDir: undefined,
    name: undefined,
    watch: false,
    devChild: false,
    positionals: [],
    json: false,
    client: undefined,
    scope: undefined,
    project: undefined,
    force: false,
    env: [],
    targets: [],
  });
  const parsed = parseArgs([
    "serve",
    "--log-level=debug",
    "--max-line-bytes",
    "1024",
    "--tools",
    "x",
  ]);
  assert.equal(parsed.logLevel, "debug");
  assert.equal(parsed.maxLineBytes, 1024);
  assert.equal(parsed.toolsDir, "x");
  assert.equal(parseArgs(["--name", "notes"]).name, "notes");
  assert.equal(parseArgs(["manifest", "--check"]).check, true);
});

Deno.test("parseArgs rejects what it does not know, saying what is wrong", () => {
  assert.throws(() => parseArgs(["--nope"]), /Unknown option "--nope"/);
  assert.throws(
    () => parseArgs(["frobnicate"]),
    /Unknown command "frobnicate"/,
  );
  assert.throws(
    () => parseArgs(["--log-level", "loud"]),
    /Unknown log level "loud"; use one of debug/,
  );
  assert.throws(
    () => parseArgs(["--max-line-bytes", "-1"]),
    /positive whole number/,
  );
  assert.throws(() => parseArgs(["--max-line-bytes"]), /needs a value/);
  assert.throws(
    () => parseArgs(["--name", "my notes"]),
    /The server name "my notes" must be 1 to 64/,
  );
});

Deno.test("--version and --help print to stdout and exit 0", async () => {
  const version = fakeIo(["--version"]);
  assert.equal(await runCli(version.io), 0);
  assert.equal(version.out.text, `tooldrop ${VERSION}\n`);
  // Written out in src/server/protocol.ts (workers may not read deno.json): the two agree.
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assert.equal(VERSION, config.version);
  const help = fakeIo(["--help"]);
  assert.equal(await runCli(help.io), 0);
  assert.match(help.out.text, /^ {2}serve \[--watch\] /m);
  assert.match(help.out.text, /^ {2}install \[--client C\]/m);
});

Deno.test("a bad command line exits 2 with the problem and a pointer to --help on stderr", async () => {
  // Without an entry, as in a compiled binary: the pointer names the binary's own path.
  const { io, out, errors } = fakeIo(["--bogus"]);
  assert.equal(await runCli(io), 2);
  assert.equal(out.text, "");
  assert.equal(
    errors.join(""),
    `Unknown option "--bogus"\nRun "${Deno.execPath()} --help" to see the commands and options.\n`,
  );
});

Deno.test("serve answers on stdout, logs on stderr, and TOOLDROP_LOG sets the level", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/hello.ts`,
      `export default { description: "Says hello.", run: () => "hello" };`,
    );
    const { io, out, errors } = fakeIo(["--tools", dir], {
      TOOLDROP_LOG: "debug",
    });
    io.stdin = ReadableStream.from([
      new TextEncoder().encode(
        jsonLines(ping(1), call(2, "hello")),
      ),
    ]);
    assert.equal(await runCli(io), 0);
    assert.equal(
      out.text,
      `{"jsonrpc":"2.0","id":1,"result":{}}\n{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"hello"}]}}\n`,
    );
    assert.match(
      errors.join(""),
      /info {4}tooldrop .* serving 1 tool\(s\) on stdio: hello/,
    );
    assert.match(errors.join(""), /debug {3}Stopped/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve with a broken tool file answers tool requests -32603, names the file, exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/broken.ts`, "export default 42;");
    const { io, out, errors } = fakeIo(["--tools", dir]);
    io.stdin = ReadableStream.from([
      new TextEncoder().encode(
        jsonLines(ping(1), listTools(2)),
      ),
    ]);
    assert.equal(await runCli(io), 1);
    assert.equal(
      out.text,
      `{"jsonrpc":"2.0","id":1,"result":{}}\n{"jsonrpc":"2.0","id":2,"error":{"code":-32603,"message":"Internal error: the server's tools failed to load (see its log)"}}\n`,
    );
    const text = errors.join("");
    assert.match(
      text,
      new RegExp(
        `Cannot load tool "${
          RegExp.escape(dir)
        }/broken.ts": it has no default export`,
      ),
    );
    assert.match(text, /Not serving: fix the tool file\(s\) above/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("manifest --check passes for a committed manifest that is current (the fixture tools')", async () => {
  const { io, errors } = fakeIo(["manifest", "--check"]);
  assert.equal(await runCli(io), 0);
  assert.equal(errors.join(""), "tools/_manifest.ts is up to date\n");
});

Deno.test("every console method goes to the logger, none to stdout", () => {
  const lines: string[] = [];
  const log = new Logger({
    level: "debug",
    write: (t) => lines.push(t),
    now: () => new Date(0),
  });
  const target = {} as Console;
  redirectConsole(target, log);
  target.log("log %s=%d", "a", 1);
  target.info({ b: 2 });
  target.debug("dbg");
  target.warn("careful");
  target.error(new Error("bad").message);
  target.dir({ c: 3 });
  target.table([{ d: 4 }]);
  target.count();
  target.count();
  target.time("t");
  target.timeEnd("t");
  target.group("g");
  target.log("inside");
  target.groupEnd();
  target.assert(false, "nope");
  target.trace("here");
  const text = lines.join("");
  for (
    const expected of [
      "info    log a=1",
      "info    { b: 2 }",
      "debug   dbg",
      "warning careful",
      "error   bad",
      "info    { c: 3 }",
      "info    [ { d: 4 } ]",
      "info    default: 2",
      "info    t: ",
      "info    g\n",
      "info      inside",
      "error   Assertion failed nope",
      "debug   here\nError: Trace",
    ]
  ) {
    assert.ok(
      text.includes(`1970-01-01T00:00:00.000Z ${expected}`),
      `missing "${expected}" in:\n${text}`,
    );
  }
});

Deno.test("formatArgs follows console.log's format specifiers", () => {
  assert.equal(
    formatArgs(["%s is %d years, %i, %f%%", "Ada", 36.5, 2.9, 1.5]),
    "Ada is 36.5 years, 2, 1.5%",
  );
  assert.equal(formatArgs(["%j %o", { a: 1 }, [1]]), '{"a":1} [ 1 ]');
  assert.equal(formatArgs(["%c styled", "color: red"]), " styled");
  assert.equal(formatArgs(["no args %s"]), "no args %s");
  assert.equal(formatArgs(["a", 1, null, undefined]), "a 1 null undefined");
});
