/**
 * @module
 * The two eras of MCP on one connection: a request that carries its protocol version in `_meta`
 * is served statelessly (2026-07-28); any other relies on the `initialize` handshake (2024-11-05
 * to 2025-11-25). Reads a request's `_meta` and shapes the results of the modern era.
 */

import {
  INVALID_PARAMS,
  isRequestId,
  JsonRpcError,
  type Params,
  type RequestId,
} from "./jsonrpc.ts";
import { isLogLevel, type LogLevel } from "../util/log.ts";
import {
  LEGACY_VERSIONS,
  SERVER_CAPABILITIES,
  type ServerInfo,
} from "./protocol.ts";
import { isPlainObject } from "../util/is.ts";

/** Versions served per request, without `initialize`. */
export const MODERN_VERSIONS = ["2026-07-28"] as const;

/** Every version tooldrop speaks, newest first. */
export const SUPPORTED_VERSIONS: readonly string[] = [
  ...MODERN_VERSIONS,
  ...LEGACY_VERSIONS,
];

/** The error for a `_meta` protocol version the server does not speak. */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

const VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
const CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
const CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
const LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";
/** Where a modern result names the server. */
export const SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";

/** How one request is to be served. */
export interface RequestScope {
  /** True for a 2026-07-28 request (version in `_meta`), false for the legacy era. */
  readonly modern: boolean;
  /** The protocol version the request is served under. */
  readonly version: string;
  /** Where progress notifications go, when the client asked for them (as it came in). */
  readonly progressToken: RequestId | undefined;
  /** Modern only: the least severe log level the request wants as notifications. */
  readonly logLevel: LogLevel | undefined;
  /** Modern only: the capabilities the client declared on this request. */
  readonly clientCapabilities: Record<string, unknown> | undefined;
  /** Modern only: the `clientInfo` the request carried, when it is an object. */
  readonly clientInfo?: Record<string, unknown> | undefined;
  /**
   * Modern only: who the transport authenticated the request as (`PRINCIPAL_KEY` in `_meta`,
   * which only a transport sets: the HTTP one removes a client's own); request states are bound
   * to it.
   */
  readonly principal?: string | undefined;
}

/**
 * Where a transport names the request's authenticated principal in its `_meta` (the OAuth
 * token's issuer and subject). A transport that authenticates replaces any value a client sent.
 */
export const PRINCIPAL_KEY = "tooldrop/principal";

/** The scope of a legacy request without `_meta`, for a negotiated version. */
export function legacyScope(version: string): RequestScope {
  return {
    modern: false,
    version,
    progressToken: undefined,
    logLevel: undefined,
    clientCapabilities: undefined,
  };
}

/** The -32022 error for a request whose `_meta` names a version we do not speak. */
export function unsupportedVersion(requested: string): JsonRpcError {
  return new JsonRpcError(
    UNSUPPORTED_PROTOCOL_VERSION,
    "Unsupported protocol version",
    // Only what a request's _meta may name: older versions need `initialize` first.
    { supported: MODERN_VERSIONS, requested },
  );
}

/**
 * Reads a request's `_meta`. `plain` is returned as it is for a legacy request without one, so
 * the common case allocates nothing. Throws -32022 for a modern version we do not speak and
 * -32602 for a malformed field.
 */
export function readScope(
  params: Params | undefined,
  plain: RequestScope,
): RequestScope {
  const meta = params?._meta;
  if (meta === undefined) return plain;
  if (!isPlainObject(meta)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "_meta" must be an object`,
    );
  }
  const m = meta as Record<string, unknown>;
  const token = isRequestId(m.progressToken) ? m.progressToken : undefined;
  const requested = m[VERSION_KEY];
  if (requested === undefined) {
    return token === undefined ? plain : { ...plain, progressToken: token };
  }
  if (typeof requested !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "_meta.${VERSION_KEY}" must be a string`,
    );
  }
  if (!(MODERN_VERSIONS as readonly string[]).includes(requested)) {
    throw unsupportedVersion(requested);
  }
  const level = m[LOG_LEVEL_KEY];
  if (level !== undefined && !isLogLevel(level)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown log level ${JSON.stringify(level)}`,
    );
  }
  const capabilities = m[CAPABILITIES_KEY];
  const info = m[CLIENT_INFO_KEY];
  const principal = m[PRINCIPAL_KEY];
  return {
    modern: true,
    version: requested,
    progressToken: token,
    logLevel: level,
    clientCapabilities: isPlainObject(capabilities) ? capabilities : {},
    clientInfo: isPlainObject(info) ? info : undefined,
    ...(typeof principal === "string" ? { principal } : {}),
  };
}

/**
 * A modern result: marked complete (or as asking the client for input, the multi round-trip
 * pattern) and signed with the server's identity.
 */
export function completeResult(
  result: Record<string, unknown>,
  info: ServerInfo,
  resultType: "complete" | "input_required" = "complete",
): Record<string, unknown> {
  const meta = isPlainObject(result._meta) ? result._meta : undefined;
  return {
    ...result,
    resultType,
    _meta: { ...meta, [SERVER_INFO_KEY]: info },
  };
}

/** The `server/discover` result. */
export function discoverResult(
  info: ServerInfo,
  instructions: string | undefined,
  ttlMs: number,
  capabilities: Record<string, unknown> = SERVER_CAPABILITIES,
): Record<string, unknown> {
  return completeResult(
    {
      supportedVersions: SUPPORTED_VERSIONS,
      capabilities,
      ...(instructions ? { instructions } : {}),
      ttlMs,
      cacheScope: "public",
    },
    info,
  );
}
