/**
 * @module
 * Learns what tool files declare without importing them in this thread: one short-lived worker
 * imports them, checks each tool and answers its `tools/list` entry, then is terminated. The
 * listing cache (../listing.ts) uses it for the files it has no current entry for, and the
 * reloader (../reload.ts) for the files a change touched, through a `Prober`, which keeps the
 * next probe's worker started ahead so that a saved file is listed without waiting for one.
 */

import { describeError, nameList } from "../../util/describe.ts";
import type { Logger, LogLevel } from "../../util/log.ts";
import { loadTimeout } from "../import_tool.ts";
import type { FromWorker, LoadedTool, ToolFile, ToWorker } from "./protocol.ts";

/** Milliseconds past the load timeout before a probe that has not answered is terminated. */
const PROBE_MARGIN_MS = 1000;

/** How a probe runs. */
export interface ProbeOptions {
  log: Logger;
  /**
   * Milliseconds the files may take to import, together; past it the worker is terminated and
   * each file not yet answered is an error. Default 10 000.
   */
  loadTimeoutMs?: number | undefined;
  /** The worker's module; default `entry.ts` beside this file. */
  entry?: URL | undefined;
}

/**
 * What each file of `files` declares, in their order: its tool (name, permissions, timeout and
 * `tools/list` entry), or the error that names it. Never rejects.
 *
 * The worker holds this process's permissions ("inherit"): a file's declared permissions are not
 * known until it is evaluated, and its top-level code may use them; this thread's import, which
 * the probe replaces, held the same. Not libc's FFI, which the process gives up before any tool
 * file is evaluated (src/util/stdio_fds.ts). The probe never runs a call: calls run in the
 * workers of the tools' permission groups, with exactly what each declares.
 */
export function probeTools(
  files: readonly ToolFile[],
  options: ProbeOptions,
): Promise<LoadedTool[]> {
  if (files.length === 0) return Promise.resolve([]);
  return new ProbeWorker(options).probe(files);
}

/**
 * Probes one batch of files at a time, each in a worker of its own, and keeps the next one
 * started: its module graph (tooldrop, zod) loads while nothing changes, so a probe costs the
 * worker's guards and the files' own imports (~50 ms) rather than also a worker's start (another
 * ~40–80 ms). `close` ends it: a worker started ahead keeps the process alive.
 */
export class Prober {
  readonly #options: ProbeOptions & { idleMs?: number | undefined };
  #standby: ProbeWorker | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * `idleMs`: how long the worker started ahead may wait for a change before it stops, giving
   * its memory back (~30 MB); the next change then waits for a worker. Default: never.
   */
  constructor(options: ProbeOptions & { idleMs?: number | undefined }) {
    this.#options = options;
  }

  /**
   * Starts the next probe's worker once this turn's work is done (a reply waiting for the tools
   * goes first), unless one is started already.
   */
  warmSoon(): void {
    if (this.#closed || this.#standby || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#warm();
    }, 0);
  }

  /** As {@link probeTools}, in the worker started ahead when there is one. */
  async probe(files: readonly ToolFile[]): Promise<LoadedTool[]> {
    if (files.length === 0) return [];
    // One that failed while it waited (it could not start) is replaced, not blamed on the files.
    const standby = this.#standby?.failed ? undefined : this.#standby;
    const worker = standby ?? new ProbeWorker(this.#options);
    this.#standby = undefined;
    clearTimeout(this.#idle);
    try {
      return await worker.probe(files);
    } finally {
      // After the answer: starting a worker costs a core for a while, which this probe needed.
      this.#warm();
    }
  }

  /** Terminates the worker started ahead; a probe under way still answers. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stopStandby();
  }

  /** Starts the worker for the next probe, unless one is waiting already. */
  #warm(): void {
    if (this.#closed || (this.#standby && !this.#standby.failed)) return;
    this.#standby = new ProbeWorker(this.#options);
    const idleMs = this.#options.idleMs;
    if (idleMs === undefined) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.#stopStandby(), idleMs);
    Deno.unrefTimer(this.#idle); // the worker keeps the process alive; its timer need not
  }

  #stopStandby(): void {
    clearTimeout(this.#idle);
    this.#standby?.close();
    this.#standby = undefined;
  }
}

/**
 * One probe's worker: started at once, given its files by `probe`, terminated once it answers.
 * It answers the files of its `load` and nothing else, so it speaks the protocol itself rather
 * than through ./_tool_worker.ts, whose workers load their files as they start and run calls.
 */
class ProbeWorker {
  readonly #options: ProbeOptions;
  readonly #timeoutMs: number;
  readonly #worker: Worker | undefined;
  /** Why it cannot answer, once it failed (before or during its probe). */
  #failure: string | undefined;
  #answer: ((why: string | LoadedTool[]) => void) | undefined;

  constructor(options: ProbeOptions) {
    this.#options = options;
    this.#timeoutMs = loadTimeout(options.loadTimeoutMs);
    try {
      this.#worker = new Worker(
        options.entry ?? new URL("./entry.ts", import.meta.url),
        {
          type: "module",
          name: "tooldrop probe",
          deno: { permissions: "inherit" },
        },
      );
    } catch (error) {
      this.#failure = `a worker cannot start to read it: ${
        describeError(error)
      }`;
      return;
    }
    this.#worker.addEventListener("message", (event) => {
      const message = (event as MessageEvent<FromWorker>).data;
      if (message?.type === "loaded") {
        this.#end(Array.isArray(message.tools) ? message.tools : []);
      } else if (message?.type === "exit") {
        this.#end(
          "it ended its worker while loading (Deno.exit, process.exit or close() at its top level)",
        );
      }
    });
    this.#worker.addEventListener("error", (event) => {
      event.preventDefault(); // else it is thrown again in this thread
      this.#end("its worker failed while loading it");
    });
  }

  /** True once it cannot answer a probe (it failed, was stopped, or answered one). */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /** What each file declares, in their order (see {@link probeTools}). */
  probe(files: readonly ToolFile[]): Promise<LoadedTool[]> {
    const fail = (why: string): LoadedTool[] =>
      files.map(({ source }) => ({
        source,
        error: `Cannot load tool "${source}": ${why}`,
      }));
    if (this.#failure !== undefined || !this.#worker) {
      this.close();
      return Promise.resolve(fail(this.#failure ?? "its worker ended"));
    }
    const { promise, resolve } = Promise.withResolvers<LoadedTool[]>();
    // The worker answers a file whose import awaits too long itself (naming it); this is for one
    // that never lets the worker answer (a synchronous loop at its top level).
    const timer = setTimeout(() => {
      this.#end(
        `it did not finish loading within ${
          this.#timeoutMs + PROBE_MARGIN_MS
        } ms (a loop at its top level?), or a file loaded with it did not: ${
          nameList(files.map((file) => `"${file.source}"`))
        }`,
      );
    }, this.#timeoutMs + PROBE_MARGIN_MS);
    this.#answer = (answer) => {
      clearTimeout(timer);
      if (typeof answer === "string") return resolve(fail(answer));
      const bySource = new Map(answer.map((tool) => [tool.source, tool]));
      resolve(files.map((file) =>
        bySource.get(file.source) ?? {
          source: file.source,
          error:
            `Cannot load tool "${file.source}": its worker did not answer for it`,
        }
      ));
    };
    // The worker logs at this thread's level (`logLevel`: an optional field of `load`).
    const load: Extract<ToWorker, { type: "load" }> & { logLevel: LogLevel } = {
      type: "load",
      files: [...files],
      describe: true,
      loadTimeoutMs: this.#timeoutMs,
      logLevel: this.#options.log.level,
    };
    try {
      this.#worker.postMessage(load);
    } catch (error) {
      this.#end(
        `a message could not be sent to its worker: ${describeError(error)}`,
      );
    }
    return promise;
  }

  /** Terminates the worker; a probe under way answers that it did not finish. */
  close(): void {
    this.#end("its worker was stopped");
  }

  /** Ends the worker once, with the answer or why there is none. */
  #end(answer: string | LoadedTool[]): void {
    if (this.#failure !== undefined && !this.#answer) return;
    this.#failure ??= typeof answer === "string" ? answer : "it answered";
    this.#worker?.terminate();
    const told = this.#answer;
    this.#answer = undefined;
    told?.(answer);
  }
}
