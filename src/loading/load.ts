/**
 * @module
 * Loads a server's tools, prompts and resources: from the generated manifest in a compiled binary,
 * else by scanning their folders; logs lint warnings and every broken file, refuses a broken set.
 */

import type { LoadResult } from "./discover.ts";
import { loadTimeoutFromEnv } from "./import_tool.ts";
import { Logger } from "../util/log.ts";
import type { ToolManifest } from "./manifest.ts";
import {
  missingPermissions,
  type ToolPermissions,
} from "../tool/permissions.ts";
import { folderLabel } from "./tool_files.ts";
import { type Tool, ToolSet } from "../tool/served.ts";
import type { WorkerHost } from "./worker/host.ts";
import type { ServedPrompt, ServedResource } from "../tool/served_kinds.ts";
import { describeThrown } from "../util/describe.ts";

/** Where the tools come from and how to report on them. */
export interface LoadToolsOptions {
  toolsDir: URL;
  /**
   * The prompts and resources folders, listed from their listing caches and run in the workers
   * of `host` (only with one; a manifest lists its own). A missing folder serves none.
   */
  promptsDir?: URL | undefined;
  resourcesDir?: URL | undefined;
  /** In a compiled binary: the manifest to load instead of scanning the folders. */
  manifest?: (() => Promise<ToolManifest>) | undefined;
  /** The name clients register the server under (the lint checks tool names against it). */
  serverName: string;
  log: Logger;
  /**
   * Milliseconds each tool file may take to import; a file that takes longer is reported and
   * counts as broken. Default `TOOLDROP_LOAD_TIMEOUT_MS` when set and readable, else 10 000.
   */
  loadTimeoutMs?: number | undefined;
  /**
   * Runs the calls of tools loaded from the folder in this host's workers, and lists them from
   * the listing cache (./listing.ts) without importing them in this thread. What a manifest lists
   * (a compiled binary) still runs in this thread: the binary does not embed the worker yet.
   */
  host?: WorkerHost | undefined;
  /**
   * What a broken file stops, at the head of the line after the errors: default "Not serving";
   * a command says its own (`Cannot list the tools`).
   */
  refusal?: string | undefined;
}

/** The tool set, or undefined when any tool is broken (every problem is logged). */
export async function loadTools(
  options: LoadToolsOptions,
): Promise<ToolSet | undefined> {
  const { log, serverName } = options;
  const folder = folderLabel(options.toolsDir);
  let result: LoadResult;
  let manifest: ToolManifest | undefined;
  try {
    const host = options.host;
    manifest = await options.manifest?.();
    // ./discover.ts (with zod, to check definitions) is imported only when tools are imported
    // here: `serve --isolate` lists them from ./listing.ts without it.
    result = manifest
      ? (await import("./discover.ts")).checkModules(manifest.toolModules, {
        serverName,
      })
      : host
      ? await (await import("./listing.ts")).loadListedTools(options.toolsDir, {
        serverName,
        label: folder,
        log,
        attach: (tool, file) => host.attach(tool, file),
        early: (files) => {
          const started = host.startEarly(files);
          if (started > 0) {
            log.debug(`Started ${started} worker(s) early, for a large folder`);
          }
        },
        loadTimeoutMs: options.loadTimeoutMs ??
          loadTimeoutFromEnv((message) => log.warn(message)),
      }).finally(() => host.endEarly())
      : await (await import("./discover.ts")).loadToolDir(options.toolsDir, {
        serverName,
        label: folder,
        loadTimeoutMs: options.loadTimeoutMs ??
          loadTimeoutFromEnv((message) => log.warn(message)),
      });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      log.error(
        `Cannot read the tools folder ${folder}: this process may not read it; run it with --allow-read=.,${
          decodeURIComponent(new URL("..", import.meta.url).pathname)
            .replace(/\/$/, "")
        },${
          decodeURIComponent(options.toolsDir.pathname).replace(/\/$/, "")
        } (\`deno task tooldrop install\` in tooldrop's folder registers the server that way)`,
      );
    } else {
      log.error(`Cannot read the tools folder ${folder}`, error);
    }
    return undefined;
  }
  for (const message of result.warnings) log.warn(message);
  for (const message of result.errors) log.error(message);
  if (result.errors.length > 0) {
    log.error(
      `${
        options.refusal ?? "Not serving"
      }: fix the tool file(s) above, or move them out of ${
        options.manifest ? "tools/" : folder
      }`,
    );
    return undefined;
  }
  const host = options.host;
  const kinds = manifest
    ? await (await import("./_manifest_kinds.ts")).manifestKinds(manifest)
    : host
    ? await loadKinds(options, host)
    : { prompts: [], resources: [], errors: [] };
  let set: ToolSet | undefined;
  try {
    set = new ToolSet(result.tools, kinds);
  } catch (error) {
    // Two prompts with one name, two resources at one URI: the message names both files.
    kinds.errors.push(error instanceof Error ? error.message : String(error));
  }
  if (kinds.errors.length > 0 || !set) {
    for (const message of kinds.errors) log.error(message);
    log.error(
      `${
        options.refusal ?? "Not serving"
      }: fix the prompt or resource file(s) above, or move them out of their folder`,
    );
    return undefined;
  }
  warnMissingPermissions(
    [
      ...result.tools,
      ...set.prompts.prompts.map((prompt) => prompt.get),
      ...set.resources.resources.map((resource) => resource.read),
    ],
    log,
  );
  return set;
}

/**
 * The prompts and resources of the folders `options` names that exist, their runnables attached
 * to `host`; every broken file (and a folder this process may not read) in `errors`.
 */
export async function loadKinds(
  options: LoadToolsOptions,
  host: WorkerHost,
): Promise<{
  prompts: ServedPrompt[];
  resources: ServedResource[];
  errors: string[];
}> {
  const { log } = options;
  const prompts: ServedPrompt[] = [];
  const resources: ServedResource[] = [];
  const errors: string[] = [];
  const folders = [
    ["prompt", options.promptsDir, prompts],
    ["resource", options.resourcesDir, resources],
  ] as const;
  for (const [kind, dir, into] of folders) {
    if (!dir || !isServedFolder(dir, kind, errors, log)) continue;
    const { loadListedKind } = await import("./listed_kinds.ts");
    try {
      const listed = await loadListedKind(dir, kind, {
        log,
        loadTimeoutMs: options.loadTimeoutMs ??
          loadTimeoutFromEnv((message) => log.warn(message)),
        attach: (runnable, file) => ({
          ...runnable,
          remote: host.runner(runnable, file),
        }),
      });
      for (const message of listed.warnings) log.warn(message);
      errors.push(...listed.errors);
      (into as Array<ServedPrompt | ServedResource>).push(...listed.served);
    } catch (error) {
      errors.push(
        `Cannot read the ${kind}s folder ${folderLabel(dir)}: ${
          describeThrown(error)
        }`,
      );
    }
  }
  return { prompts, resources, errors };
}

/**
 * Whether `dir` is there to serve: a missing folder serves nothing (not an error), and so does
 * one this process may not look at (prompts/ beside a `--tools` folder elsewhere, such as
 * /tmp/prompts/, is not the user's to grant; `install` grants the ones that exist). Any other
 * failure is an error naming it. Sync: an async stat waited 2–19 ms while workers booted.
 */
function isServedFolder(
  dir: URL,
  kind: string,
  errors: string[],
  log: Logger,
): boolean {
  try {
    return Deno.statSync(dir).isDirectory;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.NotCapable) {
      log.debug(
        `Serving no ${kind}s from ${
          folderLabel(dir)
        }: this process may not read it`,
      );
      return false;
    }
    errors.push(
      `Cannot read the ${kind}s folder ${folderLabel(dir)}: ${
        describeThrown(error)
      }`,
    );
    return false;
  }
}
/** Logs each tool whose declared permissions this process was not granted; returns them. */
export function warnMissingPermissions(
  tools: readonly Tool[],
  log: Logger,
): Tool[] {
  const lacking: Tool[] = [];
  for (const tool of tools) {
    if (!tool.permissions) continue;
    const missing = missingPermissions(tool.permissions);
    if (missing.length === 0) continue;
    lacking.push(tool);
    log.warn(
      `Tool "${tool.name}" (${tool.source}) needs ${
        missing.join(" ")
      }, which this process was not granted, so its calls may fail; in tooldrop's folder, \`deno task dev\`, \`deno task compile\` and \`deno task tooldrop install\` grant what tools declare`,
    );
  }
  return lacking;
}

/**
 * What every tool file declares in `permissions`, from the listing cache where it is current,
 * else from a probe worker (./listing.ts): no tool module is evaluated in this thread. Files
 * that fail to load, or do not finish loading within `loadTimeoutMs` (default 10 000), are
 * skipped: they are the server's to report.
 */
export async function declaredPermissions(
  dir: URL,
  options: {
    loadTimeoutMs?: number | undefined;
    log?: Logger | undefined;
    /** The prompts and resources folders: what their files declare counts too. */
    kinds?: { promptsDir: URL; resourcesDir: URL } | undefined;
  } = {},
): Promise<ToolPermissions[]> {
  const { loadListedTools } = await import("./listing.ts");
  const log = options.log ?? new Logger({ level: "error", write: () => {} });
  const listed = await loadListedTools(dir, {
    log,
    loadTimeoutMs: options.loadTimeoutMs,
    attach: (tool) => tool,
  }).catch(() => undefined);
  const found: ToolPermissions[] = [];
  for (const tool of listed?.tools ?? []) {
    if (tool.permissions) found.push(tool.permissions);
  }
  const folders = options.kinds
    ? [
      ["prompt", options.kinds.promptsDir],
      ["resource", options.kinds.resourcesDir],
    ] as const
    : [];
  for (const [kind, folder] of folders) {
    const exists = await Deno.stat(folder).then(
      (i) => i.isDirectory,
      () => false,
    );
    if (!exists) continue;
    const { loadListedKind } = await import("./listed_kinds.ts");
    const kinds = await loadListedKind(folder, kind, {
      log,
      loadTimeoutMs: options.loadTimeoutMs,
      attach: (runnable) => runnable,
    }).catch(() => undefined);
    for (const served of kinds?.served ?? []) {
      const runnable = "get" in served ? served.get : served.read;
      if (runnable.permissions) found.push(runnable.permissions);
    }
  }
  return found;
}
