/**
 * @module
 * What a call is told when its worker ends (a tool that did not stop, an exit, a failure,
 * shutdown), and the checks on what a worker sends back.
 */

import type { CallToolResult } from "../../tool/tool.ts";
import type { ReplyKind } from "../../tool/served.ts";
import { errorResult } from "../../server/result.ts";
import { runnableLabel, runnableNoun } from "../../server/kind_failure.ts";
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
  // A tool is named as it always was; a prompt's, resource's or completer's runnable by what it
  // is (`prompt "review"`), never by its internal key.
  const label = runnableLabel(call.tool);
  const called = call.tool.reply ? lowerFirst(label) : `"${name}"`;
  switch (end.kind) {
    case "stuck":
      return end.tool.name === name
        ? `${label} did not stop within ${graceMs} ms after it was aborted, so its worker was stopped; the next call starts a new one`
        : `Cannot finish this call of ${called}: ${
          lowerFirst(runnableLabel(end.tool))
        }, which runs in the same worker, did not stop within ${graceMs} ms after it was aborted, so the worker was stopped; call ${
          call.tool.reply ? "it" : called
        } again`;
    case "exit":
      return names.includes(",")
        ? `${
          call.tool.reply ? "One of" : "A tool among"
        } ${names} ended its worker with ${detail}, so this call of ${called} ended too; the next call starts a new worker`
        : `${label} ended its worker with ${detail}; the next call starts a new one (a ${
          runnableNoun(call.tool)
        } should return or throw, not exit)`;
    case "failed":
      return `Cannot run ${lowerFirst(label)}: its worker failed: ${detail}`;
    case "idle":
    case "closed":
      return `Cannot finish this call of ${called}: the server is shutting down`;
  }
}

/** `"echo"` for a tool, `prompt "review"` for a prompt's runnable: names in a list. */
export function listedName(tool: WorkerTool): string {
  return tool.reply ? lowerFirst(runnableLabel(tool)) : `"${tool.name}"`;
}

function lowerFirst(text: string): string {
  return `${text[0]!.toLowerCase()}${text.slice(1)}`;
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
