/**
 * @module
 * Loads the tools in a folder: imports them (by scanning in development, from the generated
 * manifest in a compiled binary) and checks and lints each one, naming the file in every error.
 */

import { describeThrown } from "../util/describe.ts";
import {
  importProblem,
  importTool,
  loadTimeout,
  toolFileUrl,
} from "./import_tool.ts";
import { admitTool } from "./lint.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import { folderLabel, scanToolFiles, toolStem } from "./tool_files.ts";
import { createTool } from "../tool/toolset.ts";
import { type Tool } from "../tool/served.ts";

/** What loading found: the good tools, one error per broken file, and lint warnings. */
export interface LoadResult {
  /** The tools that loaded and passed their checks, in file-name order. */
  tools: Tool[];
  /** One message per file that cannot be served, naming the file. */
  errors: string[];
  /** What makes a tool harder for the model to use; served anyway. */
  warnings: string[];
}

/** How tool files are named in messages, which server name the lint assumes, how long to wait. */
export interface LoadOptions {
  /** Prefixes file names in messages; default the folder's path ({@link folderLabel}). */
  label?: string | undefined;
  /** The name clients register the server under; default "tooldrop". */
  serverName?: string | undefined;
  /** Milliseconds each file may take to import; default 10 000. */
  loadTimeoutMs?: number | undefined;
  /**
   * Returns each checked tool, from file `fileName`, as it is to be served; tooldrop's own
   * serving gives it a `remote` that runs its calls in a worker. Default: as it is, run here.
   */
  attach?: ((tool: Tool, fileName: string) => Tool) | undefined;
}

/**
 * Imports, checks and lints every tool file in `dir`. A file that throws, fails to import or
 * does not finish importing within the load timeout is an error naming it; loading always ends.
 */
export async function loadToolDir(
  dir: URL,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const label = options.label ?? folderLabel(dir);
  const timeoutMs = loadTimeout(options.loadTimeoutMs);
  const { files, warnings } = await scanToolFiles(dir, label);
  const modules = await Promise.all(files.map(async (file) => {
    const outcome = await importTool(toolFileUrl(dir, file).href, timeoutMs);
    return [
      file,
      "module" in outcome ? outcome.module : new Error(
        `Cannot load tool "${label}${file}": ${importProblem(outcome)}`,
      ),
    ] as const;
  }));
  const result = checkModules(modules, { ...options, label });
  result.warnings.unshift(...warnings);
  return result;
}

/**
 * Checks and lints imported tool modules, given as `[fileName, moduleNamespace]` pairs (what the
 * manifest exports). A pair whose module is an `Error` reports that error. Two tools with one
 * name are an error naming both files.
 */
export function checkModules(
  modules: ReadonlyArray<readonly [string, unknown]>,
  options: LoadOptions = {},
): LoadResult {
  const label = options.label ?? "tools/";
  const serverName = options.serverName ?? DEFAULT_SERVER_INFO.name;
  const tools: Tool[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const byName = new Map<string, Tool>();
  for (const [file, module] of modules) {
    if (module instanceof Error) {
      errors.push(module.message);
      continue;
    }
    const source = `${label}${file}`;
    let tool: Tool;
    try {
      const definition = (module as { default?: unknown } | null)?.default;
      tool = createTool(definition, toolStem(file), source);
    } catch (error) {
      errors.push(checkProblem(source, error));
      continue;
    }
    if (!admitTool(tool, { byName, serverName, errors, warnings })) continue;
    tools.push(options.attach ? options.attach(tool, file) : tool);
  }
  return { tools, errors, warnings };
}

/** The message for what checking a tool threw: createTool's own, or one naming the file. */
function checkProblem(source: string, error: unknown): string {
  const prefix = `Cannot load tool "${source}": `;
  try {
    if (error instanceof Error && error.message.startsWith(prefix)) {
      return error.message;
    }
  } catch {
    // a value that throws when inspected: described below
  }
  return `${prefix}reading its default export failed: ${describeThrown(error)}`;
}
