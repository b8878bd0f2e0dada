/**
 * @module
 * Runs tool calls in workers: tools with the same declared permissions share one, which starts
 * at its first call with exactly those permissions (plus the base set and read access to the
 * tools folder). A tool that does not stop after an abort gets its worker replaced.
 */

import { errorResult } from "../../server/result.ts";
import type { CallToolResult } from "../../tool/tool.ts";
import type { RemoteRunner, Tool } from "../../tool/toolset.ts";
import {
  BASE_PERMISSIONS,
  heldPermissions,
  missingPermissions,
  permissionsKey,
  type ToolPermissions,
  unionPermissions,
  workerPermissions,
} from "../../tool/permissions.ts";
import { describeError } from "../../util/describe.ts";
import type { Logger } from "../../util/log.ts";
import { isTimerMs, MAX_TIMER_MS, timerMsFromEnv } from "../../util/timer.ts";
import type { ToolFile } from "./protocol.ts";
import { toolFileUrl } from "../import_tool.ts";
import { toolStem } from "../tool_files.ts";
import { ToolWorker, type WorkerEnd, type WorkerTool } from "./_tool_worker.ts";

/** The handle of a call that ended before it started. */
const NO_CALL = { abort: () => {} };

/** Milliseconds an aborted call may take to end before its worker is terminated. */
export const DEFAULT_STOP_GRACE_MS = 1000;

/** The environment variable that sets the grace, in milliseconds. */
export const STOP_GRACE_VARIABLE = "TOOLDROP_STOP_GRACE_MS";

/** Where the tools are and how their workers behave. */
export interface WorkerHostOptions {
  /** The tools folder: each worker may read it, to import its tools and their helpers. */
  toolsDir: URL;
  log: Logger;
  /**
   * Milliseconds an aborted call (timeout, cancellation, shutdown) may take to end before its
   * worker is terminated. Default `TOOLDROP_STOP_GRACE_MS` when set and readable, else 1000.
   */
  graceMs?: number | undefined;
  /** Milliseconds a worker may sit without calls before it stops; 0: at once. Default: never. */
  idleMs?: number | undefined;
  /** The worker's module; default `entry.ts` beside this file. */
  entry?: URL | undefined;
}

interface Group {
  readonly declared: ToolPermissions | undefined;
  readonly files: ToolFile[];
  worker: ToolWorker | undefined;
}

/**
 * The workers of one server. `attach` gives a tool loaded from a file a `remote` runner;
 * `close` terminates every worker.
 */
export class WorkerHost {
  readonly #groups = new Map<string, Group>();
  readonly #options: WorkerHostOptions;
  readonly #toolsPath: string;
  readonly #graceMs: number;
  /** The base set, as far as this process holds it (a worker cannot exceed its parent). */
  readonly #base: ToolPermissions;
  #stuck = 0;
  #started = 0;
  #closed = false;

  constructor(options: WorkerHostOptions) {
    this.#options = options;
    this.#toolsPath = decodeURIComponent(options.toolsDir.pathname).replace(
      /(.)\/$/,
      "$1",
    );
    if (options.graceMs !== undefined && !isTimerMs(options.graceMs)) {
      throw new RangeError(
        `Cannot run tools: graceMs is ${options.graceMs}; use a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
      );
    }
    this.#base = heldPermissions(BASE_PERMISSIONS);
    this.#graceMs = options.graceMs ??
      graceFromEnv((message) => options.log.warn(message)) ??
      DEFAULT_STOP_GRACE_MS;
  }

  /** `tool` (loaded from `fileName` in the tools folder) with its calls run in its worker. */
  attach(tool: Tool, fileName: string): Tool {
    const file: ToolFile = {
      url: toolFileUrl(this.#options.toolsDir, fileName).href,
      source: tool.source,
      stem: toolStem(fileName),
    };
    return { ...tool, remote: this.runner(tool, file) };
  }

  /** A runner for `tool`'s calls in the worker of its permission group, which imports `file`. */
  runner(
    tool: WorkerTool & { readonly permissions: ToolPermissions | undefined },
    file: ToolFile,
  ): RemoteRunner {
    const key = permissionsKey(tool.permissions);
    let group = this.#groups.get(key);
    if (!group) {
      group = { declared: tool.permissions, files: [], worker: undefined };
      this.#groups.set(key, group);
    }
    group.files.push(file);
    // A running worker has not imported the new file: the next call starts one that has.
    group.worker?.retire();
    group.worker = undefined;
    const named: WorkerTool = { name: tool.name, source: tool.source };
    const target = group;
    return {
      run: (args, context) => {
        const { promise, resolve } = Promise.withResolvers<CallToolResult>();
        const worker = this.#worker(target, named, resolve);
        return worker ? worker.run(named, args, context) : promise;
      },
      start: (args, context, done) =>
        this.#worker(target, named, done)?.start(named, args, context, done) ??
          NO_CALL,
    };
  }

  /** Workers terminated while a call did not stop: their threads may still keep a core busy. */
  get stuckWorkers(): number {
    return this.#stuck;
  }

  /** Workers started so far. */
  get startedWorkers(): number {
    return this.#started;
  }

  /** Terminates every worker; calls in flight end with an error, later calls are refused. */
  close(): void {
    this.#closed = true;
    for (const group of this.#groups.values()) group.worker?.close();
  }

  /** The group's worker, started if need be; else undefined, with `done` told why. */
  #worker(
    group: Group,
    tool: WorkerTool,
    done: (result: CallToolResult) => void,
  ): ToolWorker | undefined {
    let why: string;
    try {
      if (this.#closed) {
        why = `Cannot run tool "${tool.name}": the server is shutting down`;
      } else {
        const worker = group.worker ?? this.#start(group, tool);
        if (typeof worker !== "string") return worker;
        why = worker;
      }
    } catch (error) {
      why = `Cannot run tool "${tool.name}": ${describeError(error)}`;
    }
    done(errorResult(why));
    return undefined;
  }

  /** Starts the group's worker; returns why it cannot start instead of throwing. */
  #start(group: Group, tool: WorkerTool): ToolWorker | string {
    const options = this.#options;
    try {
      const worker = new ToolWorker({
        entry: options.entry ?? new URL("./entry.ts", import.meta.url),
        files: [...group.files],
        permissions: workerPermissions(
          group.declared,
          this.#toolsPath,
          this.#base,
        ),
        graceMs: this.#graceMs,
        idleMs: options.idleMs,
        log: options.log,
        onEnd: (ended, end) => this.#ended(group, ended, end),
      });
      group.worker = worker;
      this.#started++;
      return worker;
    } catch (error) {
      const why = error instanceof Deno.errors.NotCapable
        ? `its worker needs ${
          missingPermissions(
            unionPermissions([{ read: [this.#toolsPath] }, group.declared]),
          ).join(" ") || "permissions"
        }, which this process was not granted; \`deno task dev\`, \`deno task compile\` and \`tooldrop install\` grant what tools declare`
        : `its worker cannot start: ${describeError(error)}`;
      const message = `Cannot run tool "${tool.name}" (${tool.source}): ${why}`;
      options.log.error(message);
      return message;
    }
  }

  #ended(group: Group, worker: ToolWorker, end: WorkerEnd): void {
    if (group.worker === worker) group.worker = undefined;
    if (end.kind !== "stuck") return;
    this.#stuck++;
    this.#options.log.warn(
      `Tool "${end.tool.name}" (${end.tool.source}) did not stop within ${this.#graceMs} ms after its call was aborted: its worker was terminated, but if the tool is stuck in a loop its thread keeps a CPU core busy until the server restarts (${this.#stuck} worker(s) so far)`,
    );
  }
}

/**
 * The grace `TOOLDROP_STOP_GRACE_MS` sets; undefined when it is unset or this process may not
 * read it. An invalid value is reported to `warn` and ignored.
 */
export function graceFromEnv(
  warn: (message: string) => void,
): number | undefined {
  return timerMsFromEnv(STOP_GRACE_VARIABLE, warn);
}
