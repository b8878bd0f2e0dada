/**
 * @module
 * Paths to `file:` URLs and back without `node:url` and `node:path`: importing either boots
 * Node compatibility in this thread, 15–40 ms of a server's start-up, for two string
 * conversions. POSIX paths, and Windows drive paths with either slash.
 */

const WINDOWS = Deno.build.os === "windows";

/**
 * A path with what a URL would read as something else escaped (`%`, `?`, `#`, and on POSIX the
 * backslash and control characters); the URL parser escapes the rest itself, as Deno's module
 * specifiers and `node:url` spell them, so that URLs made here equal theirs.
 */
function escapePath(path: string): string {
  return path.replace(
    /[%?#\\\n\r\t]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
}

/** The `file:` URL of the absolute path `path` (a folder's when it ends in a separator). */
export function fileUrl(path: string): URL {
  const slashed = WINDOWS ? path.replaceAll("\\", "/") : path;
  const encoded = escapePath(slashed);
  return new URL(`file://${encoded.startsWith("/") ? "" : "/"}${encoded}`);
}

/**
 * The folder `path` as a URL ending in "/": resolved against the absolute folder `base` when
 * it is relative, with `.` and `..` applied.
 */
export function folderUrl(path: string, base: string): URL {
  const slashed = WINDOWS ? path.replaceAll("\\", "/") : path;
  const absolute = slashed.startsWith("/") || /^[A-Za-z]:\//.test(slashed);
  const url = absolute ? fileUrl(slashed) : new URL(
    // "./" first: a relative path that looks like a scheme ("c:x") stays a path.
    `./${escapePath(slashed)}`,
    fileUrl(`${base.replace(/[\\/]+$/, "")}/`),
  );
  if (!url.pathname.endsWith("/")) url.pathname += "/";
  return url;
}

/** The path of the `file:` URL `url`, with the OS's separators. */
export function filePath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  if (!WINDOWS) return path;
  return path.replace(/^\/([A-Za-z]:)/, "$1").replaceAll("/", "\\");
}
