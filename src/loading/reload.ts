/**
 * @module
 * Hot reload for development: watches the tools folder and re-imports a tool file when it is
 * added or changed (a new module URL each time, so the module cache hands back the new code),
 * drops it when deleted, and keeps the previous version serving when the new one is broken.
 * Changes to other code in the folder (a tool's helpers) are reported to the caller, which
 * restarts the process under `deno task dev`, or the tools' workers under `--isolate`: a
 * module's own imports cannot be re-imported in this thread.
 */

import { checkModules } from "./discover.ts";
import {
  type ImportOutcome,
  importProblem,
  importTool,
  loadTimeout,
  loadTimeoutFromEnv,
  toolFileUrl,
} from "./import_tool.ts";
import type { Logger } from "../util/log.ts";
import { MANIFEST_FILE } from "./manifest.ts";
import {
  folderLabel,
  isToolFile,
  linkProblem,
  scanToolFiles,
} from "./tool_files.ts";
import { type Tool, ToolSet } from "../tool/served.ts";
import { watchPaths } from "./watch.ts";

/**
 * The exit code of a server under `deno task dev` that wants to be started again: helper code
 * changed, or a tool needs permissions the process was not granted.
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
   * Milliseconds each file may take to import; default `TOOLDROP_LOAD_TIMEOUT_MS` when set and
   * readable, else 10 000.
   */
  loadTimeoutMs?: number | undefined;
  /**
   * Called with the paths (relative to the folder) of changed code that is not a tool file,
   * such as a helper module the tools import.
   */
  onOtherChange?: (paths: string[]) => void;
  /**
   * Returns each tool that loaded, from file `fileName`, as it is to be served (`--isolate`: with
   * a `remote` runner from the server's WorkerHost, whose worker imports the file as it is now).
   * Called again each time the file loads again. Default: as it is, run in this thread.
   */
  attach?: ((tool: Tool, fileName: string) => Tool) | undefined;
  /** Told when a tool file stops being served (deleted, or no longer a file). */
  detach?: ((fileName: string) => void) | undefined;
}

/** Holds the last good version of every tool file and reloads them as they change. */
export class ToolReloader {
  readonly #options: ReloaderOptions;
  readonly #label: string;
  readonly #timeoutMs: number;
  /** File name → its last good tool. */
  readonly #tools = new Map<string, Tool>();
  #version = 0;

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

  /** Loads every tool file; broken ones are logged and left out, the rest serve. */
  async load(): Promise<ToolSet> {
    const { files, warnings } = await scanToolFiles(
      this.#options.dir,
      this.#label,
    );
    for (const message of warnings) this.#options.log.warn(message);
    await this.reload(files);
    return this.tools;
  }

  /**
   * Reloads the given files (names relative to the folder); returns true when the tool set
   * changed. A file that no longer exists is dropped, and so is one that is no longer a file
   * (a symbolic link to a folder or to nothing: with a warning); one that fails to import in
   * time or to check is logged and its previous version kept.
   */
  async reload(files: Iterable<string>): Promise<boolean> {
    const names = [...new Set(files)].filter(isToolFile).sort();
    const version = ++this.#version;
    const imported = await Promise.all(
      names.map((file) => this.#import(file, version)),
    );
    const { log, serverName } = this.#options;
    let changed = false;
    for (const entry of imported) {
      const { file } = entry;
      const previous = this.#tools.get(file);
      const keeping = previous
        ? "; the previous version keeps serving"
        : "; it is not served until it loads";
      if ("gone" in entry) {
        if (entry.gone) {
          log.warn(`Skipping "${this.#label}${file}": ${entry.gone}`);
        }
        if (this.#tools.delete(file)) {
          this.#options.detach?.(file);
          changed = true;
          log.info(`Removed tool "${previous!.name}" (${this.#label}${file})`);
        }
        continue;
      }
      if (!("module" in entry)) {
        log.error(
          `Cannot load tool "${this.#label}${file}": ${
            importProblem(entry)
          }${keeping}`,
        );
        continue;
      }
      const result = checkModules([[file, entry.module]], {
        label: this.#label,
        serverName,
      });
      for (const message of result.warnings) log.warn(message);
      const tool = result.tools[0];
      if (!tool) {
        for (const message of result.errors) log.error(`${message}${keeping}`);
        continue;
      }
      const clash = [...this.#tools].find(([other, t]) =>
        other !== file && t.name === tool.name
      );
      if (clash) {
        log.error(
          `Cannot load tool "${tool.source}": the name "${tool.name}" is already used by "${
            clash[1].source
          }"; rename one of them or set "name"${keeping}`,
        );
        continue;
      }
      this.#tools.set(file, this.#options.attach?.(tool, file) ?? tool);
      changed = true;
      log.info(
        `${
          previous ? "Reloaded" : "Loaded"
        } tool "${tool.name}" (${tool.source})`,
      );
    }
    return changed;
  }

  /** Imports one file afresh, bounded in time; `gone` when it is no longer a file (and why). */
  async #import(
    file: string,
    version: number,
  ): Promise<
    { file: string } & (ImportOutcome | { gone: string | undefined })
  > {
    const url = toolFileUrl(this.#options.dir, file);
    try {
      const info = await Deno.lstat(url);
      if (info.isSymlink) {
        const problem = await linkProblem(url);
        if (problem) return { file, gone: problem };
      } else if (!info.isFile) return { file, gone: undefined };
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        return { file, gone: undefined };
      }
      return { file, error };
    }
    // A fresh URL per reload: the module cache would hand back the old code otherwise.
    return {
      file,
      ...await importTool(`${url.href}?v=${version}`, this.#timeoutMs),
    };
  }

  /**
   * Watches the folder until `signal` aborts, yielding the new tool set after each change that
   * altered it. Other code changes go to `onOtherChange`.
   */
  watch(signal: AbortSignal): AsyncIterable<ToolSet> {
    // Watching starts now, before the first load finishes, so no change in between is missed.
    const batches = watchPaths(this.#options.dir, {
      signal,
      settleMs: SETTLE_MS,
    });
    return this.#follow(batches, signal);
  }

  async *#follow(
    batches: AsyncIterable<string[]>,
    signal: AbortSignal,
  ): AsyncGenerator<ToolSet> {
    try {
      for await (const paths of batches) {
        const tools = paths.filter((path) =>
          !path.includes("/") && isToolFile(path)
        );
        const others = paths.filter((path) => isOtherCode(path));
        if (others.length > 0) this.#options.onOtherChange?.(others.sort());
        if (tools.length > 0 && await this.reload(tools) && !signal.aborted) {
          yield this.tools;
        }
      }
    } catch (error) {
      if (!signal.aborted) {
        this.#options.log.error("Stopped watching the tools folder", error);
      }
    }
  }
}

/** Code a tool may import that is not itself a tool: helpers, not tests or the manifest. */
function isOtherCode(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  if (path === MANIFEST_FILE || name.startsWith(".")) return false;
  if (!CODE_FILE.test(name)) return false;
  if (/[._]test\.[mc]?[jt]sx?$/.test(name)) return false;
  return path.includes("/") || !isToolFile(name);
}
