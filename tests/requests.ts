/**
 * @module
 * The well-formed messages tests send a server, built in one place: the handshake, each request,
 * the `_meta` a 2026-07-28 request carries, notifications and responses to the server's own
 * requests. Replies are never built here: tests spell out the exact lines they expect.
 *
 * @example
 * ```ts
 * session.send(initialize(1));
 * session.send(modern(call(2, "echo", { text: "hi" })));
 * ```
 */

/** Messages as input lines, each followed by `\n`: objects as JSON, strings as they are. */
export function jsonLines(...messages: unknown[]): string {
  return messages.map((message) =>
    `${typeof message === "string" ? message : JSON.stringify(message)}\n`
  ).join("");
}

/** A JSON-RPC request or response id. */
export type Id = number | string;

/** A message a test sends: a request (with `id`) or a notification (without). */
export interface Message {
  jsonrpc: "2.0";
  id?: Id;
  method: string;
  params?: Record<string, unknown>;
}

/** The version, client and capabilities a 2026-07-28 request names in its `_meta`. */
export const MODERN_META: Readonly<Record<string, unknown>> = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "modern", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** A request of any `method` (`params` left out when not given). */
export function request(
  id: Id,
  method: string,
  params?: Record<string, unknown>,
): Message {
  return params ? { jsonrpc: "2.0", id, method, params } : {
    jsonrpc: "2.0",
    id,
    method,
  };
}

function notification(
  method: string,
  params?: Record<string, unknown>,
): Message {
  return params
    ? { jsonrpc: "2.0", method, params }
    : { jsonrpc: "2.0", method };
}

/** A legacy `initialize` request, as a client's first message. */
export function initialize(
  id: Id,
  version = "2025-11-25",
  options: { capabilities?: Record<string, unknown>; client?: string } = {},
): Message {
  return request(id, "initialize", {
    protocolVersion: version,
    capabilities: options.capabilities ?? {},
    clientInfo: { name: options.client ?? "test", version: "1" },
  });
}

/** The `notifications/initialized` a legacy client sends after `initialize`. */
export function initialized(): Message {
  return notification("notifications/initialized");
}

/** A `ping` request. */
export function ping(id: Id): Message {
  return request(id, "ping");
}

/** A `tools/list` request, with `params` when given. */
export function listTools(id: Id, params?: Record<string, unknown>): Message {
  return request(id, "tools/list", params);
}

/** A `tools/call` request; without `args` it sends no `arguments` at all. */
export function call(id: Id, name: string, args?: unknown): Message {
  return request(
    id,
    "tools/call",
    args === undefined ? { name } : { name, arguments: args },
  );
}

/** A `notifications/cancelled` for `requestId`, with a reason when given. */
export function cancel(requestId: unknown, reason?: string): Message {
  return notification(
    "notifications/cancelled",
    reason === undefined ? { requestId } : { requestId, reason },
  );
}

/** A `logging/setLevel` request. */
export function setLevel(id: Id, level: string): Message {
  return request(id, "logging/setLevel", { level });
}

/** A `server/discover` request (wrap it in `modern()` to send the 2026-07-28 `_meta`). */
export function discover(id: Id): Message {
  return request(id, "server/discover");
}

/** A `subscriptions/listen` request for `notifications` (left out when not given). */
export function listen(
  id: Id,
  notifications?: Record<string, unknown>,
): Message {
  return request(
    id,
    "subscriptions/listen",
    notifications ? { notifications } : undefined,
  );
}

/** The `notifications/roots/list_changed` a client sends when its roots change. */
export function rootsChanged(): Message {
  return notification("notifications/roots/list_changed");
}

/** `message` with `meta` as its `params._meta` (a progress token, or a malformed value). */
export function withMeta(message: Message, meta: unknown): Message {
  return { ...message, params: { ...message.params, _meta: meta } };
}

/** `message` as a 2026-07-28 client sends it: `MODERN_META`, with `extra` fields over it. */
export function modern(
  message: Message,
  extra: Record<string, unknown> = {},
): Message {
  return withMeta(message, { ...MODERN_META, ...extra });
}

/** A client's response to a request the server sent (such as `roots/list`). */
export function response(id: Id, result: unknown): { [key: string]: unknown } {
  return { jsonrpc: "2.0", id, result };
}

/** A client's error response to a request the server sent. */
export function errorResponse(
  id: Id,
  code: number,
  message: string,
): { [key: string]: unknown } {
  return { jsonrpc: "2.0", id, error: { code, message } };
}
