/**
 * @module
 * `deno task compile`: renews the manifest, checks every tool, prompt and resource it lists (a
 * broken one stops the build), and runs `deno compile` with the least permissions they need — the
 * base set plus the union of what each declares — baked into dist/tooldrop (and, on request,
 * binaries for other platforms).
 */

import { fileURLToPath } from "node:url";
import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { loadTools } from "../loading/load.ts";
import { Logger } from "../util/log.ts";
import {
  importManifestFiles,
  MANIFEST_FILE,
  writeManifest,
} from "../loading/manifest.ts";
import { loadTimeoutFromEnv } from "../loading/import_tool.ts";
import { serverFlags } from "../tool/permissions.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import type { ToolSet } from "../tool/served.ts";

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
  // What the binary will load, checked the way it loads it: the manifest's files, each imported
  // here (within the load timeout, its failure naming it), then checked as the manifest's are.
  const tools = await loadTools({
    toolsDir: io.toolsDir,
    manifest: () =>
      importManifestFiles(io.toolsDir, {
        loadTimeoutMs: loadTimeoutFromEnv((message) => log.warn(message)),
      }),
    serverName: options.name ?? DEFAULT_SERVER_INFO.name,
    log,
  });
  if (!tools) {
    log.error(
      "Not compiling: a binary with a broken tool, prompt or resource would refuse to start",
    );
    return 1;
  }
  const prompts = tools.prompts.prompts;
  const resources = tools.resources.resources;
  const declared = [
    ...tools.tools,
    ...prompts.map((prompt) => prompt.get),
    ...resources.map((resource) => resource.read),
  ].map((runnable) => runnable.permissions);
  // A stdio binary moves its streams off fd 0 and fd 1 as serving from source does, then gives
  // up FFI before its tools, which run in its main thread, are evaluated; unless a tool declares
  // FFI of its own, whose grant it then keeps (and which may or may not reach libc).
  const movesStdio = http === undefined &&
    !declared.some((permissions) => {
      const ffi = permissions?.ffi;
      return ffi === true || (ffi !== undefined && ffi.length > 0);
    });
  const flags = serverFlags(declared, http?.permissions, movesStdio);
  // Told to the binary's handshake, which answers before the manifest is imported.
  const embedded = [
    ...prompts.length > 0 ? ["prompts"] : [],
    ...resources.length > 0 ? ["resources"] : [],
  ];
  const root = fileURLToPath(new URL(".", io.entry));
  io.stderr(
    `Compiling ${servedList(tools)} with: ${flags.join(" ")}\n${
      http ? `It runs: ${http.args.join(" ")} (more arguments go after)\n` : ""
    }${
      movesStdio
        ? "It moves its streams off fd 0 and fd 1, then gives up FFI before loading its tools (--drop-ffi)\n"
        : ""
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
      ...(embedded.length > 0 ? ["--embedded", embedded.join(",")] : []),
      ...(movesStdio ? ["--drop-ffi"] : []),
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
 * What a binary of `set` serves, named: `2 tool(s) (echo, get_cwd)`, then `, 1 prompt(s)
 * (review)` and `, 1 resource(s) (note)` when it has any.
 */
function servedList(set: ToolSet): string {
  const named = (count: string, names: string[]) =>
    `${names.length} ${count} (${names.join(", ") || "none"})`;
  const prompts = set.prompts.prompts.map((prompt) => prompt.name);
  const resources = set.resources.resources.map((resource) => resource.name);
  return [
    named("tool(s)", set.tools.map((tool) => tool.name)),
    ...prompts.length > 0 ? [named("prompt(s)", prompts)] : [],
    ...resources.length > 0 ? [named("resource(s)", resources)] : [],
  ].join(", ");
}
