/**
 * @module
 * The listing cache's key for a tool file: a SHA-256 of its text and of every local module it
 * imports (relative specifiers inside the tools folder, followed recursively), so that a changed
 * helper invalidates the tools that import it; and those modules, by which the reloader
 * (../reload.ts) knows which tool files a changed helper touches.
 */

import { localImports } from "./tool_files.ts";
import { concat } from "../util/bytes.ts";
import { filePath } from "../util/file_url.ts";

/**
 * Reads each module once across the files hashed with it: its bytes (undefined when it cannot be
 * read) and the local modules it imports.
 */
export type SourceReader = (url: URL) => SourceModule;

/** One module as read: its bytes and the URLs of the local modules it imports. */
interface SourceModule {
  readonly bytes: Uint8Array | undefined;
  readonly imports: readonly URL[];
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
  return (url) => {
    let module = read.get(url.href);
    if (!module) {
      let bytes: Uint8Array | undefined;
      try {
        bytes = Deno.readFileSync(pathOf(url));
      } catch {
        bytes = undefined;
      }
      const imports = bytes ? localImports(decoder.decode(bytes), url) : [];
      module = { bytes, imports };
      read.set(url.href, module);
    }
    return module;
  };
}

/**
 * The path of `url` to read it by: a URL costs each read its conversion (1,000 files: ~40 ms
 * against ~25); the URL itself when it names no path (a malformed escape).
 */
function pathOf(url: URL): string | URL {
  if (url.protocol !== "file:") return url;
  try {
    return filePath(url);
  } catch {
    return url;
  }
}

/** A tool file's cache key, and the local modules it covers. */
export interface SourceKey {
  /** `sha256-` and the hex digest of the file and of the local modules it imports. */
  readonly hash: string;
  /**
   * The file and every local module it imports, followed recursively, missing ones included, as
   * paths inside the folder (`/`-separated, decoded, as ./watch.ts reports changes): a change to
   * any of them may change what the file lists or does.
   */
  readonly modules: readonly string[];
}

/**
 * `sha256-` and the hex digest of the file `url` and of the local modules it imports, each named
 * by its path inside `dir`: a module that is missing or unreadable counts as such (its importer
 * fails to load anyway). Specifiers built at run time (template strings) are not followed.
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
  const source = sourceInput(dir, url, read);
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
 * What the keys of several files hash, together: each file's name and input, in their order. Its
 * digest checks a whole folder against the cache at once (one digest instead of one per file,
 * most of the cost of a warm start with many tools).
 */
export function combinedInput(
  files: readonly string[],
  inputs: readonly SourceInput[],
): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  files.forEach((file, i) => {
    const input = inputs[i]!;
    parts.push(encoder.encode(`${file}\0${input.length}\0`), ...input.parts);
  });
  return concat(parts);
}

/**
 * What the key of `url` hashes (every module named, then its bytes), and the modules it covers;
 * synchronous, so a folder's inputs are gathered in one pass.
 */
export function sourceInput(
  dir: URL,
  url: URL,
  read: SourceReader,
): SourceInput {
  const base = dir.href.endsWith("/") ? dir.href : `${dir.href}/`;
  const seen = new Map<string, Uint8Array | undefined>();
  const pending = [url];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (seen.has(next.href)) continue;
    const module = read(next);
    seen.set(next.href, module.bytes);
    for (const target of module.imports) {
      if (target.href.startsWith(base) && !seen.has(target.href)) {
        pending.push(target);
      }
    }
  }
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let length = 0;
  const hrefs = seen.size === 1 ? [...seen.keys()] : [...seen.keys()].sort();
  for (const href of hrefs) {
    const bytes = seen.get(href);
    const head = encoder.encode(
      `${href.slice(dir.href.length)}\0${bytes ? bytes.length : "-"}\0`,
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
    modules: hrefs.filter((href) => href.startsWith(base)).map((href) =>
      decoded(href.slice(base.length))
    ),
  };
}

/** A URL path decoded; as it is when it holds a malformed escape (a name with a bare `%`). */
function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
