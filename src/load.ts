/**
 * @module
 * Loads a server's tools for serving: from the generated manifest in a compiled binary, else by
 * scanning the tools folder; logs lint warnings and every broken file, and refuses a broken set.
 */

import {
  checkModules,
  findToolFiles,
  type LoadResult,
  loadToolDir,
} from "./discover.ts";
import type { Logger } from "./log.ts";
import type { ToolManifest } from "./manifest.ts";
import {
  missingPermissions,
  permissionsProblem,
  type ToolPermissions,
} from "./permissions.ts";
import { type Tool, ToolSet } from "./toolset.ts";

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
    if (error instanceof Deno.errors.NotCapable) {
      log.error(
        `Cannot read the tools folder ${options.toolsDir.pathname}: this process may not read it; run it with --allow-read=.,${
          decodeURIComponent(new URL(".", import.meta.url).pathname)
            .replace(/\/$/, "")
        },${
          decodeURIComponent(options.toolsDir.pathname).replace(/\/$/, "")
        } (\`tooldrop install\` registers the server that way)`,
      );
    } else {
      log.error(
        `Cannot read the tools folder ${options.toolsDir.pathname}`,
        error,
      );
    }
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
  warnMissingPermissions(result.tools, log);
  return new ToolSet(result.tools);
}

/** Logs each tool whose declared permissions this process was not granted; returns them. */
export function warnMissingPermissions(
  tools: readonly Tool[],
  log: Logger,
): Tool[] {
  const lacking: Tool[] = [];
  for (const tool of tools) {
    if (!tool.permissions) continue;
    const missing = missingPermissions(tool.permissions);
    if (missing.length === 0) continue;
    lacking.push(tool);
    log.warn(
      `Tool "${tool.name}" (${tool.source}) needs ${
        missing.join(" ")
      }, which this process was not granted, so its calls may fail; \`deno task dev\`, \`deno task compile\` and \`tooldrop install\` grant what tools declare`,
    );
  }
  return lacking;
}

/** What every tool file declares in `permissions`; files that fail to import are skipped. */
export async function declaredPermissions(
  dir: URL,
): Promise<ToolPermissions[]> {
  const found: ToolPermissions[] = [];
  const stamp = Date.now();
  for (const file of await findToolFiles(dir).catch(() => [])) {
    try {
      const module = await import(
        `${new URL(file, dir).href}?permissions=${stamp}`
      );
      const permissions = module?.default?.permissions;
      if (permissions !== undefined && !permissionsProblem(permissions)) {
        found.push(permissions as ToolPermissions);
      }
    } catch {
      // The server reports the broken file when it loads it.
    }
  }
  return found;
}
