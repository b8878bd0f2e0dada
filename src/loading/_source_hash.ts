/**
 * @module
 * The listing cache's key for a tool file: a SHA-256 of its text and of every local module it
 * imports (relative specifiers, followed recursively, beside the tools folder too: a project's
 * `../shared/` helper), so that a changed helper invalidates the tools that import it; and the
 * modules inside the folder, by which the reloader (../reload.ts) knows which tool files a
 * changed helper touches.
 */

import { localImports } from "./tool_files.ts";
import { concat } from "../util/bytes.ts";
import { filePath } from "../util/file_url.ts";

/**
 * Reads each module once across the files hashed with it: its bytes (undefined when it cannot be
 * read) and the local modules it imports. A module is named by its URL's text (`href`), and read
 * by `path` when the caller has it (a tool file's, joined to its folder's without a URL).
 */
export type SourceReader = (href: string, path?: string) => SourceModule;

/** One module as read: its bytes and the URLs (`href`s) of the local modules it imports. */
interface SourceModule {
  readonly bytes: Uint8Array | undefined;
  readonly imports: readonly string[];
}

/**
 * A reader that reads and scans each file at most once. It reads synchronously: tool files and
 * helpers are small, and 1,000 of them take ~17 ms so against ~60 ms through `Deno.readFile`,
 * each of whose reads is a round trip to a blocking thread (the listing cache is checked on the
 * way to the first `tools/list` reply).
 */
export function sourceReader(): SourceReader {
  const read = new Map<string, SourceModule>();
  const decoder = new TextDecoder();
  return (href, path) => {
    let module = read.get(href);
    if (!module) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = Deno.readFileSync(path ?? pathOf(href));
      } catch {
        bytes = undefined;
      }
      const imports = bytes
        ? localImports(decoder.decode(bytes), href).map((url) => url.href)
        : [];
      module = { bytes, imports };
      read.set(href, module);
    }
    return module;
  };
}

/**
 * The path of the URL `href` to read it by (1,000 files read by path take ~25 ms, by URL ~40);
 * the URL itself when it names no path (not `file:`, or a malformed escape).
 */
function pathOf(href: string): string | URL {
  const url = new URL(href);
  if (url.protocol !== "file:") return url;
  try {
    return filePath(url);
  } catch {
    return url;
  }
}

/** Encodes the names in a key's input (one for all: each key has several). */
const ENCODER = new TextEncoder();

/** A tool file's cache key, and the local modules it covers. */
export interface SourceKey {
  /** `sha256-` and the hex digest of the file and of the local modules it imports. */
  readonly hash: string;
  /**
   * The file and every local module inside the folder it imports, followed recursively, missing
   * ones included, as paths inside the folder (`/`-separated, decoded, as ./watch.ts reports
   * changes): a change to any of them may change what the file lists or does. (Modules outside
   * the folder are in the hash, not here: the watchers see the folder only.)
   */
  readonly modules: readonly string[];
}

/**
 * `sha256-` and the hex digest of the file `url` and of the local modules it imports, each named
 * by its path relative to `dir` (`../shared/x.ts` outside it): a module that is missing or
 * unreadable counts as such (its importer fails to load anyway). Specifiers built at run time
 * (template strings) are not followed.
 */
export async function sourceHash(
  dir: URL,
  url: URL,
  read: SourceReader = sourceReader(),
): Promise<string> {
  return (await sourceKey(dir, url, read)).hash;
}

/** The hash of {@link sourceHash}, with the modules it covers. */
export async function sourceKey(
  dir: URL,
  url: URL,
  read: SourceReader = sourceReader(),
): Promise<SourceKey> {
  const source = sourceInput(dir, url.href, read);
  return { hash: await digest(inputBytes(source)), modules: source.modules };
}

/**
 * What a key hashes, as the pieces read (each module's name and length, then its bytes) rather
 * than one buffer: a folder's are joined once, into the folder's input (`combinedInput`), not
 * once per file and again for the folder (1,000 files: ~9 ms of copying, and its garbage).
 */
export interface SourceInput {
  readonly parts: readonly Uint8Array[];
  /** Their bytes in all. */
  readonly length: number;
  readonly modules: readonly string[];
}

/** The bytes a key hashes: `input`'s parts in one buffer. */
export function inputBytes(input: SourceInput): Uint8Array<ArrayBuffer> {
  return concat(input.parts);
}

/** `sha256-` and the hex SHA-256 of `bytes`. */
export async function digest(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256-${
    Array.from(sum, (byte) => byte.toString(16).padStart(2, "0")).join("")
  }`;
}

/**
 * What the keys of several files hash, together: each file's name, the hash its cache entry has,
 * and its input, in their order. Its digest checks a whole folder against the cache at once (one
 * digest instead of one per file, most of the cost of a warm start with many tools); the
 * entries' hashes are in it so that an entry put back from another version of its file (a
 * merge that takes one line from each side) does not pass for current.
 */
export function combinedInput(
  files: readonly string[],
  inputs: readonly SourceInput[],
  hashes: readonly string[],
): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  files.forEach((file, i) => {
    const input = inputs[i]!;
    parts.push(
      ENCODER.encode(`${file}\0${hashes[i]}\0${input.length}\0`),
      ...input.parts,
    );
  });
  return concat(parts);
}

/**
 * What the key of the module `href` hashes (every module named, then its bytes), and the modules
 * it covers; synchronous, so a folder's inputs are gathered in one pass. `path`: where to read
 * it, when the caller has it.
 */
export function sourceInput(
  dir: URL,
  href: string,
  read: SourceReader,
  path?: string,
): SourceInput {
  const base = dir.href.endsWith("/") ? dir.href : `${dir.href}/`;
  const first = read(href, path);
  // Most tool files import no local module: their input is their own name and bytes.
  const seen = new Map<string, Uint8Array | undefined>([[href, first.bytes]]);
  const pending = [...first.imports];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    const module = read(next);
    seen.set(next, module.bytes);
    for (const target of module.imports) {
      if (!seen.has(target)) pending.push(target);
    }
  }
  const parts: Uint8Array[] = [];
  let length = 0;
  const hrefs = seen.size === 1 ? [href] : [...seen.keys()].sort();
  for (const name of hrefs) {
    const bytes = seen.get(name);
    const head = ENCODER.encode(
      `${
        name.startsWith(base)
          ? name.slice(dir.href.length)
          : relativeHref(base, name)
      }\0${bytes ? bytes.length : "-"}\0`,
    );
    parts.push(head);
    length += head.length;
    if (bytes) {
      parts.push(bytes);
      length += bytes.length;
    }
  }
  return {
    parts,
    length,
    modules: hrefs.filter((name) => name.startsWith(base)).map((name) =>
      decoded(name.slice(base.length))
    ),
  };
}

/**
 * The URL `href` relative to the folder URL `base` (which ends in "/"): `../shared/text.ts` for a
 * helper beside the tools folder, so that the key stays the same wherever the project is.
 */
function relativeHref(base: string, href: string): string {
  const from = base.split("/").slice(0, -1);
  const to = href.split("/");
  let common = 0;
  while (
    common < from.length && common < to.length - 1 &&
    from[common] === to[common]
  ) common++;
  return `${"../".repeat(from.length - common)}${to.slice(common).join("/")}`;
}

/** A URL path decoded; as it is when it holds a malformed escape (a name with a bare `%`). */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
