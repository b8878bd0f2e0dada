/**
 * @module
 * What `dev` watches in the project: server code (src/, main.ts, deno.json, code outside tools/)
 * restarts the server child; tool files coming and going renew tools/_manifest.ts.
 */

import type { Logger } from "../../util/log.ts";
import { writeManifest } from "../../loading/manifest.ts";
import { folderPath, watchPaths } from "../../loading/watch.ts";

/** Milliseconds to let a burst of file events settle before restarting. */
const SETTLE_MS = 50;
/** Folders of the project whose changes never restart the server. */
const IGNORED_DIRS = [
  "tools",
  "tests",
  "bench",
  "dist",
  "node_modules",
  ".git",
];
const CODE_FILE = /\.(?:[mc]?[jt]sx?|jsonc?)$/;

/** How `watchProject` watches, and whom it tells. */
export interface ProjectWatch {
  /** The project folder (`/`-separated, with a trailing `/`). */
  root: string;
  /** The tools folder: its files renew the manifest and never restart the server. */
  toolsDir: URL;
  /** False when the tools come from a generated manifest (a compiled binary): nothing to renew. */
  renewManifest: boolean;
  /** Where changes and failures are reported. */
  log: Logger;
  /** Ends watching. */
  signal: AbortSignal;
  /** Restarts the server child, saying why. */
  restart: (why: string) => Promise<void>;
}

/** True for a path (relative to the project) whose change restarts the server child. */
export function restartsServer(path: string): boolean {
  const top = path.split("/", 1)[0]!;
  const name = path.slice(path.lastIndexOf("/") + 1);
  return !(
    IGNORED_DIRS.includes(top) || top.startsWith(".") ||
    name.startsWith(".") || !CODE_FILE.test(name) || name === "deno.lock"
  );
}

/** Watches the project until `signal` aborts: restarts the server, renews the manifest. */
export async function watchProject(options: ProjectWatch): Promise<void> {
  const { root, log, signal } = options;
  const toolsPath = folderPath(options.toolsDir);
  const tools = toolsPath.startsWith(root)
    ? toolsPath.slice(root.length)
    : undefined;
  const isTool = (path: string) =>
    tools !== undefined && path.startsWith(tools);
  const batches = watchPaths(root, {
    signal,
    settleMs: SETTLE_MS,
    filter: (path) => isTool(path) || restartsServer(path),
  });
  try {
    for await (const paths of batches) {
      // Not awaited: changes keep being gathered while the server restarts.
      void changed(
        options,
        paths.some(isTool),
        paths.filter((path) => !isTool(path)).sort(),
      );
    }
  } catch (error) {
    if (!signal.aborted) log.error("dev: stopped watching", error);
  }
}

async function changed(
  options: ProjectWatch,
  toolsTouched: boolean,
  code: string[],
): Promise<void> {
  const { log, signal } = options;
  if (toolsTouched && options.renewManifest) {
    try {
      if (await writeManifest(options.toolsDir)) {
        log.info("dev: updated tools/_manifest.ts");
      }
    } catch (error) {
      log.warn("dev: could not update tools/_manifest.ts", error);
    }
  }
  if (code.length > 0 && !signal.aborted) {
    await options.restart(`${code.join(", ")} changed`);
  }
}
