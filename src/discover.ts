/**
 * @module
 * Finds the tools in a folder: which files are tools, importing them (by scanning in development,
 * from the generated manifest in a compiled binary) and checking each one.
 */

import { lintTool } from "./lint.ts";
import { DEFAULT_SERVER_INFO } from "./protocol.ts";
import { createTool, type Tool } from "./toolset.ts";

const TOOL_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];

/** True for a file that is a tool: a script not starting with `_` and not a test. */
export function isToolFile(fileName: string): boolean {
  if (
    fileName.startsWith("_") || fileName.startsWith(".") ||
    fileName.endsWith(".d.ts")
  ) {
    return false;
  }
  const ext = TOOL_EXTENSIONS.find((e) => fileName.endsWith(e));
  if (!ext) return false;
  const stem = fileName.slice(0, -ext.length);
  return !stem.endsWith("_test") && !stem.endsWith(".test") && stem !== "test";
}

/** The file's name without its extension: the tool's default name. */
export function toolStem(fileName: string): string {
  const ext = TOOL_EXTENSIONS.find((e) => fileName.endsWith(e));
  return ext ? fileName.slice(0, -ext.length) : fileName;
}

/** Tool file names in `dir`, sorted by code point so the order is the same everywhere. */
export async function findToolFiles(dir: URL): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && isToolFile(entry.name)) names.push(entry.name);
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** What loading found: the good tools, one error per broken file, and lint warnings. */
export interface LoadResult {
  tools: Tool[];
  errors: string[];
  warnings: string[];
}

/** How tool files are named in messages and which server name the lint assumes. */
export interface LoadOptions {
  /** Prefixes file names in messages; default "tools/". */
  label?: string;
  /** The name clients register the server under; default "tooldrop". */
  serverName?: string;
}

/** Imports, checks and lints every tool file in `dir`. */
export async function loadToolDir(
  dir: URL,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const label = options.label ?? "tools/";
  const files = await findToolFiles(dir);
  const modules = await Promise.all(files.map(async (file) => {
    try {
      return { file, module: await import(new URL(file, dir).href) as unknown };
    } catch (error) {
      return { file, error };
    }
  }));
  return checkModules(
    modules.map((m) =>
      "error" in m
        ? [
          m.file,
          new Error(
            `Cannot load tool "${label}${m.file}": ${importProblem(m.error)}`,
          ),
        ]
        : [m.file, m.module]
    ),
    options,
  );
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
    let tool: Tool;
    try {
      const definition = (module as { default?: unknown } | null)?.default;
      tool = createTool(definition, toolStem(file), `${label}${file}`);
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    const other = byName.get(tool.name);
    if (other) {
      errors.push(
        `Cannot load tool "${tool.source}": the name "${tool.name}" is already used by "${other.source}"; rename one of them or set "name"`,
      );
      continue;
    }
    const lint = lintTool(tool, serverName);
    warnings.push(...lint.warnings);
    if (lint.errors.length > 0) {
      errors.push(...lint.errors);
      continue;
    }
    byName.set(tool.name, tool);
    tools.push(tool);
  }
  return { tools, errors, warnings };
}

function importProblem(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split("\n", 1)[0] ?? text;
  return `it failed to import: ${firstLine}`;
}
