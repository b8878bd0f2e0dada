/**
 * @module
 * The methods of prompts, resources and completions: `prompts/list`, `prompts/get`,
 * `resources/list`, `resources/templates/list`, `resources/read` and `completion/complete`.
 * A get, a read and a completion run through the call runner as a tool call does (bounded,
 * timed, cancellable; `prompts/get` and `resources/read` may answer `input_required` in the
 * 2026 era), and `kindAnswer` turns what they return into the method's reply.
 * (Over 300 lines: six methods that share their argument checks, their retry handling and the one
 * function that turns a result or a failure into the reply.)
 */

import type { Answer } from "./call_runner.ts";
import type { Connection } from "./connection.ts";
import { completeResult, type RequestScope } from "./era.ts";
import {
  excerpt,
  INVALID_PARAMS,
  INVALID_REQUEST,
  JsonRpcError,
  METHOD_NOT_FOUND,
  type Params,
  type RequestId,
  stringParam,
} from "./jsonrpc.ts";
import { KIND_CODE, KIND_DATA } from "./kind_failure.ts";
import { readRetry } from "./retry.ts";
import { MAX_URI_CHARS } from "./subscriptions.ts";
import type { Tool } from "../tool/served.ts";
import type { ServedResource } from "../tool/served_kinds.ts";
import type { CallToolResult } from "../tool/tool.ts";
import { isPlainObject } from "../util/is.ts";

/** `resources/read` of a URI nothing serves, in the 2025-11-25 era; 2026 uses -32602. */
export const RESOURCE_NOT_FOUND = -32002;

type Handler = (
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
  method: string,
) => void | Promise<void>;

/** The handlers of these methods, by method (./methods.ts loads them at their first request). */
export const KIND_HANDLERS: ReadonlyMap<string, Handler> = new Map<
  string,
  Handler
>([
  ["prompts/list", listPrompts],
  ["prompts/get", getPrompt],
  ["resources/list", listResources],
  ["resources/templates/list", listTemplates],
  ["resources/read", readResource],
  ["resources/subscribe", subscribe],
  ["resources/unsubscribe", subscribe],
  ["completion/complete", complete],
]);

function listPrompts(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  noCursor(params, "prompts/list", "prompt");
  const { prompts } = c.tools.current().prompts;
  replyList(c, id, scope, { prompts: prompts.map((p) => p.descriptor) });
}

function listResources(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  noCursor(params, "resources/list", "resource");
  const { fixed } = c.tools.current().resources;
  replyList(c, id, scope, { resources: fixed.map((r) => r.descriptor) });
}

function listTemplates(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  noCursor(params, "resources/templates/list", "template");
  const { templates } = c.tools.current().resources;
  replyList(c, id, scope, {
    resourceTemplates: templates.map((r) => r.descriptor),
  });
}

function getPrompt(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  const name = stringParam(params, "name");
  const set = c.tools.current().prompts;
  const prompt = set.get(name);
  if (!prompt) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown prompt "${excerpt(name)}"`,
      { prompts: set.prompts.map((p) => p.name) },
    );
  }
  const args = params?.arguments ?? {};
  if (
    !isPlainObject(args) ||
    !Object.values(args).every((value) => typeof value === "string")
  ) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "arguments" must be an object of strings`,
    );
  }
  run(c, id, params, scope, prompt.get, args, kindAnswer(c));
}

function readResource(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  const uri = stringParam(params, "uri");
  const resource = c.tools.current().resources.find(uri);
  if (!resource) throw notFound(uri, scope);
  run(
    c,
    id,
    params,
    scope,
    resource.read,
    { uri },
    kindAnswer(c, resource),
  );
}

/**
 * `resources/subscribe` and `resources/unsubscribe` (legacy era; 2026-07-28 subscribes on
 * `subscriptions/listen`). Any URI may be subscribed to: a resource may serve it later.
 */
async function subscribe(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
  method: string,
): Promise<void> {
  if (scope.modern) {
    throw new JsonRpcError(
      METHOD_NOT_FOUND,
      `Method not found: "${method}" (in 2026-07-28, list the URIs in subscriptions/listen's "resourceSubscriptions")`,
    );
  }
  const uri = stringParam(params, "uri");
  if (uri === "" || uri.length > MAX_URI_CHARS) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "uri" must be a resource URI of at most ${MAX_URI_CHARS} characters`,
    );
  }
  if (method === "resources/subscribe") c.subscriptions.subscribeLegacy(uri);
  else c.subscriptions.unsubscribeLegacy(uri);
  // The reply follows the watching: a change made once it is read is not missed.
  await (await c.resourceUpdates!).sync();
  c.replyResult(id, {}, scope);
}

function complete(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
): void {
  const ref = params?.ref;
  const argument = params?.argument;
  if (!isPlainObject(ref) || typeof ref.type !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "ref" must be { type: "ref/prompt", name } or { type: "ref/resource", uri }`,
    );
  }
  if (
    !isPlainObject(argument) || typeof argument.name !== "string" ||
    typeof argument.value !== "string"
  ) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "argument" must be { name, value }, both strings`,
    );
  }
  if (ref.type === "ref/prompt" && typeof ref.name !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "ref.name" must be a string`,
    );
  }
  if (ref.type === "ref/resource" && typeof ref.uri !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "ref.uri" must be a string`,
    );
  }
  const context = params?.context;
  const resolved = isPlainObject(context) && isPlainObject(context.arguments)
    ? context.arguments
    : {};
  const set = c.tools.current();
  let target: { complete: Tool; completes: readonly string[]; known: string[] };
  let label: string;
  if (ref.type === "ref/prompt" && typeof ref.name === "string") {
    const prompt = set.prompts.get(ref.name);
    if (!prompt) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: unknown prompt "${excerpt(ref.name)}"`,
      );
    }
    label = `prompt "${prompt.name}"`;
    target = {
      complete: prompt.complete,
      completes: prompt.completes,
      known: prompt.descriptor.arguments?.map((a) => a.name) ?? [],
    };
  } else if (ref.type === "ref/resource" && typeof ref.uri === "string") {
    const resource = set.resources.byRef(ref.uri);
    if (!resource) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: no resource or resource template is "${
          excerpt(ref.uri)
        }"`,
      );
    }
    label = `resource "${resource.name}"`;
    target = {
      complete: resource.complete,
      completes: resource.completes,
      known: resource.template?.variables.slice() ?? [],
    };
  } else {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown ref type ${
        JSON.stringify(excerpt(String(ref.type)))
      }; use "ref/prompt" or "ref/resource"`,
    );
  }
  if (!target.known.includes(argument.name)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: ${label} has no argument "${excerpt(argument.name)}"`,
    );
  }
  if (!target.completes.includes(argument.name)) {
    // Nothing completes it: an empty answer, without a call.
    const body = { completion: { values: [], hasMore: false } };
    return c.replyResult(id, body, scope);
  }
  const request = {
    argument: argument.name,
    value: argument.value,
    arguments: Object.fromEntries(
      Object.entries(resolved).filter(([, v]) => typeof v === "string"),
    ),
  };
  if (!c.calls.start(id, target.complete, request, scope, kindAnswer(c))) {
    throw inUse();
  }
}

/** Starts the runnable for a request, or resumes the call a 2026 retry carries on. */
function run(
  c: Connection,
  id: RequestId,
  params: Params | undefined,
  scope: RequestScope,
  runnable: Tool,
  args: Record<string, unknown>,
  answer: Answer,
): void {
  const retry = readRetry(params, scope);
  if (retry) {
    c.calls.resume(id, {
      tool: runnable.name,
      args,
      scope,
      ...retry,
      runnable,
      answer,
    }).catch((error) => c.fail(id, error));
    return;
  }
  if (!c.calls.start(id, runnable, args, scope, answer)) throw inUse();
}

/**
 * The reply of a get, read or completion: its body as the result (for a 2026 read with the
 * resource's cache hints), or the JSON-RPC error its failure carries.
 */
function kindAnswer(c: Connection, resource?: ServedResource): Answer {
  return (id, result, scope) => {
    if (result.isError) return c.fail(id, errorOf(result, scope));
    const body = resource && scope.modern
      ? {
        ...result,
        ttlMs: resource.cache.ttlMs,
        cacheScope: resource.cache.scope,
      }
      : result;
    c.replyResult(id, body, scope);
  };
}

/** The error a failed get, read or completion answers with (-32603 unless it says). */
function errorOf(result: CallToolResult, scope: RequestScope): JsonRpcError {
  const meta = isPlainObject(result._meta) ? result._meta : {};
  const text =
    result.content.map((block) => block.type === "text" ? block.text : "").join(
      "",
    ) || "Internal error";
  const data = isPlainObject(meta[KIND_DATA]) ? meta[KIND_DATA] : undefined;
  const code = meta[KIND_CODE];
  if (code === "not_found") {
    return new JsonRpcError(
      scope.modern ? INVALID_PARAMS : RESOURCE_NOT_FOUND,
      text,
      data,
    );
  }
  return new JsonRpcError(
    code === INVALID_PARAMS ? INVALID_PARAMS : -32603,
    code === INVALID_PARAMS || text.startsWith("Internal error")
      ? text
      : `Internal error: ${text}`,
    data,
  );
}

function notFound(uri: string, scope: RequestScope): JsonRpcError {
  return new JsonRpcError(
    scope.modern ? INVALID_PARAMS : RESOURCE_NOT_FOUND,
    "Resource not found",
    { uri },
  );
}

function inUse(): JsonRpcError {
  return new JsonRpcError(
    INVALID_REQUEST,
    "Invalid request: this id is already used by a call in progress",
  );
}

function noCursor(
  params: Params | undefined,
  method: string,
  what: string,
): void {
  if (params?.cursor !== undefined) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: unknown cursor (${method} returns every ${what} on one page)`,
    );
  }
}

/** A list result: as it is for a legacy client; marked and cacheable for a 2026 one. */
function replyList(
  c: Connection,
  id: RequestId,
  scope: RequestScope,
  list: Record<string, unknown>,
): void {
  if (!scope.modern) return c.replyResult(id, list, scope);
  c.replyJson(
    id,
    JSON.stringify(completeResult(
      { ...list, ttlMs: c.listTtlMs, cacheScope: "public" },
      c.info,
    )),
  );
}
