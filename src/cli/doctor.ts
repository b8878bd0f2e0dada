/**
 * @module
 * `doctor`: reads the server entry `install` wrote into a client's configuration, starts it the
 * way the client would, and checks that it answers `initialize` and `tools/list` with nothing
 * but protocol on stdout, that its tool names fit the client's limit, and that it exits when
 * its input ends. Says what is wrong, and what to do, when it does not.
 * (Over 300 lines: each check doctor makes of an entry, in the order it reports them, with the
 * fix it names; they share the entry and the started server.)
 */

import { nameList } from "../util/describe.ts";
import { type Io, tooldropCommand } from "./io.ts";
import type { CliOptions } from "./options.ts";
import {
  type ConfigTarget,
  reportedTarget,
  targetFlags,
  targetPlace,
} from "./install/clients.ts";
import { readConfig } from "./install/config_file.ts";
import { clientEnv, shownEnv } from "./install/env.ts";
import { cacheCommand, checkCache } from "./install/warm.ts";
import { type HttpEntry, readHttpEntry } from "./install/http_entry.ts";
import { checkHttp } from "./install/http_doctor.ts";
import { inNpxCache, serverCommand } from "./install/server_command.ts";
import { fileURLToPath } from "node:url";
import { type Arrival, RpcChild } from "./rpc_child.ts";
import { LATEST_LEGACY_VERSION } from "../server/protocol.ts";
import { isPlainObject } from "../util/is.ts";
import { longNamesProblem } from "../tool/served.ts";
import { permissionFlags, STDIO_PERMISSIONS } from "../tool/permissions.ts";

/** Milliseconds the server gets to answer each request (clients wait about 30 s at most). */
const ANSWER_TIMEOUT_MS = 15_000;
/** Milliseconds it gets to exit after its input ends. */
const EXIT_TIMEOUT_MS = 3_000;

interface Entry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Checks the configured server; resolves to 0 when it is healthy, 1 when not. */
export async function runDoctor(io: Io, options: CliOptions): Promise<number> {
  if (!io.entry) {
    io.stderr(
      "This binary may not start programs (it runs with least privilege): run `deno task tooldrop doctor` in the project's source folder\n",
    );
    return 2;
  }
  const target = reportedTarget(io, options);
  if (!target) return 2;
  const say = (ok: boolean | "warn", text: string) =>
    io.stderr(`${ok === "warn" ? "warn" : ok ? "ok  " : "FAIL"}  ${text}\n`);
  const install = `${tooldropCommand(io)} install${
    targetFlags(target, options)
  }`;

  let entry: Entry | { http: HttpEntry };
  try {
    entry = await readEntry(target);
  } catch (error) {
    say(false, `${(error as Error).message}; \`${install}\` adds it`);
    return 1;
  }
  say(
    true,
    `${targetPlace(target)} registers "${target.name}" for ${target.label}`,
  );
  if ("http" in entry) {
    const healthy = await checkHttp(entry.http, { target, env: io.env, say });
    io.stderr(
      healthy
        ? `"${target.name}" is ready for ${target.label}.\n`
        : `"${target.name}" would not work in ${target.label}: see above.\n`,
    );
    return healthy ? 0 : 1;
  }
  const passed = clientEnv(target.client, entry.env, io.env);
  const names = Object.entries(entry.env);
  if (names.length > 0) {
    // Names and references only: a value may be a secret, and this output may be shared.
    say(
      true,
      `it sets env ${
        names.map(([name, value]) => shownEnv(target.client, name, value))
          .join(", ")
      }`,
    );
  }
  for (const name of passed.unset) {
    say(
      "warn",
      `${name} is not set here, so this check starts the server without it; ${target.label} passes the ${name} of its own environment`,
    );
  }

  const problem = await commandProblem(entry.command);
  if (problem) {
    say(false, `${problem}; \`${install} --force\` registers it again`);
    return 1;
  }
  const lacking = await lackingFlags(io, options, entry);
  const [stdio] = permissionFlags(STDIO_PERMISSIONS);
  // An FFI flag that lacks only libc's paths (merged with what tools declare) is the same case.
  const onlyLibc = (flag: string) =>
    flag === stdio || (flag.startsWith("--allow-ffi=") &&
      flagPaths(flag).every((path) =>
        STDIO_PERMISSIONS.ffi !== true &&
          STDIO_PERMISSIONS.ffi?.includes(path) ||
        entry.args.some((arg) =>
          arg.startsWith("--allow-ffi=") && flagPaths(arg).includes(path)
        )
      ));
  const declared = lacking.filter((flag) => !onlyLibc(flag));
  if (declared.length > 0) {
    say(
      false,
      `it runs without ${
        declared.join(" ")
      }, which its tools now need (a permission declared since it was registered); \`${install}\` updates it`,
    );
  }
  if (declared.length < lacking.length) {
    say(
      false,
      `it runs without ${stdio}, with which the server moves the protocol streams off fd 0 and fd 1 so that nothing a tool runs can read or write them (registered by an older tooldrop); \`${install}\` updates it`,
    );
  }
  // It works today, so the server is still checked; but the entry breaks when npm clears it.
  const fragile = inNpxCache(entry.command);
  if (fragile) {
    say(
      false,
      `it runs ${entry.command}, a Deno in npx's cache, which npm may clear; \`${install}\` registers a copy that lasts`,
    );
  }
  // Before the probe below, whose start downloads what is missing.
  const cache = await cacheCommand({ ...entry, env: passed.env });
  if (cache) {
    const cached = await checkCache(cache);
    for (const { file, problem } of cached.broken) {
      say(
        "warn",
        `${file} does not load (${problem}): the server leaves it out until it is fixed`,
      );
    }
    if (cached.ok) {
      say(
        true,
        `Deno's cache holds what its first start needs${
          cached.broken.length > 0 ? " (the other files)" : ""
        }`,
      );
    } else {
      say(
        "warn",
        `Deno's cache lacks what its first start needs (${cached.problem}), so that start downloads it and may outlast the client's wait (about 2 s for Claude Code); \`${install}\` fills it, as does: ${cache.line}`,
      );
    }
  }
  say(true, startsIn(target));
  const report = await probe({ ...entry, env: passed.env }, {
    cwd: target.cwd,
  });
  for (const check of report.checks) say(check.ok, check.text);
  const answers = report.checks.every((c) => c.ok);
  const healthy = answers && !fragile && lacking.length === 0;
  if (!answers && report.stderr.trim()) {
    io.stderr(
      `Its log (stderr), last lines:\n${
        report.stderr.trimEnd().split("\n").slice(-15).map((l) => `  ${l}`)
          .join("\n")
      }\n`,
    );
  }
  const tools = report.tools ?? [];
  const long = longNamesProblem(target.name, tools);
  if (long) {
    say(false, long);
    return 1;
  }
  io.stderr(
    healthy
      ? `"${target.name}" is ready for ${target.label}.\n`
      : `"${target.name}" would not work in ${target.label}: see above.\n`,
  );
  return healthy ? 0 : 1;
}

/** The comma-separated list of an `--allow-<kind>=<list>` flag. */
function flagPaths(flag: string): string[] {
  return flag.slice(flag.indexOf("=") + 1).split(",");
}

/**
 * The permission flags that registering again would give the entry and it lacks: for an entry
 * that runs this main.ts with Deno (a binary holds its permissions inside; another server is
 * not ours to judge).
 */
async function lackingFlags(
  io: Io,
  options: CliOptions,
  entry: Entry,
): Promise<string[]> {
  if (!io.entry || !entry.args.includes(fileURLToPath(io.entry))) return [];
  // Registered for another tools folder than this run's: its tools are not the ones to compare.
  if (entry.args.includes("--tools") && options.toolsDir === undefined) {
    return [];
  }
  const { args } = await serverCommand(io, options);
  return args.filter((arg) =>
    arg.startsWith("--allow-") && !entry.args.includes(arg)
  );
}

/**
 * Why `doctor` starts the server in `target.cwd`: a client starts a server in the project it
 * was opened in (Claude Code whatever the entry's scope; measured for Claude Code only), so
 * tools resolve relative paths there. Claude Desktop has no project.
 */
function startsIn(target: ConfigTarget): string {
  if (target.client === "claude-desktop") {
    return `it starts in ${target.cwd} for this check; Claude Desktop starts it in a folder of its own (/ on macOS), so its tools should not rely on their working directory`;
  }
  return `it starts in ${target.cwd}: ${
    target.scope === "user"
      ? `the project ${target.label} is opened in (this folder, or --project), where a user-scope server starts`
      : `the project's folder, where ${target.label} starts it`
  }`;
}

async function readEntry(
  target: ConfigTarget,
): Promise<Entry | { http: HttpEntry }> {
  let text: string;
  try {
    text = await Deno.readTextFile(target.path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${target.path} does not exist`);
    }
    throw error;
  }
  const { servers } = readConfig(text, target);
  const entry = servers?.[target.name] as Record<string, unknown> | undefined;
  if (entry === undefined) {
    throw new Error(
      `${targetPlace(target)} has no server named "${target.name}"`,
    );
  }
  const http = entry.command === undefined ? readHttpEntry(entry) : undefined;
  if (http) return { http };
  const { command, args = [], env = {} } = entry;
  if (
    !isPlainObject(env) ||
    !Object.values(env).every((value) => typeof value === "string")
  ) {
    throw new Error(
      `"env" of "${target.name}" in ${target.path} is not an object of strings`,
    );
  }
  if (typeof command !== "string" || command === "") {
    throw new Error(
      `the "${target.name}" entry in ${target.path} has no "command"`,
    );
  }
  if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
    throw new Error(
      `"args" of "${target.name}" in ${target.path} is not a list of strings`,
    );
  }
  return { command, args, env: env as Record<string, string> };
}

/** Why the command cannot run, or undefined when it looks runnable. */
async function commandProblem(command: string): Promise<string | undefined> {
  if (!/[\\/]/.test(command)) return undefined; // found on PATH when it runs
  try {
    const info = await Deno.stat(command);
    if (!info.isFile) return `${command} is not a file`;
    if (Deno.build.os !== "windows" && ((info.mode ?? 0o111) & 0o111) === 0) {
      return `${command} is not executable`;
    }
    return undefined;
  } catch {
    return `${command} does not exist (moved, or built somewhere else?)`;
  }
}

interface Report {
  checks: Array<{ ok: boolean; text: string }>;
  tools: string[] | undefined;
  stderr: string;
}

/** Starts the server as a client would and talks to it. */
async function probe(
  entry: Entry,
  options: { cwd: string | undefined },
): Promise<Report> {
  const checks: Report["checks"] = [];
  let child: RpcChild;
  try {
    child = new RpcChild(entry.command, {
      args: entry.args,
      env: entry.env,
      cwd: options.cwd,
    });
  } catch (error) {
    checks.push({
      ok: false,
      text: `${entry.command} could not be started: ${
        (error as Error).message
      }`,
    });
    return { checks, tools: undefined, stderr: "" };
  }
  let tools: string[] | undefined;
  try {
    tools = await converse(child, checks);
  } finally {
    // Clients expect a server to exit by itself when its input ends.
    const exit = await child.close(EXIT_TIMEOUT_MS);
    if (!exit.exited) {
      checks.push({
        ok: false,
        text: `it kept running ${
          EXIT_TIMEOUT_MS / 1000
        } s after its input ended (clients leave such processes behind)`,
      });
    } else if (checks.every((c) => c.ok)) {
      checks.push({ ok: true, text: "it exits when its input ends" });
    }
  }
  return { checks, tools, stderr: child.stderr };
}

/** `initialize` then `tools/list`, as a client opens a session; the tool names, if listed. */
async function converse(
  child: RpcChild,
  checks: Report["checks"],
): Promise<string[] | undefined> {
  const init = await answer(child.call(1, "initialize", {
    protocolVersion: LATEST_LEGACY_VERSION,
    capabilities: {},
    clientInfo: { name: "tooldrop-doctor", version: "1" },
  }, ANSWER_TIMEOUT_MS));
  if (!init.result) {
    checks.push({
      ok: false,
      text: `it did not answer initialize: ${init.problem}`,
    });
    return undefined;
  }
  const info = init.result.serverInfo as
    | { name?: string; version?: string }
    | undefined;
  checks.push({
    ok: true,
    text: `it answers initialize in ${
      Math.round(init.at - child.spawnedAt)
    } ms: ${info?.name ?? "?"} ${
      info?.version ?? ""
    }, protocol ${init.result.protocolVersion}`,
  });
  await child.send({ jsonrpc: "2.0", method: "notifications/initialized" })
    .catch(() => {}); // gone: the next reply says so
  const list = await answer(
    child.call(2, "tools/list", {}, ANSWER_TIMEOUT_MS),
  );
  const listed = list.result?.tools as Array<{ name: string }> | undefined;
  if (!listed) {
    const problem = list.result ? "its answer has no tools" : list.problem;
    checks.push({ ok: false, text: `tools/list failed: ${problem}` });
    return undefined;
  }
  const tools = listed.map((t) => t.name);
  const capabilities = (init.result.capabilities ?? {}) as Record<
    string,
    unknown
  >;
  checks.push({
    ok: true,
    text: `it lists ${tools.length} tool(s): ${nameList(tools) || "(none)"}${
      "prompts" in capabilities ? await listedPrompts(child) : ""
    }${"resources" in capabilities ? await listedResources(child) : ""}`,
  });
  return tools;
}

/** `; 1 prompt(s): review`, as `prompts/list` answers; "" when it does not. */
async function listedPrompts(child: RpcChild): Promise<string> {
  const list = await answer(
    child.call(3, "prompts/list", {}, ANSWER_TIMEOUT_MS),
  );
  const prompts = list.result?.prompts as Array<{ name: string }> | undefined;
  if (!prompts) return "";
  return `; ${prompts.length} prompt(s): ${
    nameList(prompts.map((p) => p.name)) || "(none)"
  }`;
}

/** `; 2 resource(s)`, fixed and templates, as the two lists answer; "" when they do not. */
async function listedResources(child: RpcChild): Promise<string> {
  const [fixed, templates] = await Promise.all([
    answer(child.call(4, "resources/list", {}, ANSWER_TIMEOUT_MS)),
    answer(child.call(5, "resources/templates/list", {}, ANSWER_TIMEOUT_MS)),
  ]);
  const resources = fixed.result?.resources;
  const more = templates.result?.resourceTemplates;
  if (!Array.isArray(resources) || !Array.isArray(more)) return "";
  return `; ${resources.length + more.length} resource(s)`;
}

/** A reply's result and when it arrived, or why there is none. */
type Answer =
  | { result: Record<string, unknown>; at: number }
  | { result?: undefined; problem: string | undefined };

async function answer(reply: Promise<Arrival>): Promise<Answer> {
  try {
    const { message, at } = await reply;
    const result = message.result as Record<string, unknown> | undefined;
    if (result) return { result, at };
    return { problem: (message.error as { message?: string })?.message };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}
