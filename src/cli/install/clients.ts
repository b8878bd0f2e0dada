/**
 * @module
 * The AI clients `install` registers this server with and `doctor` checks: each one's label,
 * where it keeps its configuration file per operating system and scope, the key of its servers
 * and the shape of an entry; and the options that pick one file among them.
 */

import { join, resolve } from "node:path";
import { callerDir, type Io, shellWord } from "../io.ts";
import type { CliOptions } from "../options.ts";
import { DEFAULT_SERVER_INFO } from "../../server/protocol.ts";
import { claudeProjectKey } from "./claude_project.ts";

/** The variables an entry sets for the server: absent when there are none. */
type EntryEnv = Record<string, string>;

function withEnv(env: EntryEnv | undefined) {
  return env && Object.keys(env).length > 0 ? { env } : {};
}

/** An entry that names its transport, as Claude Code and VS Code write it. */
function typedStdioEntry(command: string, args: string[], env?: EntryEnv) {
  return { type: "stdio", command, args, ...withEnv(env) };
}

/**
 * A reference to the client's own environment variable, in the client's syntax, for its
 * configuration to hold instead of the value. Each one as its documentation gives it.
 */
function dollarBrace(name: string) {
  // Claude Code expands ${VAR} (and ${VAR:-default}) in command, args, env, url and headers of
  // .mcp.json and of the servers in ~/.claude.json (code.claude.com/docs/en/mcp).
  return `\${${name}}`;
}

function envColon(name: string) {
  // VS Code's predefined variable ${env:NAME} (code.visualstudio.com/docs/reference/
  // variables-reference, which mcp.json takes); Cursor's config interpolation (cursor.com/docs/
  // context/mcp); Cline's, since cline/cline#8079.
  return `\${env:${name}}`;
}

/** The clients `install` knows, by the name `--client` takes. */
export const CLIENTS = {
  "claude-code": {
    label: "Claude Code",
    key: "mcpServers",
    project: [".mcp.json"],
    user: (home: Home) => [home.home, ".claude.json"],
    // `claude mcp add --scope local`: one project's entries, kept in the user file (not committed).
    local: true,
    entry: typedStdioEntry,
    forward: dollarBrace,
    next: (scope: Scope) =>
      scope === "project"
        ? "Claude Code asks you to approve a project's servers the first time; `/mcp` shows it connected."
        : "Claude Code loads it when it next starts in the project; `/mcp` shows it connected.",
  },
  vscode: {
    label: "VS Code",
    key: "servers",
    project: [".vscode", "mcp.json"],
    user: (home: Home) => [home.vscodeUser, "mcp.json"],
    local: false,
    entry: typedStdioEntry,
    forward: envColon,
    next: () =>
      "VS Code lists it under MCP Servers; start it there or from the chat's tools menu.",
  },
  cursor: {
    label: "Cursor",
    key: "mcpServers",
    project: [".cursor", "mcp.json"],
    user: (home: Home) => [home.home, ".cursor", "mcp.json"],
    local: false,
    entry: (command: string, args: string[], env?: EntryEnv) => ({
      command,
      args,
      ...withEnv(env),
    }),
    forward: envColon,
    next: () => "Cursor shows it in Settings → MCP; enable it there.",
  },
  "claude-desktop": {
    label: "Claude Desktop",
    key: "mcpServers",
    project: undefined,
    user: (home: Home) => [home.claudeDesktop, "claude_desktop_config.json"],
    local: false,
    entry: (command: string, args: string[], env?: EntryEnv) => ({
      command,
      args,
      ...withEnv(env),
    }),
    // claude_desktop_config.json is used as written: no variable is expanded in it.
    forward: undefined,
    next: () => "Quit and reopen Claude Desktop to load it.",
  },
  cline: {
    label: "Cline",
    key: "mcpServers",
    project: undefined,
    user: (home: Home) => [
      home.vscodeUser,
      "globalStorage",
      "saoudrizwan.claude-dev",
      "settings",
      "cline_mcp_settings.json",
    ],
    local: false,
    entry: (command: string, args: string[], env?: EntryEnv) => ({
      command,
      args,
      ...withEnv(env),
      disabled: false,
    }),
    forward: envColon,
    next: () => "Cline picks it up from its MCP Servers panel.",
  },
} as const;

/** A client `install` and `doctor` know. */
export type ClientName = keyof typeof CLIENTS;

/**
 * Which configuration: the project's file (shared, committed), the user's, or (Claude Code) the
 * user's file's entry for one project.
 */
export type Scope = "project" | "user" | "local";

/** Where per-user configuration lives on this machine. */
interface Home {
  home: string;
  vscodeUser: string;
  claudeDesktop: string;
}

/** One client's configuration file and the entry for this server in it. */
export interface ConfigTarget {
  client: ClientName;
  label: string;
  scope: Scope;
  path: string;
  /**
   * The keys down to the object holding the servers: `["mcpServers"]`, (VS Code) `["servers"]`,
   * or for Claude Code's local scope `["projects", <project key>, "mcpServers"]`.
   */
  at: string[];
  name: string;
  /**
   * The folder the client starts the server in, where `doctor` starts it: the project's (the
   * caller's folder, or `--project`). A user-scope server too starts in the project the client
   * was opened in, so `doctor` runs it in the project it is asked about.
   */
  cwd: string;
}

/** Reads `--client`, `--scope` and `--name` into the file to edit; throws a message on misuse. */
export function configTarget(io: Io, options: CliOptions): ConfigTarget {
  const client = (options.client ?? "claude-code") as ClientName;
  const spec = CLIENTS[client];
  if (!spec) {
    throw new Error(
      `Unknown --client "${options.client}"; use one of ${
        Object.keys(CLIENTS).join(", ")
      }`,
    );
  }
  const scope = options.scope ?? (spec.project ? "project" : "user");
  if (scope !== "project" && scope !== "user" && scope !== "local") {
    throw new Error(`Unknown --scope "${scope}"; use project, user or local`);
  }
  // doctor takes --project with a user-scope entry: the project to start it in.
  if (
    options.project !== undefined && scope === "user" &&
    options.command !== "doctor"
  ) {
    throw new Error(
      `--project names a project's configuration; it does not go with --scope ${scope}`,
    );
  }
  const cwd = projectDir(io, options);
  let path: string;
  let at: string[] = [spec.key];
  if (scope === "project") {
    if (!spec.project) {
      throw new Error(
        `${spec.label} has no project configuration; use --scope user`,
      );
    }
    path = join(cwd, ...spec.project);
  } else if (scope === "local") {
    if (!spec.local) {
      throw new Error(
        `${spec.label} has no local scope (Claude Code's); use --scope project or user`,
      );
    }
    path = join(...spec.user(home(io)));
    at = ["projects", claudeProjectKey(cwd), spec.key];
  } else {
    path = join(...spec.user(home(io)));
  }
  return {
    client,
    label: spec.label,
    scope,
    path,
    at,
    name: options.name ?? DEFAULT_SERVER_INFO.name,
    cwd,
  };
}

/** Where `target` is, for a message: the file, and for a local entry the project in it. */
export function targetPlace(target: ConfigTarget): string {
  return target.scope === "local"
    ? `${target.path} (projects[${JSON.stringify(target.at[1])}])`
    : target.path;
}

/** The config target, or undefined after saying on stderr what is wrong with the options. */
export function reportedTarget(
  io: Io,
  options: CliOptions,
): ConfigTarget | undefined {
  try {
    return configTarget(io, options);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return undefined;
  }
}

/**
 * The options that name `target` again, for a command to suggest (`tooldrop install --client
 * cursor`): only those the user gave, so the suggestion reads as they typed it.
 */
export function targetFlags(target: ConfigTarget, options: CliOptions): string {
  return `${options.client ? ` --client ${target.client}` : ""}${
    options.scope ? ` --scope ${target.scope}` : ""
  }${options.project ? ` --project ${shellWord(options.project)}` : ""}${
    options.name ? ` --name ${target.name}` : ""
  }`;
}

/**
 * Where `--scope project` writes: `--project`, read against the folder the command was started
 * in, else that folder. Throws when `--project` is not a folder.
 */
export function projectDir(
  io: Io,
  options: Pick<CliOptions, "project">,
): string {
  const caller = callerDir(io);
  if (options.project === undefined) return caller;
  const dir = resolve(caller, options.project);
  let folder = false;
  try {
    folder = Deno.statSync(dir).isDirectory;
  } catch {
    // missing or unreadable: said below
  }
  if (!folder) {
    throw new Error(
      `The project folder ${dir} (--project ${options.project}) does not exist or is not a folder`,
    );
  }
  return dir;
}

function home(io: Io): Home {
  const home = io.env("HOME") ?? io.env("USERPROFILE");
  if (!home) throw new Error("Cannot tell the home folder: HOME is not set");
  const os = io.os ?? Deno.build.os;
  const appData = io.env("APPDATA") ?? join(home, "AppData", "Roaming");
  const config = os === "darwin"
    ? join(home, "Library", "Application Support")
    : os === "windows"
    ? appData
    : io.env("XDG_CONFIG_HOME") ?? join(home, ".config");
  return {
    home,
    vscodeUser: join(config, "Code", "User"),
    claudeDesktop: join(config, "Claude"),
  };
}
