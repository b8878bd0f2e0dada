/**
 * @module
 * `subscriptions/listen` (2026-07-28): long-lived requests over which the server sends the
 * notifications a client opted in to. tooldrop has tools only, so it honours `toolsListChanged`.
 */

import {
  idKey,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  JsonRpcError,
  notificationLine,
  type Params,
  type RequestId,
  resultLine,
} from "./jsonrpc.ts";
import { completeResult } from "./era.ts";
import type { ServerInfo } from "./protocol.ts";
import { isPlainObject } from "../util/is.ts";

const SUBSCRIPTION_KEY = "io.modelcontextprotocol/subscriptionId";

interface Stream {
  id: RequestId;
  toolsListChanged: boolean;
}

/** The open listen streams of a connection. */
export class Subscriptions {
  readonly #streams = new Map<string | number | bigint, Stream>();
  readonly #send: (line: string) => void;
  readonly #max: number;

  /** `max`: streams open at once; one more is refused with -32603. */
  constructor(send: (line: string) => void, max: number) {
    this.#send = send;
    this.#max = max;
  }

  /** Opens a stream and acknowledges what it will carry; throws -32602 for a bad filter. */
  open(id: RequestId, params: Params | undefined): void {
    const filter = params?.notifications;
    if (
      !isPlainObject(filter)
    ) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "notifications" must be an object`,
      );
    }
    const key = idKey(id);
    if (this.#streams.has(key)) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        "Invalid params: a subscription with this id is already open",
      );
    }
    if (this.#streams.size >= this.#max) {
      throw new JsonRpcError(
        INTERNAL_ERROR,
        `Internal error: too many open subscriptions (${this.#max}); cancel one (notifications/cancelled) before opening another`,
      );
    }
    const toolsListChanged =
      (filter as { toolsListChanged?: unknown }).toolsListChanged === true;
    this.#streams.set(key, { id, toolsListChanged });
    this.#send(notificationLine("notifications/subscriptions/acknowledged", {
      _meta: { [SUBSCRIPTION_KEY]: id },
      notifications: toolsListChanged ? { toolsListChanged: true } : {},
    }));
  }

  /** The client cancelled a stream: it ends without a reply. False when no such stream. */
  cancel(id: RequestId): boolean {
    return this.#streams.delete(idKey(id));
  }

  /** Tells every stream that asked for it that the tool list changed. */
  toolsChanged(): void {
    for (const stream of this.#streams.values()) {
      if (stream.toolsListChanged) {
        this.#send(notificationLine("notifications/tools/list_changed", {
          _meta: { [SUBSCRIPTION_KEY]: stream.id },
        }));
      }
    }
  }

  /** At shutdown: ends every stream gracefully with its (only) reply. */
  closeAll(info: ServerInfo): void {
    for (const stream of this.#streams.values()) {
      const result = completeResult({
        _meta: { [SUBSCRIPTION_KEY]: stream.id },
      }, info);
      this.#send(resultLine(stream.id, JSON.stringify(result)));
    }
    this.#streams.clear();
  }
}
