/**
 * @module
 * The command-line layer, imported only by main.ts: `runCli` parses the arguments
 * (`options.ts`) and runs one command — one file or folder each: serve, dev/, list, call,
 * prompt, read, new, install/, doctor, compile, manifest here — against the process as `Io`
 * (`io.ts`) describes it, so every command can be tested in-process. It may import every layer
 * below (util/, tool/, server/, loading/); each command but serve is imported only when it runs,
 * so that serving's start-up stays small. Command output goes through `print`, logs through
 * `Io.stderr`.
 */

import { Logger } from "../util/log.ts";
import { VERSION } from "../server/protocol.ts";
import { callerDir, type Io, print, tooldropCommand } from "./io.ts";
import { filePath, folderUrl } from "../util/file_url.ts";
import { type CliOptions, parseArgs, USAGE, USAGE_ERROR } from "./options.ts";
import { runServe } from "./serve.ts";
import { dropFfi, takeStdio } from "./_stdio.ts";

/** Runs the command line; resolves to the exit code. */
export async function runCli(io: Io): Promise<number> {
  let options: CliOptions;
  try {
    options = parseArgs(io.args);
  } catch (error) {
    io.stderr(
      `${(error as Error).message}\nRun "${
        tooldropCommand(io)
      } --help" to see the commands and options.\n`,
    );
    return USAGE_ERROR;
  }
  if (options.toolsDir !== undefined) {
    // Against the caller's folder: `deno task` runs in the project's and keeps the caller's in
    // INIT_CWD.
    const url = folderUrl(options.toolsDir, absoluteCallerDir(io));
    const dir = filePath(url).replace(/(.)[\\/]$/, "$1");
    if (!isFolder(dir)) {
      io.stderr(
        `The tools folder ${dir} (--tools ${options.toolsDir}) is not a folder this process can read\n`,
      );
      return USAGE_ERROR;
    }
    // prompts/ and resources/ beside it, unless given.
    io = {
      ...io,
      toolsDir: url,
      promptsDir: new URL("../prompts/", url),
      resourcesDir: new URL("../resources/", url),
      manifest: undefined,
    };
  }
  for (const kind of ["prompts", "resources"] as const) {
    const given = options[`${kind}Dir`];
    if (given === undefined) continue;
    // A missing folder serves none; it is not an error.
    io = { ...io, [`${kind}Dir`]: folderUrl(given, absoluteCallerDir(io)) };
  }
  if (io.guards && options.command !== "serve") {
    // A tool's output (at import, or run by `call`) would land in the command's output, or in
    // dev's protocol: it goes to stderr, as serve sends it.
    io.guards.console(
      new Logger({ level: options.logLevel ?? "info", write: io.stderr }),
      false,
    );
    await io.guards.nodeStdout();
  }
  const stdio = options.command === "serve" && options.http === undefined;
  const printsToolOutput = TOOL_OUTPUT_COMMANDS.has(options.command);
  const log = new Logger({
    level: options.logLevel ?? "warning",
    write: io.stderr,
  });
  if (printsToolOutput) {
    // They run tool code and print what it gave (a script reads `call --json`): nothing the tool
    // runs may write into that output.
    io = takeStdio(io, options, log).io;
  } else if (!stdio) keepNoFfi(io, options, log); // serve takes stdio itself, once it logs
  switch (options.command) {
    case "help":
      await print(io, USAGE);
      return 0;
    case "version":
      await print(io, `tooldrop ${VERSION}\n`);
      return 0;
    case "manifest":
      return await runManifest(io, options.check);
    case "serve": {
      if (options.http === undefined) return await runServe(io, options);
      const http = await ownCode(io, () => import("./serve_http.ts"));
      return typeof http === "number"
        ? http
        : await http.runServeHttp(io, options, options.http);
    }
    default: {
      const run = await ownCode(io, LAZY_COMMANDS[options.command]);
      return typeof run === "number" ? run : await run(io, options);
    }
  }
}

/**
 * What `load` imports of tooldrop's own code, or 1 with the reason on stderr when this process
 * may not read it (a command's module is imported when it runs, and an import is a read like any
 * other): `deno run main.ts serve --http` with no flags is a mistake to explain, not an internal
 * error.
 */
async function ownCode<T extends object>(
  io: Io,
  load: () => Promise<T>,
): Promise<T | 1> {
  try {
    return await load();
  } catch (error) {
    const denied = error instanceof Deno.errors.NotCapable ||
      (error instanceof TypeError &&
        error.message.startsWith("Requires read access"));
    if (!denied) throw error;
    const src = decodeURIComponent(new URL("..", import.meta.url).pathname)
      .replace(/\/$/, "");
    io.stderr(
      `Cannot load tooldrop's own code from ${src}: this process may not read it; run it with --allow-read=.,${src} (\`deno task tooldrop …\` in tooldrop's folder grants what its commands need)\n`,
    );
    return 1;
  }
}

/**
 * For a command that moves no stream: libc, granted for the move, is given up at once (a probe
 * worker inherits this process's permissions), and all FFI in a binary baked with --drop-ffi.
 */
function keepNoFfi(io: Io, options: CliOptions, log: Logger): void {
  io.guards?.giveUpLibc();
  if (options.dropFfi) dropFfi(io, log);
}

/** The commands whose stdout carries what a tool, prompt or resource gave. */
const TOOL_OUTPUT_COMMANDS: ReadonlySet<CliOptions["command"]> = new Set([
  "list",
  "call",
  "prompt",
  "read",
]);

/** How a command runs. */
type Run = (io: Io, options: CliOptions) => Promise<number>;

/** Every command but serve is imported only when it runs: serving's start-up does not pay. */
const LAZY_COMMANDS: Record<
  Exclude<CliOptions["command"], "help" | "version" | "manifest" | "serve">,
  () => Promise<Run>
> = {
  list: async () => (await import("./list.ts")).runList,
  call: async () => (await import("./call.ts")).runCall,
  prompt: async () => (await import("./prompt.ts")).runPrompt,
  read: async () => (await import("./read.ts")).runRead,
  new: async () => (await import("./new.ts")).runNew,
  install: async () => (await import("./install/mod.ts")).runInstall,
  doctor: async () => (await import("./doctor.ts")).runDoctor,
  compile: async () => (await import("./compile.ts")).runCompile,
  dev: async () => (await import("./dev/mod.ts")).runDev,
};

async function runManifest(io: Io, check: boolean): Promise<number> {
  // Loaded only for this command: it pulls in tool discovery, which serving loads lazily.
  const { checkManifest, MANIFEST_FILE, writeManifest } = await import(
    "../loading/manifest.ts"
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

/** The folder the command was started from, absolute. */
function absoluteCallerDir(io: Io): string {
  const dir = callerDir(io);
  return dir === "." ? Deno.cwd() : dir;
}

/** True when `path` is a folder this process may read. */
function isFolder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}
