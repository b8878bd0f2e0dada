/**
 * @module
 * What the model reads when a call failed in a worker. Deno's permission errors ("Requires net
 * access to "example.com:443", run again with the --allow-net flag") become what the model and
 * the tool's author need: the tool, the permission and the `permissions:` line to add; Deno's
 * flag advice never reaches the model.
 */

import {
  PERMISSION_KINDS,
  type PermissionKind,
  type ToolPermissions,
  unionPermissions,
} from "../../tool/permissions.ts";
import { errorResult } from "../../server/result.ts";
import { kindFailure, kindLabel } from "../../server/kind_failure.ts";
import { KindError } from "../../tool/kinds.ts";
import { type CallToolResult, ToolError } from "../../tool/tool.ts";
import type { Tool } from "../../tool/served.ts";
import { describeError, textOf } from "../../util/describe.ts";
import type { Logger } from "../../util/log.ts";

/**
 * What the model reads when a call failed (the worker's side of server/_call_failure.ts): a
 * `ToolError`'s message, a refused permission and the line that grants it, or `Tool "x"
 * failed: …` with the stack on stderr. Total, for any thrown value.
 */
export function failureResult(
  tool: Tool,
  signal: AbortSignal,
  error: unknown,
  log: Logger,
): CallToolResult {
  const name = tool.name;
  try {
    if (error instanceof ToolError) {
      const { message } = error;
      return errorResult(
        typeof message === "string" ? message : describeError(message),
      );
    }
    if (signal.aborted && error === signal.reason) {
      // The server's thread has answered already (timeout, cancellation, shutdown).
      log.debug(`Tool "${name}" stopped: ${describeError(error)}`);
      return errorResult(`Tool "${name}" stopped: ${describeError(error)}`);
    }
    const denial = deniedPermission(error);
    if (denial) {
      log.warn(
        `Tool "${name}" was denied a permission: ${
          textOf((error as Error).message, 500).replace(FLAG_ADVICE, "")
        }`,
      );
      return errorResult(deniedMessage(name, tool.permissions, denial));
    }
    if (
      error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied
    ) {
      const detail = textOf(error.message, 500).replace(FLAG_ADVICE, "");
      log.warn(`Tool "${name}" was denied a permission: ${detail}`);
      return errorResult(`Tool "${name}" is not allowed to do this: ${detail}`);
    }
    log.error(`Tool "${name}" threw`, error);
    if (error instanceof Error && error.message === EMPTY_PATH) {
      return errorResult(
        `Tool "${name}" failed: it passed an empty path to a file operation (Deno: "${EMPTY_PATH}"); its code gave "" or a value whose text is empty, such as [], where a path belongs`,
      );
    }
    return errorResult(`Tool "${name}" failed: ${describeError(error)}`);
  } catch {
    return errorResult(`Tool "${name}" failed`);
  }
}

/**
 * A prompt's, resource's or completer's failure as the error envelope the server's thread reads
 * (../../server/kind_failure.ts): a refused permission is -32603 with the line that grants it,
 * anything else as `toKindError` words it. Total, for any thrown value.
 */
export function kindFailureResult(
  tool: Tool,
  error: unknown,
  log: Logger,
): CallToolResult {
  const label = kindLabel(tool.name);
  try {
    const denial = deniedPermission(error);
    if (denial) {
      log.warn(
        `${capitalized(label)} was denied a permission: ${
          textOf((error as Error).message, 500).replace(FLAG_ADVICE, "")
        }`,
      );
      const text = deniedMessage(label, tool.permissions, denial);
      return kindFailure(
        label,
        new KindError(-32603, `Internal error: ${text}`),
        log,
      );
    }
    return kindFailure(label, error, log);
  } catch {
    return kindFailure(label, new KindError(-32603, "Internal error"), log);
  }
}

/** A permission a tool was refused: its kind, and the host, path, variable… if Deno named one. */
export interface Denial {
  kind: PermissionKind;
  /** As a tool declares it: a host without its port, a path, a variable, a command, a sys kind. */
  value: string | undefined;
}

const REQUIRES =
  /^Requires (read|write|net|env|run|sys|ffi) access(?: to "(.*?)")?(?:,|$)/;
/** Deno's advice to the person at the terminal, which the model cannot follow. */
const FLAG_ADVICE = /,? run again with the --allow-\w+ flag/;
/**
 * What Deno throws when a file operation gets an empty path under limited read or write access,
 * as every tool worker has: "" itself, or a value whose text is "" (an empty list where a path
 * belongs, the usual type error behind it). It names neither the call nor the value.
 */
const EMPTY_PATH = "Empty path is not allowed";
/** How deep `cause` chains are followed to find the permission error under a wrapper. */
const MAX_CAUSES = 4;

/** The permission `error` (or an error in its `cause` chain) was refused; undefined for others. */
export function deniedPermission(error: unknown): Denial | undefined {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSES; depth++) {
    try {
      if (
        current instanceof Deno.errors.NotCapable ||
        current instanceof Deno.errors.PermissionDenied
      ) {
        const match = REQUIRES.exec(String(current.message));
        if (match) {
          const kind = match[1] as PermissionKind;
          const value = match[2];
          return {
            kind,
            value: value === undefined ? undefined : declaredForm(kind, value),
          };
        }
      }
      if (!(current instanceof Error)) return undefined;
      current = current.cause;
    } catch {
      return undefined; // a Proxy or a throwing getter: not Deno's error
    }
  }
  return undefined;
}

/** What a tool declares for what Deno asked: `example.com:443` is `example.com`. */
function declaredForm(kind: PermissionKind, value: string): string {
  if (kind !== "net") return value;
  return value.match(/^(\[[^\]]*\]|[^:]+):\d+$/)?.[1] ?? value;
}

/**
 * What a running server needs to hold a permission a tool now declares. The worker cannot tell
 * how its server was started, so it names both ways: a registered `serve --watch` entry
 * (`install` updates its own entry's flags; the client starts it again with them) and
 * `deno task dev` (which restarts itself with what a saved tool declares). A compiled binary
 * runs its tools in its own thread, never here.
 */
const REGISTER_AGAIN =
  "run `deno task tooldrop install` again in tooldrop's folder (with the same --project, if any) and restart the server in the client (`deno task dev` restarts by itself)";

/**
 * The error text for a call refused `denial`: the permission and the line to add when the tool
 * does not declare it; when it does, that the server itself lacks it. Either way, how the
 * server gets it.
 *
 * @example
 * ```ts
 * deniedMessage("fetcher", undefined, { kind: "net", value: "example.com" });
 * // 'Tool "fetcher" needs net access to "example.com", which it does not declare; add
 * //  permissions: { net: ["example.com"] } to its definition, then run `deno task tooldrop
 * //  install` again in tooldrop's folder (with the same --project, if any) and restart the
 * //  server in the client (`deno task dev` restarts by itself)'
 * ```
 */
export function deniedMessage(
  tool: string,
  declared: ToolPermissions | undefined,
  denial: Denial,
): string {
  // A tool's name, or a prompt's or resource's label (`resource "note"`).
  const who = /^[a-z]/.test(tool) && tool.includes(' "')
    ? capitalized(tool)
    : `Tool "${tool}"`;
  const { kind, value } = denial;
  const what = `${kind} access${
    value === undefined ? "" : ` to ${JSON.stringify(value)}`
  }`;
  if (covers(declared?.[kind], kind, value)) {
    return `${who} declares ${what}, but the server was not granted it; ${REGISTER_AGAIN}`;
  }
  const wanted: ToolPermissions = {
    [kind]: value === undefined ? true : [value],
  };
  const line = permissionsLiteral(unionPermissions([declared, wanted]));
  return `${who} needs ${what}, which it does not declare; add permissions: ${line} to its definition, then ${REGISTER_AGAIN}`;
}

/** `label` with its first letter in upper case. */
function capitalized(label: string): string {
  return `${label[0]?.toUpperCase() ?? ""}${label.slice(1)}`;
}

/** Whether a declared grant already includes `value` (a path: the path or a folder above it). */
function covers(
  grant: true | string[] | undefined,
  kind: PermissionKind,
  value: string | undefined,
): boolean {
  if (grant === true) return true;
  if (grant === undefined || value === undefined) return false;
  if (kind !== "read" && kind !== "write" && kind !== "ffi") {
    return grant.includes(value);
  }
  return grant.some((item) => {
    const path = absolute(item).replace(/\/+$/, "");
    return value === path || value.startsWith(`${path}/`);
  });
}

function absolute(path: string): string {
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return path;
  try {
    return new URL(path, `file://${Deno.cwd()}/`).pathname;
  } catch {
    return path;
  }
}

/** `{ net: ["example.com"], env: true }`, kinds in flag order, as a tool file writes it. */
function permissionsLiteral(permissions: ToolPermissions): string {
  const parts: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const grant = permissions[kind];
    if (grant === undefined) continue;
    parts.push(
      `${kind}: ${
        grant === true
          ? "true"
          : `[${grant.map((item) => JSON.stringify(item)).join(", ")}]`
      }`,
    );
  }
  return `{ ${parts.join(", ")} }`;
}
