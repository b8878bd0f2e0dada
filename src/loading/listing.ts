/**
 * @module
 * The listing cache: what each tool file lists (name, `tools/list` entry, declared permissions,
 * timeout) in tools/.listing.json, keyed by a hash of the file and its local imports, so that
 * serving lists tools without importing any tool module in the server's thread.
 * (Over 300 lines: reading, checking and writing the cache share its format and its key; the
 * key itself is ./_source_hash.ts, the probe ./worker/probe.ts.)
 *
 * Design, and why:
 * - Key: SHA-256 of the file's text and of the local modules it imports, followed recursively,
 *   beside the folder too (./_source_hash.ts): a changed helper invalidates exactly the tools
 *   that import it. The file also records tooldrop's version: another version may describe schemas differently.
 * - Lint warnings are not stored: they depend on the name the server is served under, and
 *   linting a listing is cheap, so they are computed from the listing at every start.
 * - A file with no current entry (no cache, a stale entry, a new tool) is probed: one worker for
 *   all of them, with this process's permissions, which is what importing it here granted (a
 *   file's own permissions are unknown until it is evaluated), terminated once it answers
 *   (./worker/probe.ts). Its listing is served and kept in memory; serving never writes the
 *   cache, so it needs no write permission. A broken file is reported as in-thread loading does.
 * - It is written where tools/_manifest.ts is (`deno task manifest`, `new`, and `dev` once the
 *   folder is quiet), so a committed project starts warm. Its name starts with "." rather than
 *   "_": the watchers of `serve --watch` and `dev` pass over hidden files, and would take a
 *   `_*.json` for a helper module. An entry is written only when its file's hash is the same
 *   after the probe as before: a save in between would pair one version's hash with another's
 *   listing.
 * - The reloader (./reload.ts) lists the files a change touched with `listToolFiles`, always
 *   probing them, and learns from the same keys which tool files import a changed helper.
 */

import { DEFAULT_SERVER_INFO, VERSION } from "../server/protocol.ts";
import {
  permissionsProblem,
  type ToolPermissions,
} from "../tool/permissions.ts";
import {
  listedTool,
  type Tool,
  TOOL_NAME_PATTERN,
  type ToolDescriptor,
  type ToolListing,
} from "../tool/served.ts";
import { filePath } from "../util/file_url.ts";
import { isPlainObject } from "../util/is.ts";
import type { Logger } from "../util/log.ts";
import { isTimerMs } from "../util/timer.ts";
import type { LoadResult } from "./discover.ts";
import { admitTool } from "./lint.ts";
import { toolFileHref } from "./import_tool.ts";
import {
  findToolFiles,
  folderLabel,
  scanToolFiles,
  toolStem,
} from "./tool_files.ts";
import type { LoadedTool, ToolFile } from "./worker/protocol.ts";
import type { PromptListing } from "../tool/prompt.ts";
import type { ResourceListing } from "../tool/resource.ts";
import {
  combinedInput,
  digest,
  inputBytes,
  type SourceInput,
  sourceInput,
  type SourceKey,
  sourceKey,
  sourceReader,
} from "./_source_hash.ts";

/** The cache's file name inside tools/ (hidden: discovery and the watchers skip it). */
export const LISTING_FILE = ".listing.json";

/**
 * What an entry is made of, beyond the file it describes: raised whenever tooldrop lists a file
 * differently (a schema it now keeps, a field it adds), so that caches written before are probed
 * again instead of serving the old listing. A cache of another revision is ignored.
 */
const LISTING_REVISION = 2;

/**
 * What a folder serves: tools/ holds tools, prompts/ prompts, resources/ resources. Each
 * folder keeps its own cache, whose entries object is named after its kind ("tools", …).
 */
export type ListingKind = "tool" | "prompt" | "resource";

/** The listing of each kind. */
interface KindListings {
  tool: ToolListing;
  prompt: PromptListing;
  resource: ResourceListing;
}

/** One file's entry: the hash it was listed at, and its listing. */
export type ListingEntry<K extends ListingKind = "tool"> = KindListings[K] & {
  readonly hash: string;
};

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
  /**
   * Told, before the cache's entries are checked, the files the cache lists and the permissions
   * they declared there, when the folder holds EARLY_FILES tool files or more: the workers of a
   * large folder may start while this thread checks (see `WorkerHost.startEarly`).
   */
  early?:
    | ((
      files: Array<
        { file: ToolFile; permissions: ToolPermissions | undefined }
      >,
    ) => void)
    | undefined;
}

/**
 * Tool files from which `early` is told. Starting a worker holds this thread 20–40 ms; with fewer
 * files checking the cache takes less than that, so the worker would only delay `tools/list`.
 */
export const EARLY_FILES = 100;

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
  const { listed, probed } = await listToolFiles(dir, files, {
    ...options,
    label,
  });
  const tools: Tool[] = [];
  const errors: string[] = [];
  const byName = new Map<string, Tool>();
  const serverName = options.serverName ?? DEFAULT_SERVER_INFO.name;
  for (const { file, entry, error } of listed) {
    if (error !== undefined) errors.push(error);
    if (!entry) continue;
    const tool = unattachedTool(entry, `${label}${file}`);
    if (!admitTool(tool, { byName, serverName, errors, warnings })) continue;
    tools.push(options.attach(tool, file));
  }
  return { tools, errors, warnings, probed };
}

/**
 * The tool `listing` describes, from the file named `source` in messages, with no runner yet:
 * `attach` gives it its worker's before any call.
 */
export function unattachedTool(listing: ToolListing, source: string): Tool {
  return listedTool(listing, source, NO_RUNNER);
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
 * A file saved again while it was probed is left out too: its entry would pair the hash read
 * before the save with what the probe found after it (the next write, after that save, adds it).
 */
export async function writeListing(
  dir: URL,
  options: Pick<ListOptions, "log" | "loadTimeoutMs" | "probe"> & {
    /** What the folder serves; default tools. */
    kind?: ListingKind | undefined;
  },
): Promise<boolean> {
  const kind = options.kind ?? "tool";
  const files = await findToolFiles(dir);
  const { listed } = await listToolFiles<ListingKind>(dir, files, {
    ...options,
    kind,
    label: `${kind}s/`,
  });
  const probed = listed.filter((item) => item.probed && item.entry);
  const after = await hashFiles(dir, probed.map((item) => item.file));
  const moved = new Set(
    probed.filter((item, i) => item.entry!.hash !== after[i]!.hash)
      .map((item) => item.file),
  );
  const tools: Record<string, unknown> = {};
  for (const { file, entry } of listed) {
    if (entry && !moved.has(file)) tools[file] = entry;
  }
  // The folder's digest, for a start to check every entry at once: written only when every file
  // has its entry, and each file, read again now, still has that entry's hash.
  const read = sourceReader();
  const paths = filePaths(dir, files);
  const inputs = files.map((file, i) =>
    sourceInput(dir, toolFileHref(dir, file), read, paths?.[i])
  );
  const hashes = await Promise.all(
    inputs.map((input) => digest(inputBytes(input))),
  );
  const current = files.every((file, i) =>
    (tools[file] as ListingEntry<ListingKind> | undefined)?.hash === hashes[i]
  );
  const folder = current
    ? await digest(combinedInput(files, inputs, hashes))
    : undefined;
  const text = `${
    JSON.stringify(
      {
        "//": kind === "tool"
          ? "Generated by tooldrop with tools/_manifest.ts: what each tool lists, by a hash of its file and local imports; do not edit"
          : `Generated by tooldrop: what each ${kind} lists, by a hash of its file and local imports; do not edit`,
        tooldrop: VERSION,
        revision: LISTING_REVISION,
        ...(folder ? { folder } : {}),
        [`${kind}s`]: tools,
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

/** What one file lists, and where that came from. */
export interface ListedFile<K extends ListingKind = "tool"> {
  /** Its name in the folder. */
  readonly file: string;
  /**
   * The file and the local modules it imports, as paths inside the folder (see `sourceKey`): a
   * change to any of them may change its listing.
   */
  readonly modules: readonly string[];
  /** Its listing, under the hash of its sources read before it was probed; none when broken. */
  readonly entry?: ListingEntry<K> | undefined;
  /** Why it cannot be served, naming it, when it is broken. */
  readonly error?: string | undefined;
  /** True when a probe worker imported it (it had no current cache entry, or `cache` was false). */
  readonly probed: boolean;
}

/**
 * What each of `files` (names in `dir`) lists, in their order: from the cache where its entry is
 * current (unless `cache` is false), the others from one probe worker for all of them. Never
 * imports a tool module in this thread.
 */
export async function listToolFiles<K extends ListingKind = "tool">(
  dir: URL,
  files: readonly string[],
  options: Pick<ListOptions, "log" | "loadTimeoutMs" | "probe" | "early"> & {
    label: string;
    /** False: probe every file, ignoring the cache (the reloader: they just changed). */
    cache?: boolean | undefined;
    /** What the folder serves; default tools. */
    kind?: K | undefined;
    /**
     * Entries known in memory (a reloader's last good ones), used where current before the
     * cache: a folder whose cache nobody writes is not probed whole at every change.
     */
    known?: ReadonlyMap<string, ListingEntry<K>> | undefined;
  },
): Promise<{ listed: ListedFile<K>[]; probed: number }> {
  const kind = (options.kind ?? "tool") as K;
  await loadEntries(kind);
  const cached = options.cache === false
    ? { entries: new Map<string, ListingEntry<K>>(), folder: undefined }
    : readListing(dir, kind);
  const { label } = options;
  // Made once, and without parsing a URL: a folder of a thousand files starts with every line
  // of this function still interpreted.
  const hrefs = files.map((file) => toolFileHref(dir, file));
  const paths = filePaths(dir, files);
  if (options.early && files.length >= EARLY_FILES) {
    const early = [];
    for (const [i, file] of files.entries()) {
      const entry = cached.entries.get(file);
      if (!entry) continue;
      early.push({
        file: {
          url: hrefs[i]!,
          source: `${label}${file}`,
          stem: toolStem(file),
        },
        permissions: entry.permissions,
      });
    }
    options.early(early);
  }
  const read = sourceReader();
  const inputs = files.map((_, i) =>
    sourceInput(dir, hrefs[i]!, read, paths?.[i])
  );
  const keys = await currentKeys(files, inputs, cached);
  const listed = new Map<string, ListedFile<K>>();
  const misses: ToolFile[] = [];
  const missNames = new Map<string, number>();
  for (const [i, file] of files.entries()) {
    const { hash, modules } = keys[i]!;
    const known = options.known?.get(file);
    const entry = known?.hash === hash ? known : cached.entries.get(file);
    if (entry && entry.hash === hash) {
      listed.set(file, { file, modules, entry, probed: false });
      continue;
    }
    const source = `${label}${file}`;
    misses.push({
      url: hrefs[i]!,
      source,
      stem: toolStem(file),
      ...(kind === "tool" ? {} : { kind: kind as "prompt" | "resource" }),
    });
    missNames.set(source, i);
  }
  if (misses.length > 0) {
    options.log.debug(
      `Listing ${misses.length} ${kind} file(s) not in ${LISTING_FILE} (or changed since) in a worker`,
    );
    const probe = options.probe ??
      (async (files: ToolFile[]) =>
        (await import("./worker/probe.ts")).probeTools(files, options));
    for (const loaded of await probe(misses)) {
      const i = missNames.get(loaded.source);
      if (i === undefined) continue;
      const { hash, modules } = keys[i]!;
      const entry = entryOf(kind, loaded, hash);
      listed.set(files[i]!, {
        file: files[i]!,
        modules,
        entry,
        error: "error" in loaded
          ? loaded.error
          : entry
          ? undefined
          : `Cannot load ${kind} "${loaded.source}": its worker did not describe it`,
        probed: true,
      });
    }
  }
  return {
    listed: files.flatMap((file) => listed.get(file) ?? []),
    probed: misses.length,
  };
}

/**
 * The keys of `files`, whose inputs are `inputs`: the cache's own when the folder's digest
 * matches the one it was written at (every file then has the entry it had: one digest for the
 * folder), else one digest per file.
 */
async function currentKeys<K extends ListingKind>(
  files: readonly string[],
  inputs: readonly SourceInput[],
  cached: CachedListing<K>,
): Promise<SourceKey[]> {
  const { entries, folder } = cached;
  if (
    folder !== undefined && files.every((file) => entries.has(file)) &&
    await digest(
        combinedInput(
          files,
          inputs,
          files.map((file) => entries.get(file)!.hash),
        ),
      ) === folder
  ) {
    return files.map((file, i) => ({
      hash: entries.get(file)!.hash,
      modules: inputs[i]!.modules,
    }));
  }
  return await Promise.all(
    inputs.map(async (input) => ({
      hash: await digest(inputBytes(input)),
      modules: input.modules,
    })),
  );
}

/** The cache keys of `files`, in their order. */
function hashFiles(dir: URL, files: readonly string[]): Promise<SourceKey[]> {
  const read = sourceReader();
  return Promise.all(
    files.map((file) => sourceKey(dir, new URL(toolFileHref(dir, file)), read)),
  );
}

/**
 * The paths of `files` in the folder `dir`, joined to its path without a URL each; undefined
 * when `dir` names no path (a malformed escape): they are then read by URL.
 */
function filePaths(dir: URL, files: readonly string[]): string[] | undefined {
  let folder: string;
  try {
    folder = filePath(dir);
  } catch {
    return undefined;
  }
  const separator = Deno.build.os === "windows" ? "\\" : "/";
  if (!folder.endsWith(separator)) folder += separator;
  return files.map((file) => `${folder}${file}`);
}

/** The cache as read: its valid entries, and the folder's digest when it was written. */
interface CachedListing<K extends ListingKind> {
  entries: Map<string, ListingEntry<K>>;
  folder: string | undefined;
}

/** The cache; no entries when it is missing, unreadable or another version's. */
function readListing<K extends ListingKind>(
  dir: URL,
  kind: K,
): CachedListing<K> {
  const entries = new Map<string, ListingEntry<K>>();
  const none = { entries, folder: undefined };
  let parsed: unknown;
  try {
    // Synchronously, as the tool files are read: it is small, and an async read waits for a
    // thread while a large folder's workers boot.
    parsed = JSON.parse(Deno.readTextFileSync(new URL(LISTING_FILE, dir)));
  } catch {
    return none; // no cache (or not JSON): every file is probed
  }
  if (
    !isPlainObject(parsed) || parsed.tooldrop !== VERSION ||
    parsed.revision !== LISTING_REVISION
  ) return none;
  const listings = parsed[`${kind}s`];
  if (!isPlainObject(listings)) return none;
  for (const [file, value] of Object.entries(listings)) {
    const entry = isPlainObject(value) ? ENTRIES[kind]!(value) : undefined;
    if (entry) entries.set(file, entry as ListingEntry<K>);
  }
  const folder = typeof parsed.folder === "string" ? parsed.folder : undefined;
  return { entries, folder };
}

/**
 * Each kind's entry as read, when it is one (see `toEntry`); a prompt's and a resource's come
 * with ./_kind_entry.ts, loaded when a folder of theirs is read (a server of tools alone never
 * loads it).
 */
const ENTRIES: {
  [K in ListingKind]?: (
    value: Record<string, unknown>,
  ) => ListingEntry<K> | undefined;
} = { tool: toEntry };

async function loadEntries(kind: ListingKind): Promise<void> {
  if (ENTRIES[kind]) return;
  const { promptEntry, resourceEntry } = await import("./_kind_entry.ts");
  ENTRIES.prompt = promptEntry;
  ENTRIES.resource = resourceEntry;
}

/** The entry of what a probe found in a file of `kind`, at `hash`; undefined when it is none. */
function entryOf<K extends ListingKind>(
  kind: K,
  loaded: LoadedTool,
  hash: string,
): ListingEntry<K> | undefined {
  if ("error" in loaded) return undefined;
  if ("kind" in loaded) {
    return loaded.kind === kind
      ? ENTRIES[kind]!({ ...loaded.listing, hash }) as ListingEntry<K>
      : undefined;
  }
  return kind === "tool"
    ? toEntry({ ...loaded, hash }) as ListingEntry<K> | undefined
    : undefined;
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
