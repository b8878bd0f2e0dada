/**
 * @module
 * What the model reads when a tool call failed: why it ended (cancelled, timed out, shut down,
 * denied a permission, a `ToolError`, an unexpected throw), with unexpected errors logged with
 * their stacks. Total, for any thrown value.
 */

import type { Call } from "./call.ts";
import { kindFailure, kindLabel, runnableLabel } from "./kind_failure.ts";
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
      return kindFailure(kindLabel(call.tool.name), error, log);
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

/** How messages name what the call ran: `Tool "echo"`, `Prompt "review"`, … */
export function whoOf(call: Call): string {
  return runnableLabel(call.tool);
}
