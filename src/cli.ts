/**
 * @module
 * The command line: parses arguments and runs a command (`serve` by default, `manifest`) against
 * the process's real streams, which main.ts hands in, so every command can be tested in-process.
 */

import { type ByteSource, DEFAULT_MAX_LINE_BYTES } from "./lines.ts";
import { isLogLevel, LOG_LEVELS, Logger, type LogLevel } from "./log.ts";
import type { ToolManifest } from "./manifest.ts";
import { VERSION } from "./protocol.ts";
import { runServe } from "./start.ts";
import { type ByteSink, writeTo } from "./writer.ts";

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
  /** Where console.* output and uncaught errors are caught; default none (tests). */
  global?: {
    console: Console;
    addEventListener: typeof globalThis.addEventListener;
  };
}

const COMMANDS = [
  "serve",
  "dev",
  "list",
  "call",
  "new",
  "install",
  "doctor",
  "compile",
  "manifest",
  "help",
  "version",
] as const;

/** What the command line asks for. */
export type Command = typeof COMMANDS[number];

/** Commands that take arguments besides options. */
const TAKES_ARGUMENTS: readonly Command[] = ["call", "new"];

/** Parsed command line. */
export interface CliOptions {
  command: Command;
  maxLineBytes: number;
  logLevel: LogLevel | undefined;
  check: boolean;
  /** A tools folder given with --tools, instead of the one next to main.ts. */
  toolsDir: string | undefined;
  /** The name clients register the server under (--name); default "tooldrop". */
  name: string | undefined;
  /** Arguments after the command (call: tool and JSON; new: name). */
  positionals: string[];
  /** list, call: print JSON. */
  json: boolean;
  /** install, doctor: which client's configuration. */
  client: string | undefined;
  /** install, doctor: project or user configuration. */
  scope: string | undefined;
  /** install: replace a different entry of the same name. */
  force: boolean;
  /** compile: platforms to build for besides this one (`all` for every one). */
  targets: string[];
  /** serve: reload tools as their files change. */
  watch: boolean;
  /** serve: run as the server `dev` supervises (exit with RESTART_EXIT_CODE to be restarted). */
  devChild: boolean;
}

const USAGE =
  `tooldrop ${VERSION}: an MCP server whose tools are the files in tools/

Usage (from source: deno task tooldrop <command>; compiled: tooldrop <command>):
  serve [--watch]             serve MCP over stdin/stdout: what an AI client runs (the default)
                              --watch: reload tool files as they change
  dev                         serve, reload tools on save, restart on server code changes
  list [--json]               the tools and their arguments (--json: the tools/list result)
  call <tool> [json]          run one tool with JSON arguments; exit 1 when it fails
  new <name>                  write tools/<name>.ts and its test, tools/<name>_test.ts
  install [--client C] [--scope project|user] [--name N] [--force]
                              register this server in a client's configuration; C is one of
                              claude-code (default), vscode, cursor, claude-desktop, cline
  doctor [--client C] [--scope S] [--name N]
                              start the registered server as the client would, and check it
  compile [--target T]...     build dist/tooldrop with the permissions the tools declare
                              (T: all, or a platform such as aarch64-apple-darwin)
  manifest [--check]          regenerate tools/_manifest.ts (--check: exit 1 when stale)
  help, version

Options:
  --log-level <level>       ${
    LOG_LEVELS.join(", ")
  } (default info; or TOOLDROP_LOG)
  --max-line-bytes <n>      longest message accepted, in bytes (default ${DEFAULT_MAX_LINE_BYTES})
  --tools <dir>             use the tools in <dir> instead of the tools/ next to main.ts
  --name <name>             the name clients know this server by (default tooldrop): sent as
                            serverInfo.name, checked against mcp__<name>__<tool>, and the
                            entry's name for install and doctor

Logs go to stderr; stdout carries only protocol messages (and command output).
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
    watch: false,
    devChild: false,
    positionals: [],
    json: false,
    client: undefined,
    scope: undefined,
    force: false,
    targets: [],
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
      case "--watch":
        options.watch = true;
        break;
      case "--dev-child":
        options.watch = options.devChild = true;
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
      case "--json":
        options.json = true;
        break;
      case "--force":
        options.force = true;
        break;
      case "--client":
        options.client = value();
        break;
      case "--scope":
        options.scope = value();
        break;
      case "--target":
        options.targets.push(value());
        break;
      default:
        if (arg.startsWith("-") && arg !== "-") {
          throw new Error(`Unknown option "${arg}"`);
        }
        if (!commandSeen && (COMMANDS as readonly string[]).includes(arg)) {
          options.command = arg as Command;
          commandSeen = true;
        } else if (commandSeen && TAKES_ARGUMENTS.includes(options.command)) {
          options.positionals.push(arg);
        } else {
          throw new Error(
            commandSeen
              ? `Unexpected argument "${arg}"`
              : `Unknown command "${arg}"`,
          );
        }
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
  if (io.global && options.command !== "serve") {
    // A tool's output (at import, or run by `call`) would land in the command's output, or in
    // dev's protocol: it goes to stderr, as serve sends it.
    const { guardNodeStdout } = await import("./guards.ts");
    const { redirectConsole } = await import("./console.ts");
    redirectConsole(
      io.global.console,
      new Logger({ level: options.logLevel ?? "info", write: io.stderr }),
    );
    await guardNodeStdout();
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
    case "list":
    case "call":
    case "new": {
      // Loaded only for these commands, like every command but serve: start-up stays small.
      const commands = await import("./commands.ts");
      const run = options.command === "list"
        ? commands.runList
        : options.command === "call"
        ? commands.runCall
        : commands.runNew;
      return await run(io, options);
    }
    case "install": {
      const { runInstall } = await import("./install.ts");
      return await runInstall(io, options);
    }
    case "doctor": {
      const { runDoctor } = await import("./doctor.ts");
      return await runDoctor(io, options);
    }
    case "compile": {
      const { runCompile } = await import("./compile.ts");
      return await runCompile(io, options);
    }
    case "dev": {
      const { runDev } = await import("./dev.ts");
      return await runDev(io, options);
    }
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
