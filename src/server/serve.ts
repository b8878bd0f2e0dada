/**
 * @module
 * `serve()`: reads JSON-RPC lines from stdin or any byte stream and serves MCP (see dispatch.ts)
 * until EOF, a stop signal or a closed output; pauses reading while replies or calls pile up,
 * and at the end gives running calls a grace period and flushes what the client will read.
 * (Over 300 lines: the options an embedder passes are documented here, beside the loop they
 * configure.)
 */

import type { FileWatcher } from "./resource_updates.ts";
import { Connection, WRITE_HIGH_WATER } from "./connection.ts";
import { handleBatch, handleLateBatch, handleRequest } from "./dispatch.ts";
import { Input } from "./_input.ts";
import {
  type ByteSource,
  DEFAULT_MAX_LINE_BYTES,
  isLineReader,
  readServedBatches,
  type ServedItem,
} from "./lines.ts";
import {
  DEFAULT_SERVER_INFO,
  MIN_STATE_KEY_BYTES,
  type ServedKinds,
  type ServerInfo,
} from "./protocol.ts";
import type { ByteSink, TextSink } from "./writer.ts";
import { ToolSet } from "../tool/served.ts";
import { Logger } from "../util/log.ts";

/** What `serve()` needs; only input, output and the tools are required. */
export interface ServeOptions {
  /** Where requests come from: `Deno.stdin`, or any byte stream. */
  readable: ByteSource;
  /** Where replies go: `Deno.stdout`, or any byte stream, or a taker of lines as text. */
  writable: ByteSink | TextSink;
  /**
   * The tools, or a promise of them. Until a promise settles, `initialize`, `ping` and
   * `server/discover` are answered and tool requests wait in order; if it rejects, those get
   * -32603 and serving stops.
   */
  tools: ToolSet | Promise<ToolSet>;
  /**
   * What it serves besides tools, for the capabilities `initialize` and `server/discover`
   * advertise before the tools are there; default: what `tools` holds when it is not a promise,
   * else tools only.
   */
  serves?: Partial<ServedKinds>;
  /**
   * Called at most once: when the replies to the first input read have been written, or at
   * shutdown if that never happened while tool requests wait. From then on slow work, such as
   * loading the tools `tools` promised, no longer delays the client's handshake.
   */
  onFirstReplies?: () => void;
  /**
   * New sets (the dev loop): each replaces what is served and tells the client which lists
   * changed (a list whose array is the previous set's is unchanged) and which subscribed
   * resources were reloaded.
   */
  toolUpdates?: AsyncIterable<ToolSet>;
  /**
   * Watches the files resources name in `watch` while a client is subscribed to them; without
   * it those files are not watched (subscribe hooks and reloads still send updates).
   */
  watchFiles?: FileWatcher;
  /**
   * Marks each log notification of a call with its request's id
   * (`_meta["tooldrop/request"]`), for a transport that routes notifications per request and
   * removes the mark before they leave (src/server/http/). Default false.
   */
  tagLogs?: boolean;
  /**
   * The key 2026-era request states are signed with (at least 32 bytes): instances behind a
   * load balancer share one, so a retry that reaches another instance runs the call again there
   * with the answers its state carries. Default: a random key, this server's alone.
   */
  stateKey?: Uint8Array<ArrayBuffer>;
  /** Name and version the server reports; default tooldrop's own. */
  info?: ServerInfo;
  /** Guidance for the model, sent in `initialize` and `server/discover`. */
  instructions?: string;
  /** How long 2026-era clients may cache the tool list; default 0 with `toolUpdates`, else 1 h. */
  listTtlMs?: number;
  /** Diagnostics; default: discarded. */
  log?: Logger;
  /** Bytes one line may have; default 64 MiB. */
  maxLineBytes?: number;
  /** Tool calls running at once; default 64. */
  maxConcurrentCalls?: number;
  /** Calls running or waiting before reading pauses; default 16 × `maxConcurrentCalls`. */
  maxPendingCalls?: number;
  /** After EOF or a stop signal, how long running calls may finish before they are stopped. */
  shutdownGraceMs?: number;
  /**
   * After EOF (not a stop signal), how long requests that wait for the tools may keep waiting
   * for them to load: a client that writes its requests and closes its end (a shell pipe) wants
   * their replies, and loading is bounded by its own timeout. Default `shutdownGraceMs`.
   */
  loadWaitMs?: number;
  /** Aborting it stops serving as EOF would (SIGTERM, SIGINT). */
  signal?: AbortSignal;
}

const DEFAULT_MAX_CONCURRENT_CALLS = 64;
const DEFAULT_SHUTDOWN_GRACE_MS = 500;
const STATIC_LIST_TTL_MS = 3_600_000;
/**
 * At shutdown, how long the client may read nothing before `serve()` gives up on writing the
 * replies left: short enough that a stopped server exits within a second, long enough for a
 * client that reads a moment after it closed stdin.
 */
const FLUSH_STALL_MS = 750;

/**
 * Serves MCP over a pair of byte streams until the input ends, `signal` aborts or the output
 * closes. Resolves once replies are flushed; never rejects because of what it reads.
 *
 * @example Answer a ping from memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { ToolSet } from "../tool/served.ts";
 *
 * const ping = `{"jsonrpc":"2.0","id":1,"method":"ping"}\n`;
 * let replies = "";
 * await serve({
 *   readable: ReadableStream.from([new TextEncoder().encode(ping)]),
 *   writable: new WritableStream({
 *     write: (bytes) => void (replies += new TextDecoder().decode(bytes)),
 *   }),
 *   tools: new ToolSet([]),
 * });
 * assert.equal(replies, `{"jsonrpc":"2.0","id":1,"result":{}}\n`);
 * ```
 */
export function serve(options: ServeOptions): Promise<void> {
  return new Server(options).run();
}

/** The read loop of one connection, with its pauses and shutdown. */
class Server {
  readonly #options: ServeOptions;
  readonly #connection: Connection;
  readonly #maxPending: number;
  #onFirstReplies: (() => void) | undefined;

  constructor(options: ServeOptions) {
    this.#options = options;
    this.#onFirstReplies = options.onFirstReplies;
    const maxConcurrentCalls = options.maxConcurrentCalls ??
      DEFAULT_MAX_CONCURRENT_CALLS;
    this.#maxPending = options.maxPendingCalls ?? maxConcurrentCalls * 16;
    if (
      options.stateKey !== undefined &&
      options.stateKey.length < MIN_STATE_KEY_BYTES
    ) {
      throw new RangeError(
        `Cannot serve: stateKey has ${options.stateKey.length} bytes; a request state key needs at least ${MIN_STATE_KEY_BYTES}`,
      );
    }
    this.#connection = new Connection({
      writable: options.writable,
      tools: options.tools,
      info: options.info ?? DEFAULT_SERVER_INFO,
      instructions: options.instructions,
      listTtlMs: options.listTtlMs ??
        (options.toolUpdates ? 0 : STATIC_LIST_TTL_MS),
      log: options.log ?? new Logger({ level: "emergency", write: () => {} }),
      maxConcurrentCalls,
      serveHeld: (request) => handleRequest(this.#connection, request),
      serves: servedKinds(options),
      watchFiles: options.watchFiles,
      tagLogs: options.tagLogs ?? false,
      stateKey: options.stateKey,
    });
  }

  async run(): Promise<void> {
    const c = this.#connection;
    const signal = this.#options.signal
      ? AbortSignal.any([this.#options.signal, c.stop.signal])
      : c.stop.signal;
    const updates = this.#options.toolUpdates;
    // After the first set: a late initial load must not replace a newer set.
    if (updates) {
      void c.tools.loaded.then(() => c.followUpdates(updates, signal));
    }
    const input = new Input(
      readServedBatches(this.#options.readable, {
        maxLineBytes: this.#options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
        signal,
      }),
      (error) => c.log.error("Stopped reading input", error),
    );
    for (let batch; !signal.aborted && (batch = await input.next());) {
      handleBatch(c, batch);
      if (this.#onFirstReplies) {
        // The first answers are on their way: once they are written, slow work may take the thread.
        void c.writer.drained().then(() => this.#firstReplies());
      }
      // Paused: replies wait for the client to read them, or too many calls wait to end. The
      // input is still read ahead a little, so that its end (or a stop signal) is noticed.
      while (this.#mustPause() && !signal.aborted && !input.ended) {
        await this.#pause(input, signal);
      }
    }
    // An in-process transport's lines after its end (cancellations) are taken meanwhile.
    const readable = this.#options.readable;
    const lateEnd = new AbortController();
    const late = isLineReader(readable) && readable.lateBatches
      ? this.#takeLate(readable.lateBatches(lateEnd.signal))
      : undefined;
    await this.#shutdown();
    lateEnd.abort();
    await late;
  }

  async #takeLate(batches: AsyncIterable<ServedItem[]>): Promise<void> {
    try {
      for await (const batch of batches) {
        handleLateBatch(this.#connection, batch);
      }
    } catch (error) {
      this.#connection.log.error("Stopped reading input", error);
    }
  }

  /** Calls `onFirstReplies`, once. */
  #firstReplies(): void {
    const hook = this.#onFirstReplies;
    this.#onFirstReplies = undefined;
    hook?.();
  }

  /** True while reading should pause: see `run`. */
  #mustPause(): boolean {
    const c = this.#connection;
    return c.writer.backlog > WRITE_HIGH_WATER ||
      c.calls.size + c.tools.waiting >= this.#maxPending;
  }

  /**
   * Resolves when a reason to pause may have gone, a batch was read ahead, or serving stops.
   * The signal's listener is removed each time: a long-lived promise raced at every pause would
   * keep one reaction per pause for the life of the server.
   */
  #pause(input: Input, signal: AbortSignal): Promise<void> {
    const c = this.#connection;
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done);
      if (c.writer.backlog > WRITE_HIGH_WATER) {
        void c.writer.drained().then(done);
      }
      if (c.calls.size > 0) void c.calls.nextEnd().then(done);
      if (c.tools.loading) void c.tools.loaded.then(done);
      void input.readAhead()?.then(done);
    });
  }

  async #shutdown(): Promise<void> {
    const c = this.#connection;
    const grace = this.#options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    let deadline = performance.now() + grace;
    if (c.tools.waiting > 0) {
      this.#firstReplies(); // requests wait for tools whose loading may wait for this
      const stopped = this.#options.signal?.aborted ?? false;
      await withTimeout(
        c.tools.loaded,
        stopped ? grace : Math.max(grace, this.#options.loadWaitMs ?? 0),
      );
      c.tools.release("the server shut down before its tools loaded");
      // The calls that waited for the tools start only now: they get the whole grace, as they
      // would have had the tools been there, not what loading left of it.
      if (!stopped) deadline = performance.now() + grace;
    }
    // A request whose handler was still loading becomes a call, or is answered, within the grace.
    await withTimeout(c.answered(), Math.max(0, deadline - performance.now()));
    if (!c.writer.failed && c.calls.size > 0) {
      const left = Math.max(0, deadline - performance.now());
      c.log.debug(
        `Input ended; ${c.calls.size} call(s) get ${
          Math.round(left)
        } ms to finish`,
      );
      await withTimeout(c.calls.idle(), left);
    }
    c.calls.stopAll();
    await c.calls.idle(); // stopped calls settle at once: their replies are queued by now
    c.subscriptions.closeAll(c.info);
    (await c.resourceUpdates)?.close();
    await this.#flush();
    void c.writer.close(); // the process may exit now: everything is written
  }

  /**
   * Writes what is queued for as long as the client keeps reading: a slow reader gets every
   * reply, one that stops reading for FLUSH_STALL_MS is given up on.
   */
  async #flush(): Promise<void> {
    const { writer, log } = this.#connection;
    // A timer only when something is queued: the first setTimeout costs ~4 ms (Node timers).
    while (writer.backlog > 0 && !writer.failed) {
      const written = writer.written;
      await withTimeout(writer.drained(), FLUSH_STALL_MS);
      if (writer.written === written && writer.backlog > 0) {
        log.warn(
          `Stopping with ${writer.backlog} characters of replies unwritten: the client has read nothing for ${FLUSH_STALL_MS} ms`,
        );
        return;
      }
    }
  }
}

/** Waits for `promise` at most `ms`; the timer never outlives the wait. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

/** What `options` serve besides tools (see `ServeOptions.serves`). */
function servedKinds(options: ServeOptions): ServedKinds {
  const set = options.tools instanceof ToolSet ? options.tools : undefined;
  return {
    prompts: options.serves?.prompts ??
      (set !== undefined && set.prompts.prompts.length > 0),
    resources: options.serves?.resources ??
      (set !== undefined && set.resources.resources.length > 0),
  };
}
