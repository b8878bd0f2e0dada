/**
 * @module
 * Imports one tool file safely: by a URL built from its path (never parsed from its name), bounded
 * in time (a top-level await that never settles cannot stall loading), and whatever it throws
 * described as one line of text without ever throwing again.
 */

import { describeThrown } from "../util/describe.ts";
import { filePath } from "../util/file_url.ts";
import { isTimerMs, MAX_TIMER_MS, timerMsFromEnv } from "../util/timer.ts";

/** Milliseconds a tool file may take to import, unless configured otherwise. */
export const DEFAULT_LOAD_TIMEOUT_MS = 10_000;

/** The environment variable that sets the load timeout, in milliseconds. */
export const LOAD_TIMEOUT_VARIABLE = "TOOLDROP_LOAD_TIMEOUT_MS";

/** How importing a tool file went. */
export type ImportOutcome =
  | { module: unknown }
  | { error: unknown }
  | { timedOut: number };

/** The load timeout to use: `ms` when given (checked), else the default. */
export function loadTimeout(ms: number | undefined): number {
  if (ms === undefined) return DEFAULT_LOAD_TIMEOUT_MS;
  if (!isTimerMs(ms)) {
    throw new RangeError(
      `Cannot load tools: loadTimeoutMs is ${ms}; use a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
    );
  }
  return ms;
}

/**
 * The load timeout `TOOLDROP_LOAD_TIMEOUT_MS` sets; undefined when it is unset or this process
 * may not read it. An invalid value is reported to `warn` and ignored.
 */
export function loadTimeoutFromEnv(
  warn: (message: string) => void,
): number | undefined {
  return timerMsFromEnv(LOAD_TIMEOUT_VARIABLE, warn);
}

/**
 * The URL of the file `fileName` in the folder `dir`: the name is one percent-encoded path
 * segment, so `node:fs.ts` or `https:jsr.io#.ts` stay local files.
 */
export function toolFileUrl(dir: URL, fileName: string): URL {
  return new URL(toolFileHref(dir, fileName));
}

/**
 * The text of {@link toolFileUrl}, made without parsing a URL (a thousand parses cost a
 * start-up ~5 ms): the URL parser leaves a folder's `href` and an `encodeURIComponent` segment
 * as they are.
 */
export function toolFileHref(dir: URL, fileName: string): string {
  const base = dir.href.endsWith("/") ? dir.href : `${dir.href}/`;
  return `${base}${encodeURIComponent(fileName)}`;
}

/** Calls `fn` after `ms` milliseconds unless what it returns is called first. */
export type Timer = (ms: number, fn: () => void) => () => void;

/** `setTimeout`'s. */
const TIMEOUT: Timer = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/**
 * Imports `url`, waiting at most `timeoutMs` (by `timer`, default `setTimeout`'s; a tool
 * worker's loads no Node module). The timer is cancelled once the import settles. A module still
 * evaluating when it fires is reported as timed out and left behind, since nothing can stop it;
 * Deno then fails a process whose event loop runs dry ("Top-level await promise never
 * resolved"), so a command ends with `Deno.exit`, as main.ts does.
 */
export async function importTool(
  url: string,
  timeoutMs: number,
  timer: Timer = TIMEOUT,
): Promise<ImportOutcome> {
  let cancel: (() => void) | undefined;
  const late = new Promise<ImportOutcome>((resolve) => {
    cancel = timer(timeoutMs, () => resolve({ timedOut: timeoutMs }));
  });
  const imported = import(url).then(
    (module): ImportOutcome => ({ module }),
    (error): ImportOutcome => ({ error }),
  );
  try {
    return await Promise.race([imported, late]);
  } finally {
    cancel?.();
  }
}

/** Why an import failed, for the text after `Cannot load tool "…": `. */
export function importProblem(
  outcome: Exclude<ImportOutcome, { module: unknown }>,
): string {
  if ("timedOut" in outcome) {
    return `its module did not finish loading within ${outcome.timedOut} ms (a top-level await that never settles?)`;
  }
  const at = whereInModule(outcome.error);
  return `it failed to import: ${describeThrown(outcome.error)}${
    at ? ` (at ${at})` : ""
  }`;
}

/**
 * The place Deno's text about a module names below its first line (`at file:///…/tools/x.ts:7:25`,
 * under a code frame: an import's error message, `deno install`'s output): the file's path,
 * line and column; undefined when it names none.
 */
export function placeNamed(
  text: string,
): { path: string; line: string; column: string } | undefined {
  const at = /^\s+at (file:\/\/\S+?):(\d+):(\d+)\s*$/m.exec(text);
  if (!at) return undefined;
  try {
    return { path: filePath(new URL(at[1]!)), line: at[2]!, column: at[3]! };
  } catch {
    return undefined;
  }
}

/**
 * Where an import failed (`placeNamed` of its message): the path (relative to the working
 * directory when it is inside it), line and column; undefined when the message names no place.
 */
function whereInModule(error: unknown): string | undefined {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : "";
  } catch {
    return undefined;
  }
  const place = placeNamed(message);
  if (!place) return undefined;
  let { path } = place;
  try {
    const cwd = Deno.cwd().replace(
      /[\\/]?$/,
      Deno.build.os === "windows" ? "\\" : "/",
    );
    if (path.startsWith(cwd)) path = path.slice(cwd.length);
  } catch {
    // this process may not read the working directory: the full path
  }
  return `${path}:${place.line}:${place.column}`;
}
