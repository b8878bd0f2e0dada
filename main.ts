/**
 * @module
 * tooldrop's entry point: wires the real process (stdin, stdout, stderr, arguments, signals,
 * exit) to the command line in src/cli.ts. The only file that touches them.
 */

import { runCli } from "./src/cli.ts";

if (import.meta.main) {
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop.abort());
    } catch {
      // This platform has no such signal (SIGTERM on Windows).
    }
  }
  const encoder = new TextEncoder();
  // Read and written directly: the web streams would add milliseconds of start-up.
  const stdout = Deno.stdout;
  // From here on a tool that writes to Deno.stdout lands on stderr; only `stdout` reaches fd 1.
  Object.defineProperty(Deno, "stdout", {
    value: Deno.stderr,
    configurable: true,
  });
  const code = await runCli({
    args: Deno.args,
    stdin: Deno.stdin,
    stdout,
    stderr: (text) => {
      const bytes = encoder.encode(text);
      for (let done = 0; done < bytes.length;) {
        done += Deno.stderr.writeSync(bytes.subarray(done));
      }
    },
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // not permitted: the same as unset
      }
    },
    toolsDir: new URL("./tools/", import.meta.url),
    cwd: () => Deno.cwd(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    entry: Deno.build.standalone ? undefined : new URL(import.meta.url),
    manifest: Deno.build.standalone
      ? () => import("./tools/_manifest.ts")
      : undefined,
    signal: stop.signal,
    global: globalThis,
  });
  Deno.exit(code);
}
