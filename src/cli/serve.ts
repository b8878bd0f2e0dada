/**
 * @module
 * The `serve` command: logger, guards that keep tools off stdout, and the server, which answers
 * the handshake while the tools load. Loading them (zod and every tool file: most of start-up)
 * begins only once the first replies are written, so a client's `initialize` is not kept waiting.
 * The tools' workers then start in the background (pre-warm), so that the first call does not
 * wait for one. `serve --watch` serves what ./_watching.ts follows.
 */

import {
  existingFolders,
  type Io,
  servedFolders,
  tooldropCommand,
} from "./io.ts";
import { type CliOptions, parseArgs } from "./options.ts";
import { serverLogger } from "./logger.ts";
import type { Logger } from "../util/log.ts";
import { lazyHost, loadWaitMs } from "./_workers.ts";
import { takeStdio } from "./_stdio.ts";
import { DEFAULT_SERVER_INFO, VERSION } from "../server/protocol.ts";
import { serve, type ServeOptions } from "../server/serve.ts";
import type { ToolSet } from "../tool/served.ts";
import type { WorkerHost } from "../loading/worker/host.ts";
import { nameList } from "../util/describe.ts";

/** Serves MCP on the process's stdio; resolves to the exit code. */
export async function runServe(
  given: Io,
  options: CliOptions,
): Promise<number> {
  const log = serverLogger(given, options);
  given.guards?.console(log, true);
  const { io, moved } = takeStdio(given, options, log);
  // Before any tool module is evaluated in this thread, which only a compiled binary does (from
  // its manifest). Elsewhere every tool module is evaluated in a worker, whose entry installs its
  // own guards: booting Node compatibility here (~50 ms) would only delay the tools/list reply.
  const none = () => Promise.resolve();
  const guard = io.manifest ? io.guards?.nodeStdout ?? none : none;
  const info = {
    ...DEFAULT_SERVER_INFO,
    name: options.name ?? DEFAULT_SERVER_INFO.name,
  };
  const workers = lazyHost(io, log, moved);
  let preloaded: ToolSet | undefined;
  if (io.stdinIsTerminal && !options.watch) {
    // A person ran it by hand: say what it is rather than wait in silence. The tools load now,
    // to name them; start-up time does not matter to a person reading.
    await guard();
    preloaded = await loadServed(io, log, info.name, await workers.host());
    io.stderr(banner(io, preloaded));
  }
  if (options.watch) {
    return await serveWatching(io, options, log, info, guard, workers);
  }
  let failed = false;
  const load = async () => {
    await guard(); // off the handshake's path: it boots Node compatibility
    const tools = preloaded ??
      await loadInBackground(io, log, info.name, workers.host);
    if (!tools) {
      failed = true;
      throw new Error("the tools did not load");
    }
    workers.prewarmSoon();
    return tools;
  };
  await serve({
    readable: io.stdin,
    writable: io.stdout,
    ...afterFirstReplies(load),
    serves: servesFrom(io),
    watchFiles: resourceFiles,
    loadWaitMs: loadWaitMs(),
    info,
    log,
    maxLineBytes: options.maxLineBytes,
    signal: io.signal,
  });
  // Every call has ended (a tool that did not stop took its worker with it): no worker may keep
  // the process alive.
  workers.close();
  log.debug("Stopped");
  // Not waiting for a load still under way: serving has ended, and a tool module whose
  // top-level await never settles must not keep the process alive.
  return failed ? 1 : 0;
}

/**
 * Serves on stdio while watching the tools folder (`serve --watch`, and the server `deno task
 * dev` runs): every change to a list is sent to the client as its list_changed (./_watching.ts).
 */
async function serveWatching(
  io: Io,
  options: CliOptions,
  log: Logger,
  info: typeof DEFAULT_SERVER_INFO,
  guard: () => Promise<void>,
  workers: ReturnType<typeof lazyHost>,
): Promise<number> {
  const { startWatching } = await import("./_watching.ts");
  const serves = servesFrom(io);
  const watching = await startWatching(
    io,
    options,
    log,
    info.name,
    serves,
    workers,
  );
  await serve({
    readable: io.stdin,
    writable: io.stdout,
    serves,
    watchFiles: resourceFiles,
    ...afterFirstReplies(async () => {
      await guard();
      const set = await watching.load();
      log.info(
        `tooldrop ${VERSION} serving ${set.tools.length} tool(s)${
          kindCounts(set)
        } on stdio, watching ${
          decodeURIComponent(io.toolsDir.pathname)
        } for changes`,
      );
      return set;
    }),
    toolUpdates: watching.updates,
    info,
    log,
    maxLineBytes: options.maxLineBytes,
    loadWaitMs: loadWaitMs(),
    signal: watching.signal,
  });
  watching.stop(); // stops the watcher when input ended first
  workers.close();
  log.debug("Stopped");
  return watching.code();
}

/**
 * The tools `load` resolves to, loaded only once the server has written its first replies
 * (`ServeOptions.onFirstReplies`): loading blocks the thread for ~100 ms, which would otherwise
 * delay the reply to `initialize`.
 */
function afterFirstReplies(
  load: () => Promise<ToolSet>,
): Pick<ServeOptions, "tools" | "onFirstReplies"> {
  const { promise, resolve } = Promise.withResolvers<void>();
  return { tools: promise.then(load), onFirstReplies: resolve };
}

/**
 * What the server advertises besides tools, decided before anything loads: the folders that
 * exist (a stat each). A compiled binary has no folders: `compile` bakes what its manifest holds
 * into its arguments (`--embedded prompts,resources`), read here without importing the manifest,
 * whose import evaluates every file it lists.
 */
export function servesFrom(io: Io): { prompts: boolean; resources: boolean } {
  if (io.manifest) {
    let embedded: readonly string[] = [];
    try {
      embedded = parseArgs(io.args).embedded ?? [];
    } catch {
      // Arguments that do not parse never reach serving: runCli refused them already.
    }
    return {
      prompts: embedded.includes("prompts"),
      resources: embedded.includes("resources"),
    };
  }
  const existing = new Set(existingFolders(io).map((url) => url.href));
  const { promptsDir, resourcesDir } = servedFolders(io);
  return {
    prompts: existing.has(promptsDir.href),
    resources: existing.has(resourcesDir.href),
  };
}

/**
 * What is served, counted: `2 tool(s): echo, time`, with `1 prompt(s): review` and
 * `2 resource(s)` after it when there are any.
 */
export function servedSummary(set: ToolSet): string {
  const names = set.tools.map((t) => t.name);
  const prompts = set.prompts.prompts;
  const resources = set.resources.resources;
  return `${names.length} tool(s): ${nameList(names) || "none"}${
    prompts.length > 0
      ? `; ${prompts.length} prompt(s): ${nameList(prompts.map((p) => p.name))}`
      : ""
  }${
    resources.length > 0
      ? `; ${resources.length} resource(s): ${
        nameList(resources.map((r) => r.name))
      }`
      : ""
  }`;
}

/** What a person who started the server in a terminal reads. */
function banner(io: Io, set: ToolSet | undefined): string {
  const cli = tooldropCommand(io);
  const register = io.entry
    ? `  ${cli} install [--client claude-code|vscode|cursor|claude-desktop|cline]`
    : `  put this file's path in the client's configuration, e.g. .mcp.json:
  {"mcpServers": {"tooldrop": {"command": ${
      JSON.stringify(Deno.execPath())
    }}}}`;
  return `
tooldrop ${VERSION}: an MCP server with ${
    set ? servedSummary(set) : "tools that did not load (see above)"
  }
It speaks MCP (JSON-RPC, one message per line) on stdin and stdout, for an AI client to start;
there is nothing to type here. Register it with a client:
${register}
Try a tool from the shell:  ${cli} call echo '{"text": "hi"}'
Waiting for messages on stdin; Ctrl+D or Ctrl+C ends it.

`;
}

/** `, 1 prompt(s), 2 resource(s)` for the start log; "" when it serves neither. */
function kindCounts(set: ToolSet): string {
  const prompts = set.prompts.prompts.length;
  const resources = set.resources.resources.length;
  return `${prompts > 0 ? `; ${prompts} prompt(s)` : ""}${
    resources > 0 ? `; ${resources} resource(s)` : ""
  }`;
}

/** Loads the tools off the start-up path; undefined (with the reasons logged) when they fail. */
async function loadInBackground(
  io: Io,
  log: Logger,
  serverName: string,
  host: () => Promise<WorkerHost>,
): Promise<ToolSet | undefined> {
  let loader: typeof import("../loading/load.ts");
  let workers: WorkerHost | undefined;
  try {
    loader = await import("../loading/load.ts");
    workers = await host();
  } catch (error) {
    // Read access to src/ is missing: its modules load when first needed (deno.json's unstable
    // "lazy-dynamic-imports"), which Deno checks like any other read.
    const src = decodeURIComponent(new URL("..", import.meta.url).pathname);
    const tools = decodeURIComponent(io.toolsDir.pathname);
    log.error(
      `Cannot load tooldrop's own code from ${src}: this process may not read it; run it with --allow-read=.,${
        src.replace(/\/$/, "")
      },${tools.replace(/\/$/, "")} (\`${
        tooldropCommand(io)
      } install\` registers the server that way)`,
      error,
    );
    return undefined;
  }
  const tools = await loadServed(io, log, serverName, workers, loader);
  if (tools) {
    log.info(
      `tooldrop ${VERSION} serving ${tools.tools.length} tool(s) on stdio: ${
        nameList(tools.tools.map((t) => t.name)) || "(none)"
      }${kindCounts(tools)}`,
    );
  }
  return tools;
}

/** Watches the files resources name in `watch` (loading the watcher when first needed). */
export async function resourceFiles(
  paths: readonly string[],
  signal: AbortSignal,
): Promise<AsyncIterable<unknown>> {
  const { watchFiles } = await import("../loading/watch.ts");
  return await watchFiles(paths, signal);
}

/**
 * The tools, prompts and resources `io` names, their calls run by `host`'s workers; undefined
 * (with the reasons logged) when the tools fail to load.
 */
export async function loadServed(
  io: Io,
  log: Logger,
  serverName: string,
  host: WorkerHost,
  loader?: typeof import("../loading/load.ts"),
): Promise<ToolSet | undefined> {
  const { loadTools } = loader ?? await import("../loading/load.ts");
  return await loadTools({
    toolsDir: io.toolsDir,
    ...servedFolders(io),
    manifest: io.manifest,
    serverName,
    log,
    host,
  });
}
