/**
 * @module
 * What an HTTP request must pass before its body is read: a `Host` and an `Origin` the server
 * answers to (DNS-rebinding protection); its body is read by ./body.ts. Also the check of the
 * headers the 2026-07-28 era mirrors from the body (`MCP-Protocol-Version`, `Mcp-Method`,
 * `Mcp-Name`, and a tool's `Mcp-Param-*`), whose mismatch is -32020.
 */

import type { Params } from "../jsonrpc.ts";
import {
  headerText,
  type ParamHeader,
  valueAt,
} from "../../tool/param_headers.ts";

/** Names a loopback server answers to, whatever else it is told. */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARDS = ["0.0.0.0", "::", "[::]"];

/** The error code of a header that is missing or does not match the body (2026-07-28). */
export const HEADER_MISMATCH = -32020;

/** Host names (lowercase, IPv6 in brackets) the server answers to; see `hostAllowed`. */
export class HostGuard {
  readonly #names: Set<string>;
  /** Whole origins (`https://app.example.com`) allowed besides those of the names. */
  readonly #origins: Set<string>;
  /** Bound to every interface: any Host, but an Origin must be the Host's own. */
  readonly #anyHost: boolean;

  /**
   * `bound`: the host the server listens on; `extra`: more names it answers to (as Host and as
   * Origin); `origins`: serialized origins allowed to call it (CORS), not names it answers to.
   */
  constructor(
    bound: string,
    extra: readonly string[] = [],
    origins: readonly string[] = [],
  ) {
    const host = bound.includes(":") && !bound.startsWith("[")
      ? `[${bound}]`
      : bound;
    this.#anyHost = WILDCARDS.includes(host) && extra.length === 0;
    this.#names = new Set(
      [...LOOPBACK_NAMES, host, ...extra].map((name) => name.toLowerCase()),
    );
    this.#origins = new Set(origins);
  }

  /**
   * Why the request must be refused (403), or undefined: a Host not in the list (unless the
   * server listens on every interface and no list was given), or an Origin that is neither in
   * the list nor, on every interface, the Host itself.
   */
  refuse(headers: Headers): string | undefined {
    const host = headers.get("host");
    if (host === null) return "the request has no Host header";
    const hostName = hostnameOf(host);
    if (!this.#anyHost && !this.#names.has(hostName)) {
      return `Host ${
        JSON.stringify(host.slice(0, 100))
      } is not one this server answers to`;
    }
    const origin = headers.get("origin");
    if (origin === null || this.#origins.has(origin)) return undefined;
    let originHost: string;
    try {
      originHost = new URL(origin).host.toLowerCase();
    } catch {
      return `Origin ${JSON.stringify(origin.slice(0, 100))} is not a URL`;
    }
    const originName = hostnameOf(originHost);
    if (this.#names.has(originName)) return undefined;
    if (this.#anyHost && originHost === host.toLowerCase()) return undefined;
    return `Origin ${JSON.stringify(origin.slice(0, 100))} is not allowed`;
  }
}

/** The host name of a `Host` header value (`[::1]:3748` → `[::1]`), lowercase. */
function hostnameOf(host: string): string {
  const lower = host.toLowerCase();
  if (lower.startsWith("[")) {
    const end = lower.indexOf("]");
    return end === -1 ? lower : lower.slice(0, end + 1);
  }
  const colon = lower.indexOf(":");
  return colon === -1 ? lower : lower.slice(0, colon);
}

/** Methods whose name (`params.name`, or `params.uri`) is mirrored in `Mcp-Name`. */
const NAMED: Record<string, "name" | "uri"> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/**
 * The mismatch between a 2026-era request's headers and its body, or undefined when they agree:
 * `MCP-Protocol-Version` is the body's `_meta` version, `Mcp-Method` its method, `Mcp-Name` (a
 * base64 sentinel decoded) its tool or prompt name or resource URI.
 */
export function headerMismatch(
  headers: Headers,
  method: string,
  params: Params | undefined,
  version: unknown,
): string | undefined {
  const header = headers.get("mcp-protocol-version");
  if (header === null) return "the MCP-Protocol-Version header is missing";
  // Not a version at all: the request's own error (-32602, "must be a string"), not a mismatch.
  if (version !== undefined && typeof version !== "string") return undefined;
  if (header !== version) {
    return `MCP-Protocol-Version header ${
      JSON.stringify(header.slice(0, 40))
    } does not match the body's ${
      JSON.stringify(String(version).slice(0, 40))
    }`;
  }
  const mcpMethod = headers.get("mcp-method");
  if (mcpMethod === null) return "the Mcp-Method header is missing";
  if (mcpMethod !== method) {
    return `Mcp-Method header ${
      JSON.stringify(mcpMethod.slice(0, 40))
    } does not match the body's method`;
  }
  const field = NAMED[method];
  if (field === undefined) return undefined;
  const value = params?.[field];
  if (typeof value !== "string") return undefined; // the method itself answers -32602
  const name = headers.get("mcp-name");
  if (name === null) return "the Mcp-Name header is missing";
  const decoded = decodeSentinel(name);
  if (decoded !== value) {
    return `Mcp-Name header does not match the body's params.${field}`;
  }
  return undefined;
}

/** A header value as RFC 9110 allows it: visible ASCII, spaces and tabs. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;
/**
 * An integer as a header may write it (`42`, `-7`, `42.0`): a fraction of zeros only, so that
 * `1.0000000000000001`, which rounds to 1 as a double, is not taken for 1 (a proxy reading the
 * text would route on another value than the tool runs with).
 */
const INTEGER = /^-?\d+(?:\.0+)?$/;

/**
 * The mismatch between a 2026-era `tools/call`'s `Mcp-Param-*` headers and its arguments, or
 * undefined when they agree: each argument the tool mirrors (`headers`, from its `x-mcp-header`
 * annotations) that the body carries, not null, needs its header, base64 sentinel decoded, with
 * the same value (an integer compared as a number: `42.0` is 42). A header for an argument the
 * body leaves out is not looked at, as the spec has it.
 */
export function paramHeaderMismatch(
  sent: Headers,
  headers: readonly ParamHeader[],
  args: unknown,
): string | undefined {
  for (const { name, path, type } of headers) {
    const header = sent.get(`mcp-param-${name}`);
    // A header with characters a value may not hold is refused even when the body leaves its
    // argument out (the spec: a recognized Mcp-Param header with invalid characters).
    const decoded = header !== null && HEADER_VALUE.test(header)
      ? decodeSentinel(header)
      : undefined;
    if (header !== null && decoded === undefined) {
      return `the Mcp-Param-${name} header is not a valid header value (plain ASCII, or =?base64?…?= of UTF-8)`;
    }
    const value = valueAt(args, path);
    const text = headerText(value);
    if (text === undefined) continue;
    if (decoded === undefined) return `the Mcp-Param-${name} header is missing`;
    const same = type === "integer" && typeof value === "number" &&
        INTEGER.test(decoded)
      ? Number(decoded) === value
      : decoded === text;
    if (!same) {
      return `Mcp-Param-${name} header does not match the body's arguments.${
        path.join(".")
      }`;
    }
  }
  return undefined;
}

/** A header value, `=?base64?…?=` decoded (undefined when that is not valid base64 UTF-8). */
function decodeSentinel(value: string): string | undefined {
  if (!value.startsWith("=?base64?") || !value.endsWith("?=")) return value;
  try {
    const bytes = Uint8Array.from(
      atob(value.slice(9, -2)),
      (c) => c.charCodeAt(0),
    );
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Whether an `Accept` header admits any of `types`: each takes the q-value of the most specific
 * range that names it (exact, then `type/*`, then `*\/*`; RFC 9110 12.5.1), and counts when that
 * is above 0. Parameters other than q are ignored.
 */
export function accepts(accept: string, ...types: string[]): boolean {
  return admitted(accept, types).some(Boolean);
}

/** What a POST's `Accept` admits of the two types a reply may have (no header: both). */
export function replyTypes(
  accept: string | null,
): { json: boolean; sse: boolean } {
  if (accept === null) return BOTH;
  const [json, sse] = admitted(accept, [
    "application/json",
    "text/event-stream",
  ]);
  return { json: json!, sse: sse! };
}

const BOTH = Object.freeze({ json: true, sse: true });

/** For each of `types`, whether `accept` admits it (see `accepts`). */
function admitted(accept: string, types: string[]): boolean[] {
  const best = types.map(() => ({ rank: -1, q: 0 }));
  for (const range of accept.split(",")) {
    const [media = "", ...params] = range.split(";");
    const [type = "", subtype] = media.trim().toLowerCase().split("/");
    const q = params.find((p) => /^\s*q\s*=/i.test(p));
    const weight = q === undefined ? 1 : Number(q.split("=")[1]);
    types.forEach((wanted, i) => {
      const [wantedType, wantedSubtype] = wanted.split("/");
      const rank = type === "*" && subtype === "*"
        ? 0
        : type !== wantedType
        ? -1
        : subtype === "*"
        ? 1
        : subtype === wantedSubtype
        ? 2
        : -1;
      if (rank > best[i]!.rank) best[i] = { rank, q: weight };
    });
  }
  return best.map(({ rank, q }) => rank >= 0 && q > 0);
}
