/**
 * @module
 * `compile --http [host:]port …`: what a binary that serves HTTP is built with. The `serve --http`
 * arguments are baked into it (`deno compile` passes arguments after the script to the program;
 * any given when it runs come after them), and so are the permissions serving needs beyond the
 * tools': listening on that address, reaching the OAuth issuer and introspection endpoint, and
 * reading the variables that hold the token, the client secret and the shared state key.
 */

import type { CliOptions } from "./options.ts";
import { parseAddress, STATE_KEY_VARIABLE } from "./serve_http.ts";
import type { ToolPermissions } from "../tool/permissions.ts";

/** The arguments and permissions of an HTTP binary, or what is wrong with `--http`. */
export function httpBuild(
  options: CliOptions,
): { args: string[]; permissions: ToolPermissions } | string {
  const address = options.http ?? "";
  const where = parseAddress(address);
  if (typeof where === "string") return where;
  const host = where.hostname.includes(":")
    ? `[${where.hostname}]`
    : where.hostname;
  const net = [where.port === 0 ? host : `${host}:${where.port}`];
  for (const url of [options.oauthIssuer, options.oauthIntrospect]) {
    if (url !== undefined) net.push(new URL(url).host);
  }
  const env = [STATE_KEY_VARIABLE];
  if (options.tokenEnv) env.push(options.tokenEnv);
  if (options.oauthClientSecretEnv) env.push(options.oauthClientSecretEnv);
  const args = ["serve", "--http", address];
  const add = (flag: string, value: string | undefined) => {
    if (value !== undefined) args.push(flag, value);
  };
  add("--name", options.name);
  add("--token-env", options.tokenEnv);
  for (const name of options.allowHosts ?? []) add("--allow-host", name);
  for (const origin of options.corsOrigins ?? []) add("--cors-origin", origin);
  add(
    "--sse-hold",
    options.sseHoldMs === undefined
      ? undefined
      : String(options.sseHoldMs / 1000),
  );
  add("--oauth-issuer", options.oauthIssuer);
  add("--oauth-resource", options.oauthResource);
  for (const scope of options.oauthScopes ?? []) add("--oauth-scope", scope);
  add("--oauth-introspect", options.oauthIntrospect);
  add("--oauth-client-id", options.oauthClientId);
  add("--oauth-client-secret-env", options.oauthClientSecretEnv);
  return { args, permissions: { net: [...new Set(net)], env } };
}
