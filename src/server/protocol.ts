/**
 * @module
 * MCP protocol versions and the `initialize` handshake: version negotiation, the capabilities
 * tooldrop advertises and the server's identity.
 */

import { INVALID_PARAMS, JsonRpcError, type Params } from "./jsonrpc.ts";

/**
 * This build's version: deno.json's `version`, written out rather than imported so that no
 * worker needs read access to deno.json (a tool module imports this file through "tooldrop", and
 * a worker's JSON imports are checked against its read permission); a test keeps them equal.
 */
export const VERSION = "0.1.0";

/** Versions negotiated through `initialize`, newest first. */
export const LEGACY_VERSIONS = [
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
] as const;

/** The version answered when the client asks for one we do not speak. */
export const LATEST_LEGACY_VERSION = LEGACY_VERSIONS[0];

/** Who the server says it is. */
export interface ServerInfo {
  /** The server's name, as clients show and key it. */
  name: string;
  /** Its version. */
  version: string;
  /** A display name, sent to clients that speak 2025-06-18 or later. */
  title?: string;
}

/** The default identity: tooldrop and its version. */
export const DEFAULT_SERVER_INFO: ServerInfo = {
  name: "tooldrop",
  version: VERSION,
};

/** What a server serves besides tools, as known when the client's handshake is answered. */
export interface ServedKinds {
  /** It serves prompts (`prompts/list`, `prompts/get`). */
  readonly prompts: boolean;
  /** It serves resources (`resources/list`, `resources/read`, …). */
  readonly resources: boolean;
}

/**
 * What tooldrop advertises, in `initialize` and `server/discover` alike: tools always;
 * prompts and resources when it serves them, with completions (their arguments may complete).
 * Every list may change (`serve --watch` and `dev` reload in place) and resources may be
 * subscribed to.
 */
export function serverCapabilities(
  kinds: ServedKinds = { prompts: false, resources: false },
): Record<string, unknown> {
  return {
    tools: { listChanged: true },
    ...(kinds.prompts ? { prompts: { listChanged: true } } : {}),
    ...(kinds.resources
      ? { resources: { subscribe: true, listChanged: true } }
      : {}),
    ...(kinds.prompts || kinds.resources ? { completions: {} } : {}),
    logging: {},
  };
}

/** What a server that serves only tools advertises. */
export const SERVER_CAPABILITIES: Record<string, unknown> =
  serverCapabilities();

/** What the client told us in `initialize`. */
export interface ClientHello {
  protocolVersion: string;
  clientInfo: { name?: unknown; version?: unknown } | undefined;
  capabilities: Record<string, unknown>;
}

/** Echoes `requested` when we speak it, else answers the latest version we do. */
export function negotiateVersion(requested: string): string {
  return (LEGACY_VERSIONS as readonly string[]).includes(requested)
    ? requested
    : LATEST_LEGACY_VERSION;
}

/** Reads `initialize` params; throws -32602 when `protocolVersion` is missing. */
export function readHello(params: Params | undefined): ClientHello {
  const requested = params?.protocolVersion;
  if (typeof requested !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "protocolVersion" must be a string`,
    );
  }
  const capabilities = params?.capabilities;
  const clientInfo = params?.clientInfo;
  return {
    protocolVersion: requested,
    clientInfo: typeof clientInfo === "object" && clientInfo !== null
      ? clientInfo as ClientHello["clientInfo"]
      : undefined,
    capabilities: typeof capabilities === "object" && capabilities !== null
      ? capabilities as Record<string, unknown>
      : {},
  };
}

/** The `initialize` result for a negotiated version. */
export function initializeResult(
  version: string,
  info: ServerInfo,
  instructions: string | undefined,
  capabilities: Record<string, unknown> = SERVER_CAPABILITIES,
): Record<string, unknown> {
  const serverInfo: Record<string, unknown> = {
    name: info.name,
    version: info.version,
  };
  if (info.title !== undefined && version >= "2025-06-18") {
    serverInfo.title = info.title;
  }
  const result: Record<string, unknown> = {
    protocolVersion: version,
    capabilities,
    serverInfo,
  };
  if (instructions) result.instructions = instructions;
  return result;
}

/**
 * Bytes a request-state key must have at least (`ServeOptions.stateKey`, `TOOLDROP_STATE_KEY`):
 * here, not in ./request_state.ts, so that checking it does not load that module at start.
 */
export const MIN_STATE_KEY_BYTES = 32;
