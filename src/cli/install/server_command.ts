/**
 * @module
 * The command line a client configuration registers to start this server: the compiled binary
 * when `deno task compile` has built it, else Deno running main.ts with `--watch` and the least
 * permissions the tools declare (read access widened to the tools and src/ folders).
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { existingFolders, type Io, servedFolders } from "../io.ts";
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
  // The prompts and resources folders that exist are read as the tools folder is.
  const folders = existingFolders(io).map((url) =>
    fileURLToPath(url).replace(/[\\/]$/, "")
  );
  const flags = serverFlags(
    await declaredPermissions(io.toolsDir, { kinds: servedFolders(io) }),
    // src/: commands and tool loading are imported when first needed, which takes read access.
    { read: [tools, ...folders, join(root, "src")] },
  );
  const config = join(root, "deno.json");
  const deno = await lastingDeno(root);
  return {
    command: deno.path,
    args: [
      "run",
      ...flags,
      ...(await isFile(config) ? ["--config", config] : []),
      fileURLToPath(io.entry),
      "serve",
      "--watch",
      ...(options.toolsDir ? ["--tools", tools] : []),
      ...(options.promptsDir !== undefined && io.promptsDir
        ? ["--prompts", fileURLToPath(io.promptsDir).replace(/[\\/]$/, "")]
        : []),
      ...(options.resourcesDir !== undefined && io.resourcesDir
        ? [
          "--resources",
          fileURLToPath(io.resourcesDir).replace(/[\\/]$/, ""),
        ]
        : []),
      ...name,
    ],
    how: `${
      deno.copied ? `${deno.copied}; ` : ""
    }Deno running main.ts, reloading tools as you edit them (\`deno task compile\` builds a binary; install again to use it)`,
  };
}

/** The folder, inside the project, that holds a Deno copied out of npx's cache. */
export const DENO_COPY_DIR = ".deno";

/** True when `path` is a Deno that npx unpacked into its cache, which npm may clear. */
export function inNpxCache(path: string): boolean {
  return /[\\/]_npx[\\/]/.test(path);
}

/**
 * The Deno to register: this one, unless it runs from npx's cache (`npx -y deno@2.9.6 task …`),
 * which `npm cache clean` or a newer npx empties, breaking the client's entry. Then a copy of it
 * in `.deno/` inside the project (git ignores it), made or refreshed now; `copied` says so.
 * Registering `npx -y deno@…` itself would last too, but adds ~0.9 s to every start.
 */
async function lastingDeno(
  root: string,
): Promise<{ path: string; copied: string | undefined }> {
  const current = Deno.execPath();
  if (!inNpxCache(current)) return { path: current, copied: undefined };
  const path = join(
    root,
    DENO_COPY_DIR,
    Deno.build.os === "windows" ? "deno.exe" : "deno",
  );
  const [from, to] = await Promise.all([
    Deno.stat(current),
    Deno.stat(path).catch(() => undefined),
  ]);
  if (to?.size !== from.size) {
    await Deno.mkdir(join(root, DENO_COPY_DIR), { recursive: true });
    await Deno.copyFile(current, path);
    if (Deno.build.os !== "windows") await Deno.chmod(path, 0o755);
  }
  return {
    path,
    copied:
      `Deno ${Deno.version.deno} copied from npx's cache (which npm may clear) to ${DENO_COPY_DIR}/`,
  };
}
