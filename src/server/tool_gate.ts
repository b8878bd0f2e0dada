/**
 * @module
 * The server's tools, which may still be on their way: until a promised tool set arrives, tool
 * requests are held in order (a cancelled one is dropped) and then served; when the tools never
 * come, the held requests, and later ones, are answered with -32603 saying why.
 */

import {
  idKey,
  INTERNAL_ERROR,
  JsonRpcError,
  type Message,
  type RequestId,
} from "./jsonrpc.ts";
import type { ToolSet } from "../tool/served.ts";
import { isThenable } from "../util/is.ts";

/** A request as parsed from its line. */
export type Request = Extract<Message, { kind: "request" }>;

/** Requests that need the tools, held while they load. */
const TOOL_METHODS = new Set([
  "tools/call",
  "tools/list",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
]);

/** What a {@link ToolGate} does with the requests it held. */
export interface ToolGateOptions {
  /** Serves a held request once the tools are there, in the order they came. */
  serve: (request: Request) => void;
  /** Answers a held request that will never be served. */
  fail: (id: RequestId, error: JsonRpcError) => void;
  /** Hears that the promised tools failed to load, after the held requests were answered. */
  loadFailed: (error: unknown) => void;
}

/** The current tools, or the requests waiting for them; see the module documentation. */
export class ToolGate {
  /** Settles once the promised tools have arrived or failed (at once for a tool set). */
  readonly loaded: Promise<void>;
  readonly #options: ToolGateOptions;
  /** Undefined until the tools have arrived. */
  #tools: ToolSet | undefined;
  /** Tool requests that arrived before the tools, in order; undefined once they came. */
  #held: Request[] | undefined;
  #unavailable = "the server has no tools";

  constructor(tools: ToolSet | Promise<ToolSet>, options: ToolGateOptions) {
    this.#options = options;
    if (isThenable<ToolSet>(tools)) {
      this.#held = [];
      this.loaded = Promise.resolve(tools).then(
        (set) => this.set(set),
        (error) => {
          this.release("the server's tools failed to load (see its log)");
          options.loadFailed(error);
        },
      );
    } else {
      this.#tools = tools;
      this.loaded = Promise.resolve();
    }
  }

  /** True while the promised tools are still on their way. */
  get loading(): boolean {
    return this.#held !== undefined;
  }

  /** Tool requests waiting for the tools. */
  get waiting(): number {
    return this.#held?.length ?? 0;
  }

  /** Holds `request` when it needs tools still on their way; false when it may be served now. */
  hold(request: Request): boolean {
    if (!this.#held || !TOOL_METHODS.has(request.method)) return false;
    this.#held.push(request);
    return true;
  }

  /** Forgets a held request the client cancelled; it gets no reply. */
  drop(id: RequestId): boolean {
    const at =
      this.#held?.findIndex((request) => idKey(request.id) === idKey(id)) ?? -1;
    if (at < 0) return false;
    this.#held!.splice(at, 1);
    return true;
  }

  /** The tools; throws -32603 when they never will be there. */
  current(): ToolSet {
    if (!this.#tools) {
      throw new JsonRpcError(
        INTERNAL_ERROR,
        `Internal error: ${this.#unavailable}`,
      );
    }
    return this.#tools;
  }

  /** Sets (or replaces) the tools, and serves the requests held for them. */
  set(tools: ToolSet): void {
    this.#tools = tools;
    const held = this.#held;
    this.#held = undefined;
    if (held) { for (const request of held) this.#options.serve(request); }
  }

  /** Answers every held request with -32603 saying why; later ones get the same. */
  release(why: string): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    this.#unavailable = why;
    for (const { id } of held) {
      this.#options.fail(
        id,
        new JsonRpcError(INTERNAL_ERROR, `Internal error: ${why}`),
      );
    }
  }
}
