/**
 * @module
 * The command line: parses arguments and runs a command (`serve` by default, `manifest`) against
 * the process's real streams, which main.ts hands in, so every command can be tested in-process.
 */

import { DEFAULT_MAX_LINE_BYTES } from "./lines.ts";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "./log.ts";
import type { ToolManifest } from "./manifest.ts";
import { VERSION } from "./protocol.ts";
import { runServe } from "./start.ts";

/** The process as the CLI sees it; main.ts wires the real one. */
export interface Io {
  args: readonly string[];
  stdin: ReadableStream<Uint8Array>;
  stdout: WritableStream<Uint8Array>;
  /** Writes text to stderr, synchronously. */
  stderr: (text: string) => void;
  /** Reads an environment variable; undefined when unset or not permitted. */
  env: (name: string) => string | undefined;
  /** The tools/ folder next to main.ts. */
  toolsDir: URL;
  /** In a compiled binary: loads the generated manifest instead of scanning `toolsDir`. */
  manifest?: (() => Promise<ToolManifest>) | undefined;
  /** Aborts on SIGTERM or SIGINT. */
  signal: AbortSignal;
  /** Where console.* output and uncaught errors are caught; default none (tests). */
  global?: {
    console: Console;
    addEventListener: typeof globalThis.addEventListener;
  };
}

/** Parsed command line. */
export interface CliOptions {
  command: "serve" | "manifest" | "help" | "version";
  maxLineBytes: number;
  logLevel: LogLevel | undefined;
  check: boolean;
  /** A tools folder given with --tools, instead of the one next to main.ts. */
  toolsDir: string | undefined;
  /** The name clients register the server under (--name); default "tooldrop". */
  name: string | undefined;
}

const USAGE =
  `tooldrop ${VERSION}: an MCP server whose tools are the files in tools/

Usage:
  tooldrop [serve] [options]    serve MCP over stdin/stdout (what an AI client runs)
  tooldrop manifest [--check]   regenerate tools/_manifest.ts for \`deno compile\`
                                (--check: exit 1 when it is out of date, write nothing)
  tooldrop --help | --version

Options:
  --log-level <level>       ${
    LOG_LEVELS.join(", ")
  } (default info; or TOOLDROP_LOG)
  --max-line-bytes <n>      longest message accepted, in bytes (default ${DEFAULT_MAX_LINE_BYTES})
  --tools <dir>             serve the tools in <dir> instead of the tools/ next to main.ts
  --name <name>             the name clients know this server by (default tooldrop): sent as
                            serverInfo.name and used to check tool names fit mcp__<name>__<tool>

Logs go to stderr; stdout carries only protocol messages.
`;

/** Parses arguments; throws an `Error` that says what is wrong. */
export function parseArgs(args: readonly string[]): CliOptions {
  const options: CliOptions = {
    command: "serve",
    maxLineBytes: DEFAULT_MAX_LINE_BYTES,
    logLevel: undefined,
    check: false,
    toolsDir: undefined,
    name: undefined,
  };
  let commandSeen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new Error(`Option ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "-h":
      case "--help":
        options.command = "help";
        return options;
      case "-V":
      case "--version":
        options.command = "version";
        return options;
      case "--log-level": {
        const level = value();
        if (!isLogLevel(level)) {
          throw new Error(
            `Unknown log level "${level}"; use one of ${LOG_LEVELS.join(", ")}`,
          );
        }
        options.logLevel = level;
        break;
      }
      case "--max-line-bytes": {
        const n = Number(value());
        if (!Number.isSafeInteger(n) || n < 1) {
          throw new Error(
            "Option --max-line-bytes needs a positive whole number of bytes",
          );
        }
        options.maxLineBytes = n;
        break;
      }
      case "--check":
        options.check = true;
        break;
      case "--tools":
        options.toolsDir = value();
        break;
      case "--name": {
        const name = value();
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
          throw new Error(
            `The server name "${name}" must be 1 to 64 letters, digits, "_" or "-"`,
          );
        }
        options.name = name;
        break;
      }
      case "serve":
      case "manifest":
        if (commandSeen) throw new Error(`Unexpected argument "${arg}"`);
        options.command = flag;
        commandSeen = true;
        break;
      default:
        throw new Error(
          `Unknown ${arg.startsWith("-") ? "option" : "command"} "${arg}"`,
        );
    }
  }
  return options;
}

/** Runs the command line; resolves to the exit code. */
export async function runCli(io: Io): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(io.args);
  } catch (error) {
    io.stderr(
      `${
        (error as Error).message
      }\nRun "tooldrop --help" to see the commands and options.\n`,
    );
    return 2;
  }
  if (options.toolsDir !== undefined) {
    // Loaded only here: node:path and node:url cost milliseconds of start-up.
    const [{ resolve }, { pathToFileURL }] = await Promise.all([
      import("node:path"),
      import("node:url"),
    ]);
    io = {
      ...io,
      toolsDir: pathToFileURL(`${resolve(options.toolsDir)}/`),
      manifest: undefined,
    };
  }
  switch (options.command) {
    case "help":
      await print(io, USAGE);
      return 0;
    case "version":
      await print(io, `tooldrop ${VERSION}\n`);
      return 0;
    case "manifest":
      return await runManifest(io, options.check);
    case "serve":
      return await runServe(io, options);
  }
}

async function runManifest(io: Io, check: boolean): Promise<number> {
  // Loaded only for this command: it pulls in tool discovery, which serving loads lazily.
  const { checkManifest, MANIFEST_FILE, writeManifest } = await import(
    "./manifest.ts"
  );
  const path = `tools/${MANIFEST_FILE}`;
  if (check) {
    const { current } = await checkManifest(io.toolsDir);
    io.stderr(
      current
        ? `${path} is up to date\n`
        : `${path} is out of date: run \`deno task manifest\`\n`,
    );
    return current ? 0 : 1;
  }
  const changed = await writeManifest(io.toolsDir);
  io.stderr(changed ? `Wrote ${path}\n` : `${path} is up to date\n`);
  return 0;
}

async function print(io: Io, text: string): Promise<void> {
  const writer = io.stdout.getWriter();
  try {
    await writer.write(new TextEncoder().encode(text));
  } finally {
    writer.releaseLock();
  }
}
