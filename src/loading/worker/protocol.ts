/**
 * @module
 * The messages between the server's thread and a tool worker. Each worker runs the tools of one
 * permission group: it imports their files, runs their calls with the tool's context, and
 * answers with one `turn` message per turn of its event loop, not one per call or per log line.
 * What a turn carries is bounded: results by the calls in flight, logs by a count the worker
 * drops the oldest beyond, progress to the latest per call; and a turn with logs, progress or
 * requests to the client waits for the server to `ack` the ones before it (see ./_outbox.ts).
 */

import type { CallToolResult, ClientInfo } from "../../tool/tool.ts";
import type { ToolPermissions } from "../../tool/permissions.ts";
import type { ToolDescriptor } from "../../tool/served.ts";
import type { PromptListing } from "../../tool/prompt.ts";
import type { ResourceListing } from "../../tool/resource.ts";
import type { LogLevel } from "../../util/log.ts";

/** A tool file for a worker to import: its URL, and its name in messages (`tools/echo.ts`). */
export interface ToolFile {
  url: string;
  source: string;
  /** The file's stem, the tool's name unless its definition sets `name`. */
  stem: string;
  /**
   * What the file defines when it is not a tool: a prompt (its runnables `prompt:<name>` and
   * `complete:prompt:<name>`) or a resource (`resource:<stem>`, `complete:resource:<stem>`).
   */
  kind?: "prompt" | "resource" | undefined;
}

/** One call for a worker to run. `id` is the host's, unique per worker. */
export interface CallOrder {
  id: number;
  /** The tool's name, as the client calls it. */
  tool: string;
  /** The arguments: a JSON object, checked by the worker against the tool's schema. */
  args: Record<string, unknown>;
  /** The client of this call and of the calls after it in the message (`ctx.client`). */
  client?: ClientInfo | undefined;
}

/**
 * `CallOrder`s flattened: id, tool, args for each call in turn. A `calls` message may carry
 * `sources` too: `tool, source, …` for the tools it is the first to call, naming the file each
 * is in (the worker imports that one first; a tool may set a name that is not its file's).
 * A pair `-1, client` (a `ClientInfo`) in place of a call sets `ctx.client` for the calls after
 * it; the server's thread sends one only when the client is not the one it sent last.
 */
export type PackedCalls = Array<
  number | string | Record<string, unknown> | ClientInfo
>;

/** In `PackedCalls`, what precedes a `ClientInfo` in place of a call id. */
export const CLIENT_MARK = -1;

/**
 * Results flattened: id, then the result for each call in turn. A result that is one text block
 * and nothing else is its text alone (`{ content: [{ type: "text", text }] }`); any other, the
 * object (or an `EncodedResult`). Only calls sent packed are answered packed (`packed`).
 */
export type PackedResults = Array<
  number | string | CallToolResult | EncodedResult
>;

/**
 * A result whose big strings cross as bytes, moved rather than copied: `result` with "" in place
 * of each, `at` the keys that lead to each, and `json` the UTF-8 bytes of each one's JSON text,
 * quotes included, as `JSON.stringify` writes it (their buffers are transferred). The server's
 * thread writes those bytes into the reply as they are.
 */
export interface EncodedResult {
  readonly result: CallToolResult;
  readonly at: ReadonlyArray<ReadonlyArray<string | number>>;
  readonly json: readonly Uint8Array[];
}

/**
 * `ctx.log` and `ctx.progress` of calls, oldest first, four fields an entry: a log is
 * `id, level, message, undefined`; a progress update `id, done, total, message` (`total` and
 * `message` undefined when not given). A log's level is a string, a progress update's `done` a
 * number. Progress is the latest of its call, in the place of the first one the turn held.
 */
export type Notes = Array<number | string | undefined>;

/** From the server's thread to a worker. */
export type ToWorker =
  /**
   * The tool files of the worker's group (sent once, first). It imports each at the first call
   * of its tool and the others in the background (all at once with `describe`), and answers
   * `loaded` once every file is in; calls need not wait for that. With `describe`, each tool's
   * `tools/list` entry comes back too (the listing cache's probe).
   */
  | {
    type: "load";
    files: ToolFile[];
    describe?: boolean | undefined;
    /** Milliseconds each file may take to import, from when its import starts; default 10 000. */
    loadTimeoutMs?: number | undefined;
    /**
     * fd 0 and fd 1 carry no protocol (moved off them, or HTTP): whatever reads or writes those
     * reaches no client, and Node's routes to them need no guard.
     */
    stdioFree?: boolean | undefined;
    /**
     * The permissions the worker was started with for these files, beyond the base set (as
     * `permissionsKey` writes them): a file that declares others when it is imported is
     * refused. Unset for the probe, which inherits the process's.
     */
    declared?: string | undefined;
  }
  /** Run these calls (every call of one read, batched). */
  | { type: "calls"; calls: CallOrder[]; sources?: string[] | undefined }
  /**
   * The same, packed: `[id, tool, args, id, tool, args, …]`, about twice as fast to clone as
   * objects. Their results come back packed too (see `results`).
   */
  | { type: "calls"; packed: PackedCalls; sources?: string[] | undefined }
  /** The server's thread has handled a `turn` sent with `ack`: the worker may send more. */
  | { type: "ack" }
  /** Abort the call's `ctx.signal` with this reason (timeout, cancellation, shutdown). */
  | {
    type: "abort";
    id: number;
    name: "TimeoutError" | "AbortError";
    message: string;
  }
  /**
   * The client's answer to request `request` of call `id` (see the turn's `asks`): its result,
   * or why there is none (`name` "AbortError" or "TimeoutError" when the call was aborted).
   */
  | {
    type: "answer";
    id: number;
    request: number;
    result?: unknown;
    error?: string | undefined;
    name?: string | undefined;
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
  /** A prompt or resource file: its listing, as the listing cache stores it. */
  | { source: string; kind: "prompt"; listing: PromptListing }
  | { source: string; kind: "resource"; listing: ResourceListing }
  | { source: string; error: string };

/** From a worker to the server's thread. */
export type FromWorker =
  /** The files of `load`, each a tool or the error that names its file, once all are in. */
  | { type: "loaded"; tools: LoadedTool[] }
  /**
   * What one turn of the worker's event loop produced, handled in this order: log messages the
   * worker dropped, logs and progress, requests to the client, results.
   */
  | {
    type: "turn";
    /**
     * Log messages the worker dropped, oldest first, because the server's thread was behind:
     * call id, level, how many, … (its bound is the writer's, MAX_QUEUED_LOG_LINES).
     */
    dropped?: Array<number | LogLevel> | undefined;
    /** Logs and progress of calls still running (see `Notes`). */
    notes?: Notes | undefined;
    /**
     * Requests of tools to the client (`ctx.roots()`, `ctx.elicit`, `ctx.sample`): call id,
     * request number, method, params, …; the server's thread answers each with `answer`.
     */
    asks?: Array<number | string | Record<string, unknown>> | undefined;
    /** Results of calls that ended, each already shaped (errors as `isError`). */
    results?:
      | Array<{ id: number; result: CallToolResult | EncodedResult }>
      | undefined;
    /** The same for calls sent packed. */
    packed?: PackedResults | undefined;
    /**
     * Set when the turn carries dropped counts, notes or asks: the server answers `ack` once it
     * has handled them, and the worker holds further ones (and the results behind them) while
     * two such turns wait for theirs.
     */
    ack?: true | undefined;
  }
  /** A tool called `Deno.exit`, `process.exit` or `close()`: the worker is ending. */
  | { type: "exit"; code: number; how: string };
