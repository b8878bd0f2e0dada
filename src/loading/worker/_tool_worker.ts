/**
 * @module
 * One tool worker as the server's thread sees it: the calls it runs (sent once per turn as one
 * `calls` message), their context over the boundary (each `turn` the worker sends handled in
 * order, and acknowledged when it asks), and how it ends — a tool that does not stop
 * after an abort, a tool that exits, a worker that fails, an idle stop — every call answered.
 * (Over 300 lines: one worker's whole life, its calls and its five ends, reads best in one place;
 * the texts of the ends are in ./_worker_texts.ts.)
 */

import {
  type CallToolResult,
  type ClientInfo,
  type ToolContext,
  ToolError,
} from "../../tool/tool.ts";
import {
  CLIENT_MARK,
  type EncodedResult,
  type FromWorker,
  type LoadedTool,
  type Notes,
  type PackedCalls,
  type PackedResults,
  type ToolFile,
  type ToWorker,
} from "./protocol.ts";
import { decodeStrings, isEncoded, placeEncoded } from "./_encoded.ts";
import type { RemoteContext } from "../../server/call.ts";
import { errorResult } from "../../server/result.ts";
import { describeError, nameList } from "../../util/describe.ts";
import { isPlainObject } from "../../util/is.ts";
import { isLogLevel, type Logger, type LogLevel } from "../../util/log.ts";
import {
  abortText,
  checkedResult,
  endText,
  exitText,
  firstLine,
  listedName,
  reasonName,
  type WorkerEnd,
  type WorkerTool,
} from "./_worker_texts.ts";

export type { WorkerEnd, WorkerTool };

/** What a {@link ToolWorker} needs. */
export interface ToolWorkerOptions {
  entry: URL;
  /**
   * The files of its group (`load`): the worker imports each at its tool's first call, the rest
   * in the background.
   */
  files: ToolFile[];
  /** Its permissions: a tool group's own set, or "inherit" (the listing cache's probe). */
  permissions: Deno.PermissionOptions;
  /**
   * What its files declare, as `permissionsKey` writes it (a group's key): the worker refuses a
   * file that declares otherwise when it imports it. Unset for the probe.
   */
  declared?: string | undefined;
  /** Milliseconds a call may take to end after its abort before the worker is terminated. */
  graceMs: number;
  /**
   * Milliseconds without calls before the worker stops, counted from its start too (a
   * pre-warmed worker that is never called stops); 0: at once; undefined: never.
   */
  idleMs: number | undefined;
  /**
   * Whether that count starts with `startIdleClock` rather than at once: a worker started
   * while the first `tools/list` reply waits must not arm a timer then (see `nextTurn`).
   */
  idleClockLater?: boolean | undefined;
  /** fd 0 and fd 1 carry no protocol (see `WorkerHostOptions`). */
  stdioFree?: boolean | undefined;
  log: Logger;
  /** The level the worker logs at, its tools' console output included; default `log`'s. */
  logLevel?: LogLevel | undefined;
  /** Called once, when the worker has ended. */
  onEnd: (worker: ToolWorker, end: WorkerEnd) => void;
  /** Asks for each tool's `tools/list` entry in `loaded` (the listing cache's probe). */
  describe?: boolean | undefined;
  /** Milliseconds each file may take to import; default 10 000. */
  loadTimeoutMs?: number | undefined;
  /** Called with what the worker found in its files, once all are imported. */
  onLoaded?: ((tools: LoadedTool[]) => void) | undefined;
}

/** Aborts one call on a worker. */
export interface CallHandle {
  abort(reason: unknown): void;
}

/** One call on a worker, and its handle: one object a call, the hot path allocates little. */
class PendingCall implements CallHandle {
  sent = false;
  grace: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    readonly id: number,
    readonly args: Record<string, unknown>,
    readonly tool: WorkerTool,
    readonly context: ToolContext,
    readonly done: (result: CallToolResult) => void,
    readonly onAbort: (call: PendingCall, reason: unknown) => void,
  ) {}

  abort(reason: unknown): void {
    this.onAbort(this, reason);
  }
}

const ENDED: CallHandle = { abort: () => {} };

/** One worker and the calls in flight on it. Throws from the constructor when it cannot start. */
export class ToolWorker {
  readonly #worker: Worker;
  readonly #options: ToolWorkerOptions;
  readonly #calls = new Map<number, PendingCall>();
  readonly #loadErrors = new Map<string, string>();
  #queue: PendingCall[] = [];
  #flushQueued = false;
  /** The tools whose file the worker has been told (`sources`). */
  readonly #told = new Set<string>();
  /** The client the worker was told last (`ctx.client`), and as JSON. */
  #client: ClientInfo | undefined;
  #clientJson = "";
  #ended = false;
  #retired = false;
  #nextId = 1;
  /** Armed while the worker has no calls (re-armed, not replaced, when calls come and go). */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the worker last ran out of calls, in `performance.now()` ms. */
  #idleSince = 0;
  readonly #abortCall = (call: PendingCall, reason: unknown) =>
    this.#abort(call, reason);

  constructor(options: ToolWorkerOptions) {
    this.#options = options;
    this.#worker = new Worker(options.entry, {
      type: "module",
      name: `tooldrop ${options.files.map((f) => f.stem).join(", ")}`
        .slice(0, 80),
      deno: { permissions: options.permissions },
    });
    this.#worker.addEventListener("message", (event) => {
      this.#receive((event as MessageEvent<unknown>).data);
    });
    this.#worker.addEventListener("error", (event) => {
      event.preventDefault(); // else it is thrown again in this thread
      const why = firstLine(event.message ?? "an error");
      this.#end({ kind: "failed", busy: this.#calls.size > 0 }, why);
    });
    this.#worker.addEventListener("messageerror", () => {
      options.log.warn(
        `A message from the worker of ${this.#names()} could not be read`,
      );
    });
    // The worker logs at the server's level (`logLevel`: an optional field of `load`).
    const load = {
      type: "load",
      files: options.files,
      logLevel: options.logLevel ?? options.log.level,
      ...(options.describe ? { describe: true } : {}),
      ...(options.stdioFree ? { stdioFree: true } : {}),
      ...(options.declared !== undefined ? { declared: options.declared } : {}),
      ...(options.loadTimeoutMs
        ? { loadTimeoutMs: options.loadTimeoutMs }
        : {}),
    } as const;
    this.#post(load);
    // Started ahead of its first call (pre-warmed), it must not live forever without one.
    this.#idleSince = performance.now();
    if (!options.idleClockLater) this.startIdleClock();
  }

  /** Arms the idle timer, unless it is armed, calls are in flight, or there is no idle time. */
  startIdleClock(): void {
    const idleMs = this.#options.idleMs;
    if (
      idleMs === undefined || this.#idleTimer !== undefined ||
      this.#calls.size > 0 || this.#ended
    ) return;
    this.#armIdle(
      Math.max(1, Math.ceil(this.#idleSince + idleMs - performance.now())),
    );
  }

  /** Runs one call; resolves to its result, never rejects. Aborted by `context.signal`. */
  run(
    tool: WorkerTool,
    args: Record<string, unknown>,
    context: ToolContext,
  ): Promise<CallToolResult> {
    const { promise, resolve } = Promise.withResolvers<CallToolResult>();
    const signal = context.signal;
    if (!this.#ended && signal.aborted) {
      resolve(errorResult(abortText(signal.reason)));
      return promise;
    }
    let handle = ENDED;
    const onAbort = () => handle.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    handle = this.start(tool, args, context, (result) => {
      signal.removeEventListener("abort", onAbort);
      resolve(decodeStrings(result));
    });
    return promise;
  }

  /**
   * Starts one call: `done` gets its result once (perhaps before this returns); the handle
   * aborts it. `context.signal` is not read. A big string of the result may be an
   * `EncodedString` (server/json_line.ts), which the server's writer writes as it is: `done`
   * must write the result, not read it (`run` gives it with strings).
   */
  start(
    tool: WorkerTool,
    args: Record<string, unknown>,
    context: ToolContext,
    done: (result: CallToolResult) => void,
  ): CallHandle {
    if (this.#ended) {
      done(errorResult(`Cannot run tool "${tool.name}": its worker ended`));
      return ENDED;
    }
    const id = this.#nextId++;
    const call = new PendingCall(
      id,
      args,
      tool,
      context,
      done,
      this.#abortCall,
    );
    this.#calls.set(id, call);
    const loadError = this.#loadErrors.get(tool.source);
    if (loadError !== undefined) {
      this.#settle(call, errorResult(loadError));
      return ENDED;
    }
    this.#queue.push(call);
    // Sent at once, not after `loaded`: the worker imports the tool's file first. Sent at the
    // end of this turn of the event loop rather than of this task: HTTP requests come one task
    // each, and a message to a worker costs far more than the calls it carries (a 2026-era
    // call over HTTP spent most of its time posting), so calls arriving together leave together.
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => {
        if (this.#flushQueued) this.#flush();
      });
    }
    return call;
  }

  /** The files it imported. */
  get files(): readonly ToolFile[] {
    return this.#options.files;
  }

  /** Takes no new calls; stops once the calls in flight have ended. */
  retire(): void {
    this.#retired = true;
    if (this.#calls.size === 0) this.#end({ kind: "idle", busy: false });
  }

  /** Terminates the worker; every call in flight ends with an error saying why. */
  close(): void {
    this.#end({ kind: "closed", busy: this.#calls.size > 0 });
  }

  /** Sends the queued calls as one `calls` message, packed. */
  #flush(): void {
    this.#flushQueued = false;
    const queue = this.#queue;
    this.#queue = [];
    const packed: PackedCalls = [];
    const sources: string[] = [];
    for (const call of queue) {
      if (this.#calls.has(call.id)) {
        call.sent = true;
        const { name, source } = call.tool;
        const client = call.context.client;
        if (client !== this.#client) {
          // A legacy session's client is one object; a 2026 request's is new each time.
          this.#client = client;
          const json = JSON.stringify(client);
          if (json !== this.#clientJson) {
            this.#clientJson = json;
            packed.push(CLIENT_MARK, client);
          }
        }
        packed.push(call.id, name, call.args);
        if (!this.#told.has(name)) {
          this.#told.add(name);
          sources.push(name, source);
        }
      }
    }
    if (packed.length > 0 && !this.#ended) {
      this.#post(
        sources.length > 0
          ? { type: "calls", packed, sources }
          : { type: "calls", packed },
      );
    }
  }

  #abort(call: PendingCall, reason: unknown): void {
    if (!this.#calls.has(call.id)) return;
    if (!call.sent) {
      // It never reached the worker: it ends now.
      this.#queue = this.#queue.filter((queued) => queued !== call);
      return this.#settle(call, errorResult(abortText(reason)));
    }
    // One still waiting for its file ends at the worker's next turn; a worker stuck importing
    // (a loop at a tool's top level) is stopped after the grace, as one stuck in a call.
    this.#post({
      type: "abort",
      id: call.id,
      name: reasonName(reason) === "TimeoutError"
        ? "TimeoutError"
        : "AbortError",
      message: abortText(reason),
    });
    call.grace = setTimeout(() => {
      this.#end({ kind: "stuck", tool: call.tool, busy: true });
    }, this.#options.graceMs);
  }

  #receive(data: unknown): void {
    if (this.#ended || !isPlainObject(data)) return;
    const message = data as FromWorker;
    switch (message.type) {
      case "turn":
        return this.#onTurn(message);
      case "loaded":
        return this.#onLoaded(message.tools);
      case "exit":
        return this.#end(
          { kind: "exit", busy: this.#calls.size > 0 },
          exitText(message.how, message.code),
        );
    }
  }

  /** What one turn of the worker produced, in order: dropped logs, notes, asks, results. */
  #onTurn(turn: Extract<FromWorker, { type: "turn" }>): void {
    if (Array.isArray(turn.dropped)) this.#onDropped(turn.dropped);
    if (Array.isArray(turn.notes)) this.#onNotes(turn.notes);
    const asks = turn.asks;
    if (Array.isArray(asks)) {
      for (let i = 0; i + 3 < asks.length; i += 4) {
        void this.#answer(
          asks[i] as number,
          asks[i + 1] as number,
          asks[i + 2] as string,
          asks[i + 3] as Record<string, unknown>,
        );
      }
    }
    if (Array.isArray(turn.results)) {
      for (const { id, result } of turn.results) {
        const call = this.#calls.get(id);
        if (call) this.#settle(call, this.#resultOf(call, result));
      }
    }
    if (Array.isArray(turn.packed)) this.#onPacked(turn.packed);
    // Handled: the worker may send the logs and progress it holds meanwhile.
    if (turn.ack && !this.#ended) this.#post({ type: "ack" });
    // The calls these results made room for leave now, before the replies are written: the
    // worker runs them while this thread writes.
    if (this.#flushQueued) this.#flush();
  }

  #onDropped(dropped: Array<number | LogLevel>): void {
    for (let i = 0; i + 2 < dropped.length; i += 3) {
      const call = this.#calls.get(dropped[i] as number);
      const level = dropped[i + 1];
      const count = dropped[i + 2] as number;
      if (!call || !isLogLevel(level) || !(count > 0)) continue;
      const context = call.context as Partial<RemoteContext>;
      if (typeof context.logsDropped === "function") {
        context.logsDropped(level, count);
      } else {
        call.context.log(
          level,
          `${count} log message(s) dropped: the tool logged faster than the server's thread took them`,
        );
      }
    }
  }

  #onNotes(notes: Notes): void {
    for (let i = 0; i + 3 < notes.length; i += 4) {
      const context = this.#calls.get(notes[i] as number)?.context;
      if (!context) continue;
      const field = notes[i + 1];
      if (typeof field === "string") {
        context.log(field as LogLevel, notes[i + 2] as string);
      } else {
        context.progress(
          field as number,
          notes[i + 2] as number | undefined,
          notes[i + 3] as string | undefined,
        );
      }
    }
  }

  #onPacked(packed: PackedResults): void {
    for (let i = 0; i + 1 < packed.length; i += 2) {
      const call = this.#calls.get(packed[i] as number);
      if (!call) continue;
      const result = packed[i + 1];
      this.#settle(
        call,
        typeof result === "string"
          ? { content: [{ type: "text", text: result }] }
          : this.#resultOf(call, result),
      );
    }
  }

  /** A result from the worker, its big strings as `EncodedString`s; an error when malformed. */
  #resultOf(call: PendingCall, result: unknown): CallToolResult {
    return checkedResult(
      call.tool,
      isEncoded(result) ? placeEncoded(result as EncodedResult) : result,
    );
  }

  /** What every file held: a later call of a tool whose file failed is answered here. */
  #onLoaded(tools: LoadedTool[]): void {
    for (const tool of Array.isArray(tools) ? tools : []) {
      if ("error" in tool) this.#loadErrors.set(tool.source, tool.error);
    }
    this.#options.onLoaded?.(Array.isArray(tools) ? tools : []);
  }

  /** Asks the client what a tool asked, for call `id`, and tells the worker the answer. */
  async #answer(
    id: number,
    request: number,
    method: string,
    params: Record<string, unknown>,
  ): Promise<void> {
    const context = this.#calls.get(id)?.context as
      | Partial<RemoteContext>
      | undefined;
    let reply: ToWorker;
    try {
      if (!context) throw new Error("the call has ended");
      const result = method === "roots/list"
        ? await context.roots!() // legacy: cached while the client promises list_changed
        : typeof context.request === "function"
        ? await context.request(method, isPlainObject(params) ? params : {})
        : undefined;
      reply = { type: "answer", id, request, result };
    } catch (error) {
      const name = reasonName(error);
      reply = {
        type: "answer",
        id,
        request,
        // A ToolError's message is for the model as it is (the client refused, …).
        error: error instanceof DOMException || error instanceof ToolError
          ? error.message
          : describeError(error),
        ...(name === "AbortError" || name === "TimeoutError" ? { name } : {}),
      };
    }
    if (!this.#ended) this.#post(reply);
  }

  /** Ends a call once with `result`. */
  #settle(call: PendingCall, result: CallToolResult): void {
    if (!this.#calls.delete(call.id)) return;
    if (call.grace !== undefined) clearTimeout(call.grace);
    call.done(result);
    if (this.#calls.size > 0 || this.#ended) return;
    const idleMs = this.#options.idleMs;
    if (this.#retired || idleMs === 0) this.#end({ kind: "idle", busy: false });
    else if (idleMs !== undefined) {
      this.#idleSince = performance.now();
      if (this.#idleTimer === undefined) this.#armIdle(idleMs);
    }
  }

  /**
   * Ends the worker once it has had no calls for `idleMs`. One timer, re-armed for what is left
   * when calls came and went meanwhile: a call does not cost a timer.
   */
  #armIdle(ms: number): void {
    const timer = setTimeout(() => {
      this.#idleTimer = undefined;
      const idleMs = this.#options.idleMs;
      if (this.#calls.size > 0 || this.#ended || idleMs === undefined) return;
      const left = this.#idleSince + idleMs - performance.now();
      if (left <= 0) this.#end({ kind: "idle", busy: false });
      else this.#armIdle(Math.ceil(left));
    }, ms);
    Deno.unrefTimer(timer); // an idle worker must not keep the process alive
    this.#idleTimer = timer;
  }

  /** Terminates the worker once; each call in flight ends with the error `end` explains. */
  #end(end: WorkerEnd, detail = ""): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#idleTimer);
    this.#worker.terminate();
    const calls = [...this.#calls.values()];
    const names = this.#names(calls);
    this.#queue = [];
    // First, so that a call started while these are told (their `done` may start the next
    // waiting call at once) goes to a new worker, not to this one.
    this.#options.onEnd(this, end);
    for (const call of calls) {
      this.#settle(
        call,
        errorResult(endText(end, call, names, detail, this.#options.graceMs)),
      );
    }
  }

  #post(message: ToWorker): void {
    try {
      this.#worker.postMessage(message);
    } catch (error) {
      this.#end(
        { kind: "failed", busy: this.#calls.size > 0 },
        `a message could not be sent to it: ${describeError(error)}`,
      );
    }
  }

  /** The quoted names of the tools of `calls` (else of the worker's files), for messages. */
  #names(calls: PendingCall[] = []): string {
    const names = calls.length > 0
      ? calls.map((call) => listedName(call.tool))
      : this.#options.files.map((file) => `"${file.stem}"`);
    return nameList([...new Set(names)]);
  }
}
