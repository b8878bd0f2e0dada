/**
 * @module
 * `deno task compile`: renews the tools manifest, checks every tool (a broken one stops the
 * build), and runs `deno compile` with the least permissions the tools need — the base set plus
 * the union of what each declares — baked into dist/tooldrop (and, on request, binaries for
 * other platforms).
 */

import { fileURLToPath } from "node:url";
import { existingFolders, type Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { loadTools } from "../loading/load.ts";
import { Logger } from "../util/log.ts";
import { MANIFEST_FILE, writeManifest } from "../loading/manifest.ts";
import { serverFlags } from "../tool/permissions.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";

/** The platforms `deno compile --target` builds for. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** What `deno compile` prints when it cannot fetch the runtime it builds on. */
const DOWNLOAD_FAILED =
  /dl\.deno\.land|error sending request|dns error|failed to lookup address|Setting up base binary/i;

/**
 * The binary built for `target` (this platform when undefined), relative to the project:
 * `dist/tooldrop`, or `dist/tooldrop-<target>`, with `.exe` for Windows.
 */
export function binaryFile(target?: string, http = false): string {
  const windows = target === undefined
    ? Deno.build.os === "windows"
    : target.includes("windows");
  return `dist/tooldrop${http ? "-http" : ""}${target ? `-${target}` : ""}${
    windows ? ".exe" : ""
  }`;
}

/** Builds the binaries; resolves to the exit code. */
export async function runCompile(
  io: Io,
  options: CliOptions,
): Promise<number> {
  const log = new Logger({
    level: options.logLevel ?? "info",
    write: io.stderr,
  });
  if (!io.entry) {
    log.error(
      "`compile` builds from source: run `deno task compile` in the project",
    );
    return 2;
  }
  const targets = options.targets.includes("all")
    ? [...TARGETS]
    : options.targets;
  const unknown = targets.filter((t) =>
    !(TARGETS as readonly string[]).includes(t)
  );
  if (unknown.length > 0) {
    log.error(
      `Unknown --target ${unknown.join(", ")}; use all or one of ${
        TARGETS.join(", ")
      }`,
    );
    return 2;
  }
  // --http: a binary that serves HTTP (dist/tooldrop-http), not stdio.
  const http = options.http === undefined
    ? undefined
    : (await import("./_compile_http.ts")).httpBuild(options);
  if (typeof http === "string") {
    log.error(http);
    return 2;
  }
  if (await writeManifest(io.toolsDir)) {
    log.info(`Wrote tools/${MANIFEST_FILE}`);
  }
  const tools = await loadTools({
    toolsDir: io.toolsDir,
    serverName: options.name ?? DEFAULT_SERVER_INFO.name,
    log,
  });
  if (!tools) {
    log.error(
      "Not compiling: a binary with a broken tool would refuse to start",
    );
    return 1;
  }
  await warnLeftOut(io, log);
  const flags = serverFlags(
    tools.tools.map((tool) => tool.permissions),
    http?.permissions,
  );
  const root = fileURLToPath(new URL(".", io.entry));
  io.stderr(
    `Compiling ${tools.tools.length} tool(s) (${
      tools.tools.map((t) => t.name).join(", ") || "none"
    }) with: ${flags.join(" ")}\n${
      http ? `It runs: ${http.args.join(" ")} (more arguments go after)\n` : ""
    }`,
  );
  for (const target of targets.length > 0 ? targets : [undefined]) {
    const output = binaryFile(target, http !== undefined);
    const args = [
      "compile",
      ...flags,
      ...(target ? ["--target", target] : []),
      "--output",
      `${root}${output}`,
      fileURLToPath(io.entry),
      ...(http?.args ?? []),
    ];
    // Both of the child's streams are collected: our stdout carries only command output.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const said = decoder.decode(stdout) + decoder.decode(stderr);
    if (code === 0) {
      io.stderr(said);
      io.stderr(`Built ${output}\n`);
      continue;
    }
    if (DOWNLOAD_FAILED.test(said)) {
      io.stderr(
        `Could not build ${output}: \`deno compile\` downloads the Deno runtime for ${
          target ?? "this platform"
        } from dl.deno.land, and it could not be reached from this machine.\n`,
      );
    } else {
      io.stderr(said);
      io.stderr(
        `Could not build ${output}: \`deno compile\` failed (above).\n`,
      );
    }
    return 1;
  }
  return 0;
}

/**
 * Says which prompts and resources the binary will not serve: it loads only tools, from the
 * manifest, so a project that has them must not find out from its client.
 */
async function warnLeftOut(io: Io, log: Logger): Promise<void> {
  const { findToolFiles, folderLabel } = await import(
    "../loading/tool_files.ts"
  );
  for (const dir of existingFolders(io)) {
    const files = await findToolFiles(dir).catch(() => []);
    if (files.length === 0) continue;
    log.warn(
      `Not in the binary: ${files.length} file(s) in ${folderLabel(dir)} (${
        files.join(", ")
      }); the compiled binary serves tools only for now, so serve them from source (\`deno task start\`, or what \`deno task tooldrop install\` registers)`,
    );
  }
}
