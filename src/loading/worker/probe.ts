/**
 * @module
 * Learns what tool files declare without importing them in this thread: one short-lived worker
 * imports them, checks each tool and answers its `tools/list` entry, then is terminated. The
 * listing cache (../listing.ts) uses it for the files it has no current entry for.
 */

import { describeError } from "../../util/describe.ts";
import type { Logger } from "../../util/log.ts";
import { loadTimeout } from "../import_tool.ts";
import type { LoadedTool, ToolFile } from "./protocol.ts";
import { ToolWorker } from "./_tool_worker.ts";

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
 * the probe replaces, held the same. The probe never runs a call: calls run in the workers of the
 * tools' permission groups, with exactly what each declares.
 */
export function probeTools(
  files: readonly ToolFile[],
  options: ProbeOptions,
): Promise<LoadedTool[]> {
  const { promise, resolve } = Promise.withResolvers<LoadedTool[]>();
  if (files.length === 0) {
    resolve([]);
    return promise;
  }
  const timeoutMs = loadTimeout(options.loadTimeoutMs);
  let answered = false;
  const deadline: { timer?: ReturnType<typeof setTimeout> } = {};
  const fail = (why: string) =>
    files.map(({ source }) => ({
      source,
      error: `Cannot load tool "${source}": ${why}`,
    }));
  const answer = (tools: LoadedTool[]) => {
    if (answered) return;
    answered = true;
    clearTimeout(deadline.timer);
    resolve(tools);
  };
  let worker: ToolWorker;
  try {
    worker = new ToolWorker({
      entry: options.entry ?? new URL("./entry.ts", import.meta.url),
      files: [...files],
      permissions: "inherit",
      graceMs: timeoutMs,
      idleMs: undefined,
      log: options.log,
      describe: true,
      loadTimeoutMs: timeoutMs,
      onLoaded: (tools) => {
        const bySource = new Map(tools.map((tool) => [tool.source, tool]));
        answer(files.map((file) =>
          bySource.get(file.source) ?? {
            source: file.source,
            error:
              `Cannot load tool "${file.source}": its worker did not answer for it`,
          }
        ));
        // After this turn: the worker is still telling its own `loaded` handler.
        queueMicrotask(() => worker.close());
      },
      onEnd: (_worker, end) => {
        answer(fail(
          end.kind === "exit"
            ? "it ended its worker while loading (Deno.exit, process.exit or close() at its top level)"
            : end.kind === "closed"
            ? `it did not finish loading within ${
              timeoutMs + PROBE_MARGIN_MS
            } ms (a loop at its top level?), or a file loaded with it did not: ${
              files.map((file) => `"${file.source}"`).join(", ")
            }`
            : "its worker failed while loading it",
        ));
      },
    });
  } catch (error) {
    resolve(fail(`a worker cannot start to read it: ${describeError(error)}`));
    return promise;
  }
  // The worker answers a file whose import awaits too long itself (naming it); this is for one
  // that never lets the worker answer (a synchronous loop at its top level).
  if (!answered) {
    deadline.timer = setTimeout(
      () => worker.close(),
      timeoutMs + PROBE_MARGIN_MS,
    );
  }
  return promise;
}
