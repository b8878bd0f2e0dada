/**
 * @module
 * The `serve` command: logger, guards that keep tools off stdout, and the server, which answers
 * the handshake while the tools load (loading them pulls in zod and every tool file: most of
 * start-up), so a client's `initialize` is not kept waiting.
 */

import type { CliOptions, Io } from "./cli.ts";
import { redirectConsole } from "./console.ts";
import { isLogLevel, LOG_LEVELS, Logger } from "./log.ts";
import { DEFAULT_SERVER_INFO, VERSION } from "./protocol.ts";
import { serve } from "./server.ts";
import type { ToolSet } from "./toolset.ts";

/** Serves MCP on the process's stdio; resolves to the exit code. */
export async function runServe(io: Io, options: CliOptions): Promise<number> {
  const envLevel = io.env("TOOLDROP_LOG");
  const log = new Logger({
    level: options.logLevel ?? (isLogLevel(envLevel) ? envLevel : "info"),
    write: io.stderr,
  });
  if (envLevel !== undefined && !isLogLevel(envLevel) && !options.logLevel) {
    log.warn(
      `Ignoring TOOLDROP_LOG="${envLevel}": use one of ${
        LOG_LEVELS.join(", ")
      }`,
    );
  }
  const guardNodeStdout = io.global
    ? protectProcess(io.global, log)
    : undefined;
  const info = {
    ...DEFAULT_SERVER_INFO,
    name: options.name ?? DEFAULT_SERVER_INFO.name,
  };
  let loading: Promise<ToolSet | undefined> | undefined;
  const load = async () => {
    const tools = await (loading = loadInBackground(io, log, info.name));
    if (!tools) throw new Error("the tools did not load");
    // Before any tool runs, and off the handshake's path: it boots Node compatibility (~10 ms).
    guardNodeStdout?.();
    return tools;
  };
  await serve({
    readable: io.stdin,
    writable: io.stdout,
    tools: load, // called once the handshake is answered: see ServeOptions.tools
    info,
    log,
    maxLineBytes: options.maxLineBytes,
    signal: io.signal,
  });
  log.debug("Stopped");
  return loading && !(await loading) ? 1 : 0;
}

/** Loads the tools off the start-up path; undefined (with the reasons logged) when they fail. */
async function loadInBackground(
  io: Io,
  log: Logger,
  serverName: string,
): Promise<ToolSet | undefined> {
  const { loadTools } = await import("./load.ts");
  const tools = await loadTools({
    toolsDir: io.toolsDir,
    manifest: io.manifest,
    serverName,
    log,
  });
  if (tools) {
    log.info(
      `tooldrop ${VERSION} serving ${tools.tools.length} tool(s) on stdio: ${
        tools.tools.map((t) => t.name).join(", ") || "(none)"
      }`,
    );
  }
  return tools;
}

/**
 * Keeps tools from writing to stdout or crashing the process with an uncaught error. Returns
 * the step that also points Node's `process.stdout` at stderr: touching `process` boots Node
 * compatibility (about 10 ms), so it runs once the tools are loaded instead of at start-up.
 */
function protectProcess(
  global: NonNullable<Io["global"]>,
  log: Logger,
): () => void {
  redirectConsole(global.console, log);
  global.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error(
      "A promise rejected and nothing handled it (the server keeps running)",
      event.reason,
    );
  });
  global.addEventListener("error", (event) => {
    event.preventDefault();
    log.error("An uncaught exception (the server keeps running)", event.error);
  });
  return () => {
    // The global, not an import of node:process, which alone costs ~8 ms of start-up.
    const process = (globalThis as { process?: { stderr: unknown } }).process;
    if (process) {
      Object.defineProperty(process, "stdout", {
        get: () => process.stderr,
        configurable: true,
      });
    }
  };
}
