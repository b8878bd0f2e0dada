/**
 * @module
 * The messages between the server's thread and a tool worker. Each worker runs the tools of one
 * permission group: it imports their files, runs their calls with the tool's context, and
 * answers in batches (one `postMessage` per turn of its event loop, not one per call).
 */

import type { CallToolResult, Root } from "../../tool/tool.ts";
import type { ToolPermissions } from "../../tool/permissions.ts";
import type { ToolDescriptor } from "../../tool/served.ts";
import type { LogLevel } from "../../util/log.ts";

/** A tool file for a worker to import: its URL, and its name in messages (`tools/echo.ts`). */
export interface ToolFile {
  url: string;
  source: string;
  /** The file's stem, the tool's name unless its definition sets `name`. */
  stem: string;
}

/** One call for a worker to run. `id` is the host's, unique per worker. */
export interface CallOrder {
  id: number;
  /** The tool's name, as the client calls it. */
  tool: string;
  /** The arguments: a JSON object, checked by the worker against the tool's schema. */
  args: Record<string, unknown>;
}

/** `CallOrder`s flattened: id, tool, args for each call in turn. */
export type PackedCalls = Array<number | string | Record<string, unknown>>;

/**
 * Results flattened: id, then the result for each call in turn. A result that is one text block
 * and nothing else is its text alone (`{ content: [{ type: "text", text }] }`); any other, the
 * object. Only calls sent packed are answered packed (a `packed` message).
 */
export type PackedResults = Array<number | string | CallToolResult>;

/** From the server's thread to a worker. */
export type ToWorker =
  /**
   * Import these tool files (sent once, first); the worker answers `loaded`. With `describe`,
   * each tool's `tools/list` entry comes back too (the listing cache's probe).
   */
  | {
    type: "load";
    files: ToolFile[];
    describe?: boolean | undefined;
    /** Milliseconds each file may take to import; default 10 000. */
    loadTimeoutMs?: number | undefined;
  }
  /** Run these calls (every call of one read, batched). */
  | { type: "calls"; calls: CallOrder[] }
  /**
   * The same, packed: `[id, tool, args, id, tool, args, …]`, about twice as fast to clone as
   * objects. Their results come back packed too (see `results`).
   */
  | { type: "calls"; packed: PackedCalls }
  /** Abort the call's `ctx.signal` with this reason (timeout, cancellation, shutdown). */
  | {
    type: "abort";
    id: number;
    name: "TimeoutError" | "AbortError";
    message: string;
  }
  /** The client's answer to a `roots` request of call `id` (undefined: it has none). */
  | {
    type: "roots";
    id: number;
    request: number;
    roots?: Root[] | undefined;
    error?: string | undefined;
  };

/** What a worker found in one tool file. */
export type LoadedTool =
  | {
    source: string;
    name: string;
    permissions: ToolPermissions | undefined;
    timeoutMs: number;
    /** Its `tools/list` entry, as JSON would carry it; only when `load` asked to `describe`. */
    descriptor?: ToolDescriptor | undefined;
  }
  | { source: string; error: string };

/** From a worker to the server's thread. */
export type FromWorker =
  /** The files of `load`, each a tool or the error that names its file. */
  | { type: "loaded"; tools: LoadedTool[] }
  /** Results of calls that ended, batched; each already shaped, errors as `isError`. */
  | { type: "results"; results: Array<{ id: number; result: CallToolResult }> }
  /** The same for calls sent packed. */
  | { type: "packed"; results: PackedResults }
  /** `ctx.progress` of call `id`, unfiltered (the server drops what the client cannot use). */
  | {
    type: "progress";
    id: number;
    done: number;
    total?: number | undefined;
    message?: string | undefined;
  }
  /** `ctx.log` of call `id`. */
  | { type: "log"; id: number; level: LogLevel; message: string }
  /** `ctx.roots()` of call `id`: the server asks the client and answers with `roots`. */
  | { type: "roots"; id: number; request: number }
  /** A tool called `Deno.exit`, `process.exit` or `close()`: the worker is ending. */
  | { type: "exit"; code: number; how: string };
