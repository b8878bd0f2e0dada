/**
 * @module
 * What `serve --watch` serves, over stdio or HTTP alike: the tools folder (and prompts/,
 * resources/) watched, broken files reported and left out instead of stopping the server, and
 * each change a new set. What a changed file lists is learned in a probe worker, never in this
 * thread; a saved tool file, or a helper module it imports, replaces that tool's worker (calls in
 * flight end on the old one), and no other. Under `dev` (`--dev-child`) the process ends with
 * RESTART_EXIT_CODE when a tool needs permissions it lacks, and the supervisor starts it again
 * with them.
 */

import { RESTART_EXIT_CODE, ToolReloader } from "../loading/reload.ts";
import { warnMissingPermissions } from "../loading/load.ts";
import { latest, watchKinds } from "./_kinds_watch.ts";
import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import type { Logger } from "../util/log.ts";
import { type lazyHost, workerIdleMs } from "./_workers.ts";
import { ToolSet } from "../tool/served.ts";

/** A watched folder's sets; see the module documentation. */
export interface Watching {
  /** Loads the first set (call once); the workers pre-warm after it. */
  load(): Promise<ToolSet>;
  /** Every set after the first, as files change (read by one consumer). */
  updates: AsyncIterable<ToolSet>;
  /** Aborted on a stop signal, or when `dev` must restart the server. */
  signal: AbortSignal;
  /** Stops watching (input ended first). */
  stop(): void;
  /** 0, or RESTART_EXIT_CODE when the server stopped so that `dev` starts it again. */
  code(): number;
}

/** Starts watching what `io` serves; `serves` says which folders existed at start. */
export async function startWatching(
  io: Io,
  options: CliOptions,
  log: Logger,
  serverName: string,
  serves: { prompts: boolean; resources: boolean },
  workers: ReturnType<typeof lazyHost>,
): Promise<Watching> {
  const host = await workers.host();
  const stop = new AbortController();
  let code = 0;
  const restart = (why: string) => {
    if (stop.signal.aborted) return;
    log.info(`${why}: restarting the server`);
    code = RESTART_EXIT_CODE;
    stop.abort();
  };
  if (options.devChild) {
    // A terminated worker stuck in a loop keeps a core busy until the process ends: under dev,
    // the server restarts once no call is in flight (the supervisor keeps the session).
    workers.onStuck(() =>
      host.afterCalls(() =>
        restart("A tool's worker was stuck in a loop and keeps a CPU core busy")
      )
    );
  }
  let serving = false;
  const reloader = new ToolReloader({
    dir: io.toolsDir,
    serverName,
    log,
    attach: (tool, file) => {
      const attached = host.attach(tool, file);
      // Its worker was replaced: start the new one ahead of the next call. Not during the first
      // load: its workers start once the reply that waited for the tools is written.
      if (serving) workers.prewarmSoon();
      return attached;
    },
    detach: (file) => host.detach(file),
    // The probe worker started ahead stops when the tools' workers would (lazyHost warns about
    // an invalid value).
    probeIdleMs: workerIdleMs(() => {}),
  });
  const checked = (tools: ToolSet): boolean => {
    const lacking = warnMissingPermissions(tools.tools, log);
    if (lacking.length > 0 && options.devChild) {
      restart(`${lacking[0]!.source} needs more permissions`);
      return false;
    }
    return true;
  };
  const signal = AbortSignal.any([io.signal, stop.signal]);
  const toolSets = reloader.watch(signal);
  // Prompts and resources reload in place too, each folder watched from now (when it exists).
  const kinds = serves.prompts || serves.resources
    ? await watchKinds(io, serves, log, host, signal, () => {
      if (serving) workers.prewarmSoon();
    })
    : undefined;
  let tools = new ToolSet([]);
  const served = () =>
    kinds
      ? new ToolSet(tools.tools, {
        prompts: kinds.prompts?.served ?? [],
        resources: kinds.resources?.served ?? [],
      })
      : tools;
  return {
    load: async () => {
      await Promise.all([kinds?.prompts?.reload(), kinds?.resources?.reload()]);
      tools = await reloader.load();
      const set = served();
      serving = true;
      if (checked(set)) workers.prewarmSoon();
      return set;
    },
    // A change to any folder serves a new set; each connection tells its client what changed.
    updates: latest(
      [
        (async function* () {
          for await (const next of toolSets) {
            if (checked(next)) {
              tools = next;
              yield;
            }
          }
        })(),
        ...(kinds?.updates ?? []),
      ],
      served,
      log,
    ),
    signal,
    stop: () => stop.abort(),
    code: () => code,
  };
}
