/**
 * @module
 * The listing cache's key for a tool file: a SHA-256 of its text and of every local module it
 * imports (relative specifiers inside the tools folder, followed recursively), so that a changed
 * helper invalidates the tools that import it.
 */

/** Relative specifiers after `from`, `import` or `import(`; comments may add some (harmless). */
const LOCAL_IMPORT = /\b(?:from|import)\s*\(?\s*(["'])(\.\.?\/[^"'\r\n]+)\1/g;

/** Reads each module once across the files hashed with it. */
export type SourceReader = (url: URL) => Promise<Uint8Array | undefined>;

/** A reader that reads each file at most once; undefined for a file that cannot be read. */
export function sourceReader(): SourceReader {
  const read = new Map<string, Promise<Uint8Array | undefined>>();
  return (url) => {
    let bytes = read.get(url.href);
    if (!bytes) {
      bytes = Deno.readFile(url).catch(() => undefined);
      read.set(url.href, bytes);
    }
    return bytes;
  };
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
  const decoder = new TextDecoder();
  const seen = new Map<string, Uint8Array | undefined>();
  let pending = [url];
  while (pending.length > 0) {
    const batch = pending.filter((next) => !seen.has(next.href));
    pending = [];
    const texts = await Promise.all(batch.map(read));
    batch.forEach((module, i) => {
      const bytes = texts[i];
      seen.set(module.href, bytes);
      if (!bytes) return;
      for (const match of decoder.decode(bytes).matchAll(LOCAL_IMPORT)) {
        const target = new URL(match[2]!, module);
        target.search = "";
        target.hash = "";
        if (target.href.startsWith(dir.href) && !seen.has(target.href)) {
          pending.push(target);
        }
      }
    });
  }
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const href of [...seen.keys()].sort()) {
    const bytes = seen.get(href);
    parts.push(
      encoder.encode(
        `${href.slice(dir.href.length)}\0${bytes ? bytes.length : "-"}\0`,
      ),
    );
    if (bytes) parts.push(bytes);
  }
  const all = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return `sha256-${
    Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("")
  }`;
}
