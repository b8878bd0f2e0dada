/**
 * @module
 * `serve --http [host:]port`: the same tools, prompts and resources as `serve`, over MCP's
 * Streamable HTTP at `/mcp` (src/server/http/). Loopback unless a host is given; the tools
 * load before the port opens, so a client never waits on a half-started server. The bearer
 * token, when asked for, comes from an environment variable: a command line shows in `ps`.
 */

import type { Io } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { serverLogger } from "./logger.ts";
import { lazyHost } from "./_workers.ts";
import {
  loadServed,
  resourceFiles,
  servedSummary,
  servesFrom,
} from "./serve.ts";
import { DEFAULT_SERVER_INFO, VERSION } from "../server/protocol.ts";
import { DEFAULT_HTTP_PORT, serveHttp } from "../server/http/serve_http.ts";
import { tokenProblem } from "../server/http/auth.ts";
import { stateKey as sharedStateKey } from "../server/request_state.ts";

/** Where to listen: `3748`, `:3748`, `0.0.0.0:3748`, `[::1]:0`; a string saying what is wrong. */
export function parseAddress(
  address: string,
): { hostname: string; port: number } | string {
  const match = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):)?(\d{1,5})$/.exec(address);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    return `--http takes [host:]port, such as ${DEFAULT_HTTP_PORT}, :0 (any free port) or 0.0.0.0:${DEFAULT_HTTP_PORT}, not ${
      JSON.stringify(address.slice(0, 60))
    }`;
  }
  const host = match[1] || "127.0.0.1";
  return {
    hostname: host.startsWith("[") ? host.slice(1, -1) : host,
    port,
  };
}

/**
 * The variable holding the key request states are signed with, when several instances serve
 * behind one load balancer (hex or base64 of 32 bytes or more: `openssl rand -hex 32`).
 */
export const STATE_KEY_VARIABLE = "TOOLDROP_STATE_KEY";

/**
 * The secret in the variable `name` given to `option` (the bearer token, the OAuth client
 * secret), or what is wrong with it: not readable by this process, unset, or what `problemOf`
 * finds. Never the secret in a message.
 */
export function readSecret(
  io: Io,
  name: string,
  secret: { option: string; what: string; setTo: string },
  problemOf: (value: string) => string | undefined,
): { value: string } | { problem: string } {
  const { option, what, setTo } = secret;
  const value = io.env(name);
  if (value === undefined) {
    return {
      problem: envPermitted(name)
        ? `Cannot read ${what}: the environment variable ${name} (${option}) is not set; set it to ${setTo}`
        : `Cannot read ${what}: this process may not read the environment variable ${name} (${option}); run deno with --allow-env=${name}`,
    };
  }
  const problem = problemOf(value);
  return problem === undefined ? { value } : {
    problem:
      `Cannot use ${what} in the environment variable ${name} (${option}): ${problem}`,
  };
}

/** `--token-env`, for its messages (`tokenProblem` checks the value: a header must carry it). */
const TOKEN = {
  option: "--token-env",
  what: "the token",
  setTo: "the token clients must send",
};

/** `--oauth-client-secret-env`, for its messages (`secretProblem` checks the value). */
const CLIENT_SECRET = {
  option: "--oauth-client-secret-env",
  what: "the OAuth client secret",
  setTo: "this server's client secret at the authorization server",
};

/**
 * What is wrong with a client secret: empty, or padded with white space (a newline from a file,
 * most likely: the authorization server would refuse it with no hint why).
 */
function secretProblem(secret: string): string | undefined {
  if (secret === "") return "it is empty";
  return secret.trim() === secret ? undefined : "it is padded with white space";
}

/** How tokens are introspected, for the start-up line: not, opaque ones, or every one. */
function introspected(options: CliOptions): string {
  if (options.oauthClientId === undefined) return "";
  return options.oauthIntrospect === undefined
    ? "; opaque ones introspected"
    : "; each one introspected";
}

/** Whether this process may read the variable `name` (a compiled binary or `deno run` may not). */
function envPermitted(name: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "env", variable: name }).state ===
      "granted";
  } catch {
    return false;
  }
}

/**
 * What `/healthz` says after "ok; " when workers were terminated stuck in a loop (their threads
 * may keep cores busy until the process ends); counts only: anyone who reaches the port reads it.
 */
export function stuckTrouble(stuck: number): string | undefined {
  return stuck === 0
    ? undefined
    : `${stuck} tool worker(s) were terminated while stuck in a loop and may keep a CPU core busy each until the server restarts (its log names the tools)`;
}

/** Serves over HTTP until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServeHttp(
  io: Io,
  options: CliOptions,
  address: string = String(DEFAULT_HTTP_PORT),
): Promise<number> {
  const log = serverLogger(io, options);
  io.guards?.console(log, true);
  const where = parseAddress(address);
  if (typeof where === "string") {
    io.stderr(`${where}\n`);
    return 2;
  }
  let token: string | undefined;
  if (options.tokenEnv !== undefined) {
    const read = readSecret(io, options.tokenEnv, TOKEN, tokenProblem);
    if ("problem" in read) {
      io.stderr(`${read.problem}\n`);
      return USAGE_ERROR;
    }
    token = read.value;
  }
  let clientSecret: string | undefined;
  if (options.oauthClientSecretEnv !== undefined) {
    const read = readSecret(
      io,
      options.oauthClientSecretEnv,
      CLIENT_SECRET,
      secretProblem,
    );
    if ("problem" in read) {
      io.stderr(`${read.problem}\n`);
      return USAGE_ERROR;
    }
    clientSecret = read.value;
  }
  // Instances behind one load balancer share the key their request states are signed with.
  let stateKey: Uint8Array<ArrayBuffer> | undefined;
  const keyText = io.env(STATE_KEY_VARIABLE);
  if (keyText !== undefined) {
    const key = sharedStateKey(keyText);
    if (typeof key === "string") {
      io.stderr(`${key}\n`);
      return USAGE_ERROR;
    }
    stateKey = key;
  }
  const info = {
    ...DEFAULT_SERVER_INFO,
    name: options.name ?? DEFAULT_SERVER_INFO.name,
  };
  if (io.manifest) await io.guards?.nodeStdout();
  // stdin and stdout are not the protocol here: what a tool does with them reaches no client.
  const workers = lazyHost(io, log, true);
  // --watch: broken files are left out rather than stopping the server, and every change is
  // told to each client (./_watching.ts).
  const watching = options.watch
    ? await (await import("./_watching.ts")).startWatching(
      io,
      options,
      log,
      info.name,
      servesFrom(io),
      workers,
    )
    : undefined;
  const host = await workers.host();
  const tools = watching
    ? await watching.load()
    : await loadServed(io, log, info.name, host);
  if (!tools) {
    workers.close();
    return 1;
  }
  let server;
  try {
    server = serveHttp({
      tools,
      hostname: where.hostname,
      port: where.port,
      info,
      log,
      maxLineBytes: options.maxLineBytes,
      ...(token === undefined ? {} : { token }),
      ...(options.oauthIssuer && options.oauthResource
        ? {
          oauth: {
            issuer: options.oauthIssuer,
            resource: options.oauthResource,
            scopes: options.oauthScopes,
            ...(options.oauthClientId && clientSecret !== undefined
              ? {
                introspection: {
                  clientId: options.oauthClientId,
                  clientSecret,
                  endpoint: options.oauthIntrospect,
                },
              }
              : {}),
          },
        }
        : {}),
      ...(stateKey === undefined ? {} : { stateKey }),
      ...(options.allowHosts ? { allowedHosts: options.allowHosts } : {}),
      ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
      ...(options.sseHoldMs === undefined
        ? {}
        : { sseHoldMs: options.sseHoldMs }),
      watchFiles: resourceFiles,
      ...(watching ? { toolUpdates: watching.updates } : {}),
      trouble: () => stuckTrouble(host.stuckWorkers),
      signal: watching?.signal ?? io.signal,
    });
  } catch (error) {
    watching?.stop();
    workers.close();
    const busy = error instanceof Deno.errors.AddrInUse;
    const denied = error instanceof Deno.errors.NotCapable;
    log.error(
      busy
        ? `Cannot listen on ${address}: the port is in use; choose another with --http [host:]port (:0 for any free one)`
        : denied
        ? `Cannot listen on ${address}: this process may not open it; run it with --allow-net=${
          where.hostname.includes(":") ? `[${where.hostname}]` : where.hostname
        }${
          where.port === 0 ? "" : `:${where.port}`
        } (\`deno task tooldrop serve --http …\` in tooldrop's folder grants it)`
        : `Cannot listen on ${address}`,
      busy || denied ? undefined : error,
    );
    return 1;
  }
  if (!watching) workers.prewarmSoon(); // watching: done by its load
  log.info(
    `tooldrop ${VERSION} serving ${servedSummary(tools)} at ${server.url}${
      watching
        ? `, watching ${decodeURIComponent(io.toolsDir.pathname)} for changes`
        : ""
    }${
      token === undefined
        ? options.oauthIssuer
          ? ` (requests need an access token of ${options.oauthIssuer}${
            introspected(options)
          })`
          : ""
        : ` (requests need the bearer token in ${options.tokenEnv})`
    }`,
  );
  await server.finished;
  watching?.stop();
  workers.close();
  log.debug("Stopped");
  return 0;
}
