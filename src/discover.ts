/**
 * @module
 * Finds the tools in a folder: which files are tools, importing them (by scanning in development,
 * from the generated manifest in a compiled binary) and checking each one.
 */

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

/** What loading a folder found: the good tools, and one message per broken file. */
export interface LoadResult {
  tools: Tool[];
  errors: string[];
}

/** Imports and checks every tool file in `dir`; `label` prefixes file names in messages. */
export async function loadToolDir(
  dir: URL,
  label = "tools/",
): Promise<LoadResult> {
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
    label,
  );
}

/**
 * Checks imported tool modules, given as `[fileName, moduleNamespace]` pairs (what the manifest
 * exports). A pair whose module is an `Error` reports that error.
 */
export function checkModules(
  modules: ReadonlyArray<readonly [string, unknown]>,
  label = "tools/",
): LoadResult {
  const tools: Tool[] = [];
  const errors: string[] = [];
  for (const [file, module] of modules) {
    if (module instanceof Error) {
      errors.push(module.message);
      continue;
    }
    try {
      const definition = (module as { default?: unknown } | null)?.default;
      tools.push(createTool(definition, toolStem(file), `${label}${file}`));
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  return { tools, errors };
}

function importProblem(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = text.split("\n", 1)[0] ?? text;
  return `it failed to import: ${firstLine}`;
}
