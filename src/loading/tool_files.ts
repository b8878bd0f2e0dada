/**
 * @module
 * Which files in a tools folder are tools: by name (not `_private`, not a test), as files or
 * symbolic links to files; and how messages name the folder.
 */

import { describeThrown } from "../util/describe.ts";
import { toolFileUrl } from "./import_tool.ts";

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

/** The tool files in a folder, and a warning for each entry named like one that is not a file. */
export interface ToolFiles {
  files: string[];
  warnings: string[];
}

/**
 * Tool file names in `dir`, sorted by code point so the order is the same everywhere. Symbolic
 * links to files count; a link to a folder or to nothing is skipped with a warning. The folder
 * is read in one call: its asynchronous iterator costs a round trip per entry (1,000 files:
 * ~20 ms against ~6).
 */
export async function scanToolFiles(
  dir: URL,
  label = folderLabel(dir),
): Promise<ToolFiles> {
  const files: string[] = [];
  const warnings: string[] = [];
  const subfolders: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory && isOwnFolder(entry.name)) {
      subfolders.push(entry.name);
    }
    if (!isToolFile(entry.name)) continue;
    if (entry.isFile) {
      files.push(entry.name);
    } else if (entry.isSymlink) {
      const problem = await linkProblem(toolFileUrl(dir, entry.name));
      if (problem) {
        warnings.push(`Skipping "${label}${entry.name}": ${problem}`);
      } else files.push(entry.name);
    }
  }
  files.sort(byCodePoint);
  for (const file of strayTools(dir, subfolders, files)) {
    warnings.push(
      `Not serving "${label}${file}": it is in a subfolder, and only the files directly in ${
        label || "the tools folder"
      } are tools (a subfolder holds what they import); move it up to serve it`,
    );
  }
  return { files, warnings };
}

/** A folder of the user's own, which may hold a misplaced tool (not `_x`, `.x`, node_modules). */
function isOwnFolder(name: string): boolean {
  return !name.startsWith("_") && !name.startsWith(".") &&
    name !== "node_modules";
}

/** What a tool, prompt or resource file ends with. */
const DEFINITION = /export\s+default\s+define(?:Tool|Prompt|Resource)\s*\(/;

/**
 * Files one level down in `subfolders` of `dir` that are written as tools (`export default
 * defineTool(` …) and that no tool file imports (a file may re-export one): a newcomer's
 * `tools/text/upper.ts`, never served and never said. Reads only the subfolders' tool-named
 * files, and the tool files only when one of those is found.
 */
function strayTools(
  dir: URL,
  subfolders: readonly string[],
  files: readonly string[],
): string[] {
  const stray: string[] = [];
  for (const folder of subfolders) {
    try {
      for (
        const entry of Deno.readDirSync(
          new URL(`${encodeURIComponent(folder)}/`, dir),
        )
      ) {
        if (!entry.isFile || !isToolFile(entry.name)) continue;
        const path = `${folder}/${entry.name}`;
        const text = Deno.readTextFileSync(
          new URL(path.split("/").map(encodeURIComponent).join("/"), dir),
        );
        if (DEFINITION.test(text)) stray.push(path);
      }
    } catch {
      // unreadable: nothing to say
    }
  }
  if (stray.length === 0) return stray;
  const sources = files.map((file) => {
    try {
      return Deno.readTextFileSync(toolFileUrl(dir, file));
    } catch {
      return "";
    }
  });
  return stray.filter((path) =>
    !sources.some((text) => text.includes(path.replace(/\.[^.]+$/, "")))
  );
}

/** Tool file names in `dir`, sorted by code point (see {@link scanToolFiles}). */
export async function findToolFiles(dir: URL): Promise<string[]> {
  return (await scanToolFiles(dir, "")).files;
}

/**
 * Why the symbolic link at `url` is not a tool file: it leads to a folder, to nothing, or where
 * this process may not look; undefined when it leads to a file.
 */
export async function linkProblem(url: URL): Promise<string | undefined> {
  try {
    const info = await Deno.stat(url);
    if (info.isFile) return undefined;
    return "it is a symbolic link to a folder, not a file; link the tool file itself";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return `it is a symbolic link to ${await linkTarget(
        url,
      )}, which does not exist; fix or remove the link`;
    }
    return `it is a symbolic link that cannot be followed: ${
      describeThrown(error)
    }`;
  }
}

async function linkTarget(url: URL): Promise<string> {
  try {
    return JSON.stringify(await Deno.readLink(url));
  } catch {
    return "a file";
  }
}

/**
 * How messages name the files in `dir`: by its path relative to the working directory when it
 * lies inside it (`tools/`), else by its full path (`/home/ada/tools/`).
 */
export function folderLabel(dir: URL): string {
  const path = filePath(dir).replace(/\/?$/, "/");
  let cwd: string;
  try {
    cwd = Deno.cwd().replaceAll("\\", "/").replace(/\/?$/, "/");
  } catch {
    return path; // this process may not read the working directory
  }
  if (path === cwd) return "./";
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

/** The file system path of a `file:` URL, with `/` separators; other URLs as they are. */
function filePath(url: URL): string {
  if (url.protocol !== "file:") return url.href;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    path = url.pathname; // a malformed escape: show it as it is
  }
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path; // Windows: /C:/x → C:/x
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Relative specifiers after `from`, `import` or `import(`. */
const LOCAL_IMPORT = /\b(?:from|import)\s*\(?\s*(["'])(\.\.?\/[^"'\r\n]+)\1/g;

/**
 * The local modules `text` (the source of the module at `from`) imports, without query or
 * fragment. Read from the text, as the listing cache keys a tool: a specifier built at run time
 * is not seen.
 */
export function localImports(text: string, from: URL | string): URL[] {
  const imports: URL[] = [];
  for (const match of text.matchAll(LOCAL_IMPORT)) {
    const target = new URL(match[2]!, from);
    target.search = "";
    target.hash = "";
    imports.push(target);
  }
  return imports;
}
