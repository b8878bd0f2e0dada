/**
 * @module
 * What `serve --watch` needs for prompts and resources beyond tools: a reloader for each prompts
 * and resources folder, and the merge of every folder's changes into the sets the server serves
 * (loaded only when watching).
 */

import { type Io, servedFolders } from "./io.ts";
import type { Logger } from "../util/log.ts";
import { coalesce } from "../util/coalesce.ts";
import type { WorkerHost } from "../loading/worker/host.ts";
import type { KindReloader } from "../loading/kind_reload.ts";

/**
 * A reloader for each prompts and resources folder that exists, watching from now until
 * `signal` aborts; `attached` is told each runnable given a worker.
 */
export async function watchKinds(
  io: Io,
  serves: { prompts: boolean; resources: boolean },
  log: Logger,
  host: WorkerHost,
  signal: AbortSignal,
  attached: () => void,
): Promise<{
  prompts: KindReloader<"prompt"> | undefined;
  resources: KindReloader<"resource"> | undefined;
  updates: AsyncIterable<unknown>[];
}> {
  const [{ KindReloader }, { loadTimeoutFromEnv }] = await Promise.all([
    import("../loading/kind_reload.ts"),
    import("../loading/import_tool.ts"),
  ]);
  const { promptsDir, resourcesDir } = servedFolders(io);
  const loadTimeoutMs = loadTimeoutFromEnv((message) => log.warn(message));
  const reloader = <K extends "prompt" | "resource">(dir: URL, kind: K) =>
    new KindReloader({
      dir,
      kind,
      log,
      loadTimeoutMs,
      attach: (runnable, file) => {
        attached();
        return { ...runnable, remote: host.runner(runnable, file) };
      },
      detach: (url) => host.detachUrl(url),
    });
  const prompts = serves.prompts ? reloader(promptsDir, "prompt") : undefined;
  const resources = serves.resources
    ? reloader(resourcesDir, "resource")
    : undefined;
  const updates = [prompts, resources].flatMap((kind) =>
    kind ? [kind.watch(signal)] : []
  );
  return { prompts, resources, updates };
}

/**
 * Yields `compose()` after any of `sources` yields; a burst from several while the consumer is
 * busy becomes one (only the newest set matters). Ends when every source has.
 */
export async function* latest<T>(
  sources: AsyncIterable<unknown>[],
  compose: () => T,
  log: Logger,
): AsyncGenerator<T> {
  const onError = (error: unknown) =>
    log.error("Stopped following changes", error);
  for await (const _ of coalesce(sources, { onError })) yield compose();
}
