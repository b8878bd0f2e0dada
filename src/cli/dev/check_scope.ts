/**
 * @module
 * Which tool files a save in tools/ concerns for `dev`'s type check: a saved tool file, and each
 * tool that imports a saved helper, directly or through other helpers; nothing else.
 */

import { MANIFEST_FILE } from "../../loading/manifest.ts";
import {
  findToolFiles,
  isToolFile,
  localImports,
} from "../../loading/tool_files.ts";
import { isFile } from "../../util/fs.ts";

/** Code a tool can be or import. */
const CODE_FILE = /\.(?:[mc]?[jt]sx?|json)$/;

/**
 * True when a change to `path` (inside the tools folder) may change a tool's types: code, but
 * not the manifest `dev` writes itself.
 */
export function concernsTypes(path: string): boolean {
  return CODE_FILE.test(path) && path !== MANIFEST_FILE;
}

/** Where the tools are, for {@link toolsToCheck}. */
export interface CheckScope {
  /** The project folder (`/`-separated, trailing `/`). */
  root: string;
  /** The tools folder. */
  toolsDir: URL;
  /** The tools folder relative to the project, with its trailing `/` (`tools/`). */
  tools: string;
}

/**
 * The tool files (relative to the project, sorted) that the changed `paths` (relative to the
 * project, inside the tools folder) concern: each saved tool file that still exists, and each
 * tool that imports a changed helper.
 */
export async function toolsToCheck(
  paths: readonly string[],
  { root, toolsDir, tools }: CheckScope,
): Promise<string[]> {
  const files = new Set<string>();
  const helpers = new Set<string>();
  for (const path of paths) {
    const inTools = path.slice(tools.length);
    if (!inTools.includes("/") && isToolFile(inTools)) {
      if (await isFile(`${root}${path}`)) files.add(inTools);
    } else helpers.add(new URL(inTools, toolsDir).href);
  }
  if (helpers.size > 0) {
    for (const file of await toolsImporting(toolsDir, helpers)) {
      files.add(file);
    }
  }
  return [...files].sort().map((file) => `${tools}${file}`);
}

/**
 * The tool files of `toolsDir` that import one of `helpers` (URLs), directly or through other
 * local modules. Reads the imports as the listing cache does: specifiers built at run time are
 * not followed.
 */
async function toolsImporting(
  toolsDir: URL,
  helpers: ReadonlySet<string>,
): Promise<string[]> {
  const read = new Map<string, string[]>();
  const importsOf = async (href: string): Promise<string[]> => {
    let found = read.get(href);
    if (!found) {
      found = [];
      const text = await Deno.readTextFile(new URL(href)).catch(() => "");
      for (const target of localImports(text, href)) {
        if (target.href.startsWith(toolsDir.href)) found.push(target.href);
      }
      read.set(href, found);
    }
    return found;
  };
  const importers: string[] = [];
  for (const file of await findToolFiles(toolsDir)) {
    const seen = new Set<string>();
    const pending = [new URL(file, toolsDir).href];
    for (let next = pending.pop(); next; next = pending.pop()) {
      if (seen.has(next)) continue;
      seen.add(next);
      if (helpers.has(next)) {
        importers.push(file);
        break;
      }
      pending.push(...await importsOf(next));
    }
  }
  return importers;
}
