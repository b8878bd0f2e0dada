/**
 * @module
 * What `dev` watches in the project: server code (src/, main.ts, deno.json, code outside tools/)
 * restarts the server child; changes in tools/ renew tools/_manifest.ts at once and the listing
 * cache (tools/.listing.json) once the folder is quiet, and are told to the type check; a file
 * added to or removed from prompts/ or resources/ renews the manifest too. The server child
 * reloads the tools, prompts and resources itself.
 */

import { Logger } from "../../util/log.ts";
import { checkManifest, MANIFEST_FILE } from "../../loading/manifest.ts";
import { writeListing } from "../../loading/listing.ts";
import { folderPath, watchPaths } from "../../loading/watch.ts";

/** Milliseconds to let a burst of file events settle before restarting. */
const SETTLE_MS = 50;
/**
 * Milliseconds the tools folder stays unchanged before the listing cache is renewed: renewing
 * probes the changed files in a worker, which would compete for a core with the server child's
 * probe of the same save (the one its client waits for); the cache only serves the next start.
 */
const LISTING_QUIET_MS = 1000;
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
  /** Told each settled batch's paths in tools/ (relative to the project), for the type check. */
  saved?: ((paths: string[]) => void) | undefined;
  /**
   * The prompts and resources folders the running server child serves: it reloads their files
   * in place, so they do not restart it. Asked at each change: a folder created later restarts
   * the child once, and the next child serves it in place too.
   */
  kindDirs?: (() => readonly URL[]) | undefined;
  /**
   * Where prompts and resources are served from, made yet or not: such a folder appearing
   * restarts the child, since a file saved in it at once may come before the watch of the new
   * folder does (and be missed).
   */
  kindFolders?: readonly URL[] | undefined;
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
  // Hidden files in tools/ are not tools' code: the listing cache among them, which this writes.
  const isTool = (path: string) =>
    tools !== undefined && path.startsWith(tools) &&
    !path.slice(path.lastIndexOf("/") + 1).startsWith(".");
  const kinds = () =>
    (options.kindDirs?.() ?? []).map(folderPath).filter((dir) =>
      dir.startsWith(root)
    ).map((dir) => dir.slice(root.length));
  const reloadsInPlace = (path: string) =>
    kinds().some((dir) => path.startsWith(dir));
  // A prompt's or resource's file: the server child reloads it, and the manifest lists it.
  const isKind = (path: string) => reloadsInPlace(path) && restartsServer(path);
  const kindFolders = (options.kindFolders ?? []).map(folderPath)
    .filter((dir) => dir.startsWith(root)).map((dir) => dir.slice(root.length));
  const newKindFolder = (path: string) =>
    kindFolders.includes(`${path}/`) && !reloadsInPlace(`${path}/`);
  const batches = watchPaths(root, {
    signal,
    settleMs: SETTLE_MS,
    filter: (path) =>
      isTool(path) || restartsServer(path) || newKindFolder(path),
  });
  const listing = listingRenewal(options);
  try {
    for await (const paths of batches) {
      const toolsTouched = paths.some(isTool);
      if (toolsTouched) {
        listing.soon();
        options.saved?.(paths.filter(isTool));
      }
      // Not awaited: changes keep being gathered while the server restarts.
      void changed(
        options,
        toolsTouched || paths.some(isKind),
        paths.filter((path) => !isTool(path) && !reloadsInPlace(path)).sort(),
      );
    }
  } catch (error) {
    if (!signal.aborted) log.error("dev: stopped watching", error);
  } finally {
    await listing.stop();
  }
}

async function changed(
  options: ProjectWatch,
  listedTouched: boolean,
  code: string[],
): Promise<void> {
  const { log, signal } = options;
  // The manifest imports tools/, prompts/ and resources/ for the compiled binary.
  if (listedTouched && options.renewManifest) {
    try {
      const { text, current } = await checkManifest(options.toolsDir);
      if (!current) {
        await Deno.writeTextFile(
          new URL(MANIFEST_FILE, options.toolsDir),
          text,
        );
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

/**
 * Renews the listing cache `LISTING_QUIET_MS` after the last change in tools/ (`soon`), one
 * renewal at a time, so a burst of saves is probed once; `stop` cancels one not yet begun and
 * waits for one under way.
 */
function listingRenewal(options: ProjectWatch) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  const renew = () => {
    timer = undefined;
    running = running.then(async () => {
      if (options.signal.aborted) return;
      try {
        // Quiet: what the probed files print and why a broken one fails, the server child says.
        const quiet = new Logger({ level: "error", write: () => {} });
        if (await writeListing(options.toolsDir, { log: quiet })) {
          options.log.debug("dev: updated tools/.listing.json");
        }
      } catch (error) {
        options.log.warn("dev: could not update tools/.listing.json", error);
      }
    });
  };
  return {
    soon: () => {
      if (!options.renewManifest) return;
      clearTimeout(timer);
      timer = setTimeout(renew, LISTING_QUIET_MS);
    },
    stop: async () => {
      clearTimeout(timer);
      await running;
    },
  };
}
