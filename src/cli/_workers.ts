/**
 * @module
 * What `serve` holds of the tools' workers: the host, created when first needed and pre-warmed
 * once replies are on their way, and the waits that follow from how workers load (their idle
 * time, how long requests before EOF may wait for the tools).
 */

import type { Logger } from "../util/log.ts";
import { nextTurn, timerMsFromEnv } from "../util/timer.ts";
import { loadTimeout, loadTimeoutFromEnv } from "../loading/import_tool.ts";
import type { WorkerHost } from "../loading/worker/host.ts";
import { existingFolders, type Io } from "./io.ts";

/**
 * Milliseconds a tool's worker may sit without calls before it stops, giving its memory back
 * (about 18 MiB each, measured with one small tool); the next call starts it again (~20 ms plus
 * the tool's import).
 */
const DEFAULT_IDLE_MS = 5 * 60_000;

/** The environment variable that sets that idle time. */
const IDLE_VARIABLE = "TOOLDROP_WORKER_IDLE_MS";

/** The idle time of the tools' workers (and of the reloader's probe worker). */
export function workerIdleMs(warn: (message: string) => void): number {
  return timerMsFromEnv(IDLE_VARIABLE, warn) ?? DEFAULT_IDLE_MS;
}

/**
 * The host of the workers that run the calls of tools loaded from files: `host`
 * creates it (importing its module) when first asked; `prewarmSoon` starts the workers of the
 * tools loaded so far once this turn's replies are on their way (a call that comes meanwhile
 * waits for its worker, as it would anyway); `close` terminates them, if it was created.
 * `stdioFree`: fd 0 and fd 1 carry no protocol (the streams were moved off them, or the server
 * speaks HTTP): its workers then start without Node's guards.
 */
export function lazyHost(io: Io, log: Logger, stdioFree = false) {
  let created: WorkerHost | undefined;
  let cancelPrewarm: (() => void) | undefined;
  let onStuck: ((stuck: number) => void) | undefined;
  return {
    /** What to do when a worker is terminated with its thread possibly still busy. */
    onStuck: (handler: (stuck: number) => void) => {
      onStuck = handler;
    },
    host: async () => {
      const { WorkerHost } = await import("../loading/worker/host.ts");
      return created ??= new WorkerHost({
        toolsDir: io.toolsDir,
        // Its workers also read the prompts and resources they serve.
        folders: existingFolders(io),
        log,
        idleMs: workerIdleMs((m) => log.warn(m)),
        onStuck: (stuck) => onStuck?.(stuck),
        stdioFree,
      });
    },
    prewarmSoon: () => {
      if (!created || cancelPrewarm !== undefined) return;
      // In a later turn, not a microtask: the reply that waited for the tools (tools/list) is
      // written first, and starting a worker holds this thread 20–40 ms.
      cancelPrewarm = nextTurn(() => {
        cancelPrewarm = undefined;
        const started = created?.prewarm() ?? 0;
        if (started > 0) log.debug(`Pre-warming ${started} worker(s)`);
      });
    },
    close: () => {
      cancelPrewarm?.();
      created?.close();
    },
  };
}

/**
 * How long requests sent before EOF may wait for the tools: as long as a file may take to load
 * (TOOLDROP_LOAD_TIMEOUT_MS, else 10 s; the loader reports a bad value), plus a second for a
 * probe worker to start.
 */
export function loadWaitMs(): number {
  return loadTimeout(loadTimeoutFromEnv(() => {})) + 1000;
}
