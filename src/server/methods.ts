/**
 * @module
 * The protocol, method by method: a flat table of request method → handler and one of
 * notification method → handler. To serve a new method, add a row and its handler here.
 */

import type { Connection } from "./connection.ts";
import { readRetry } from "./retry.ts";
import { completeResult, discoverResult, type RequestScope } from "./era.ts";
import {
  excerpt,
  idJson,
  INVALID_PARAMS,
  INVALID_REQUEST,
  isRequestId,
  JsonRpcError,
  METHOD_NOT_FOUND,
  type Params,
  type RequestId,
  stringParam,
} from "./jsonrpc.ts";
import { initializeResult, negotiateVersion, readHello } from "./protocol.ts";
import { textOf } from "../util/describe.ts";
import { isLogLevel } from "../util/log.ts";
import { isPlainObject } from "../util/is.ts";

/** Answers one request, or throws the `JsonRpcError` to answer it with. */
export type RequestHandler = (
  connection: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
) => void;

/** Acts on one notification; never answers. */
export type NotificationHandler = (
  connection: Connection,
  params: Params | undefined,
) => void;

/** Every request method served; any other is answered -32601. */
export const REQUESTS: ReadonlyMap<string, RequestHandler> = new Map([
  ["tools/call", callTool],
  ["tools/list", listTools],
  ["ping", (c, id, _params, scope) => c.replyResult(id, {}, scope)],
  ["initialize", initialize],
  ["server/discover", discover],
  ["logging/setLevel", setLevel],
  ["subscriptions/listen", (c, id, params) => c.subscriptions.open(id, params)],
  ...([
    ["prompts/list", "prompts"],
    ["prompts/get", "prompts"],
    ["resources/list", "resources"],
    ["resources/templates/list", "resources"],
    ["resources/read", "resources"],
    ["resources/subscribe", "resources"],
    ["resources/unsubscribe", "resources"],
    ["completion/complete", "completions"],
  ] as const).map(([method, capability]) =>
    [method, kindMethod(method, capability)] as const
  ),
]);

let kindHandlers:
  | Promise<
    ReadonlyMap<
      string,
      (...args: [...Parameters<RequestHandler>, string]) => unknown
    >
  >
  | undefined;

/**
 * A method of prompts, resources or completions (./kind_methods.ts, loaded at its first
 * request: a server of tools alone never needs it). A server that does not advertise the
 * capability answers it as unknown, as it would without these rows.
 */
function kindMethod(method: string, capability: string): RequestHandler {
  return (c, id, params, scope) => {
    if (!(capability in c.capabilities)) {
      throw new JsonRpcError(
        METHOD_NOT_FOUND,
        `Method not found: ${JSON.stringify(method)}`,
      );
    }
    kindHandlers ??= import("./kind_methods.ts").then((m) => m.KIND_HANDLERS);
    // Counted until answered (or handed to `c.calls`): input that ends meanwhile loses nothing.
    c.answering(
      kindHandlers.then((handlers) =>
        handlers.get(method)!(c, id, params, scope, method)
      ).catch((error) => c.fail(id, error)),
    );
  };
}

/** Every notification acted on; any other is logged (debug) and ignored. */
export const NOTIFICATIONS: ReadonlyMap<string, NotificationHandler> = new Map([
  ["notifications/cancelled", cancelled],
  ["notifications/roots/list_changed", (c) => c.session.rootsChanged()],
  ["notifications/initialized", () => {}],
]);

function callTool(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  const name = stringParam(params, "name");
  const tools = c.tools.current();
  const tool = tools.get(name);
  if (!tool) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown tool "${excerpt(name)}"`,
      { tools: tools.tools.map((t) => t.name) },
    );
  }
  const args = params?.arguments ?? {};
  if (!isPlainObject(args)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "arguments" must be an object`,
    );
  }
  const retry = readRetry(params, scope);
  if (retry) {
    // The retry of a call that asked the client for input (multi round-trip requests).
    c.calls.resume(id, {
      tool: name,
      args: args as Record<string, unknown>,
      scope,
      ...retry,
      runnable: tool,
    }).catch((error) => c.fail(id, error));
    return;
  }
  if (!c.calls.start(id, tool, args as Record<string, unknown>, scope)) {
    throw new JsonRpcError(
      INVALID_REQUEST,
      "Invalid request: this id is already used by a call in progress",
    );
  }
}

function listTools(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  if (params?.cursor !== undefined) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      "Invalid params: unknown cursor (tools/list returns every tool on one page)",
    );
  }
  const tools = c.tools.current();
  if (!scope.modern) return c.replyJson(id, tools.listJson);
  if (c.modernList?.tools !== tools) {
    const json = JSON.stringify(completeResult({
      tools: tools.tools.map((t) => t.descriptor),
      ttlMs: c.listTtlMs,
      cacheScope: "public",
    }, c.info));
    c.modernList = { tools, json };
  }
  c.replyJson(id, c.modernList.json);
}

function initialize(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
): void {
  const hello = readHello(params);
  const version = negotiateVersion(hello.protocolVersion);
  const client = hello.clientInfo;
  c.session.initialized(hello, version);
  c.replyJson(
    id,
    JSON.stringify(
      initializeResult(version, c.info, c.instructions, c.capabilities),
    ),
  );
  // Logged once the reply's write has begun (the writer's turn is queued first): the client
  // is waiting for the reply, and nobody for the log line.
  queueMicrotask(() =>
    c.log.info(
      `Client ${textOf(client?.name ?? "(unnamed)", 100)} ${
        textOf(client?.version ?? "", 100)
      } asked for ${excerpt(hello.protocolVersion)}; speaking ${version}`,
    )
  );
}

function discover(c: Connection, id: RequestId): void {
  c.replyJson(
    id,
    JSON.stringify(
      discoverResult(c.info, c.instructions, c.listTtlMs, c.capabilities),
    ),
  );
}

function setLevel(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  const level = params?.level;
  if (!isLogLevel(level)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown log level ${JSON.stringify(level)}`,
    );
  }
  c.session.logLevel = level;
  c.replyResult(id, {}, scope);
}

/** Stops a held request, a running call or a subscription; none gets a reply. */
function cancelled(c: Connection, params: Params | undefined): void {
  const requestId = params?.requestId;
  if (!isRequestId(requestId)) return;
  if (
    c.tools.drop(requestId) || c.calls.cancel(requestId) ||
    c.subscriptions.cancel(requestId)
  ) {
    c.log.debug(
      `Cancelled ${idJson(requestId)}: ${
        textOf(params?.reason ?? "no reason")
      }`,
    );
  }
}
