/**
 * @module
 * Keeps tool code off the protocol stream (stdout) and keeps its uncaught errors from ending the
 * process or its tool worker. Each guard is installed before any tool module is evaluated, by
 * main.ts and by the worker entry (src/loading/worker/entry.ts), and by nothing else.
 *
 * Covered: `console.*`, `Deno.stdout` (main.ts, the worker entry), `process.stdout` and `node:process`'s
 * `stdout`, and `node:fs`'s `write`, `writeSync`, `writev`, `writevSync` and streams on fd 1 when
 * reached through the module's default export (`import fs from "node:fs"`). Not coverable
 * in-process: a named import (`import { writeSync } from "node:fs"`) bound before the guard,
 * FFI, and subprocesses that inherit fd 0 or 1: where it can, the server moves the protocol
 * streams off fd 0 and fd 1 instead (./stdio_fds.ts), which covers those too.
 */

import { redirectConsole } from "./_console.ts";
import type { Logger } from "./log.ts";

/** What the guards patch: `globalThis` in main.ts or in a tool worker. */
export interface GuardedGlobal {
  console: Console;
  addEventListener: typeof globalThis.addEventListener;
}

/**
 * Sends `console.*` to the log; with `uncaught`, also logs uncaught errors and unhandled
 * rejections instead of dying of them.
 */
export function protectProcess(
  global: GuardedGlobal,
  log: Logger,
  uncaught: boolean,
): void {
  redirectConsole(global.console, log);
  if (!uncaught) return;
  global.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error(
      "A promise rejected and nothing handled it (the server keeps running)",
      event.reason,
    );
  });
  global.addEventListener("error", (event) => {
    event.preventDefault();
    log.error("An uncaught exception (the server keeps running)", event.error);
  });
}

const FS_WRITERS = ["write", "writeSync", "writev", "writevSync"] as const;
let nodeGuarded = false;

/**
 * Points Node's stdout routes at stderr: `process.stdout`, and fd 1 in `node:fs`'s writers.
 * Touching `process` boots Node compatibility (~10 ms), so this runs off the handshake's path,
 * just before the tools load.
 */
export async function guardNodeStdout(): Promise<void> {
  if (nodeGuarded) return;
  nodeGuarded = true;
  // The global, not an import of node:process, which alone costs ~8 ms of start-up.
  const process = (globalThis as { process?: { stderr: unknown } }).process;
  if (process) {
    Object.defineProperty(process, "stdout", {
      get: () => process.stderr,
      configurable: true,
    });
  }
  const { default: fs } = await import("node:fs");
  const writers = fs as unknown as Record<string, unknown>;
  for (const name of FS_WRITERS) {
    const original = writers[name];
    if (typeof original !== "function") continue;
    writers[name] = function (this: unknown, fd: unknown, ...rest: unknown[]) {
      return original.call(this, fd === 1 ? 2 : fd, ...rest);
    };
  }
}
