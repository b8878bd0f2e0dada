/**
 * @module
 * A failed `prompts/get`, `resources/read` or completion as the reply's error travels: an error
 * result whose `_meta` carries the JSON-RPC code and data (./kind_methods.ts reads them back).
 * Shared by the call runner in this thread and the tool workers, which run the same runnables.
 */

import { toKindError } from "../tool/kinds.ts";
import type { CallToolResult } from "../tool/tool.ts";
import type { Logger } from "../util/log.ts";

/** Where a kind's error result carries its JSON-RPC code and data. */
export const KIND_CODE = "tooldrop/code";
export const KIND_DATA = "tooldrop/data";

/**
 * A prompt's, resource's or completer's failure as its reply's error: an error result whose
 * `_meta` carries the JSON-RPC code (see `toKindError`). A `ToolError` is the caller's fault
 * (-32602), anything else the prompt's or resource's (-32603, its stack on stderr). `label`
 * names the failing piece, as `kindLabel` words it.
 */
export function kindFailure(
  label: string,
  error: unknown,
  log: Logger,
): CallToolResult {
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

/**
 * How messages name a runnable by its key: `prompt:review` is `prompt "review"`,
 * `complete:resource:note` is `the completer of resource "note"`; a tool's name is
 * `tool "echo"`.
 */
export function kindLabel(key: string): string {
  return labelOf(key);
}

/**
 * How a message that starts with it names what ran: `Tool "echo"`, `Prompt "review"`,
 * `The completer of resource "note"` (a runnable with a `reply` kind is named from its key).
 */
export function runnableLabel(
  tool: { readonly name: string; readonly reply?: unknown },
): string {
  if (!tool.reply) return `Tool "${tool.name}"`;
  const label = labelOf(tool.name);
  return `${label[0]!.toUpperCase()}${label.slice(1)}`;
}

/** What a runnable is, in a hint: `tool`, `prompt`, `resource` or `completer`. */
export function runnableNoun(
  tool: { readonly name: string; readonly reply?: unknown },
): string {
  if (!tool.reply) return "tool";
  const kind = tool.name.split(":", 1)[0]!;
  return kind === "complete" ? "completer" : kind;
}

function labelOf(key: string): string {
  const [kind, ...rest] = key.split(":");
  if (rest.length === 0) return `tool "${key}"`;
  if (kind === "complete") {
    return `the completer of ${rest[0]} "${rest.slice(1).join(":")}"`;
  }
  return `${kind} "${rest.join(":")}"`;
}
