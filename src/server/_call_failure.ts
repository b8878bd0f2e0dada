/**
 * @module
 * What the model reads when a tool call failed: why it ended (cancelled, timed out, shut down,
 * denied a permission, a `ToolError`, an unexpected throw), with unexpected errors logged with
 * their stacks. Total, for any thrown value.
 */

import type { Call } from "./call.ts";
import { toKindError } from "../tool/kinds.ts";
import { errorResult } from "./result.ts";
import { type CallToolResult, ToolError } from "../tool/tool.ts";
import { describeError, textOf } from "../util/describe.ts";
import type { Logger } from "../util/log.ts";

/**
 * The error result for a failed call. Whatever was thrown (a Proxy, an object whose getters or
 * `toString` throw) is described without letting a second exception escape.
 */
export function failureResult(
  call: Call,
  error: unknown,
  log: Logger,
): CallToolResult {
  try {
    if (call.tool.reply && call.ended === undefined) {
      return kindFailure(call, error, log);
    }
    return describeFailure(call, error, log);
  } catch {
    return errorResult(`Tool "${call.tool.name}" failed`);
  }
}

function describeFailure(
  call: Call,
  error: unknown,
  log: Logger,
): CallToolResult {
  const who = whoOf(call);
  if (call.ended === "cancelled") {
    log.debug(`${who} stopped: the client cancelled the call`);
    return errorResult(`${who} was cancelled`); // never sent
  }
  if (call.ended === "timeout") {
    log.warn(`${who} timed out after ${call.tool.timeoutMs} ms`);
    return errorResult(
      `${who} timed out after ${call.tool.timeoutMs} ms and was stopped`,
    );
  }
  if (call.ended === "shutdown") {
    return errorResult(
      `${who} was stopped: the server is shutting down`,
    );
  }
  if (error instanceof ToolError) {
    const { message } = error;
    return errorResult(
      typeof message === "string" ? message : describeError(message),
    );
  }
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    const detail = textOf(error.message, 500);
    log.warn(`${who} was denied a permission: ${detail}`);
    return errorResult(`${who} is not allowed to do this: ${detail}`);
  }
  log.error(`${who} threw`, error);
  return errorResult(`${who} failed: ${describeError(error)}`);
}

/**
 * A prompt's, resource's or completer's failure as its reply's error: an error result whose
 * `_meta` carries the JSON-RPC code (see ./kind_methods.ts). A `ToolError` is the caller's
 * fault (-32602), anything else the prompt's or resource's (-32603, its stack on stderr).
 */
function kindFailure(call: Call, error: unknown, log: Logger): CallToolResult {
  const label = whoOf(call).replace(/^\w/, (c) => c.toLowerCase());
  const failure = toKindError(error, label);
  if (failure.code === -32603 && failure.cause !== undefined) {
    log.error(`${label} threw`, failure.cause);
  }
  return {
    content: [{ type: "text", text: failure.message }],
    isError: true,
    _meta: {
      [KIND_CODE]: failure.code,
      ...(failure.data ? { [KIND_DATA]: failure.data } : {}),
    },
  };
}

/** Where a kind's error result carries its JSON-RPC code and data. */
export const KIND_CODE = "tooldrop/code";
export const KIND_DATA = "tooldrop/data";

/** How messages name what the call ran: `Tool "echo"`, `Prompt "review"`, … */
function whoOf(call: Call): string {
  const [kind, ...rest] = call.tool.name.split(":");
  if (!call.tool.reply || rest.length === 0) return `Tool "${call.tool.name}"`;
  if (kind === "complete") {
    return `The completer of ${rest[0]} "${rest.slice(1).join(":")}"`;
  }
  return `${kind![0]!.toUpperCase()}${kind!.slice(1)} "${rest.join(":")}"`;
}
