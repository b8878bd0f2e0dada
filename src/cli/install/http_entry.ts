/**
 * @module
 * The entry for a server a client reaches over HTTP (`install --http URL --header …`): the URL's
 * checks, each client's shape of the entry, its headers with variables in the client's own
 * syntax, and how install and doctor show them without ever showing a secret.
 */

import { type ClientName, CLIENTS } from "./clients.ts";
import { isPlainObject } from "../../util/is.ts";

/** The headers an entry sends: name to value as written in the file. */
export type EntryHeaders = Record<string, string>;

/** An HTTP entry as read back from a configuration file. */
export interface HttpEntry {
  url: string;
  headers: EntryHeaders;
}

/** A header name as RFC 9110 allows it (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** `${NAME}` or `${env:NAME}`: a variable, in either client's syntax. */
const REFERENCE = /\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Header names whose literal value is a credential. */
const SECRET_NAME = /authorization|token|secret|key|cookie|password|auth/i;

/**
 * Checks `--http`'s URL: http or https, and ending at the MCP endpoint. Throws a message that
 * says what to give instead; resolves to the URL as written and any warning about it.
 */
export function checkedUrl(given: string): { url: string; warning?: string } {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new Error(
      `--http "${
        given.slice(0, 60)
      }" is not a URL; give the server's endpoint, e.g. http://127.0.0.1:3748/mcp`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(
      `--http ${url.protocol}… is not http or https; give the server's endpoint, e.g. http://127.0.0.1:3748/mcp`,
    );
  }
  if (url.username || url.password) {
    throw new Error(
      `--http must not carry a user or password (clients would send it to every redirect and log it); use --header "Authorization: Bearer \${TOKEN}"`,
    );
  }
  if (!url.pathname.endsWith("/mcp")) {
    throw new Error(
      `--http ${url.origin}${url.pathname} does not end where the server serves MCP; \`serve --http\` serves ${url.origin}/mcp`,
    );
  }
  const warning = url.protocol === "http:" && !isLoopback(url.hostname)
    ? `Warning: ${url.host} is reached over plain http, so its headers (a token too) cross the network readable; use https (a proxy in front of \`serve --http\`), or a loopback address`
    : undefined;
  return warning ? { url: given, warning } : { url: given };
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" ||
    /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Reads `--header "Name: value"` into the headers an entry sends, each `${NAME}` or
 * `${env:NAME}` rewritten in `client`'s syntax. Throws a message (never echoing a value) on
 * a malformed header or one given twice, or when the client cannot expand a variable.
 */
export function entryHeaders(
  client: ClientName,
  given: readonly string[],
): EntryHeaders {
  const headers: EntryHeaders = {};
  const seen = new Set<string>();
  for (const raw of given) {
    const colon = raw.indexOf(":");
    const name = (colon < 0 ? raw : raw.slice(0, colon)).trim();
    if (colon < 0 || !HEADER_NAME.test(name)) {
      // Not echoed: what was given may be a token without its name.
      throw new Error(
        '--header takes "Name: value" (a name of letters, digits and -, then ":")',
      );
    }
    if (seen.has(name.toLowerCase())) {
      throw new Error(`--header ${name} is given twice`);
    }
    seen.add(name.toLowerCase());
    headers[name] = inClientSyntax(client, raw.slice(colon + 1).trim());
  }
  return headers;
}

/** `value` with each variable reference in `client`'s syntax; throws when it has none. */
function inClientSyntax(client: ClientName, value: string): string {
  const forward = CLIENTS[client].forward;
  return value.replace(REFERENCE, (_, name: string) => {
    if (!forward) {
      throw new Error(
        `${
          CLIENTS[client].label
        } does not expand variables in its configuration, so it cannot send ${name} from its own environment`,
      );
    }
    return forward(name);
  });
}

/**
 * The entry `client` reaches a server at `url` by. Claude Desktop's file has no remote entry
 * (it adds remote servers as connectors in its settings): a message says so.
 */
export function httpEntry(
  client: ClientName,
  url: string,
  headers: EntryHeaders,
): Record<string, unknown> {
  const withHeaders = Object.keys(headers).length > 0 ? { headers } : {};
  switch (client) {
    case "claude-code": // code.claude.com/docs/en/mcp: `claude mcp add --transport http`
    case "vscode": // code.visualstudio.com/docs/copilot/reference/mcp-configuration
      return { type: "http", url, ...withHeaders };
    case "cursor": // cursor.com/docs/context/mcp: a url makes it remote
      return { url, ...withHeaders };
    case "cline": // without a type Cline takes a url for the old SSE transport
      return { type: "streamableHttp", url, ...withHeaders, disabled: false };
    case "claude-desktop":
      throw new Error(
        `Claude Desktop's claude_desktop_config.json has no entry for a server reached over HTTP: add ${url} in Claude Desktop under Settings → Connectors, or register the stdio server (install without --http)`,
      );
  }
}

/** The URL and headers of an HTTP entry; undefined when `entry` is not one. */
export function readHttpEntry(entry: unknown): HttpEntry | undefined {
  if (!isPlainObject(entry)) return undefined;
  const { url, headers = {} } = entry as { url?: unknown; headers?: unknown };
  if (typeof url !== "string") return undefined;
  if (
    !isPlainObject(headers) ||
    !Object.values(headers).every((value) => typeof value === "string")
  ) {
    return { url, headers: {} };
  }
  return { url, headers: headers as EntryHeaders };
}

/**
 * One header as install and doctor show it: with its value when that is only references and
 * an auth scheme (`Authorization: Bearer ${TOKEN}`), else `Name (a value, not shown)`.
 */
export function shownHeader(name: string, value: string): string {
  const rest = value.replace(REFERENCE, "");
  return rest !== value && /^\s*((Bearer|Basic|Token)\s*)?$/i.test(rest)
    ? `${name}: ${value}`
    : `${name} (a value, not shown)`;
}

/**
 * Warnings for what `--http` writes into a project's file (usually committed): a header whose
 * name says credential and whose value holds no variable.
 */
export function headerWarnings(
  client: ClientName,
  path: string,
  headers: EntryHeaders,
): string[] {
  const label = CLIENTS[client].label;
  const reference = CLIENTS[client].forward?.("TOKEN") ?? "${TOKEN}";
  return Object.entries(headers).filter(([name, value]) =>
    SECRET_NAME.test(name) && value.replace(REFERENCE, "") === value
  ).map(([name]) =>
    `Warning: the value of the ${name} header is written into ${path}, a project file that is usually committed; write a variable instead (--header '${name}: Bearer \${TOKEN}' has ${label} send ${reference} from its own environment)`
  );
}

/** The headers added (+), removed (-) and changed, each shown as `shownHeader` does. */
export function headerDifference(
  before: EntryHeaders,
  after: EntryHeaders,
): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(before)) {
    if (after[name] !== value) lines.push(`- ${shownHeader(name, value)}`);
  }
  for (const [name, value] of Object.entries(after)) {
    if (before[name] !== value) lines.push(`+ ${shownHeader(name, value)}`);
  }
  return lines;
}

/**
 * The headers the client sends for `headers`: each reference replaced by the variable
 * `lookup` finds (doctor's environment standing in for the client's); `unset` names those it
 * does not find, whose headers are left out.
 */
export function sentHeaders(
  headers: EntryHeaders,
  lookup: (name: string) => string | undefined,
): { headers: EntryHeaders; unset: string[] } {
  const sent: EntryHeaders = {};
  const unset: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    let missing = false;
    const expanded = value.replace(
      /\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_, variable: string, fallback: string | undefined) => {
        const found = lookup(variable) ?? fallback;
        if (found === undefined) {
          missing = true;
          if (!unset.includes(variable)) unset.push(variable);
        }
        return found ?? "";
      },
    );
    if (!missing) sent[name] = expanded;
  }
  return { headers: sent, unset };
}
