/**
 * @module
 * What one connection holds and how it answers: the writer, the session (legacy era), the open
 * subscriptions, the running calls and the tools, wired together; and the reply helpers every
 * handler uses, with the one place an error becomes a reply.
 */

import { CallRunner } from "./call_runner.ts";
import { completeResult, type RequestScope } from "./era.ts";
import { jsonLine } from "./json_line.ts";
import {
  errorLine,
  INTERNAL_ERROR,
  JsonRpcError,
  notificationLine,
  type RequestId,
  resultHead,
  resultLine,
} from "./jsonrpc.ts";
import {
  type ServedKinds,
  serverCapabilities,
  type ServerInfo,
} from "./protocol.ts";
import { clientInfo, Session } from "./session.ts";
import { Subscriptions } from "./subscriptions.ts";
import type { FileWatcher, ResourceUpdates } from "./resource_updates.ts";
import { type Request, ToolGate } from "./tool_gate.ts";
import { type ByteSink, LineWriter, type TextSink } from "./writer.ts";
import type { CallToolResult } from "../tool/tool.ts";
import type { ToolSet } from "../tool/served.ts";
import { describeError } from "../util/describe.ts";
import type { Logger } from "../util/log.ts";

/**
 * Characters queued for stdout above which reading pauses (and calls wait to start) until they
 * are written. Small, so a client that sends faster than it reads cannot make the server hold
 * much: replies wait in the pipe, requests in the client.
 */
export const WRITE_HIGH_WATER = 1024 * 1024;
/** Subscriptions (`subscriptions/listen`) a client may hold open at once. */
const MAX_SUBSCRIPTIONS = 1024;

/** The lists a client may be told changed, and how to tell. */
const LIST_KINDS = [
  {
    capability: "tools",
    filter: "toolsListChanged",
    of: (set: ToolSet): unknown => set.tools,
    line: `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`,
  },
  {
    capability: "prompts",
    filter: "promptsListChanged",
    of: (set: ToolSet): unknown => set.prompts.prompts,
    line: `{"jsonrpc":"2.0","method":"notifications/prompts/list_changed"}`,
  },
  {
    capability: "resources",
    filter: "resourcesListChanged",
    of: (set: ToolSet): unknown => set.resources.resources,
    line: `{"jsonrpc":"2.0","method":"notifications/resources/list_changed"}`,
  },
] as const;

/** A connection's settings, defaults applied (see `ServeOptions`). */
export interface ConnectionOptions {
  writable: ByteSink | TextSink;
  tools: ToolSet | Promise<ToolSet>;
  info: ServerInfo;
  instructions: string | undefined;
  listTtlMs: number;
  log: Logger;
  maxConcurrentCalls: number;
  /** Serves a tool request that waited for the tools, once they are there. */
  serveHeld: (request: Request) => void;
  /** What the server serves besides tools (see `ServeOptions.serves`). */
  serves: ServedKinds;
  /** Watches the files resources name in `watch` (see `ServeOptions.watchFiles`). */
  watchFiles?: FileWatcher | undefined;
  /** Marks log notifications with their request's id (see `ServeOptions.tagLogs`). */
  tagLogs?: boolean | undefined;
  /** Signs request states (see `ServeOptions.stateKey`). */
  stateKey?: Uint8Array<ArrayBuffer> | undefined;
}

/** One client's connection; see the module documentation. */
export class Connection {
  readonly info: ServerInfo;
  readonly instructions: string | undefined;
  readonly listTtlMs: number;
  /** What `initialize` and `server/discover` advertise. */
  readonly capabilities: Record<string, unknown>;
  readonly log: Logger;
  readonly writer: LineWriter;
  readonly session: Session;
  readonly subscriptions: Subscriptions;
  /**
   * Resource subscriptions, both eras (loaded when first needed: a server of tools alone never
   * loads them); undefined when the server serves no resources.
   */
  readonly resourceUpdates: Promise<ResourceUpdates> | undefined;
  readonly calls: CallRunner;
  readonly tools: ToolGate;
  /** Aborts when serving must stop: the client closed stdout, or the tools failed to load. */
  readonly stop: AbortController = new AbortController();
  /** The 2026-era `tools/list` result for a tool set, built once per set. */
  modernList: { tools: ToolSet; json: string } | undefined;
  /** Requests being answered outside `calls` (a handler still loading): shutdown waits. */
  readonly #answering = new Set<Promise<unknown>>();

  constructor(options: ConnectionOptions) {
    this.info = options.info;
    this.instructions = options.instructions;
    this.listTtlMs = options.listTtlMs;
    this.capabilities = serverCapabilities(options.serves);
    const log = this.log = options.log;
    this.writer = new LineWriter(options.writable, (error) => {
      log.info(
        `Stopping: the client closed its end of stdout (${errorName(error)})`,
      );
      this.stop.abort();
    });
    const send = (line: string) => this.writer.send(line);
    this.session = new Session(send);
    this.resourceUpdates = options.serves.resources
      ? import("./resource_updates.ts").then(({ ResourceUpdates }) =>
        new ResourceUpdates({
          resources: () => {
            try {
              return this.tools.loading
                ? undefined
                : this.tools.current().resources;
            } catch {
              return undefined; // they failed to load
            }
          },
          subscribed: () => this.subscriptions.uris(),
          notify: (uri) => {
            if (this.subscriptions.legacyHas(uri) && this.session.hello) {
              send(
                notificationLine("notifications/resources/updated", { uri }),
              );
            }
            this.subscriptions.resourceUpdated(uri);
          },
          watchFiles: options.watchFiles,
          log,
        })
      )
      : undefined;
    this.subscriptions = new Subscriptions(
      send,
      MAX_SUBSCRIPTIONS,
      options.serves,
      () => this.#withUpdates((updates) => updates.sync()),
    );
    this.calls = new CallRunner({
      maxConcurrent: options.maxConcurrentCalls,
      log,
      respond: (id, result, scope) => this.replyResult(id, result, scope),
      respondInput: (id, body, _scope) =>
        this.writer.send(
          resultLine(
            id,
            JSON.stringify(completeResult(body, this.info, "input_required")),
          ),
        ),
      mayStart: () => this.writer.backlog <= WRITE_HIGH_WATER,
      outputDrained: () => this.writer.drained(),
      notify: (line, key) => this.writer.send(line, key),
      notifyLog: (line) => this.writer.sendLog(line, logsDroppedNote),
      tagLogs: options.tagLogs ?? false,
      stateKey: options.stateKey,
      notifyLogsDropped: (count) =>
        this.writer.dropLogs(count, logsDroppedNote),
      clientLogLevel: (scope) =>
        scope.modern ? scope.logLevel : this.session.logLevel ?? "info",
      roots: (_scope, signal) => this.session.roots(signal),
      request: (method, params, signal) =>
        this.session.request(method, params, signal, undefined),
      clientOf: (scope) =>
        scope.modern
          ? clientInfo(scope.clientInfo, scope.clientCapabilities ?? {})
          : this.session.client,
    });
    this.tools = new ToolGate(options.tools, {
      serve: options.serveHeld,
      fail: (id, error) => this.fail(id, error),
      loadFailed: (error) => {
        log.debug(`Tools failed to load: ${errorName(error)}`);
        this.stop.abort();
      },
    });
    // Subscriptions made while the resources loaded watch them now.
    void this.tools.loaded.then(() =>
      this.#withUpdates((updates) => updates.resourcesChanged(false))
    );
  }

  /** Counts `work` (answering a request) until it settles: input ending does not lose it. */
  answering(work: Promise<unknown>): void {
    this.#answering.add(work);
    void work.finally(() => this.#answering.delete(work));
  }

  /** Settles once every request being answered outside `calls` has been (new ones too). */
  async answered(): Promise<void> {
    while (this.#answering.size > 0) await Promise.allSettled(this.#answering);
  }

  /** Takes each new tool set (the dev loop) and tells the client; ends with `signal`. */
  async followUpdates(
    updates: AsyncIterable<ToolSet>,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      for await (const tools of updates) {
        if (signal.aborted) return;
        const before = this.tools.current();
        this.tools.set(tools);
        // Each list that changed is told (a set keeps the arrays of the kinds that did not).
        for (const kind of LIST_KINDS) {
          if (!this.#serves(kind) || kind.of(before) === kind.of(tools)) {
            continue;
          }
          if (this.session.hello) this.writer.send(kind.line);
          this.subscriptions.listChanged(kind.filter);
          if (kind.capability === "resources") {
            this.#withUpdates((updates) => updates.resourcesChanged());
          }
        }
      }
    } catch (error) {
      this.log.error("Tool updates stopped", error);
    }
  }

  /** Runs `fn` on the resource subscriptions, once loaded; a failure is logged, never thrown. */
  #withUpdates(fn: (updates: ResourceUpdates) => void): void {
    this.resourceUpdates?.then(fn).catch((error) =>
      this.log.error("Resource subscriptions failed", error)
    );
  }

  /** Whether the server advertises the list `kind` is of. */
  #serves(kind: (typeof LIST_KINDS)[number]): boolean {
    return kind.capability in this.capabilities;
  }

  /** Replies with a result object, marked complete and signed for a 2026-era request. */
  replyResult(
    id: RequestId,
    result: CallToolResult | Record<string, unknown>,
    scope: RequestScope,
  ): void {
    const body = scope.modern
      ? completeResult(result as Record<string, unknown>, this.info)
      : result;
    // A big text or image is escaped as it is written, never copied into one reply string.
    this.writer.send(jsonLine(resultHead(id), body, "}"));
  }

  /** Replies with a result given as JSON text. */
  replyJson(id: RequestId, resultJson: string): void {
    this.writer.send(resultLine(id, resultJson));
  }

  /** The one place an error becomes a reply: JSON-RPC errors as they are, the rest -32603. */
  fail(id: RequestId | null, error: unknown): void {
    if (!(error instanceof JsonRpcError)) {
      this.log.error("Internal error while handling a request", error);
      error = new JsonRpcError(
        INTERNAL_ERROR,
        "Internal error: the server failed to handle this request",
      );
    }
    this.writer.send(errorLine(id, error as JsonRpcError));
  }
}

/** The note that replaces log notifications dropped because the client read them too slowly. */
function logsDroppedNote(dropped: number): string {
  return notificationLine("notifications/message", {
    level: "warning",
    logger: "tooldrop",
    data:
      `${dropped} log message(s) dropped: tools logged faster than the client read`,
  });
}

function errorName(error: unknown): string {
  try {
    if (error instanceof Error) return error.name;
  } catch {
    // fall through
  }
  return describeError(error, 100);
}
