/**
 * @module
 * The command line a client configuration registers to start this server: the compiled binary
 * when `deno task compile` has built it, else Deno running main.ts with `--watch` and the least
 * permissions the tools declare (read access widened to the tools and src/ folders).
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Io } from "../io.ts";
import type { CliOptions } from "../options.ts";
import { binaryFile } from "../compile.ts";
import { declaredPermissions } from "../../loading/load.ts";
import { serverFlags } from "../../tool/permissions.ts";
import { DEFAULT_SERVER_INFO } from "../../server/protocol.ts";
import { isFile } from "../../util/fs.ts";

/** A command that starts this server, and how to describe it to the user. */
export interface ServerCommand {
  command: string;
  args: string[];
  /** What it runs, for the message that reports the registration. */
  how: string;
}

/** The command and arguments that start this server, as a client config file holds them. */
export async function serverCommand(
  io: Io,
  options: CliOptions,
): Promise<ServerCommand> {
  const name = options.name && options.name !== DEFAULT_SERVER_INFO.name
    ? ["--name", options.name]
    : [];
  if (!io.entry) {
    return { command: Deno.execPath(), args: name, how: "this binary" };
  }
  const root = fileURLToPath(new URL(".", io.entry));
  const binary = join(root, binaryFile());
  if (await isFile(binary)) {
    return { command: binary, args: name, how: "the compiled binary" };
  }
  const tools = fileURLToPath(io.toolsDir).replace(/[\\/]$/, "");
  const flags = serverFlags(
    await declaredPermissions(io.toolsDir),
    // src/: commands and tool loading are imported when first needed, which takes read access.
    { read: [tools, join(root, "src")] },
  );
  const config = join(root, "deno.json");
  return {
    command: Deno.execPath(),
    args: [
      "run",
      ...flags,
      ...(await isFile(config) ? ["--config", config] : []),
      fileURLToPath(io.entry),
      "serve",
      "--watch",
      ...(options.toolsDir ? ["--tools", tools] : []),
      ...name,
    ],
    how:
      "Deno running main.ts, reloading tools as you edit them (`deno task compile` builds a binary; install again to use it)",
  };
}
