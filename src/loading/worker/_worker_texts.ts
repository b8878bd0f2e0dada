/**
 * @module
 * What a call is told when its worker ends (a tool that did not stop, an exit, a failure,
 * shutdown), and the checks on what a worker sends back.
 */

import type { CallToolResult } from "../../tool/tool.ts";
import type { ReplyKind } from "../../tool/served.ts";
import { errorResult } from "../../server/result.ts";
import { isPlainObject } from "../../util/is.ts";

/** A tool whose calls a worker runs. */
export interface WorkerTool {
  readonly name: string;
  readonly source: string;
  /** Set for a prompt's, resource's or completer's runnable: its result is a reply's body. */
  readonly reply?: ReplyKind | undefined;
}

/** Why a worker ended; `busy` when calls were in flight on it. */
export type WorkerEnd =
  | { kind: "stuck"; tool: WorkerTool; busy: boolean }
  | { kind: "exit" | "failed" | "idle" | "closed"; busy: boolean };

/** The error result text of a call on a worker that ended. */
export function endText(
  end: WorkerEnd,
  call: { readonly tool: WorkerTool },
  names: string,
  detail: string,
  graceMs: number,
): string {
  const name = call.tool.name;
  switch (end.kind) {
    case "stuck":
      return end.tool.name === name
        ? `Tool "${name}" did not stop within ${graceMs} ms after it was aborted, so its worker was stopped; the next call starts a new one`
        : `Cannot finish this call of "${name}": tool "${end.tool.name}", which runs in the same worker, did not stop within ${graceMs} ms after it was aborted, so the worker was stopped; call "${name}" again`;
    case "exit":
      return names.includes(",")
        ? `A tool among ${names} ended its worker with ${detail}, so this call of "${name}" ended too; the next call starts a new worker`
        : `Tool "${name}" ended its worker with ${detail}; the next call starts a new one (a tool should return or throw, not exit)`;
    case "failed":
      return `Cannot run tool "${name}": its worker failed: ${detail}`;
    case "idle":
    case "closed":
      return `Cannot finish this call of "${name}": the server is shutting down`;
  }
}

/** A result from the worker, or an error result when it is not one. */
export function checkedResult(
  tool: WorkerTool,
  result: unknown,
): CallToolResult {
  if (
    isPlainObject(result) && (tool.reply || Array.isArray(result.content))
  ) {
    return result as unknown as CallToolResult;
  }
  return errorResult(
    `Cannot read the result of tool "${tool.name}" from its worker: it is not an object with a "content" array`,
  );
}

/** The `name` of an abort reason, when it has one. */
export function reasonName(reason: unknown): string | undefined {
  try {
    return (reason as { name?: unknown } | null)?.name as string | undefined;
  } catch {
    return undefined;
  }
}

/** The text of an abort reason. */
export function abortText(reason: unknown): string {
  try {
    const message = (reason as { message?: unknown } | null)?.message;
    if (typeof message === "string" && message !== "") return message;
  } catch {
    // a reason that throws when read
  }
  return "The call was aborted";
}

/** `Deno.exit(3)`: how a worker ended, as the worker named it, with its code. */
export function exitText(how: unknown, code: unknown): string {
  const text = typeof how === "string" && how !== "" ? how : "an exit";
  return text.includes("(") ? text : `${text}(${Number(code)})`;
}

/** The first line of an error event's message, without terminal colours. */
export function firstLine(message: string): string {
  // deno-lint-ignore no-control-regex
  return String(message).replace(/\x1b\[[0-9;]*m/g, "").split("\n")[0]!.trim();
}
