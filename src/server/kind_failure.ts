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
  const [kind, ...rest] = key.split(":");
  if (rest.length === 0) return `tool "${key}"`;
  if (kind === "complete") {
    return `the completer of ${rest[0]} "${rest.slice(1).join(":")}"`;
  }
  return `${kind} "${rest.join(":")}"`;
}
