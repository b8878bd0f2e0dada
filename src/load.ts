/**
 * @module
 * Loads a server's tools for serving: from the generated manifest in a compiled binary, else by
 * scanning the tools folder; logs lint warnings and every broken file, and refuses a broken set.
 */

import { checkModules, type LoadResult, loadToolDir } from "./discover.ts";
import type { Logger } from "./log.ts";
import type { ToolManifest } from "./manifest.ts";
import { ToolSet } from "./toolset.ts";

/** Where the tools come from and how to report on them. */
export interface LoadToolsOptions {
  toolsDir: URL;
  /** In a compiled binary: the manifest to load instead of scanning `toolsDir`. */
  manifest?: (() => Promise<ToolManifest>) | undefined;
  /** The name clients register the server under (the lint checks tool names against it). */
  serverName: string;
  log: Logger;
}

/** The tool set, or undefined when any tool is broken (every problem is logged). */
export async function loadTools(
  options: LoadToolsOptions,
): Promise<ToolSet | undefined> {
  const { log, serverName } = options;
  let result: LoadResult;
  try {
    result = options.manifest
      ? checkModules((await options.manifest()).toolModules, { serverName })
      : await loadToolDir(options.toolsDir, { serverName });
  } catch (error) {
    log.error(
      `Cannot read the tools folder ${options.toolsDir.pathname}`,
      error,
    );
    return undefined;
  }
  for (const message of result.warnings) log.warn(message);
  for (const message of result.errors) log.error(message);
  if (result.errors.length > 0) {
    log.error(
      "Not serving: fix the tool file(s) above, or move them out of tools/",
    );
    return undefined;
  }
  return new ToolSet(result.tools);
}
