/**
 * @module
 * What the model reads when a tool call failed: why it ended (cancelled, timed out, shut down,
 * denied a permission, a `ToolError`, an unexpected throw), with unexpected errors logged with
 * their stacks. Total, for any thrown value.
 */

import type { Call } from "./call.ts";
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
  const name = call.tool.name;
  if (call.ended === "cancelled") {
    log.debug(`Tool "${name}" stopped: the client cancelled the call`);
    return errorResult(`Tool "${name}" was cancelled`); // never sent
  }
  if (call.ended === "timeout") {
    log.warn(`Tool "${name}" timed out after ${call.tool.timeoutMs} ms`);
    return errorResult(
      `Tool "${name}" timed out after ${call.tool.timeoutMs} ms and was stopped`,
    );
  }
  if (call.ended === "shutdown") {
    return errorResult(
      `Tool "${name}" was stopped: the server is shutting down`,
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
    log.warn(`Tool "${name}" was denied a permission: ${detail}`);
    return errorResult(`Tool "${name}" is not allowed to do this: ${detail}`);
  }
  log.error(`Tool "${name}" threw`, error);
  return errorResult(`Tool "${name}" failed: ${describeError(error)}`);
}
