/**
 * @module
 * The command line's grammar: the commands, their options, the usage text, and `parseArgs`,
 * which turns arguments into `CliOptions` or an error that says what is wrong.
 * (Over 300 lines: the usage text and the parser of every command's options must agree, and
 * read best side by side.)
 */

import { DEFAULT_MAX_LINE_BYTES } from "../server/lines.ts";
import { isLogLevel, LOG_LEVELS, type LogLevel } from "../util/log.ts";
import { VERSION } from "../server/protocol.ts";

const COMMANDS = [
  "serve",
  "dev",
  "list",
  "call",
  "prompt",
  "read",
  "new",
  "install",
  "doctor",
  "compile",
  "manifest",
  "help",
  "version",
] as const;

/** Exit code for a command line that cannot be carried out as written. */
export const USAGE_ERROR = 2;

/** What the command line asks for. */
export type Command = typeof COMMANDS[number];

/** Commands that take arguments besides options. */
const TAKES_ARGUMENTS: readonly Command[] = ["call", "prompt", "read", "new"];

/** Parsed command line. */
export interface CliOptions {
  command: Command;
  maxLineBytes: number;
  logLevel: LogLevel | undefined;
  check: boolean;
  /** A tools folder given with --tools, instead of the one next to main.ts. */
  toolsDir: string | undefined;
  /** A prompts folder given with --prompts; default prompts/ beside the tools folder. */
  promptsDir?: string | undefined;
  /** A resources folder given with --resources; default resources/ beside the tools folder. */
  resourcesDir?: string | undefined;
  /** The name clients register the server under (--name); default "tooldrop". */
  name: string | undefined;
  /** After the command: call's tool and JSON, prompt's name and JSON, read's URI, new's name. */
  positionals: string[];
  /** list, call, prompt, read: print JSON. */
  json: boolean;
  /** install, doctor: which client's configuration. */
  client: string | undefined;
  /** install, doctor: project or user configuration. */
  scope: string | undefined;
  /** install, doctor: the project folder whose configuration to write or check. */
  project: string | undefined;
  /** new: the template to start from (--template); the minimal tool when absent. */
  template?: string;
  /** new: write a prompt (--prompt) or a resource (--resource) instead of a tool. */
  kind?: "prompt" | "resource";
  /** install: replace a different entry of the same name. */
  force: boolean;
  /**
   * install: variables to set in the entry's env (--env NAME=value), or to have the client pass
   * from its own environment (--env NAME: `value` undefined).
   */
  env: EnvOption[];
  /** compile: platforms to build for besides this one (`all` for every one). */
  targets: string[];
  /** serve: reload tools as their files change. */
  watch: boolean;
  /** serve: listen on HTTP at `[host:]port` instead of stdio (--http). install: the URL to register. */
  http?: string;
  /** install --http: headers the client sends, each `Name: value` as given (--header). */
  headers?: string[];
  /** serve --http: the environment variable holding the bearer token (--token-env). */
  tokenEnv?: string;
  /** serve --http: host names answered to besides loopback and the bound host (--allow-host). */
  allowHosts?: string[];
  /** serve --http: origins CORS allows (--cors-origin), serialized. */
  corsOrigins?: string[];
  /** serve --http: the longest a legacy SSE connection is held, in ms (--sse-hold, in seconds). */
  sseHoldMs?: number;
  /** serve --http: the OAuth authorization server whose access tokens are accepted. */
  oauthIssuer?: string;
  /** serve --http: this server's public URL of /mcp, the audience its tokens name. */
  oauthResource?: string;
  /** serve --http: scopes every access token must carry (--oauth-scope). */
  oauthScopes?: string[];
  /** serve --http: the introspection endpoint; every token is introspected (--oauth-introspect). */
  oauthIntrospect?: string;
  /** serve --http: this server's client id at the issuer, for introspection (--oauth-client-id). */
  oauthClientId?: string;
  /** serve --http: the variable holding its client secret (--oauth-client-secret-env). */
  oauthClientSecretEnv?: string;
  /** serve: run as the server `dev` supervises (exit with RESTART_EXIT_CODE to be restarted). */
  devChild: boolean;
  /**
   * A compiled binary: what its manifest holds besides tools (--embedded prompts,resources), which
   * `compile` bakes into its arguments so the handshake can say so before the manifest loads.
   */
  embedded?: ("prompts" | "resources")[];
  /**
   * A compiled binary whose tools declare no FFI (--drop-ffi, baked by `compile`): FFI is given
   * up once the stdio streams are moved, before any tool is evaluated in its main thread.
   */
  dropFfi?: boolean;
}

/** One `--env`: a variable and its value, or no value to take it from the client's environment. */
export interface EnvOption {
  name: string;
  value: string | undefined;
}

/** The names `--env` takes: what a POSIX shell can export. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The name of a variable holding a secret (`option` names it), or why it cannot be one. */
function secretVariable(name: string, option: string, what: string): string {
  if (!ENV_NAME.test(name)) {
    throw new Error(
      `The variable name "${
        name.slice(0, 30)
      }" (${option}) must be letters, digits and "_", not starting with a digit; the ${what} itself goes in that variable, never on the command line`,
    );
  }
  return name;
}

export const USAGE =
  `tooldrop ${VERSION}: an MCP server whose tools are the files in tools/

Usage (from source: deno task tooldrop <command>; compiled: tooldrop <command>):
  serve [--watch]             serve MCP over stdin/stdout: what an AI client runs (the default)
                              --watch: reload tool files as they change
  serve --http [host:]port    serve MCP over Streamable HTTP at /mcp (loopback unless a host
                              is given; :0 for any free port)
          [--token-env NAME] [--allow-host H]... [--cors-origin O]...
                              --token-env: every request needs Authorization: Bearer <token>,
                              the token being the value of the variable NAME;
                              --allow-host: a name (proxy, LAN) to answer to as Host and Origin;
                              --cors-origin: a web origin whose pages may call the server
          [--sse-hold SECONDS]
                              close a legacy session's SSE connection after that long, the
                              call running on; the client polls it back (Last-Event-ID)
          [--oauth-issuer URL --oauth-resource URL [--oauth-scope S]...]
                              accept OAuth access tokens (JWT) of that authorization server
                              for this resource (its public /mcp URL), with those scopes
          [--oauth-client-id ID --oauth-client-secret-env NAME [--oauth-introspect URL]]
                              and opaque tokens, checked by introspection (RFC 7662) at the
                              issuer's introspection_endpoint as client ID, its secret in the
                              variable NAME; --oauth-introspect: that endpoint, for every token
  dev                         serve, reload tools on save, restart on server code changes
  list [--json]               the tools and their arguments (--json: the tools/list result)
  call <tool> [json]          run one tool with JSON arguments; exit 1 when it fails
  prompt <name> [json]        get one prompt with JSON arguments (strings); print its messages
  read <uri>                  read one resource; print its text (bytes: their size and type)
  new <name> [--template T]   write tools/<name>.ts and its test, tools/<name>_test.ts;
                              T: files, command, sqlite or http (README: "Templates"),
                              else a minimal tool
  new --prompt <name>         write prompts/<name>.ts and its test, prompts/<name>_test.ts
  new --resource <name>       write resources/<name>.ts and its test, resources/<name>_test.ts
  install [--client C] [--scope project|user|local] [--project DIR] [--name N] [--force]
          [--env NAME[=VALUE]]...
          [--http URL [--header "Name: value"]...]
                              register this server in a client's configuration; C is one of
                              claude-code (default), vscode, cursor, claude-desktop, cline;
                              --scope local (Claude Code): the project's entry in ~/.claude.json,
                              yours alone, not in the project's files;
                              --project: the project whose configuration to write (default:
                              the folder the command was started from);
                              --env NAME=VALUE sets a variable in the entry; --env NAME has
                              the client pass its own NAME (\${NAME} or \${env:NAME}: no secret in the
                              file); without --env the entry keeps the variables it has.
                              Then fills Deno's cache for the registered command.
                              --http URL registers a running \`serve --http\` (…/mcp) instead;
                              --header adds a header (\${NAME} in it: the client's variable)
  doctor [--client C] [--scope S] [--project DIR] [--name N]
                              start the registered server as the client would, in the project
                              (--project, else this folder; for every scope), and check it
                              (and whether Deno's cache holds what its first start needs)
  compile [--target T]...     build dist/tooldrop with the permissions the tools declare
                              (T: all, or a platform such as aarch64-apple-darwin)
  compile --http [host:]port [serve --http's options]
                              build dist/tooldrop-http, which runs serve --http with them
  manifest [--check]          regenerate tools/_manifest.ts (--check: exit 1 when stale)
  help, version

Options:
  --log-level <level>       ${
    LOG_LEVELS.join(", ")
  } (default info; or TOOLDROP_LOG)
  --max-line-bytes <n>      longest message accepted, in bytes (default ${DEFAULT_MAX_LINE_BYTES})
  --tools <dir>             use the tools in <dir> instead of the tools/ next to main.ts
                            (prompts and resources then default to <dir>/../prompts/ and
                            <dir>/../resources/)
  --prompts <dir>           serve the prompts in <dir> (a missing folder serves none)
  --resources <dir>         serve the resources in <dir> (a missing folder serves none)
  --name <name>             the name clients know this server by (default tooldrop): sent as
                            serverInfo.name, checked against mcp__<name>__<tool>, and the
                            entry's name for install and doctor

Each tool's calls run in a worker with only the permissions the tool declares (README: "How
tools run"). Logs go to stderr; stdout carries only protocol messages (and command output).
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
    project: undefined,
    force: false,
    env: [],
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
      case "--http":
        options.http = value();
        break;
      case "--header":
        (options.headers ??= []).push(value());
        break;
      case "--token-env":
        options.tokenEnv = secretVariable(value(), "--token-env", "token");
        break;
      case "--oauth-issuer":
        options.oauthIssuer = webUrl(value(), "--oauth-issuer");
        break;
      case "--oauth-resource":
        options.oauthResource = webUrl(value(), "--oauth-resource");
        break;
      case "--oauth-scope": {
        const scope = value();
        if (!/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
          throw new Error(
            `Option --oauth-scope takes one scope (visible characters, no spaces, quotes or backslashes), not ${
              JSON.stringify(scope.slice(0, 40))
            }`,
          );
        }
        (options.oauthScopes ??= []).push(scope);
        break;
      }
      case "--oauth-introspect":
        options.oauthIntrospect = webUrl(value(), "--oauth-introspect");
        break;
      case "--oauth-client-id": {
        const id = value();
        if (!/^[\x20-\x7e]+$/.test(id)) {
          throw new Error(
            `Option --oauth-client-id takes a client id (printable ASCII), not ${
              JSON.stringify(id.slice(0, 40))
            }`,
          );
        }
        options.oauthClientId = id;
        break;
      }
      case "--oauth-client-secret-env":
        options.oauthClientSecretEnv = secretVariable(
          value(),
          "--oauth-client-secret-env",
          "secret",
        );
        break;
      case "--sse-hold": {
        const seconds = Number(value());
        if (!(seconds >= 0.05 && seconds <= 86_400)) {
          throw new Error(
            "Option --sse-hold takes seconds, from 0.05 to 86400, such as 50 (below a proxy's idle timeout)",
          );
        }
        options.sseHoldMs = Math.round(seconds * 1000);
        break;
      }
      case "--allow-host": {
        const host = allowedHost(value());
        if (!host) {
          throw new Error(
            "Option --allow-host takes a host name or address without a port, such as mcp.example.com or 192.168.1.20",
          );
        }
        (options.allowHosts ??= []).push(host);
        break;
      }
      case "--cors-origin": {
        const given = value();
        const origin = parseOrigin(given);
        if (!origin) {
          throw new Error(
            `Option --cors-origin takes an origin (scheme, host and port: no path), such as https://app.example.com, not ${
              JSON.stringify(given.slice(0, 60))
            }`,
          );
        }
        (options.corsOrigins ??= []).push(origin);
        break;
      }
      case "--dev-child":
        options.watch = options.devChild = true;
        break;
      case "--embedded": {
        // Not in the usage: `compile` bakes it into a binary (see `CliOptions.embedded`).
        const kinds = value().split(",");
        const bad = kinds.find((kind) =>
          kind !== "prompts" && kind !== "resources"
        );
        if (bad !== undefined) {
          throw new Error(
            `Unknown --embedded kind "${bad}"; use prompts, resources or both, comma-separated`,
          );
        }
        options.embedded = kinds as ("prompts" | "resources")[];
        break;
      }
      case "--drop-ffi":
        // Not in the usage: `compile` bakes it into a binary (see `CliOptions.dropFfi`).
        options.dropFfi = true;
        break;
      case "--tools":
        options.toolsDir = value();
        break;
      case "--prompts":
        options.promptsDir = value();
        break;
      case "--resources":
        options.resourcesDir = value();
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
      case "--template":
        options.template = value();
        break;
      case "--prompt":
      case "--resource": {
        const kind = flag === "--prompt" ? "prompt" : "resource";
        if (options.kind !== undefined && options.kind !== kind) {
          throw new Error(
            "Options --prompt and --resource exclude each other; new writes one file and its test",
          );
        }
        options.kind = kind;
        // new --prompt=<name> reads as new --prompt <name>.
        if (inline !== undefined) options.positionals.push(inline);
        break;
      }
      case "--client":
        options.client = value();
        break;
      case "--scope":
        options.scope = value();
        break;
      case "--project":
        options.project = value();
        break;
      case "--env": {
        const given = value();
        const equals = given.indexOf("=");
        const name = equals < 0 ? given : given.slice(0, equals);
        // Never echoed whole: what follows "=" may be a secret.
        if (!ENV_NAME.test(name)) {
          throw new Error(
            `The variable name "${
              name.slice(0, 30)
            }" (--env) must be letters, digits and "_", not starting with a digit`,
          );
        }
        if (options.env.some((env) => env.name === name)) {
          throw new Error(`--env ${name} is given twice`);
        }
        options.env.push({
          name,
          value: equals < 0 ? undefined : given.slice(equals + 1),
        });
        break;
      }
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
  const httpOnly = [
    options.tokenEnv && "--token-env",
    options.allowHosts && "--allow-host",
    options.corsOrigins && "--cors-origin",
    options.sseHoldMs !== undefined && "--sse-hold",
    options.oauthIssuer && "--oauth-issuer",
    options.oauthResource && "--oauth-resource",
    options.oauthScopes && "--oauth-scope",
    options.oauthIntrospect && "--oauth-introspect",
    options.oauthClientId && "--oauth-client-id",
    options.oauthClientSecretEnv && "--oauth-client-secret-env",
  ].filter(Boolean);
  if (
    httpOnly.length > 0 &&
    (!["serve", "compile"].includes(options.command) ||
      options.http === undefined)
  ) {
    throw new Error(
      `Option ${httpOnly[0]} needs serve --http (or compile --http)`,
    );
  }
  if ((options.oauthResource || options.oauthScopes) && !options.oauthIssuer) {
    throw new Error(
      "Options --oauth-resource and --oauth-scope need --oauth-issuer (the authorization server)",
    );
  }
  if (options.oauthIssuer && !options.oauthResource) {
    throw new Error(
      "Option --oauth-issuer needs --oauth-resource: this server's public URL of /mcp, such as https://tools.example.com/mcp (the audience its access tokens must name)",
    );
  }
  const introspection = [
    options.oauthIntrospect && "--oauth-introspect",
    options.oauthClientId && "--oauth-client-id",
    options.oauthClientSecretEnv && "--oauth-client-secret-env",
  ].filter(Boolean);
  if (introspection.length > 0 && !options.oauthIssuer) {
    throw new Error(
      `Option ${
        introspection[0]
      } needs --oauth-issuer (the authorization server)`,
    );
  }
  if (
    introspection.length > 0 &&
    (!options.oauthClientId || !options.oauthClientSecretEnv)
  ) {
    throw new Error(
      "Token introspection needs both --oauth-client-id ID and --oauth-client-secret-env NAME: this server's client credentials at the authorization server, the secret in the variable NAME",
    );
  }
  if (options.oauthIssuer && options.tokenEnv) {
    throw new Error(
      "Options --oauth-issuer and --token-env exclude each other: choose OAuth access tokens or one shared token",
    );
  }
  return options;
}

/** `text` when it is an http(s) URL without credentials or fragment; else an error naming `flag`. */
function webUrl(text: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (
    !url || (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.username !== "" || url.password !== "" || url.hash !== ""
  ) {
    throw new Error(
      `Option ${flag} takes an http(s) URL, such as https://auth.example.com, not ${
        JSON.stringify(text.slice(0, 60))
      }`,
    );
  }
  return text;
}

/** A `--allow-host` value as the Host check compares it (lowercase, IPv6 bracketed), or undefined. */
function allowedHost(text: string): string | undefined {
  const host = text.toLowerCase();
  if (/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(host)) return host;
  const bare = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  return /^[0-9a-f:.]+$/.test(bare) && bare.includes(":")
    ? `[${bare}]`
    : undefined;
}

/** The serialized origin of `text` (`https://app.example.com`), or undefined when it is not one. */
export function parseOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  // An origin is scheme, host and port: a path, query, fragment or user makes it something else.
  const extra = url.pathname !== "/" || url.search !== "" || url.hash !== "" ||
    url.username !== "" || url.password !== "" || text.endsWith("#") ||
    text.endsWith("?");
  return extra ? undefined : url.origin;
}
