/**
 * @module
 * `install`: adds (or updates) this server's entry in an AI client's configuration file —
 * creating the file when needed, keeping every comment, the formatting and the other servers
 * (the files are JSONC), doing nothing when the entry is already there, and refusing to replace
 * a different entry of the same name without `--force`. Also where each client keeps its file,
 * which `doctor` reads.
 */

import {
  findNodeAtLocation,
  parse,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { declaredPermissions } from "../loading/load.ts";
import { serverFlags } from "../tool/permissions.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import { isFile } from "../util/fs.ts";

/** The clients `install` knows, by the name `--client` takes. */
export const CLIENTS = {
  "claude-code": {
    label: "Claude Code",
    key: "mcpServers",
    project: [".mcp.json"],
    user: (home: Home) => [home.home, ".claude.json"],
    entry: (command: string, args: string[]) => ({
      type: "stdio",
      command,
      args,
    }),
    next:
      "Claude Code asks you to approve a project's servers the first time; `/mcp` shows it connected.",
  },
  vscode: {
    label: "VS Code",
    key: "servers",
    project: [".vscode", "mcp.json"],
    user: (home: Home) => [home.vscodeUser, "mcp.json"],
    entry: (command: string, args: string[]) => ({
      type: "stdio",
      command,
      args,
    }),
    next:
      "VS Code lists it under MCP Servers; start it there or from the chat's tools menu.",
  },
  cursor: {
    label: "Cursor",
    key: "mcpServers",
    project: [".cursor", "mcp.json"],
    user: (home: Home) => [home.home, ".cursor", "mcp.json"],
    entry: (command: string, args: string[]) => ({ command, args }),
    next: "Cursor shows it in Settings → MCP; enable it there.",
  },
  "claude-desktop": {
    label: "Claude Desktop",
    key: "mcpServers",
    project: undefined,
    user: (home: Home) => [home.claudeDesktop, "claude_desktop_config.json"],
    entry: (command: string, args: string[]) => ({ command, args }),
    next: "Quit and reopen Claude Desktop to load it.",
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
    entry: (command: string, args: string[]) => ({
      command,
      args,
      disabled: false,
    }),
    next: "Cline picks it up from its MCP Servers panel.",
  },
} as const;

/** A client `install` and `doctor` know. */
export type ClientName = keyof typeof CLIENTS;

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
  scope: "project" | "user";
  path: string;
  /** The top-level key holding the servers: `mcpServers` or (VS Code) `servers`. */
  key: string;
  name: string;
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
  if (scope !== "project" && scope !== "user") {
    throw new Error(`Unknown --scope "${scope}"; use project or user`);
  }
  let path: string;
  if (scope === "project") {
    if (!spec.project) {
      throw new Error(
        `${spec.label} has no project configuration; use --scope user`,
      );
    }
    path = join(projectDir(io), ...spec.project);
  } else {
    path = join(...spec.user(home(io)));
  }
  return {
    client,
    label: spec.label,
    scope,
    path,
    key: spec.key,
    name: options.name ?? DEFAULT_SERVER_INFO.name,
  };
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

/** Where `--scope project` writes: the folder the command was started in. */
export function projectDir(io: Io): string {
  // `deno task` runs in the project's folder and keeps the caller's in INIT_CWD.
  return io.env("INIT_CWD") ?? io.cwd?.() ?? ".";
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

/** The command and arguments that start this server, as a client config file holds them. */
export async function serverCommand(
  io: Io,
  options: CliOptions,
): Promise<{ command: string; args: string[]; how: string }> {
  const name = options.name && options.name !== DEFAULT_SERVER_INFO.name
    ? ["--name", options.name]
    : [];
  if (!io.entry) {
    return { command: Deno.execPath(), args: name, how: "this binary" };
  }
  const root = fileURLToPath(new URL(".", io.entry));
  const binary = join(
    root,
    "dist",
    `tooldrop${Deno.build.os === "windows" ? ".exe" : ""}`,
  );
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
  const { command, args, how } = await serverCommand(io, options);
  const entry = CLIENTS[target.client].entry(command, args);
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
  if (existing !== undefined && sameJson(existing, entry)) {
    io.stderr(
      `"${target.name}" is already registered in ${target.path} (${target.label}, ${target.scope}); nothing to change\n`,
    );
    return 0;
  }
  if (existing !== undefined && !options.force) {
    io.stderr(
      `${target.path} already has a different server named "${target.name}":\n  ${
        JSON.stringify(existing)
      }\nUse --force to replace it, or --name to register this one under another name.\n`,
    );
    return 1;
  }
  const edited = setEntry(config.text, [target.key, target.name], entry);
  await Deno.mkdir(dirname(target.path), { recursive: true });
  await Deno.writeTextFile(target.path, edited);
  io.stderr(
    `${
      existing === undefined ? "Registered" : "Updated"
    } "${target.name}" in ${target.path} (${target.label}, ${target.scope} scope): ${how}.
  ${[command, ...args].map(shellWord).join(" ")}
${CLIENTS[target.client].next} \`tooldrop doctor${
      options.client ? ` --client ${target.client}` : ""
    }${options.scope ? ` --scope ${target.scope}` : ""}${
      options.name ? ` --name ${target.name}` : ""
    }\` checks that it starts and answers.
`,
  );
  return 0;
}

/** A client configuration file, read. */
export interface ConfigFile {
  /** The text, `{}` for a file that does not exist yet or is empty. */
  text: string;
  /** The servers object, if any. */
  servers: Record<string, unknown> | undefined;
}

/** Parses a config file's text (JSON with comments); throws a message saying what is wrong. */
export function readConfig(text: string, target: ConfigTarget): ConfigFile {
  if (text.trim() === "") text = "{}\n";
  const errors: ParseError[] = [];
  const root = parse(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const line = text.slice(0, offset).split("\n").length;
    throw new Error(
      `${target.path} is not valid JSON (${
        printParseErrorCode(error)
      } on line ${line}); fix it, then run this again`,
    );
  }
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    throw new Error(
      `${target.path} does not hold a JSON object; fix it, then run this again`,
    );
  }
  const servers = (root as Record<string, unknown>)[target.key];
  if (
    servers !== undefined &&
    (typeof servers !== "object" || servers === null || Array.isArray(servers))
  ) {
    throw new Error(
      `"${target.key}" in ${target.path} is not an object; fix it, then run this again`,
    );
  }
  return { text, servers: servers as Record<string, unknown> | undefined };
}

/**
 * Sets `path` (two keys deep) to `value`, touching only the text that must change: a new
 * property goes on its own line after the last one (after any comment ending that line), in
 * the indentation the file uses; an existing value is replaced where it stands.
 */
export function setEntry(
  text: string,
  path: [string, string],
  value: unknown,
): string {
  const root = parseTree(text)!;
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const unit = /^([ \t]+)\S/m.exec(text)?.[1] ?? "  ";
  const lineIndent = (offset: number) => {
    const start = text.lastIndexOf("\n", offset - 1) + 1;
    return /^[ \t]*/.exec(text.slice(start))![0];
  };
  const json = (v: unknown, indent: string) =>
    JSON.stringify(v, null, unit).replaceAll("\n", `${eol}${indent}`);
  const existing = findNodeAtLocation(root, path);
  if (existing) {
    const before = text.slice(
      existing.offset,
      existing.offset + existing.length,
    );
    const replacement = before.includes("\n")
      ? json(value, lineIndent(existing.offset))
      : JSON.stringify(value); // it was on one line: keep it there
    return text.slice(0, existing.offset) + replacement +
      text.slice(existing.offset + existing.length);
  }
  const servers = findNodeAtLocation(root, [path[0]]);
  const [object, key, inserted] = servers?.type === "object"
    ? [servers, path[1], value]
    : [root, path[0], { [path[1]]: value }];
  const children = object.children ?? [];
  const close = object.offset + object.length - 1; // the "}"
  const last = children.at(-1);
  if (!last) {
    const outer = lineIndent(object.offset);
    const indent = outer + unit;
    return `${text.slice(0, object.offset + 1)}${eol}${indent}${
      JSON.stringify(key)
    }: ${json(inserted, indent)}${eol}${outer}${text.slice(close)}`;
  }
  const end = last.offset + last.length;
  const between = text.slice(end, close);
  const comma = /^\s*,/.test(between.replace(/\/\*[^]*?\*\/|\/\/[^\n]*/g, ""));
  const newline = between.indexOf("\n");
  if (newline < 0) {
    // All on one line: stay on it.
    return `${text.slice(0, end)}, ${JSON.stringify(key)}: ${
      JSON.stringify(inserted)
    }${text.slice(end)}`;
  }
  const indent = lineIndent(last.offset);
  const at = end + newline - (text[end + newline - 1] === "\r" ? 1 : 0);
  const property = `${eol}${indent}${JSON.stringify(key)}: ${
    json(inserted, indent)
  }${comma ? "," : ""}`;
  return comma
    ? text.slice(0, at) + property + text.slice(at)
    : `${text.slice(0, end)},${text.slice(end, at)}${property}${
      text.slice(at)
    }`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value).sort().map((
      k,
    ) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word)
    ? word
    : `'${word.replaceAll("'", `'\\''`)}'`;
}
