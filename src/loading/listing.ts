/**
 * @module
 * The listing cache: what each tool file lists (name, `tools/list` entry, declared permissions,
 * timeout) in tools/.listing.json, keyed by a hash of the file and its local imports, so that
 * `serve --isolate` lists tools without importing any tool module in the server's thread.
 *
 * Design, and why:
 * - Key: SHA-256 of the file's text and of the local modules it imports, followed recursively
 *   (./_source_hash.ts): a changed helper invalidates exactly the tools that import it. The file
 *   also records tooldrop's version: another version may describe schemas differently.
 * - Lint warnings are not stored: they depend on the name the server is served under, and
 *   linting a listing is cheap, so they are computed from the listing at every start.
 * - A file with no current entry (no cache, a stale entry, a new tool) is probed: one worker for
 *   all of them, with this process's permissions, which is what importing it here granted (a
 *   file's own permissions are unknown until it is evaluated), terminated once it answers
 *   (./worker/probe.ts). Its listing is served and kept in memory; serving never writes the
 *   cache, so it needs no write permission. A broken file is reported as in-thread loading does.
 * - It is written where tools/_manifest.ts is (`deno task manifest`, `new`, `dev`), so a
 *   committed project starts warm. Its name starts with "." rather than "_": the watchers of
 *   `serve --watch` and `dev` take a `_*.json` in tools/ for a helper module and would restart.
 */

import { DEFAULT_SERVER_INFO, VERSION } from "../server/protocol.ts";
import { permissionsProblem } from "../tool/permissions.ts";
import {
  listedTool,
  type Tool,
  TOOL_NAME_PATTERN,
  type ToolDescriptor,
  type ToolListing,
} from "../tool/served.ts";
import { isPlainObject } from "../util/is.ts";
import type { Logger } from "../util/log.ts";
import { isTimerMs } from "../util/timer.ts";
import type { LoadResult } from "./discover.ts";
import { admitTool } from "./lint.ts";
import { toolFileUrl } from "./import_tool.ts";
import {
  findToolFiles,
  folderLabel,
  scanToolFiles,
  toolStem,
} from "./tool_files.ts";
import type { LoadedTool, ToolFile } from "./worker/protocol.ts";
import { sourceHash, sourceReader } from "./_source_hash.ts";

/** The cache's file name inside tools/ (hidden: discovery and the watchers skip it). */
export const LISTING_FILE = ".listing.json";

/** One tool file's entry: the hash it was listed at, and its listing. */
export interface ListingEntry extends ToolListing {
  readonly hash: string;
}

/** How to list a folder's tools from the cache. */
export interface ListOptions {
  /** Prefixes file names in messages; default the folder's path. */
  label?: string | undefined;
  /** The name clients register the server under (for the lint); default "tooldrop". */
  serverName?: string | undefined;
  /** Milliseconds the probed files may take to import; default 10 000. */
  loadTimeoutMs?: number | undefined;
  log: Logger;
  /** Gives each listed tool, from file `fileName`, the runner of its calls (a worker). */
  attach: (tool: Tool, fileName: string) => Tool;
  /** What probes a file with no current entry; default ./worker/probe.ts's. */
  probe?: ((files: ToolFile[]) => Promise<LoadedTool[]>) | undefined;
}

/**
 * The tools of `dir` as loading them would give, from the cache where its entries are current,
 * else from a probe worker; no tool module is imported in this thread.
 */
export async function loadListedTools(
  dir: URL,
  options: ListOptions,
): Promise<LoadResult & { probed: number }> {
  const label = options.label ?? folderLabel(dir);
  const { files, warnings } = await scanToolFiles(dir, label);
  const { listings, errors, probed } = await currentListings(
    dir,
    files,
    label,
    options,
  );
  const tools: Tool[] = [];
  const byName = new Map<string, Tool>();
  const serverName = options.serverName ?? DEFAULT_SERVER_INFO.name;
  for (const file of files) {
    const listing = listings.get(file);
    if (!listing) continue;
    const tool = listedTool(listing, `${label}${file}`, NO_RUNNER);
    if (!admitTool(tool, { byName, serverName, errors, warnings })) continue;
    tools.push(options.attach(tool, file));
  }
  return { tools, errors, warnings, probed };
}

/** Replaced by `attach` before any call. */
const NO_RUNNER = {
  run: () =>
    Promise.reject(new Error("Cannot run a tool before it is attached")),
  start: () => {
    throw new Error("Cannot run a tool before it is attached");
  },
};

/**
 * Writes the cache for `dir`'s tool files when it is out of date (current entries are kept, the
 * others probed; broken files are left out, for the server to report); true when it changed.
 */
export async function writeListing(
  dir: URL,
  options: Pick<ListOptions, "log" | "loadTimeoutMs" | "probe">,
): Promise<boolean> {
  const files = await findToolFiles(dir);
  const { entries } = await currentListings(dir, files, "tools/", options);
  const tools: Record<string, unknown> = {};
  for (const file of files) {
    const entry = entries.get(file);
    if (entry) tools[file] = entry;
  }
  const text = `${
    JSON.stringify(
      {
        "//":
          "Generated by tooldrop with tools/_manifest.ts: what each tool lists, by a hash of its file and local imports; do not edit",
        tooldrop: VERSION,
        tools,
      },
      null,
      2,
    )
  }\n`;
  const url = new URL(LISTING_FILE, dir);
  const existing = await Deno.readTextFile(url).catch(() => undefined);
  if (existing === text) return false;
  await Deno.writeTextFile(url, text);
  return true;
}

/** Each file's listing (from the cache, else probed), the probe's errors, and how many it took. */
async function currentListings(
  dir: URL,
  files: readonly string[],
  label: string,
  options: Pick<ListOptions, "log" | "loadTimeoutMs" | "probe">,
): Promise<{
  listings: Map<string, ToolListing>;
  entries: Map<string, ListingEntry>;
  errors: string[];
  probed: number;
}> {
  const [cached, hashes] = await Promise.all([
    readListing(dir),
    hashFiles(dir, files),
  ]);
  const entries = new Map<string, ListingEntry>();
  const misses: ToolFile[] = [];
  const missNames = new Map<string, string>();
  for (const [i, file] of files.entries()) {
    const entry = cached.get(file);
    if (entry && entry.hash === hashes[i]) entries.set(file, entry);
    else {
      const source = `${label}${file}`;
      misses.push({
        url: toolFileUrl(dir, file).href,
        source,
        stem: toolStem(file),
      });
      missNames.set(source, file);
    }
  }
  const errors: string[] = [];
  if (misses.length > 0) {
    options.log.debug(
      `Listing ${misses.length} tool file(s) not in ${LISTING_FILE} (or changed since) in a worker`,
    );
    const probe = options.probe ??
      (async (files: ToolFile[]) =>
        (await import("./worker/probe.ts")).probeTools(files, options));
    for (const loaded of await probe(misses)) {
      const file = missNames.get(loaded.source);
      if (file === undefined) continue;
      if ("error" in loaded) {
        errors.push(loaded.error);
        continue;
      }
      const entry = toEntry({
        hash: hashes[files.indexOf(file)],
        name: loaded.name,
        descriptor: loaded.descriptor,
        permissions: loaded.permissions,
        timeoutMs: loaded.timeoutMs,
      });
      if (entry) entries.set(file, entry);
      else {errors.push(
          `Cannot load tool "${loaded.source}": its worker did not describe it`,
        );}
    }
  }
  return { listings: entries, entries, errors, probed: misses.length };
}

/** The hashes of `files`, in their order. */
function hashFiles(dir: URL, files: readonly string[]): Promise<string[]> {
  const read = sourceReader();
  return Promise.all(
    files.map((file) => sourceHash(dir, toolFileUrl(dir, file), read)),
  );
}

/** The cache's valid entries; none when it is missing, unreadable or another version's. */
async function readListing(dir: URL): Promise<Map<string, ListingEntry>> {
  const entries = new Map<string, ListingEntry>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(new URL(LISTING_FILE, dir)));
  } catch {
    return entries; // no cache (or not JSON): every file is probed
  }
  if (!isPlainObject(parsed) || parsed.tooldrop !== VERSION) return entries;
  const tools = parsed.tools;
  if (!isPlainObject(tools)) return entries;
  for (const [file, value] of Object.entries(tools)) {
    const entry = isPlainObject(value) ? toEntry(value) : undefined;
    if (entry) entries.set(file, entry);
  }
  return entries;
}

/** `value` as an entry when it is one (a hand-edited cache must not break serving), else undefined. */
function toEntry(value: Record<string, unknown>): ListingEntry | undefined {
  const { hash, name, descriptor, permissions, timeoutMs } = value;
  if (
    typeof hash !== "string" || typeof name !== "string" ||
    !TOOL_NAME_PATTERN.test(name) || !isPlainObject(descriptor) ||
    descriptor.name !== name || typeof descriptor.description !== "string" ||
    !isPlainObject(descriptor.inputSchema) || !isTimerMs(timeoutMs) ||
    (permissions !== undefined && permissionsProblem(permissions))
  ) {
    return undefined;
  }
  return {
    hash,
    name,
    descriptor: descriptor as unknown as ToolDescriptor,
    permissions: permissions as ListingEntry["permissions"],
    timeoutMs: timeoutMs as number,
  };
}
