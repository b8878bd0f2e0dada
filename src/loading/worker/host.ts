/**
 * @module
 * Runs tool calls in workers: tools with the same declared permissions share one, which starts
 * at its first call (or when pre-warmed) with exactly those permissions (plus the base set and
 * read access to the tools folder). A tool that does not stop after an abort, or whose file was
 * loaded again (`--watch`), gets its worker replaced. (Over 300 lines: the groups and the life
 * of their workers — started, pre-warmed, retired on reload, ended — read best in one place.)
 */

import { errorResult } from "../../server/result.ts";
import type { CallToolResult } from "../../tool/tool.ts";
import type { RemoteRunner, Tool } from "../../tool/served.ts";
import { runnableLabel } from "../../server/kind_failure.ts";
import {
  BASE_PERMISSIONS,
  heldPermissions,
  missingPermissions,
  permissionsKey,
  type ToolPermissions,
  unionPermissions,
  workerPermissions,
} from "../../tool/permissions.ts";
import { describeError, nameList } from "../../util/describe.ts";
import type { Logger, LogLevel } from "../../util/log.ts";
import {
  isTimerMs,
  MAX_TIMER_MS,
  nextTurn,
  timerMsFromEnv,
} from "../../util/timer.ts";
import type { ToolFile } from "./protocol.ts";
import { toolFileHref } from "../import_tool.ts";
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
  /**
   * The other folders it serves files from (prompts/, resources/): each worker may read them
   * too, as a prompt and a tool with the same permissions share a worker.
   */
  folders?: readonly URL[] | undefined;
  log: Logger;
  /**
   * The level the workers log at, their tools' console output included; default `log`'s. A
   * command (`call`) keeps its own messages to warnings but shows what the tool prints.
   */
  logLevel?: LogLevel | undefined;
  /**
   * Milliseconds an aborted call (timeout, cancellation, shutdown) may take to end before its
   * worker is terminated. Default `TOOLDROP_STOP_GRACE_MS` when set and readable, else 1000.
   */
  graceMs?: number | undefined;
  /** Milliseconds a worker may sit without calls before it stops; 0: at once. Default: never. */
  idleMs?: number | undefined;
  /** The worker's module; default `entry.ts` beside this file. */
  entry?: URL | undefined;
  /**
   * Told each time a worker is terminated because a call did not stop (its thread may keep a
   * CPU core busy), with how many so far: `deno task dev` restarts the server to get it back.
   */
  onStuck?: ((stuck: number) => void) | undefined;
  /**
   * True when fd 0 and fd 1 carry no protocol: the process moved its streams off them
   * (src/util/stdio_fds.ts), or it serves HTTP. Node's routes to them need no guard in the
   * workers, which then start without booting Node compatibility (~25 ms of a first call, ~4 MiB).
   */
  stdioFree?: boolean | undefined;
}

interface Group {
  readonly key: string;
  readonly declared: ToolPermissions | undefined;
  /** The group's files, by URL. */
  readonly files: Map<string, ToolFile>;
  worker: ToolWorker | undefined;
  /** Calls sent to its workers that have not ended. */
  inFlight: number;
  /** When it last got a call, in the host's own count of calls. */
  lastCall: number;
}

/**
 * Workers `prewarm` starts at most: each holds ~18 MiB, and a folder whose tools declare many
 * different permissions would otherwise start one per set at once.
 */
export const MAX_PREWARMED = 4;

/**
 * Workers running at most while they have no call: starting one more stops the least recently
 * called idle one. (Busy ones are bounded by the server's concurrency limit on calls.)
 */
export const MAX_IDLE_WORKERS = 16;

/**
 * The workers of one server. `attach` gives a tool loaded from a file a `remote` runner (again
 * when the file is loaded again: its group's worker is then replaced), `detach` forgets a file,
 * `restart` replaces every worker, `prewarm` starts them ahead of the first call, `close`
 * terminates them all.
 */
export class WorkerHost {
  readonly #groups = new Map<string, Group>();
  /** Each attached file's URL → its group. */
  readonly #fileGroups = new Map<string, Group>();
  /** Every worker not yet ended, retired ones still finishing their calls included. */
  readonly #live = new Set<ToolWorker>();
  readonly #options: WorkerHostOptions;
  readonly #toolsPath: string;
  /** Read access to the other served folders, granted to every worker. */
  readonly #folders: ToolPermissions | undefined;
  readonly #graceMs: number;
  /** The base set, as far as this process holds it (a worker cannot exceed its parent). */
  readonly #base: ToolPermissions;
  /** Files `startEarly` put in a group that no `attach` has confirmed yet. */
  readonly #early = new Set<string>();
  #stuck = 0;
  #started = 0;
  /** Calls so far, the clock of `Group.lastCall`. */
  #calls = 0;
  /** Calls in flight, in every group. */
  #inFlight = 0;
  /** What `afterCalls` waits to run. */
  #afterCalls: Array<() => void> = [];
  #closed = false;

  constructor(options: WorkerHostOptions) {
    this.#options = options;
    this.#toolsPath = decodeURIComponent(options.toolsDir.pathname).replace(
      /(.)\/$/,
      "$1",
    );
    // tooldrop's own src/ too: a worker loads the checks of prompts and resources when it first
    // needs them, and a lazy import is a read like any other. The working directory (the base
    // set) holds it only when the server runs from tooldrop's folder, not from a project's.
    const own = new URL("../../", import.meta.url);
    const folders = [
      ...(options.folders ?? []),
      ...(own.protocol === "file:" ? [own] : []),
    ].map((url) => decodeURIComponent(url.pathname).replace(/(.)\/$/, "$1"));
    this.#folders = folders.length > 0 ? { read: folders } : undefined;
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

  /**
   * Starts the workers of a large folder's tools from what the listing cache says of them,
   * before their entries are checked: a worker boots (tens of milliseconds on its own thread)
   * while this thread checks the cache, so the first call finds it ready. A later `attach` of the
   * same file to the same group keeps that worker; `endEarly` drops what was not attached.
   */
  startEarly(
    files: ReadonlyArray<
      { file: ToolFile; permissions: ToolPermissions | undefined }
    >,
  ): number {
    if (this.#closed) return 0;
    for (const { file, permissions } of files) {
      const group = this.#group(permissions);
      group.files.set(file.url, file);
      this.#fileGroups.set(file.url, group);
      this.#early.add(file.url);
    }
    // Their idle clocks start with the next `prewarm`, after the first replies.
    return this.#startWorkers(true);
  }

  /**
   * The first load is over: files started early but not attached leave their groups, and the
   * workers' idle clocks start once this turn's replies are written (`prewarm` may not come: a
   * load that failed, a command that makes one call).
   */
  endEarly(): void {
    for (const url of this.#early) this.#leave(url);
    this.#early.clear();
    nextTurn(() => {
      for (const worker of this.#live) worker.startIdleClock();
    });
  }

  /** `tool` (loaded from `fileName` in the tools folder) with its calls run in its worker. */
  attach(tool: Tool, fileName: string): Tool {
    const file: ToolFile = {
      url: toolFileHref(this.#options.toolsDir, fileName),
      source: tool.source,
      stem: toolStem(fileName),
    };
    return { ...tool, remote: this.runner(tool, file) };
  }

  /**
   * A runner for `tool`'s calls in the worker of its permission group, which imports `file`.
   * When `file` was attached before, it leaves its previous group, and the worker of its new
   * group is retired: its calls in flight end there, the next call starts a worker that imports
   * the file as it is now.
   */
  runner(
    tool: WorkerTool & {
      readonly permissions: ToolPermissions | undefined;
    },
    file: ToolFile,
  ): RemoteRunner {
    const early = this.#early.delete(file.url) &&
      this.#fileGroups.get(file.url)?.key === permissionsKey(tool.permissions);
    if (!early) {
      this.#leave(file.url);
      const group = this.#group(tool.permissions);
      group.files.set(file.url, file);
      this.#fileGroups.set(file.url, group);
      // A running worker has not imported this version of the file: the next call starts one
      // that has (or the pre-warm does). One started early for it, at this load, has.
      this.#retire(group);
    }
    const named: WorkerTool = tool.reply
      ? { name: tool.name, source: tool.source, reply: tool.reply }
      : { name: tool.name, source: tool.source };
    // The file's group now: an older runner of the same file (a call that waited for a slot
    // across a reload) follows the file if its permissions changed.
    const target = () => this.#fileGroups.get(file.url);
    return {
      run: (args, context) => {
        const { promise, resolve } = Promise.withResolvers<CallToolResult>();
        const group = target();
        const ended = this.#called(group);
        const worker = this.#worker(group, named, resolve);
        return (worker ? worker.run(named, args, context) : promise).finally(
          ended,
        );
      },
      start: (args, context, done) => {
        const group = target();
        const ended = this.#called(group);
        const finish = (result: CallToolResult) => {
          ended();
          done(result);
        };
        return this.#worker(group, named, finish)?.start(
          named,
          args,
          context,
          finish,
        ) ?? NO_CALL;
      },
    };
  }

  /**
   * Forgets the tool file `fileName` (deleted, or no longer a tool): the next worker of its group
   * does not import it. The running worker keeps serving the group's other tools.
   */
  detach(fileName: string): void {
    this.#leave(toolFileHref(this.#options.toolsDir, fileName));
  }

  /** Forgets the file at `url` (a prompt or resource no longer served), as `detach` does. */
  detachUrl(url: string): void {
    this.#leave(url);
  }

  /**
   * Retires every worker: calls in flight end on the old workers, later calls start new ones.
   * Returns how many were running. (A changed helper retires only its importers' workers: the
   * reloader attaches those tools again.)
   */
  restart(): number {
    let retired = 0;
    for (const group of this.#groups.values()) {
      if (this.#retire(group)) retired++;
    }
    return retired;
  }

  /**
   * Starts the worker of every group that has none, in the background: a call that comes while
   * it starts waits for it, as it would for a worker it started; and the idle clocks of workers
   * `startEarly` started. Returns how many it started.
   */
  prewarm(): number {
    const started = this.#startWorkers(false);
    for (const worker of this.#live) worker.startIdleClock();
    return started;
  }

  #startWorkers(idleClockLater: boolean): number {
    if (this.#closed) return 0;
    let started = 0;
    for (const group of this.#groups.values()) {
      if (group.worker || group.files.size === 0) continue;
      if (this.#live.size >= MAX_PREWARMED) break;
      const worker = this.#start(group, idleClockLater);
      if (typeof worker === "string") {
        // The first call reports it, with the tool's name.
        this.#options.log.debug(`Cannot pre-warm a worker: ${worker}`);
      } else started++;
    }
    return started;
  }

  /** Runs `fn` once no call is in flight: now (in a microtask), or when the last one ends. */
  afterCalls(fn: () => void): void {
    if (this.#inFlight === 0) queueMicrotask(fn);
    else this.#afterCalls.push(fn);
  }

  /** Workers running now (retired ones still finishing their calls included). */
  get liveWorkers(): number {
    return this.#live.size;
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
    for (const worker of [...this.#live]) worker.close();
  }

  /** The group of tools that declare `permissions`, made when it is the first. */
  #group(permissions: ToolPermissions | undefined): Group {
    const key = permissionsKey(permissions);
    let group = this.#groups.get(key);
    if (!group) {
      group = {
        key,
        declared: permissions,
        files: new Map(),
        worker: undefined,
        inFlight: 0,
        lastCall: 0,
      };
      this.#groups.set(key, group);
    }
    return group;
  }

  /** Takes `url` out of its group, dropping the group when it has no file left. */
  #leave(url: string): void {
    const group = this.#fileGroups.get(url);
    if (!group) return;
    this.#fileGroups.delete(url);
    group.files.delete(url);
    if (group.files.size > 0) return;
    this.#retire(group);
    this.#groups.delete(group.key);
  }

  /** Retires the group's worker, if it has one: it takes no more calls. */
  #retire(group: Group): boolean {
    const worker = group.worker;
    if (!worker) return false;
    group.worker = undefined;
    if (this.#options.log.enabled("debug")) {
      this.#options.log.debug(
        `Retiring the worker of ${
          namesOf(group, worker)
        }: the next call starts a new one`,
      );
    }
    worker.retire();
    return true;
  }

  /** The group's worker, started if need be; else undefined, with `done` told why. */
  #worker(
    group: Group | undefined,
    tool: WorkerTool,
    done: (result: CallToolResult) => void,
  ): ToolWorker | undefined {
    let why: string;
    try {
      if (this.#closed) {
        why = `Cannot run tool "${tool.name}": the server is shutting down`;
      } else if (!group) {
        why =
          `Cannot run tool "${tool.name}": its file ${tool.source} is no longer served; list the tools again`;
      } else {
        const worker = group.worker ?? this.#start(group);
        if (typeof worker !== "string") return worker;
        why = `Cannot run tool "${tool.name}" (${tool.source}): ${worker}`;
        this.#options.log.error(why);
      }
    } catch (error) {
      why = `Cannot run tool "${tool.name}": ${describeError(error)}`;
    }
    done(errorResult(why));
    return undefined;
  }

  /** Counts a call of `group`'s tool; returns what to call once when it has ended. */
  #called(group: Group | undefined): () => void {
    if (!group) return () => {};
    group.inFlight++;
    this.#inFlight++;
    group.lastCall = ++this.#calls;
    let once = false;
    return () => {
      if (once) return;
      once = true;
      group.inFlight--;
      if (--this.#inFlight > 0) return;
      const waiting = this.#afterCalls;
      this.#afterCalls = [];
      for (const run of waiting) run();
    };
  }

  /**
   * Stops the least recently called worker that has no call, when MAX_IDLE_WORKERS run with
   * none: a client that calls tools of many permission sets in turn would otherwise keep one
   * worker per set until each idles out.
   */
  #makeRoom(starting: Group): void {
    let idle = 0;
    let oldest: Group | undefined;
    for (const group of this.#groups.values()) {
      if (!group.worker || group === starting || group.inFlight > 0) continue;
      idle++;
      if (!oldest || group.lastCall < oldest.lastCall) oldest = group;
    }
    if (idle >= MAX_IDLE_WORKERS && oldest) this.#retire(oldest);
  }

  /** Starts the group's worker; returns why it cannot start instead of throwing. */
  #start(group: Group, idleClockLater = false): ToolWorker | string {
    const options = this.#options;
    this.#makeRoom(group);
    try {
      const worker = new ToolWorker({
        entry: options.entry ?? new URL("./entry.ts", import.meta.url),
        files: [...group.files.values()],
        permissions: workerPermissions(
          this.#folders
            ? unionPermissions([this.#folders, group.declared])
            : group.declared,
          this.#toolsPath,
          this.#base,
        ),
        declared: group.key,
        graceMs: this.#graceMs,
        idleMs: options.idleMs,
        idleClockLater,
        stdioFree: options.stdioFree,
        log: options.log,
        logLevel: options.logLevel,
        onEnd: (ended, end) => this.#ended(group, ended, end),
      });
      group.worker = worker;
      this.#live.add(worker);
      this.#started++;
      // Named only when it is logged: a group may hold a thousand files.
      if (options.log.enabled("debug")) {
        options.log.debug(`Started a worker for ${namesOf(group)}`);
      }
      return worker;
    } catch (error) {
      return error instanceof Deno.errors.NotCapable
        ? `its worker needs ${
          missingPermissions(
            unionPermissions([
              { read: [this.#toolsPath] },
              this.#folders,
              group.declared,
            ]),
          ).join(" ") || "permissions"
        }, which this process was not granted; in tooldrop's folder, \`deno task dev\`, \`deno task compile\` and \`deno task tooldrop install\` grant what tools declare`
        : `its worker cannot start: ${describeError(error)}`;
    }
  }

  #ended(group: Group, worker: ToolWorker, end: WorkerEnd): void {
    this.#live.delete(worker);
    if (group.worker === worker) group.worker = undefined;
    if (this.#options.log.enabled("debug")) {
      this.#options.log.debug(
        `The worker of ${namesOf(group, worker)} ended (${end.kind})`,
      );
    }
    if (end.kind !== "stuck") return;
    this.#stuck++;
    this.#options.log.warn(
      `${
        runnableLabel(end.tool)
      } (${end.tool.source}) did not stop within ${this.#graceMs} ms after its call was aborted: its worker was terminated, but if it is stuck in a loop its thread keeps a CPU core busy until the server restarts (${this.#stuck} worker(s) so far)`,
    );
    this.#options.onStuck?.(this.#stuck);
  }
}

/** The group's files, quoted, for debug lines (those of `worker` when it was given). */
function namesOf(group: Group, worker?: ToolWorker): string {
  const files = worker?.files ?? [...group.files.values()];
  return nameList(files.map((file) => `"${file.source}"`)) || "no tool";
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
