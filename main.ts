/**
 * @module
 * tooldrop's entry point: wires the real process (stdin, stdout, stderr, arguments, signals,
 * exit) to the command line in src/cli/mod.ts, and installs the process-wide guards that keep
 * tool code off stdout. The only file that touches them.
 */

import { guardNodeStdout, protectProcess } from "./src/util/guards.ts";
import { dropFfi, giveUpLibc, moveStdio } from "./src/util/stdio_fds.ts";
import { runCli } from "./src/cli/mod.ts";
import { StderrSink } from "./src/cli/stderr_sink.ts";

/** At exit, how long the last log lines may take to reach a stderr that is slow to read. */
const STDERR_FLUSH_MS = 200;

if (import.meta.main) {
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop.abort());
    } catch {
      // This platform has no such signal (SIGTERM on Windows).
    }
  }
  // Logging never waits for the reader of stderr, and holds at most 1 MiB for it.
  const stderr = new StderrSink(Deno.stderr);
  // Read and written directly: the web streams would add milliseconds of start-up.
  const stdout = Deno.stdout;
  // From here on a tool that writes to Deno.stdout lands on stderr; only `stdout` reaches fd 1.
  Object.defineProperty(Deno, "stdout", {
    value: Deno.stderr,
    configurable: true,
  });
  // The guards keep the server up when a tool's promise rejects unhandled; a failure of the
  // server itself must end the process, with the reason, rather than leave it silent.
  const code = await (async () => {
    try {
      return await runCli({
        args: Deno.args,
        stdin: Deno.stdin,
        stdout,
        stderr: (text) => stderr.write(text),
        env: (name) => {
          try {
            return Deno.env.get(name);
          } catch {
            return undefined; // not permitted: the same as unset
          }
        },
        toolsDir: new URL("./tools/", import.meta.url),
        promptsDir: new URL("./prompts/", import.meta.url),
        resourcesDir: new URL("./resources/", import.meta.url),
        cwd: () => Deno.cwd(),
        stdinIsTerminal: Deno.stdin.isTerminal(),
        entry: Deno.build.standalone ? undefined : new URL(import.meta.url),
        manifest: Deno.build.standalone
          ? () => import("./tools/_manifest.ts")
          : undefined,
        signal: stop.signal,
        guards: {
          console: (log, uncaught) => protectProcess(globalThis, log, uncaught),
          nodeStdout: guardNodeStdout,
          moveStdio,
          giveUpLibc,
          dropFfi,
        },
      });
    } catch (error) {
      stderr.write(
        `tooldrop stopped on an internal error: ${
          error instanceof Error ? error.stack ?? error.message : String(error)
        }\n`,
      );
      return 70; // EX_SOFTWARE
    }
  })();
  await stderr.flush(STDERR_FLUSH_MS);
  Deno.exit(code);
}
