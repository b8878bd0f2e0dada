// The server of `run.ts --http`: `main.ts serve --http` of the fixtures on a free loopback port,
// no bridge: the suite talks to tooldrop's own Streamable HTTP. Its stderr goes to one log file.

import { answers, appendAll, freePort } from "./_process.ts";
import type { Gateway } from "./_gateway.ts";
import { ROOT } from "./_npm.ts";

const FIXTURE_TOOLS = "tests/conformance/fixtures/tools";
const START_TIMEOUT_MS = 30_000;
/** The server's grace for running calls is 500 ms; this is that and its flush, and some. */
const STOP_GRACE_MS = 5_000;
/**
 * How the server starts, before its address. `--sse-hold 1` lets a legacy call's SSE connection
 * go after a second (fixtures/tools/test_reconnection.ts outlasts it: server-sse-polling).
 */
const ENTRY = [
  "main.ts",
  "serve",
  "--tools",
  FIXTURE_TOOLS,
  "--sse-hold",
  "1",
  "--http",
];

/** Starts `serve --http` on a free port; resolves once `/healthz` answers. */
export async function startHttpServer(
  logPath: string,
  signal: AbortSignal,
): Promise<Gateway> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--frozen",
      "--allow-read=.",
      "--allow-env=TOOLDROP_LOG",
      `--allow-net=127.0.0.1:${port}`,
      ...ENTRY,
      `127.0.0.1:${port}`,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const log = await Deno.open(logPath, { append: true, create: true });
  const copied = Promise.all([
    appendAll(child.stdout, log),
    appendAll(child.stderr, log),
  ]).catch(() => {}).finally(() => log.close());
  const exited = child.status;
  let stopping: Promise<void> | undefined;
  const server: Gateway = {
    url: `http://127.0.0.1:${port}/mcp`,
    stop: () =>
      stopping ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        await copied;
      })(),
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  let gone = false;
  exited.then(() => gone = true);
  while (!(await answers(`http://127.0.0.1:${port}/healthz`))) {
    if (gone || signal.aborted || Date.now() > deadline) {
      await server.stop();
      throw new Error(
        gone
          ? `serve --http exited before it answered; see ${logPath}`
          : signal.aborted
          ? "interrupted"
          : `serve --http did not answer within ${START_TIMEOUT_MS} ms; see ${logPath}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return server;
}
