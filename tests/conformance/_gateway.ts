// The bridge of run.ts: supergateway serving Streamable HTTP on a free port, each session its
// own `main.ts serve` of the fixtures over stdio, and its log in one file.

import { answers, appendAll, freePort } from "./_process.ts";
import { NPM_FLAGS, ROOT } from "./_npm.ts";

const GATEWAY = "npm:supergateway@4.0.0";
const FIXTURE_TOOLS = "tests/conformance/fixtures/tools";
const GATEWAY_START_TIMEOUT_MS = 30_000;
/** Idle sessions end (and their tooldrop process with them) after this long. */
const SESSION_TIMEOUT_MS = 10_000;
/** supergateway gives its children 5 s after SIGTERM; this is that and some. */
const GATEWAY_STOP_GRACE_MS = 8_000;

/**
 * Runs the gateway ("$@") until this shell's stdin closes, then stops it with SIGTERM (it then
 * stops each session's process: SIGTERM, SIGKILL after 5 s) and exits with its status. Under
 * Deno the gateway does not notice its own stdin close; this way it stops when run.ts closes
 * the pipe or dies, however it dies. (fd 3: sh gives a background job /dev/null as stdin.)
 */
const WATCHDOG = `exec 3<&0
"$@" </dev/null &
gateway=$!
(cat <&3 >/dev/null; kill -TERM "$gateway" 2>/dev/null) &
watchdog=$!
wait "$gateway"
status=$?
kill "$watchdog" 2>/dev/null
exit "$status"`;

/** A running gateway. */
export interface Gateway {
  /** Its MCP endpoint. */
  url: string;
  /** Stops it and every tooldrop process it started; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts supergateway on a free port, bridging each HTTP session to its own `main.ts serve`,
 * and resolves once it answers; its output goes to `logPath`.
 */
export async function startGateway(
  logPath: string,
  signal: AbortSignal,
): Promise<Gateway> {
  const port = freePort();
  const serve = [
    Deno.execPath(),
    "run",
    "--no-prompt",
    "--frozen",
    "--allow-read=.",
    "--allow-env=TOOLDROP_LOG",
    "main.ts",
    "serve",
    "--tools",
    FIXTURE_TOOLS,
  ].map(shellQuote).join(" ");
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      WATCHDOG,
      "sh",
      Deno.execPath(),
      "run",
      ...NPM_FLAGS,
      // It starts a shell for each session, so no narrower permission would hold anyway.
      "--allow-all",
      GATEWAY,
      "--stdio",
      serve,
      "--outputTransport",
      "streamableHttp",
      "--stateful",
      "--sessionTimeout",
      String(SESSION_TIMEOUT_MS),
      "--port",
      String(port),
      "--healthEndpoint",
      "/healthz",
      "--logLevel",
      "info",
    ],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // The gateway logs to both streams; one file, appended to, keeps them in order.
  const log = await Deno.open(logPath, { append: true, create: true });
  const copied = Promise.all([
    appendAll(child.stdout, log),
    appendAll(child.stderr, log),
  ]).catch(() => {}).finally(() => log.close());
  const exited = child.status;
  let stopping: Promise<void> | undefined;
  const gateway: Gateway = {
    url: `http://127.0.0.1:${port}/mcp`,
    stop: () =>
      stopping ??= (async () => {
        await child.stdin.close().catch(() => {});
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, GATEWAY_STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
        await copied;
      })(),
  };
  const deadline = Date.now() + GATEWAY_START_TIMEOUT_MS;
  let gone = false;
  exited.then(() => gone = true);
  while (!(await answers(`http://127.0.0.1:${port}/healthz`))) {
    if (gone || signal.aborted || Date.now() > deadline) {
      await gateway.stop();
      throw new Error(
        gone
          ? `supergateway exited before it answered: ${await tail(logPath)}`
          : signal.aborted
          ? "interrupted"
          : `supergateway did not answer within ${GATEWAY_START_TIMEOUT_MS} ms: ${await tail(
            logPath,
          )}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return gateway;
}

async function tail(path: string): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trim().slice(-2000);
  } catch {
    return "(no log)";
  }
}

/** `value` as one word for sh. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value)
    ? value
    : `'${value.replaceAll("'", `'\\''`)}'`;
}
