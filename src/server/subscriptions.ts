/**
 * @module
 * `subscriptions/listen` (2026-07-28): long-lived requests over which the server sends the
 * notifications a client opted in to: a list that changed (tools, and prompts or resources when
 * the server serves them) and resources that changed (`resourceSubscriptions`, at most 256 URIs a
 * stream). Its acknowledgement names what it will carry.
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
import type { ServedKinds, ServerInfo } from "./protocol.ts";
import { isPlainObject } from "../util/is.ts";

const SUBSCRIPTION_KEY = "io.modelcontextprotocol/subscriptionId";

/** The list-changed notifications a stream may ask for. */
export type ListFilter =
  | "toolsListChanged"
  | "promptsListChanged"
  | "resourcesListChanged";

/**
 * Resource URIs one connection may be subscribed to at once, legacy and on streams together:
 * each may hold a file watcher and a hook running in a worker.
 */
export const MAX_RESOURCE_SUBSCRIPTIONS = 256;

/** Characters of one subscribed URI (a longer one cannot name a resource anyone serves). */
export const MAX_URI_CHARS = 8 * 1024;

interface Stream {
  id: RequestId;
  lists: ReadonlySet<ListFilter>;
  uris: ReadonlySet<string>;
}

/** The open listen streams of a connection. */
export class Subscriptions {
  readonly #streams = new Map<string | number | bigint, Stream>();
  /** Legacy `resources/subscribe`. */
  readonly #legacy = new Set<string>();
  readonly #send: (line: string) => void;
  readonly #max: number;
  readonly #serves: ServedKinds;
  readonly #urisChanged: () => void;

  /**
   * `max`: streams open at once; one more is refused with -32603. `serves`: what the server
   * serves besides tools (what a stream may ask for). `urisChanged`: told when the set of
   * subscribed resource URIs may have changed.
   */
  constructor(
    send: (line: string) => void,
    max: number,
    serves: ServedKinds = { prompts: false, resources: false },
    urisChanged: () => void = () => {},
  ) {
    this.#send = send;
    this.#max = max;
    this.#serves = serves;
    this.#urisChanged = urisChanged;
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
    const requested = filter.resourceSubscriptions;
    if (
      requested !== undefined &&
      (!Array.isArray(requested) ||
        !requested.every((uri) =>
          typeof uri === "string" && uri !== "" && uri.length <= MAX_URI_CHARS
        ))
    ) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: "resourceSubscriptions" must be an array of resource URIs`,
      );
    }
    const uris = new Set(requested as string[] | undefined);
    this.#checkRoom(uris);
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
    // Only what the server serves is honoured; the acknowledgement says what that is.
    const offered: Record<ListFilter, boolean> = {
      toolsListChanged: true,
      promptsListChanged: this.#serves.prompts,
      resourcesListChanged: this.#serves.resources,
    };
    const lists = new Set(
      (Object.keys(offered) as ListFilter[]).filter((name) =>
        offered[name] && filter[name] === true
      ),
    );
    const honoured = this.#serves.resources ? uris : new Set<string>();
    this.#streams.set(key, { id, lists, uris: honoured });
    this.#send(notificationLine("notifications/subscriptions/acknowledged", {
      _meta: { [SUBSCRIPTION_KEY]: id },
      notifications: {
        ...Object.fromEntries([...lists].map((name) => [name, true])),
        ...(honoured.size > 0 ? { resourceSubscriptions: [...honoured] } : {}),
      },
    }));
    if (honoured.size > 0) this.#urisChanged();
  }

  /**
   * `resources/subscribe` (legacy era): throws -32602 past the connection's bound. Subscribing
   * twice is one subscription.
   */
  subscribeLegacy(uri: string): void {
    this.#checkRoom(new Set([uri]));
    this.#legacy.add(uri);
    this.#urisChanged();
  }

  /** `resources/unsubscribe` (legacy era); a URI not subscribed is no error. */
  unsubscribeLegacy(uri: string): void {
    if (this.#legacy.delete(uri)) this.#urisChanged();
  }

  /** Whether the legacy session is subscribed to `uri`. */
  legacyHas(uri: string): boolean {
    return this.#legacy.has(uri);
  }

  /** Throws -32602 when subscribing to `more` would pass MAX_RESOURCE_SUBSCRIPTIONS. */
  #checkRoom(more: ReadonlySet<string>): void {
    const all = this.uris();
    for (const uri of more) all.add(uri);
    if (all.size > MAX_RESOURCE_SUBSCRIPTIONS) {
      throw new JsonRpcError(
        INVALID_PARAMS,
        `Invalid params: at most ${MAX_RESOURCE_SUBSCRIPTIONS} resource subscriptions on a connection; unsubscribe from some first`,
      );
    }
  }

  /** The client cancelled a stream: it ends without a reply. False when no such stream. */
  cancel(id: RequestId): boolean {
    const stream = this.#streams.get(idKey(id));
    if (!stream) return false;
    this.#streams.delete(idKey(id));
    if (stream.uris.size > 0) this.#urisChanged();
    return true;
  }

  /** Tells every stream that asked for it that a list changed. */
  listChanged(filter: ListFilter): void {
    const method = LIST_METHODS[filter];
    for (const stream of this.#streams.values()) {
      if (stream.lists.has(filter)) {
        this.#send(notificationLine(method, {
          _meta: { [SUBSCRIPTION_KEY]: stream.id },
        }));
      }
    }
  }

  /** Tells every stream subscribed to `uri` that the resource changed. */
  resourceUpdated(uri: string): void {
    for (const stream of this.#streams.values()) {
      if (stream.uris.has(uri)) {
        this.#send(notificationLine("notifications/resources/updated", {
          _meta: { [SUBSCRIPTION_KEY]: stream.id },
          uri,
        }));
      }
    }
  }

  /** Every resource URI subscribed to, legacy or on a stream. */
  uris(): Set<string> {
    const all = new Set<string>(this.#legacy);
    for (const stream of this.#streams.values()) {
      for (const uri of stream.uris) all.add(uri);
    }
    return all;
  }

  /** At shutdown: ends every stream gracefully with its (only) reply. */
  closeAll(info: ServerInfo): void {
    for (const stream of this.#streams.values()) {
      const result = completeResult({
        _meta: { [SUBSCRIPTION_KEY]: stream.id },
      }, info);
      this.#send(resultLine(stream.id, JSON.stringify(result)));
    }
    const had = this.uris().size > 0;
    this.#streams.clear();
    if (had) this.#urisChanged();
  }
}

const LIST_METHODS: Record<ListFilter, string> = {
  toolsListChanged: "notifications/tools/list_changed",
  promptsListChanged: "notifications/prompts/list_changed",
  resourcesListChanged: "notifications/resources/list_changed",
};
