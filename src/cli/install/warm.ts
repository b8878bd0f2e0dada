/**
 * @module
 * Deno's cache for a registered command: `install` fills it, `doctor` checks it. A client gives
 * a server a few seconds to list its tools (Claude Code about 2 s before its first turn); a first
 * start on an empty cache downloads the npm packages serving and the tools import, which can take
 * ten. `deno install --entrypoint` on the entry's main.ts and tool files, with the entry's Deno
 * and its config and lock flags, downloads them; with `--cached-only` it fails at once, naming
 * what is missing. (Measured against starting the command once for a handshake: that start
 * answers tools/list from tools/.listing.json and exits before the tools' worker has fetched
 * their packages, so the first call still downloaded them.)
 */

import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { placeNamed } from "../../loading/import_tool.ts";
import { findToolFiles } from "../../loading/tool_files.ts";
import { shellWord } from "../io.ts";

/** Milliseconds `install` waits for the cache to fill before it gives up with a warning. */
const FILL_TIMEOUT_MS = 180_000;
/** Milliseconds `doctor` waits for the offline check (it answers in about 0.1 s). */
const CHECK_TIMEOUT_MS = 30_000;

/** `deno run` flags that change what a module resolves to, and so what is cached. */
const RESOLUTION_FLAGS = [
  "--config",
  "-c",
  "--lock",
  "--no-lock",
  "--import-map",
  "--node-modules-dir",
  "--vendor",
  "--frozen",
  "--frozen-lockfile",
  "--no-remote",
  "--no-npm",
  "--conditions",
];

/** Flags of `deno run` that take their value as the next argument. */
const TAKES_VALUE = ["--config", "-c", "--import-map", "--conditions"];

/** The command that fills Deno's cache for a registered one. */
export interface CacheCommand {
  command: string;
  args: string[];
  /** The variables the client sets for the entry (DENO_DIR among them, say). */
  env: Record<string, string>;
  /** As a shell line, for a message that says how to run it. */
  line: string;
  /** The tool files among `args`, as paths. */
  toolFiles: string[];
}

/**
 * The `deno install --entrypoint` command for an entry that runs a script with Deno (`run …
 * main.ts serve …`): the same Deno, the entry's resolution flags, its script and the tool files
 * of its tools folder (`--tools`, else tools/ next to the script). Undefined for any other entry
 * (a compiled binary needs no cache). `env` is what the client passes the server: a DENO_DIR
 * there is the cache its start uses.
 */
export async function cacheCommand(
  entry: {
    command: string;
    args: readonly string[];
    env: Record<string, string>;
  },
): Promise<CacheCommand | undefined> {
  const [run, ...rest] = entry.args;
  if (run !== "run") return undefined;
  const flags: string[] = [];
  let script: string | undefined;
  let index = 0;
  for (; index < rest.length; index++) {
    const arg = rest[index]!;
    if (!arg.startsWith("-")) {
      script = arg;
      break;
    }
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    const separate = TAKES_VALUE.includes(arg) && !arg.includes("=");
    if (RESOLUTION_FLAGS.includes(name)) {
      flags.push(arg, ...(separate ? [rest[index + 1] ?? ""] : []));
    }
    if (separate) index++;
  }
  if (script === undefined || !/\.[mc]?[jt]s$/.test(script)) return undefined;
  const scriptArgs = rest.slice(index + 1);
  const toolsFlag = scriptArgs.indexOf("--tools");
  const tools = toolsFlag >= 0 && scriptArgs[toolsFlag + 1]
    ? scriptArgs[toolsFlag + 1]!
    : join(dirname(script), "tools");
  let files: string[] = [];
  try {
    files = await findToolFiles(pathToFileURL(`${tools}/`));
  } catch {
    // No tools folder: main.ts alone, and the server says what is wrong when it starts.
  }
  const toolFiles = files.map((file) => join(tools, file));
  const args = ["install", "--entrypoint", ...flags, script, ...toolFiles];
  return {
    command: entry.command,
    args,
    env: entry.env,
    line: [entry.command, ...args].map(shellWord).join(" "),
    toolFiles,
  };
}

/** What running a cache command came to. */
export interface CacheOutcome {
  ok: boolean;
  ms: number;
  /** Why it failed: Deno's first line of error, or how the command could not run. */
  problem: string | undefined;
  /**
   * Tool files whose own code stopped Deno (a syntax error, an import of a file that is not
   * there), each with Deno's line: the cache was filled (or checked) without them, as the server
   * leaves them out. A cache cannot fix them, and saying it lacks something would send the user
   * to run `install` again.
   */
  broken: Array<{ file: string; problem: string }>;
}

/** Downloads what the command's first start needs into Deno's cache. */
export function fillCache(
  cache: CacheCommand,
  timeoutMs = FILL_TIMEOUT_MS,
): Promise<CacheOutcome> {
  return runCache(cache, [], timeoutMs);
}

/** Checks, offline, that Deno's cache holds what the command's first start needs. */
export function checkCache(
  cache: CacheCommand,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<CacheOutcome> {
  return runCache(cache, ["--cached-only"], timeoutMs);
}

async function runCache(
  cache: CacheCommand,
  extra: string[],
  timeoutMs: number,
): Promise<CacheOutcome> {
  const [install, entrypoint, ...rest] = cache.args;
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  const broken: CacheOutcome["broken"] = [];
  let args = rest;
  try {
    // Again without a tool file whose own code stopped Deno, at most once per file.
    for (;;) {
      const { code, stderr } = await new Deno.Command(cache.command, {
        args: [install!, entrypoint!, ...extra, ...args],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { ...cache.env, NO_COLOR: "1" },
        signal,
      }).output();
      const ms = Math.round(performance.now() - started);
      if (code === 0) return { ok: true, ms, problem: undefined, broken };
      const text = new TextDecoder().decode(stderr);
      const problem = firstError(text);
      const file = OWN_CODE.test(problem)
        ? failingFile(text, cache.toolFiles)
        : undefined;
      if (file === undefined) return { ok: false, ms, problem, broken };
      broken.push({ file, problem });
      args = args.filter((arg) => arg !== file);
    }
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    const timedOut = error instanceof DOMException &&
      error.name === "TimeoutError";
    return {
      ok: false,
      ms,
      problem: timedOut
        ? `not done after ${Math.round(timeoutMs / 1000)} s`
        : (error as Error).message,
      broken,
    };
  }
}

/**
 * Deno's lines for a module whose own code is wrong (not a package it could not fetch, which a
 * cache may yet hold): a syntax error, an import of a local file that is not there.
 */
const OWN_CODE =
  /^(?:SyntaxError|Module not found "file:|Relative import path)/;

/**
 * The tool file among `files` (paths) where Deno's output says it stopped (`at
 * file:///…/tools/x.ts:1:17`), when it is one of them; undefined otherwise.
 */
function failingFile(
  text: string,
  files: readonly string[],
): string | undefined {
  const place = placeNamed(text);
  return place && files.find((file) => resolve(file) === place.path);
}

/** The line of Deno's output that says what went wrong, without its `error: ` label. */
function firstError(text: string): string {
  // With RUST_BACKTRACE set, Deno appends a numbered backtrace: not the cause.
  const lines = text.split("Stack backtrace:")[0]!.split("\n")
    .map((line) => line.trim()).filter(Boolean);
  // "error: Failed caching npm package …" is followed by "0: npm package not found in cache: …",
  // the part that names what is missing.
  const cause = lines.find((line) => /^\d+: /.test(line));
  const line = cause ?? lines.find((l) => l.startsWith("error:")) ??
    lines[0] ?? "no output";
  return line.replace(/^(error: |\d+: )/, "").slice(0, 200);
}
