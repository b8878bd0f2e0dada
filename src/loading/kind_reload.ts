/**
 * @module
 * Prompts and resources reloaded in place while serving (`serve --watch`, `dev`), as
 * ./reload.ts reloads tools: a settled burst of changes in the folder lists it again (entries
 * whose file and local imports did not change are kept, the others learned in a probe worker,
 * never in this thread), a changed file is attached again (its worker is replaced), a deleted one
 * is dropped and a broken one reported while its previous version keeps serving.
 */

import type { Logger } from "../util/log.ts";
import type { Tool } from "../tool/served.ts";
import { PromptSet, ResourceSet } from "../tool/served.ts";
import type { PromptListing } from "../tool/prompt.ts";
import type { ResourceListing } from "../tool/resource.ts";
import { type ListingEntry, listToolFiles } from "./listing.ts";
import { type KindServed, servedEntry } from "./listed_kinds.ts";
import { folderLabel, scanToolFiles } from "./tool_files.ts";
import { watchPaths } from "./watch.ts";
import { toolFileUrl } from "./import_tool.ts";
import type { LoadedTool, ToolFile } from "./worker/protocol.ts";

/** Milliseconds to let a burst of file events settle (editors write, rename and touch). */
const SETTLE_MS = 30;

const CODE_FILE = /\.(?:[mc]?[jt]sx?|json)$/;

type Kind = "prompt" | "resource";

/** What a kind reloader needs. */
export interface KindReloaderOptions<K extends Kind> {
  dir: URL;
  kind: K;
  log: Logger;
  /** Prefixes file names in messages; default the folder's path. */
  label?: string | undefined;
  /** Milliseconds each probed file may take to import. */
  loadTimeoutMs?: number | undefined;
  /** Gives a runnable of file `file` the runner of its calls in that file's worker. */
  attach: (runnable: Tool, file: ToolFile) => Tool;
  /** Told the URL of a file no longer served: its worker stops importing it. */
  detach: (url: string) => void;
  /** What learns what changed files declare; default a probe worker. */
  probe?: ((files: ToolFile[]) => Promise<LoadedTool[]>) | undefined;
}

/** One file served: its entry (with the hash it was listed at) and what it serves. */
interface Held<K extends Kind> {
  entry: ListingEntry<K>;
  served: KindServed[K];
}

/** Holds the last good version of every file of a prompts or resources folder. */
export class KindReloader<K extends Kind> {
  readonly #options: KindReloaderOptions<K>;
  readonly #label: string;
  /** File name → its last good version. */
  readonly #held = new Map<string, Held<K>>();
  #served: readonly KindServed[K][] = [];
  #serial: Promise<unknown> = Promise.resolve();

  constructor(options: KindReloaderOptions<K>) {
    this.#options = options;
    this.#label = options.label ?? folderLabel(options.dir);
  }

  /** What it serves now, by file name; a new array after each change, the same one otherwise. */
  get served(): readonly KindServed[K][] {
    return this.#served;
  }

  /** Lists the folder again; resolves to true when what it serves changed. */
  reload(): Promise<boolean> {
    const next = this.#serial.then(() => this.#reload());
    this.#serial = next.catch(() => {});
    return next;
  }

  async #reload(): Promise<boolean> {
    const { dir, kind, log } = this.#options;
    const label = this.#label;
    const { files, warnings } = await scanToolFiles(dir, label);
    for (const message of warnings) log.warn(message);
    const known = new Map(
      [...this.#held].map(([file, held]) => [file, held.entry]),
    );
    const { listed } = await listToolFiles<K>(dir, files, {
      log,
      label,
      kind,
      known,
      loadTimeoutMs: this.#options.loadTimeoutMs,
      probe: this.#options.probe,
    });
    let changed = false;
    const next = new Map<string, Held<K>>();
    for (const { file, entry, error } of listed) {
      const held = this.#held.get(file);
      if (entry && held?.entry.hash === entry.hash) {
        next.set(file, held);
        continue;
      }
      let served: KindServed[K] | undefined;
      if (entry) {
        try {
          served = servedEntry(
            dir,
            kind,
            file,
            entry as PromptListing | ResourceListing,
            label,
            this.#options.attach,
          );
        } catch (thrown) {
          log.error(thrown instanceof Error ? thrown.message : String(thrown));
        }
      } else if (error !== undefined) {
        log.error(
          held ? `${error} (its previous version keeps serving)` : error,
        );
      }
      if (served) {
        next.set(file, { entry: entry!, served });
        changed = true;
      } else if (held) next.set(file, held);
    }
    for (const file of this.#held.keys()) {
      if (next.has(file)) continue;
      this.#options.detach(toolFileUrl(dir, file).href);
      changed = true;
    }
    if (!changed) return false;
    const served = [...next.values()].map((held) => held.served);
    try {
      // Two files may now claim one name or URI: the change is refused, naming both.
      if (kind === "prompt") new PromptSet(served as KindServed["prompt"][]);
      else new ResourceSet(served as KindServed["resource"][]);
    } catch (error) {
      log.error(
        `${
          error instanceof Error ? error.message : String(error)
        } (the ${kind}s keep serving as they were)`,
      );
      return false;
    }
    this.#held.clear();
    for (const [file, held] of next) this.#held.set(file, held);
    this.#served = served;
    return true;
  }

  /**
   * Watches the folder from now until `signal` aborts, reloading it after each settled burst of
   * changes to its code files; yields what it serves after each change that changed it. The first
   * load is `reload()`, after this call, so that a save made while it runs is not missed.
   */
  watch(signal: AbortSignal): AsyncIterable<readonly KindServed[K][]> {
    const batches = watchPaths(this.#options.dir, {
      signal,
      settleMs: SETTLE_MS,
      filter: (path) => {
        const name = path.slice(path.lastIndexOf("/") + 1);
        return CODE_FILE.test(name) && !name.startsWith(".");
      },
    });
    return this.#changes(batches, signal);
  }

  async *#changes(
    batches: AsyncIterable<string[]>,
    signal: AbortSignal,
  ): AsyncGenerator<readonly KindServed[K][]> {
    try {
      for await (const _paths of batches) {
        try {
          if (await this.reload()) yield this.#served;
        } catch (error) {
          this.#options.log.error(`Cannot reload ${this.#label}`, error);
        }
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#options.log.error(`Stopped watching ${this.#label}`, error);
      }
    }
  }
}
