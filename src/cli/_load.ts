/**
 * @module
 * What the tool commands (`list`, `call`) share: loading the tools the way the server would,
 * with a logger that keeps to warnings so that a command's output is its result.
 */

import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { loadTools } from "../loading/load.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import type { ToolSet } from "../tool/toolset.ts";
import { Logger } from "../util/log.ts";

/** The tools, loaded as `serve` would; undefined (with the reasons logged) when they fail. */
export async function loadForCommand(
  io: Io,
  options: CliOptions,
): Promise<ToolSet | undefined> {
  return await loadTools({
    toolsDir: io.toolsDir,
    manifest: io.manifest,
    serverName: options.name ?? DEFAULT_SERVER_INFO.name,
    log: commandLogger(io, options),
  });
}

/** Warnings and errors only, unless asked: a command's output is its result. */
export function commandLogger(io: Io, options: CliOptions): Logger {
  return new Logger({ level: options.logLevel ?? "warning", write: io.stderr });
}
