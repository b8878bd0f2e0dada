/**
 * @module
 * What the tool commands (`list`, `call`) share: loading the tools the way the server would
 * (each call in its tool's worker), with a logger that keeps to warnings so
 * that a command's output is its result.
 */

import { existingFolders, type Io, servedFolders } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { loadTools } from "../loading/load.ts";
import { WorkerHost } from "../loading/worker/host.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import type { ToolSet } from "../tool/served.ts";
import { Logger } from "../util/log.ts";

/**
 * The tools, loaded as `serve` would; undefined when they fail, with each broken file's error
 * logged as the server logs it and then `refusal` (`Cannot list the tools`) and what to do.
 * Their calls run in workers, as served, and each worker stops as soon as its calls have ended,
 * so none outlives the command.
 */
export async function loadForCommand(
  io: Io,
  options: CliOptions,
  refusal: string,
): Promise<ToolSet | undefined> {
  const log = commandLogger(io, options);
  return await loadTools({
    toolsDir: io.toolsDir,
    ...servedFolders(io),
    manifest: io.manifest,
    serverName: options.name ?? DEFAULT_SERVER_INFO.name,
    log,
    refusal,
    // The tool's own console output shows (at info), as when it runs in a terminal.
    host: new WorkerHost({
      toolsDir: io.toolsDir,
      folders: existingFolders(io),
      log,
      logLevel: options.logLevel ?? "info",
      idleMs: 0,
    }),
  });
}

/** Warnings and errors only, unless asked: a command's output is its result. */
export function commandLogger(io: Io, options: CliOptions): Logger {
  return new Logger({ level: options.logLevel ?? "warning", write: io.stderr });
}
