/**
 * @module
 * `install`: adds (or updates) this server's entry in an AI client's configuration file. It
 * picks the file from the client table (clients.ts), the command to register from what is built
 * (server_command.ts), and edits the file as JSON with comments (config_file.ts): creating it
 * when needed, keeping every comment, the formatting and the other servers, doing nothing when
 * the entry is already there, and refusing to replace a different entry of the same name
 * without `--force`; setting the variables `--env` gives (env.ts); then filling Deno's cache
 * for the registered command (warm.ts). `doctor` reads the same table and files to check what
 * was registered.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { binaryFile } from "../compile.ts";
import type { Io } from "../io.ts";
import type { CliOptions } from "../options.ts";
import { DEFAULT_SERVER_INFO } from "../../server/protocol.ts";
import {
  CLIENTS,
  type ConfigTarget,
  reportedTarget,
  targetFlags,
  targetPlace,
} from "./clients.ts";
import {
  type ConfigFile,
  readConfig,
  sameJson,
  setEntry,
} from "./config_file.ts";
import { installHttp } from "./http.ts";
import { serverCommand } from "./server_command.ts";
import {
  clientEnv,
  type EntryEnv,
  entryEnv,
  envDifference,
  envWarnings,
  keptEnv,
  shownEnv,
} from "./env.ts";
import { servedFolders, shellWord, tooldropCommand } from "../io.ts";
import { cacheCommand, fillCache } from "./warm.ts";
import { declaredPermissions } from "../../loading/load.ts";
import { BASE_PERMISSIONS, unionPermissions } from "../../tool/permissions.ts";

/** Adds or updates the entry; resolves to the exit code. */
export async function runInstall(io: Io, options: CliOptions): Promise<number> {
  if (!io.entry) {
    // A compiled binary holds only the permissions its tools need: no writing config files.
    io.stderr(
      `This binary may not write client configuration (it runs with least privilege). Add it by hand, e.g. to .mcp.json:
  {"mcpServers": {${
        JSON.stringify(options.name ?? DEFAULT_SERVER_INFO.name)
      }: {"command": ${JSON.stringify(Deno.execPath())}}}}
or run \`deno task tooldrop install\` in the project's source folder, which registers this binary.
`,
    );
    return 2;
  }
  const target = reportedTarget(io, options);
  if (!target) return 2;
  let text: string;
  try {
    text = await Deno.readTextFile(target.path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    text = "";
  }
  let config: ConfigFile;
  try {
    config = readConfig(text, target);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 1;
  }
  const existing = config.servers?.[target.name];
  const ours = existing !== undefined && startsThisServer(existing, io);
  if (options.http !== undefined || options.headers !== undefined) {
    return await installHttp(io, options, { target, config, ours });
  }
  let env: EntryEnv;
  try {
    env = entryEnv(target, options.env, ours ? existing : undefined);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  const { command, args, how } = await serverCommand(io, options);
  const entry = CLIENTS[target.client].entry(command, args, env);
  if (options.env.length > 0) {
    const declared = unionPermissions([
      BASE_PERMISSIONS,
      ...await declaredPermissions(io.toolsDir, {
        kinds: servedFolders(io),
      }),
    ]);
    const warnings = envWarnings(target, options.env, {
      declared,
      isSet: (name) => io.env(name) !== undefined,
    });
    for (const warning of warnings) io.stderr(`${warning}\n`);
  }
  if (existing !== undefined && sameJson(existing, entry)) {
    io.stderr(
      `"${target.name}" is already registered in ${
        targetPlace(target)
      } (${target.label}, ${target.scope} scope); nothing to change\n`,
    );
    // The cache may have been emptied since (another machine, a cleared DENO_DIR).
    await warm(io, target, { command, args, env });
    return 0;
  }
  if (existing !== undefined && !ours && !options.force) {
    io.stderr(
      `${
        targetPlace(target)
      } already has a different server named "${target.name}":\n  ${
        JSON.stringify(existing)
      }\nUse --force to replace it, or --name to register this one under another name.\n`,
    );
    return 1;
  }
  const edited = setEntry(config.text, [...target.at, target.name], entry);
  await Deno.mkdir(dirname(target.path), { recursive: true });
  await Deno.writeTextFile(target.path, edited);
  io.stderr(
    `${existing === undefined ? "Registered" : "Updated"} "${target.name}" in ${
      targetPlace(target)
    } (${target.label}, ${target.scope} scope): ${how}.
  ${[command, ...args].map(shellWord).join(" ")}${
      Object.keys(env).length > 0
        ? `\n  env ${
          Object.entries(env).map(([name, value]) =>
            shownEnv(target.client, name, value)
          ).join(", ")
        }`
        : ""
    }${
      ours
        ? difference(existing, [command, ...args]) +
          envDifference(target.client, keptEnv(existing), env).map((line) =>
            `\n  ${line}`
          ).join("")
        : ""
    }
`,
  );
  await warm(io, target, { command, args, env });
  io.stderr(
    `${CLIENTS[target.client].next(target.scope)} \`${
      tooldropCommand(io)
    } doctor${targetFlags(target, options)}\` checks that it starts and answers.
`,
  );
  return 0;
}

/**
 * Fills Deno's cache for the registered command, so that its first start (which a client gives
 * a few seconds) downloads nothing; says so in one line. A failure is a warning: the entry is
 * written, and the first start downloads what it needs, as it would have.
 */
async function warm(
  io: Io,
  target: ConfigTarget,
  entry: { command: string; args: string[]; env: EntryEnv },
): Promise<void> {
  // The variables as the client passes them, this shell's standing in for the client's.
  const env = clientEnv(target.client, entry.env, io.env).env;
  const cache = await cacheCommand({ ...entry, env });
  if (!cache) return; // a compiled binary: nothing to download
  const outcome = await fillCache(cache);
  for (const { file, problem } of outcome.broken) {
    io.stderr(
      `Warning: ${file} does not load (${problem}): the server leaves it out until it is fixed\n`,
    );
  }
  io.stderr(
    outcome.ok
      ? `Deno's cache holds what its first start needs (\`deno install --entrypoint\`${
        outcome.broken.length > 0 ? ", the other files" : ""
      }, ${outcome.ms} ms).\n`
      : `Warning: could not fill Deno's cache for its first start (${outcome.problem}); that start downloads what it needs and may outlast the client's wait. To retry: ${cache.line}\n`,
  );
}

/**
 * True when `entry` starts this server: the same main.ts (or, when it was compiled, the same
 * binary). Such an entry was written by `install`, and is updated without `--force` when what it
 * runs with changed (the tools declare other permissions, tooldrop's flags changed).
 */
export function startsThisServer(entry: unknown, io: Io): boolean {
  if (typeof entry !== "object" || entry === null || !io.entry) return false;
  const { command, args } = entry as { command?: unknown; args?: unknown };
  const main = fileURLToPath(io.entry);
  const binary = join(dirname(main), binaryFile());
  return command === binary ||
    (Array.isArray(args) && args.includes(main));
}

/** The words `entry`'s command line had that `now` has not (-), and the other way (+). */
function difference(entry: unknown, now: readonly string[]): string {
  const { command, args } = entry as { command?: unknown; args?: unknown };
  const before = [command, ...(Array.isArray(args) ? args : [])].map(String);
  const removed = before.filter((word) => !now.includes(word));
  const added = now.filter((word) => !before.includes(word));
  return [
    ...removed.map((word) => `\n  - ${shellWord(word)}`),
    ...added.map((word) => `\n  + ${shellWord(word)}`),
  ].join("");
}
