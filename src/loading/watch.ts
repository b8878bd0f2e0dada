/**
 * @module
 * The one debounced file watcher: watches a folder and yields settled batches of the paths that
 * changed under it, so a burst of editor writes, renames and touches is handled once.
 */

import { filePath } from "../util/file_url.ts";
import { coalesce } from "../util/coalesce.ts";

/** How `watchPaths` watches. */
export interface WatchOptions {
  /** Ends watching: the watcher closes and the iteration finishes (a batch still settling is dropped). */
  signal: AbortSignal;
  /** Milliseconds to keep gathering after the first change of a batch before yielding it. */
  settleMs: number;
  /** Keeps a changed path (relative to the root, `/`-separated); one it drops starts no batch. */
  filter?: ((path: string) => boolean) | undefined;
  /** False: only the root's own entries, not its subfolders'; default true. */
  recursive?: boolean | undefined;
}

/**
 * Watches `root` recursively from the moment it is called, yielding each settled batch of changed
 * paths relative to it (`/`-separated, each once, in the order they first changed). It ends when
 * `signal` aborts; an error of the watcher is thrown after the batch in hand is yielded.
 *
 * @example
 * ```ts ignore
 * for await (const paths of watchPaths("tools/", { signal, settleMs: 30 })) reload(paths);
 * ```
 */
export function watchPaths(
  root: string | URL,
  options: WatchOptions,
): AsyncIterable<string[]> {
  const folder = folderPath(root);
  const watcher = Deno.watchFs(folder, {
    recursive: options.recursive ?? true,
  });
  const close = () => closeQuietly(watcher);
  if (options.signal.aborted) close();
  else options.signal.addEventListener("abort", close, { once: true });
  return settled(folder, watcher, options, close);
}

/**
 * Watches `paths` (relative to the working directory, `/`-separated) until `signal` aborts;
 * resolves once watching, to the settled bursts of changes to any of them: a folder with what
 * is under it, a file (or a path that does not exist yet) through its folder's own entries.
 * Rejects when a path's folder cannot be watched (it does not exist, or may not be read).
 */
export async function watchFiles(
  paths: readonly string[],
  signal: AbortSignal,
): Promise<AsyncIterable<void>> {
  const sources: AsyncIterable<string[]>[] = [];
  // Events name absolute paths: the roots must be absolute too.
  const cwd = Deno.cwd().replaceAll("\\", "/").replace(/\/$/, "");
  for (const relative of new Set(paths)) {
    const path = `${cwd}/${relative.replace(/\/$/, "")}`;
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.isDirectory) {
      sources.push(watchPaths(path, { signal, settleMs: FILE_SETTLE_MS }));
      continue;
    }
    const cut = path.lastIndexOf("/");
    const name = path.slice(cut + 1);
    sources.push(
      watchPaths(path.slice(0, cut) || "/", {
        signal,
        settleMs: FILE_SETTLE_MS,
        recursive: false,
        filter: (changed) => changed === name,
      }),
    );
  }
  // One burst for changes of any of them: a burst over several paths is one change.
  return coalesce(sources, { signal });
}

/** Milliseconds a burst of changes to a watched resource file settles. */
const FILE_SETTLE_MS = 30;

/** A folder's path with `/` separators and a trailing `/`, the prefix of every path under it. */
export function folderPath(root: string | URL): string {
  const path = typeof root === "string" ? root : filePath(root);
  return path.replaceAll("\\", "/").replace(/\/?$/, "/");
}

async function* settled(
  folder: string,
  watcher: Deno.FsWatcher,
  { signal, settleMs, filter }: WatchOptions,
  close: () => void,
): AsyncGenerator<string[]> {
  const pending = new Set<string>();
  let wake: (() => void) | undefined;
  let closed = false;
  let failure: { error: unknown } | undefined;
  const pump = (async () => {
    try {
      for await (const event of watcher) {
        for (const raw of event.paths) {
          const path = raw.replaceAll("\\", "/");
          if (!path.startsWith(folder)) continue;
          const relative = path.slice(folder.length);
          if (!filter || filter(relative)) pending.add(relative);
        }
        wake?.();
      }
    } catch (error) {
      if (!signal.aborted) failure = { error };
    } finally {
      closed = true;
      wake?.();
    }
  })();
  try {
    while (!signal.aborted) {
      if (pending.size === 0) {
        if (closed) break;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      await settle(settleMs, signal);
      if (signal.aborted) break;
      const batch = [...pending];
      pending.clear();
      yield batch;
    }
    if (failure) throw failure.error;
  } finally {
    signal.removeEventListener("abort", close);
    close();
    await pump;
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function settle(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function closeQuietly(watcher: Deno.FsWatcher): void {
  try {
    watcher.close();
  } catch {
    // already closed
  }
}
