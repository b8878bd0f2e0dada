/**
 * @module
 * Hot reload for development: watches the tools folder and, when a tool file or a local module it
 * imports (directly or through others) is added, changed or deleted, learns what the file lists
 * from a short-lived probe worker (./worker/probe.ts; one for each settled burst of changes),
 * never by importing it in this thread. Each tool it serves goes through `attach` again, which
 * replaces that tool's worker, so a helper change replaces only the workers of the tools that
 * import it. A deleted file is dropped; a broken one is reported and its previous version keeps
 * serving. (Over 300 lines: the first load, what a change touches and the watch loop share the
 * last good versions and read best in one place.)
 */

import { nameList } from "../util/describe.ts";
import type { Logger } from "../util/log.ts";
import { loadTimeout, loadTimeoutFromEnv, toolFileUrl } from "./import_tool.ts";
import { admitTool } from "./lint.ts";
import { listToolFiles, unattachedTool } from "./listing.ts";
import { MANIFEST_FILE } from "./manifest.ts";
import {
  folderLabel,
  isToolFile,
  linkProblem,
  scanToolFiles,
} from "./tool_files.ts";
import { type Tool, ToolSet } from "../tool/served.ts";
import { watchPaths } from "./watch.ts";
import type { LoadedTool, ToolFile } from "./worker/protocol.ts";
import { Prober } from "./worker/probe.ts";

/**
 * The exit code of a server under `deno task dev` that wants to be started again: a tool needs
 * permissions the process was not granted.
 */
export const RESTART_EXIT_CODE = 75;

/** Milliseconds to let a burst of file events settle (editors write, rename and touch). */
const SETTLE_MS = 30;

const CODE_FILE = /\.(?:[mc]?[jt]sx?|json)$/;

/** What the reloader needs to know. */
export interface ReloaderOptions {
  dir: URL;
  /** The name clients register the server under (the lint checks tool names against it). */
  serverName: string;
  log: Logger;
  /** Prefixes file names in messages; default the folder's path (see `folderLabel`). */
  label?: string | undefined;
  /**
   * Milliseconds each file may take to import in its probe; default `TOOLDROP_LOAD_TIMEOUT_MS`
   * when set and readable, else 10 000.
   */
  loadTimeoutMs?: number | undefined;
  /**
   * Returns each tool that loaded, from file `fileName`, with the runner of its calls (a
   * WorkerHost's, whose worker imports the file as it is now). Called again each time the file
   * or a module it imports changed and it still loads: the worker that imported the old code is
   * replaced. A listed tool cannot run in this thread.
   */
  attach: (tool: Tool, fileName: string) => Tool;
  /** Told when a tool file stops being served (deleted, or no longer a file). */
  detach?: ((fileName: string) => void) | undefined;
  /**
   * What learns what files declare; default a probe worker for each load or reload (while
   * watching, a `Prober`'s, started ahead).
   */
  probe?: ((files: ToolFile[]) => Promise<LoadedTool[]>) | undefined;
  /**
   * While watching, milliseconds the probe worker started ahead may wait for a change before it
   * stops (see `Prober`); default: never.
   */
  probeIdleMs?: number | undefined;
}

/** Holds the last good version of every tool file and reloads them as they change. */
export class ToolReloader {
  readonly #options: ReloaderOptions;
  readonly #label: string;
  readonly #timeoutMs: number;
  /** File name → its last good tool, attached. */
  readonly #tools = new Map<string, Tool>();
  /**
   * Every tool file seen, served or broken → the local modules it imported when last listed,
   * itself included (paths inside the folder): which files a change touches.
   */
  readonly #imports = new Map<string, ReadonlySet<string>>();
  /** The load or reload under way: each waits for the one before, so the last change wins. */
  #serial: Promise<unknown> = Promise.resolve();
  /** While watching: keeps the next probe's worker started ahead. */
  #prober: Prober | undefined;

  constructor(options: ReloaderOptions) {
    this.#options = options;
    this.#label = options.label ?? folderLabel(options.dir);
    this.#timeoutMs = loadTimeout(
      options.loadTimeoutMs ??
        loadTimeoutFromEnv((message) => options.log.warn(message)),
    );
  }

  /** The tools now serving, by file name order. */
  get tools(): ToolSet {
    const files = [...this.#tools.keys()].sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    return new ToolSet(files.map((file) => this.#tools.get(file)!));
  }

  /**
   * Loads every tool file, from the listing cache where its entry is current, else from a probe;
   * broken ones are logged and left out, the rest serve.
   */
  load(): Promise<ToolSet> {
    return this.#serially(async () => {
      const { files, warnings } = await scanToolFiles(
        this.#options.dir,
        this.#label,
      );
      for (const message of warnings) this.#options.log.warn(message);
      await this.#apply(files, new Set(files), true);
      // Listed from the cache, nothing was probed: the first change would wait for a worker.
      this.#prober?.warmSoon();
      return this.tools;
    });
  }

  /**
   * Reloads after `paths` (relative to the folder, `/`-separated) changed: each tool file among
   * them, and each tool file that imports one of them, directly or through other modules, all
   * in one probe; returns true when the tool set changed. A file that no longer exists is
   * dropped, and so is one that is no longer a file (a symbolic link to a folder or to nothing:
   * with a warning); one that fails to load in time or to check is logged and its previous
   * version kept. A changed tool file counts as a change even when it lists the same; a file
   * reloaded for a module it imports counts only when its listing changed.
   */
  reload(paths: Iterable<string>): Promise<boolean> {
    const changed = [...new Set(paths)].sort();
    return this.#serially(() => this.#reload(changed));
  }

  async #reload(paths: string[]): Promise<boolean> {
    const saved = new Set(
      paths.filter((path) => !path.includes("/") && isToolFile(path)),
    );
    const touched = new Set(paths);
    const importers: string[] = [];
    const imported = new Set<string>();
    for (const [file, modules] of this.#imports) {
      if (saved.has(file)) continue;
      const changed = [...modules].filter((module) => touched.has(module));
      if (changed.length === 0) continue;
      importers.push(file);
      for (const module of changed) imported.add(module);
    }
    const { log } = this.#options;
    const named = (paths: Iterable<string>) =>
      nameList([...paths].sort().map((path) => `${this.#label}${path}`));
    if (importers.length > 0) {
      log.info(
        `${named(imported)} changed: reloading what imports ${
          imported.size > 1 ? "them" : "it"
        }: ${nameList(importers.map((file) => `"${this.#label}${file}"`))}`,
      );
    }
    const loose = paths.filter((path) =>
      !saved.has(path) && !imported.has(path) && isOtherCode(path)
    );
    if (loose.length > 0) {
      log.info(
        `${
          named(loose)
        } changed, which no tool file imports (an import whose name is computed is not followed); save the tool file that imports it to reload it`,
      );
    }
    return await this.#apply([...saved, ...importers].sort(), saved, false);
  }

  /**
   * Lists `files` (one probe for those not answered from the cache, with `cache`) and serves
   * what loaded; true when the tool set changed. A file in `saved` counts as a change whenever it
   * loads; another (reloaded for a module it imports) only when its listing changed.
   */
  async #apply(
    files: readonly string[],
    saved: ReadonlySet<string>,
    cache: boolean,
  ): Promise<boolean> {
    const { log, serverName, dir } = this.#options;
    let changed = false;
    const present: string[] = [];
    for (const file of files) {
      const gone = await this.#gone(file);
      if (gone === false) {
        present.push(file);
        continue;
      }
      if (gone) log.warn(`Skipping "${this.#label}${file}": ${gone}`);
      this.#imports.delete(file);
      const previous = this.#tools.get(file);
      if (previous && this.#tools.delete(file)) {
        this.#options.detach?.(file);
        changed = true;
        log.info(`Removed tool "${previous.name}" (${this.#label}${file})`);
      }
    }
    const { listed } = await listToolFiles(dir, present, {
      label: this.#label,
      log,
      loadTimeoutMs: this.#timeoutMs,
      probe: this.#options.probe ?? this.#prober?.probe.bind(this.#prober),
      cache,
    });
    for (const { file, modules, entry, error } of listed) {
      this.#imports.set(file, new Set(modules));
      const previous = this.#tools.get(file);
      const keeping = previous
        ? "; the previous version keeps serving"
        : "; it is not served until it loads";
      if (!entry) {
        log.error(`${error}${keeping}`);
        continue;
      }
      const tool = unattachedTool(entry, `${this.#label}${file}`);
      const byName = new Map<string, Tool>();
      for (const [other, served] of this.#tools) {
        if (other !== file) byName.set(served.name, served);
      }
      const errors: string[] = [];
      const warnings: string[] = [];
      const admitted = admitTool(tool, {
        byName,
        serverName,
        errors,
        warnings,
      });
      for (const message of warnings) log.warn(message);
      if (!admitted) {
        for (const message of errors) log.error(`${message}${keeping}`);
        continue;
      }
      this.#tools.set(file, this.#options.attach(tool, file));
      const same = previous !== undefined && sameListing(previous, tool);
      if (saved.has(file) || !same) changed = true;
      log.info(
        `${
          previous ? "Reloaded" : "Loaded"
        } tool "${tool.name}" (${tool.source})${
          same && !saved.has(file) ? "; its listing is unchanged" : ""
        }`,
      );
    }
    return changed;
  }

  /**
   * False while `file` is a file (or a symbolic link to one) or cannot be looked at (its probe
   * says why); else why not, or undefined when it simply is not there.
   */
  async #gone(file: string): Promise<string | undefined | false> {
    const url = toolFileUrl(this.#options.dir, file);
    try {
      const info = await Deno.lstat(url);
      if (info.isSymlink) return (await linkProblem(url)) ?? false;
      return info.isFile ? false : undefined;
    } catch (error) {
      return error instanceof Deno.errors.NotFound ? undefined : false;
    }
  }

  /** Runs `task` once the load or reload before it has finished. */
  #serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(task);
    this.#serial = run.catch(() => {});
    return run;
  }

  /**
   * Watches the folder until `signal` aborts, yielding the new tool set after each change that
   * altered it. The changes that come while one is being reloaded are reloaded together next.
   */
  watch(signal: AbortSignal): AsyncIterable<ToolSet> {
    // Watching starts now, before the first load finishes, so no change in between is missed.
    const batches = watchPaths(this.#options.dir, {
      signal,
      settleMs: SETTLE_MS,
    });
    if (!this.#options.probe && !signal.aborted) {
      const prober = this.#prober = new Prober({
        log: this.#options.log,
        loadTimeoutMs: this.#timeoutMs,
        idleMs: this.#options.probeIdleMs,
      });
      // Its worker started ahead would keep the process alive.
      signal.addEventListener("abort", () => {
        prober.close();
        if (this.#prober === prober) this.#prober = undefined;
      }, { once: true });
    }
    return this.#follow(batches, signal);
  }

  async *#follow(
    batches: AsyncIterable<string[]>,
    signal: AbortSignal,
  ): AsyncGenerator<ToolSet> {
    try {
      // While a batch is reloaded the watcher keeps gathering: the next batch holds every path
      // that changed meanwhile, listed in one probe.
      for await (const paths of batches) {
        if (await this.reload(paths) && !signal.aborted) yield this.tools;
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#options.log.error("Stopped watching the tools folder", error);
      }
    }
  }
}

/** True when `a` and `b` list the same: name, `tools/list` entry, permissions and timeout. */
function sameListing(a: Tool, b: Tool): boolean {
  const listing = (tool: Tool) =>
    JSON.stringify([
      tool.name,
      tool.descriptor,
      tool.permissions ?? null,
      tool.timeoutMs,
    ]);
  return listing(a) === listing(b);
}

/** Code a tool may import that is not itself a tool: helpers, not tests or the manifest. */
function isOtherCode(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (path === MANIFEST_FILE || name.startsWith(".")) return false;
  if (!CODE_FILE.test(name)) return false;
  if (/[._]test\.[mc]?[jt]sx?$/.test(name)) return false;
  return path.includes("/") || !isToolFile(name);
}
