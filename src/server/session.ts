/**
 * @module
 * The legacy (`initialize`) session of a connection: the negotiated version, what the client
 * can do, the log level it set, and the requests the server sends it (`roots/list`), whose
 * responses come back on stdin and are matched by id.
 */

import { type ClientHello, LATEST_LEGACY_VERSION } from "./protocol.ts";
import { legacyScope, type RequestScope } from "./era.ts";
import { textOf } from "../util/describe.ts";
import { idKey, type RequestId } from "./jsonrpc.ts";
import type { LogLevel } from "../util/log.ts";
import { type ClientInfo, type Root, ToolError } from "../tool/tool.ts";

/** How long the client gets to answer a request from the server. */
export const CLIENT_REQUEST_TIMEOUT_MS = 10_000;
/** Requests to the client that may wait for an answer at once; more are refused. */
const MAX_PENDING_CLIENT_REQUESTS = 256;

interface Pending {
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
}

/** State of the legacy session; see the module documentation. */
export class Session {
  /** Set once `initialize` has been answered. */
  hello: ClientHello | undefined;
  /** The client as tools see it (`ctx.client`): nothing declared before `initialize`. */
  client: ClientInfo = clientInfo(undefined, {});
  /** The scope of legacy requests without `_meta`, for the negotiated (or latest) version. */
  plainScope: RequestScope = legacyScope(LATEST_LEGACY_VERSION);
  /**
   * Set by `logging/setLevel`: send tool logs at this level and above as notifications; until
   * then `info` and above go (the spec leaves the default to the server, and a client that
   * never sets a level would otherwise never see a tool's log).
   */
  logLevel: LogLevel | undefined;
  readonly #send: (line: string) => void;
  readonly #pending = new Map<string | number | bigint, Pending>();
  #nextId = 1;
  #roots: Promise<Root[] | undefined> | undefined;

  constructor(send: (line: string) => void) {
    this.#send = send;
  }

  /** Records a successful `initialize`. */
  initialized(hello: ClientHello, version: string): void {
    this.hello = hello;
    this.client = clientInfo(hello.clientInfo, hello.capabilities);
    this.plainScope = legacyScope(version);
    this.#roots = undefined;
  }

  /** The client's roots, asked once and cached while it promises to tell us of changes. */
  roots(signal: AbortSignal): Promise<Root[] | undefined> {
    const capability = this.hello?.capabilities.roots;
    if (typeof capability !== "object" || capability === null) {
      return Promise.resolve(undefined);
    }
    const cacheable =
      (capability as { listChanged?: unknown }).listChanged === true;
    if (cacheable && this.#roots) return this.#roots;
    const roots = this.request("roots/list", {}, signal).then(readRoots);
    if (cacheable) {
      this.#roots = roots;
      roots.catch(() => this.#roots = undefined);
    }
    return roots;
  }

  /** `notifications/roots/list_changed`: the next `roots()` asks again. */
  rootsChanged(): void {
    this.#roots = undefined;
  }

  /**
   * Sends a request to the client; rejects with a `ToolError` on error, abort, or no answer
   * within `timeoutMs` (undefined: the caller's signal alone bounds the wait, as for a question
   * a person answers).
   */
  request(
    method: string,
    params: Record<string, unknown>,
    signal: AbortSignal,
    timeoutMs: number | undefined = CLIENT_REQUEST_TIMEOUT_MS,
  ): Promise<unknown> {
    if (this.#pending.size >= MAX_PENDING_CLIENT_REQUESTS) {
      return Promise.reject(
        new ToolError(
          `Too many requests to the client at once (${MAX_PENDING_CLIENT_REQUESTS}); await one before sending another`,
        ),
      );
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const id = `tooldrop-${this.#nextId++}`;
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#pending.delete(id);
      };
      // The client may be showing the user a form for it: tell it the answer is not awaited.
      const cancel = (reason: string) =>
        this.#send(
          JSON.stringify({
            jsonrpc: "2.0",
            method: "notifications/cancelled",
            params: { requestId: id, reason },
          }),
        );
      const onAbort = () => {
        finish();
        cancel("The tool's call ended");
        reject(signal.reason);
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        finish();
        cancel(`No answer within ${timeoutMs} ms`);
        reject(
          new ToolError(
            `The client did not answer "${method}" within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, {
        resolve: (result) => (finish(), resolve(result)),
        reject: (error) => (finish(), reject(error)),
      });
      this.#send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  /** Routes a response from the client; false when no request of ours has that id. */
  handleResponse(id: RequestId, result: unknown, error: unknown): boolean {
    const pending = this.#pending.get(idKey(id));
    if (!pending) return false;
    if (error !== undefined) {
      const message = typeof error === "object" && error !== null
        ? (error as { message?: unknown }).message
        : error;
      pending.reject(
        new ToolError(
          `The client refused: ${textOf(message ?? "no reason given", 200)}`,
        ),
      );
    } else pending.resolve(result);
    return true;
  }
}

/** A client's name, version and capabilities as `ctx.client` gives them. */
export function clientInfo(
  info: { name?: unknown; version?: unknown } | undefined,
  capabilities: Record<string, unknown>,
): ClientInfo {
  return {
    name: typeof info?.name === "string" ? info.name : undefined,
    version: typeof info?.version === "string" ? info.version : undefined,
    capabilities,
  };
}

/** The roots of a `roots/list` result; throws a `ToolError` when it has none. */
export function readRoots(result: unknown): Root[] {
  const roots = (result as { roots?: unknown } | null)?.roots;
  if (!Array.isArray(roots)) {
    throw new ToolError(`The client's roots/list result has no "roots" array`);
  }
  return roots.filter((r): r is Root => typeof r?.uri === "string").map((r) =>
    typeof r.name === "string" ? { uri: r.uri, name: r.name } : { uri: r.uri }
  );
}
