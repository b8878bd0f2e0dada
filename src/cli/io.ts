/**
 * @module
 * The process as every command sees it (`Io`: arguments, streams, environment, signal), and
 * `print`, the one way a command writes its output to stdout. main.ts wires the real process.
 */

import type { ByteReader, ByteSource } from "../server/lines.ts";
import type { ToolManifest } from "../loading/manifest.ts";
import type { Logger } from "../util/log.ts";
import { type ByteSink, type ByteWriter, writeTo } from "../server/writer.ts";
import { filePath } from "../util/file_url.ts";

/** The process as the CLI sees it; main.ts wires the real one. */
export interface Io {
  args: readonly string[];
  stdin: ByteSource;
  stdout: ByteSink;
  /** Writes text to stderr; never blocks (main.ts queues it, bounded, and flushes at exit). */
  stderr: (text: string) => void;
  /** Reads an environment variable; undefined when unset or not permitted. */
  env: (name: string) => string | undefined;
  /** The tools/ folder next to main.ts. */
  toolsDir: URL;
  /** The prompts/ folder; default prompts/ beside `toolsDir` (see `servedFolders`). */
  promptsDir?: URL | undefined;
  /** The resources/ folder; default resources/ beside `toolsDir`. */
  resourcesDir?: URL | undefined;
  /** True when stdin is a terminal: a person started the server by hand. */
  stdinIsTerminal?: boolean | undefined;
  /** The working directory; default ".". */
  cwd?: (() => string) | undefined;
  /** The operating system (for where clients keep their configuration); default this one. */
  os?: typeof Deno.build.os | undefined;
  /** main.ts, when running from source (commands that build or supervise need it). */
  entry?: URL | undefined;
  /** In a compiled binary: loads the generated manifest instead of scanning `toolsDir`. */
  manifest?: (() => Promise<ToolManifest>) | undefined;
  /** Aborts on SIGTERM or SIGINT. */
  signal: AbortSignal;
  /** The process-wide guards, which only main.ts installs; absent in tests (in-process). */
  guards?: ProcessGuards | undefined;
}

/** What keeps tool code off stdout and alive; each is installed before any tool is evaluated. */
export interface ProcessGuards {
  /** Sends `console.*` to `log`; with `uncaught`, also logs uncaught errors instead of dying. */
  console(log: Logger, uncaught: boolean): void;
  /** Points Node's routes to stdout at stderr; boots Node compatibility (~10 ms), so call late. */
  nodeStdout(): Promise<void>;
  /**
   * Takes the protocol's streams out of fd 0 and fd 1, pointing them at /dev/null and stderr
   * (src/util/stdio_fds.ts): the server's own ends from then on, or why they stay where they are.
   */
  moveStdio(): { input: ByteReader; output: ByteWriter } | string;
  /** Revokes FFI to libc (which `moveStdio` does itself): for commands that move nothing. */
  giveUpLibc(): void;
  /** Revokes all FFI (a binary's `--drop-ffi`); says what is left of it. */
  dropFfi(): string;
}

/**
 * The folders served besides tools/: the ones `io` names, else prompts/ and resources/ beside
 * the tools folder. Either may be missing (it then serves none).
 */
export function servedFolders(
  io: Io,
): { promptsDir: URL; resourcesDir: URL } {
  return {
    promptsDir: io.promptsDir ?? new URL("../prompts/", io.toolsDir),
    resourcesDir: io.resourcesDir ?? new URL("../resources/", io.toolsDir),
  };
}

/**
 * Which of the served folders exist, for the capabilities the handshake advertises before
 * anything loads: a stat each, no module read.
 */
export function existingFolders(io: Io): URL[] {
  const { promptsDir, resourcesDir } = servedFolders(io);
  return [promptsDir, resourcesDir].filter((url) => {
    try {
      return Deno.statSync(url).isDirectory;
    } catch {
      return false; // missing, or not ours to read: serves none
    }
  });
}

/**
 * Writes a command's output to stdout, the one place any command does; resolves false, rather
 * than throwing, when the reader has gone (`tooldrop list | head -1`): the command stops quietly.
 */
export async function print(io: Io, text: string): Promise<boolean> {
  try {
    await writeTo(io.stdout, new TextEncoder().encode(text));
    return true;
  } catch (error) {
    // The reader closed its end: output is over and the command exits 0, as if it was all read.
    if (
      error instanceof Deno.errors.BrokenPipe ||
      error instanceof Deno.errors.ConnectionReset
    ) return false;
    throw error; // anything else (a full disk) lost output the reader wanted: fail loudly
  }
}

/**
 * The folder the command was started from, against which the paths it was given are read:
 * `deno task` runs in the project's folder and keeps the caller's in INIT_CWD.
 */
export function callerDir(io: Io): string {
  return io.env("INIT_CWD") ?? io.cwd?.() ?? ".";
}

/** `word` as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command that runs tooldrop where this one was started, for hints that name a command
 * (`${tooldropCommand(io)} doctor`): `deno task tooldrop` in tooldrop's folder; from any other,
 * `deno task --config <tooldrop>/deno.json tooldrop`, which keeps the caller's folder as the
 * project; `npx -y deno@<version>` for `deno` when this Deno is npx's; a compiled binary's own
 * path.
 */
export function tooldropCommand(io: Io): string {
  if (!io.entry) {
    try {
      return shellWord(Deno.execPath());
    } catch {
      return "tooldrop"; // this binary may not read its own path
    }
  }
  let deno = "deno";
  try {
    // npx's cache, as install/server_command.ts tells it: `deno` may not be on PATH.
    if (/[\\/]_npx[\\/]/.test(Deno.execPath())) {
      deno = `npx -y deno@${Deno.version.deno}`;
    }
  } catch {
    // may not read its own path: `deno` it is
  }
  const project = filePath(new URL(".", io.entry)).replace(/(.)[\\/]$/, "$1");
  const caller = callerDir(io);
  if (sameFolder(caller === "." ? undefined : caller, project)) {
    return `${deno} task tooldrop`;
  }
  const config = filePath(new URL("./deno.json", io.entry));
  return `${deno} task --config ${shellWord(config)} tooldrop`;
}

/** Whether `dir` (default: the working directory) is `folder`, symbolic links resolved. */
function sameFolder(dir: string | undefined, folder: string): boolean {
  try {
    return Deno.realPathSync(dir ?? Deno.cwd()) === Deno.realPathSync(folder);
  } catch {
    return dir === folder; // may not read them: as written
  }
}
