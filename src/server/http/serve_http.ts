/**
 * @module
 * `serveHttp()`: MCP over Streamable HTTP at `/mcp`, both eras, with `Deno.serve`. A 2026-07-28
 * request (its version in `_meta`) is served statelessly by one shared connection; a legacy
 * client's `initialize` opens a session (`Mcp-Session-Id`) with a connection of its own.
 * Loopback by default; a foreign `Host` or `Origin` gets 403; with a token, a request without it
 * 401; CORS only for the origins configured; `/healthz` answers "ok" (and what is wrong after it).
 * (Over 300 lines: POST, GET and DELETE in both eras, the bounds on what waits, and shutdown all
 * act on the peers and sessions the endpoint holds; one class keeps that state in one place.)
 */

import {
  errorLine,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  JsonRpcError,
  type Message,
  notificationLine,
  type Params,
  parseMessage,
  type RequestId,
} from "../jsonrpc.ts";
import {
  MODERN_VERSIONS,
  SUPPORTED_VERSIONS,
  unsupportedVersion,
} from "../era.ts";
import {
  DEFAULT_SERVER_INFO,
  negotiateVersion,
  type ServerInfo,
} from "../protocol.ts";
import { DEFAULT_MAX_LINE_BYTES } from "../lines.ts";
import type { FileWatcher } from "../resource_updates.ts";
import type { ToolSet } from "../../tool/served.ts";
import { Logger } from "../../util/log.ts";
import { SSE_HEADERS } from "./event_stream.ts";
import {
  accepts,
  HEADER_MISMATCH,
  headerMismatch,
  HostGuard,
  paramHeaderMismatch,
  replyTypes,
} from "./guard.ts";
import { paramHeaders } from "../../tool/param_headers.ts";
import { BodyReader, DEFAULT_BODY_TIMEOUT_MS } from "./body.ts";
import { type AuthResult, BearerAuth, challenge } from "./auth.ts";
import {
  METADATA_PATH,
  type OAuthOptions,
  OAuthResource,
  RETRY_AFTER_SECONDS,
} from "./oauth.ts";
import { Cors } from "./cors.ts";
import { Peer, type PeerOptions } from "./peer.ts";
import { ToolUpdates } from "./tool_updates.ts";
import {
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_IDLE_MS,
  Sessions,
} from "./sessions.ts";

/**
 * The port `serve --http` listens on by default: 3748, absent from this system's
 * /etc/services and clear of the common development ports (3000, 5173, 8000, 8080) and of the
 * MCP inspector's (6274, 6277), so a second local server rarely collides with it.
 */
export const DEFAULT_HTTP_PORT = 3748;
/** The path of the MCP endpoint. */
export const MCP_PATH = "/mcp";

const VERSION_KEY = "io.modelcontextprotocol/protocolVersion";

/**
 * The first version whose SSE streams open with a priming event (an id and empty data, SEP-1699):
 * a client of an earlier one reads every event's data as JSON, and fails on it (SDK 1.20.0's
 * client at 2025-06-18: "Unexpected end of JSON input", once a stream).
 */
const PRIMING_VERSION = "2025-11-25";
/** Requests in progress on the shared 2026-era connection (listen streams included). */
const MAX_PENDING_SHARED = 4096;
/** Requests in progress in one legacy session. */
const MAX_PENDING_SESSION = 256;
/** After the grace, how long shutdown waits for clients to read what is left. */
const SHUTDOWN_FLUSH_MS = 2000;

/** What `serveHttp()` needs; only the tools are required. */
export interface HttpServeOptions {
  tools: ToolSet;
  /**
   * New sets as files change (`serve --watch`): each connection, the stateless one and every
   * legacy session, serves the newest and tells its client which lists changed.
   */
  toolUpdates?: AsyncIterable<ToolSet>;
  /** Default 127.0.0.1: only this machine can connect. */
  hostname?: string;
  /** Default DEFAULT_HTTP_PORT; 0 for any free port. */
  port?: number;
  /** Host names the server answers to besides loopback and `hostname` (also as Origins). */
  allowedHosts?: readonly string[];
  /**
   * The bearer token every request to /mcp must carry (`Authorization: Bearer <token>`; check
   * it with `tokenProblem`); default none: no auth.
   */
  token?: string;
  /**
   * OAuth resource-server mode (./oauth.ts): access tokens from this issuer, for this resource;
   * the Protected Resource Metadata is served at /.well-known/oauth-protected-resource. Not with
   * `token`.
   */
  oauth?: OAuthOptions;
  /** Origins (`https://app.example.com`, as `parseOrigin` gives them) CORS allows; default none. */
  corsOrigins?: readonly string[];
  /** How long a client may take to send a request's body, in all (408 beyond); default 30 s. */
  bodyTimeoutMs?: number;
  info?: ServerInfo;
  instructions?: string;
  /** Diagnostics (an access log at debug); default: discarded. */
  log?: Logger;
  /** Bytes a request body may have (413 beyond); default 64 MiB, as a stdio line. */
  maxLineBytes?: number;
  /** Legacy sessions open at once; default 64. */
  maxSessions?: number;
  /** How long a legacy session may go unused; default 10 min. */
  sessionIdleMs?: number;
  /**
   * SSE polling (2025-11-25 transports): the longest a legacy session's SSE connection is held
   * open; then it closes with `retry:`, the call running on, and the client reads on with a GET
   * carrying `Last-Event-ID`. For proxies that cut long responses. Default: held until done.
   */
  sseHoldMs?: number;
  /** At shutdown, how long running calls may finish (see `ServeOptions`). */
  shutdownGraceMs?: number;
  /**
   * The key 2026-era request states are signed with, shared by every instance behind one load
   * balancer (see `ServeOptions.stateKey`); default a random one, this instance's alone.
   */
  stateKey?: Uint8Array<ArrayBuffer>;
  watchFiles?: FileWatcher;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /**
   * What is wrong while the server still serves (a worker stuck in a loop), said after "ok; " at
   * `/healthz`, which anyone who reaches the port may read: no names, no secrets.
   */
  trouble?: () => string | undefined;
}

/** A running HTTP server. */
export interface HttpServer {
  /** `http://host:port/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Resolves once the server has shut down. */
  readonly finished: Promise<void>;
  /** Stops accepting, lets running calls finish within the grace, ends streams. */
  shutdown(): Promise<void>;
}

/** Serves MCP over Streamable HTTP until `shutdown()` or `signal`; see the module documentation. */
export function serveHttp(options: HttpServeOptions): HttpServer {
  return new HttpEndpoint(options).start();
}

class HttpEndpoint {
  readonly #options: HttpServeOptions;
  readonly #log: Logger;
  readonly #guard: HostGuard;
  readonly #auth: BearerAuth | undefined;
  readonly #oauth: OAuthResource | undefined;
  /** Whom each request's OAuth token speaks for: its states are bound to it. */
  readonly #principals = new WeakMap<Request, string>();
  readonly #cors: Cors | undefined;
  readonly #maxBytes: number;
  readonly #bodyTimeoutMs: number;
  readonly #bodies: BodyReader;
  readonly #trouble: (() => string | undefined) | undefined;
  readonly #peerOptions: Omit<PeerOptions, "maxPending">;
  readonly #shared: Peer;
  readonly #sessions: Sessions;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: HttpServeOptions) {
    this.#options = options;
    const log = this.#log = options.log ??
      new Logger({ level: "emergency", write: () => {} });
    const hostname = options.hostname ?? "127.0.0.1";
    this.#guard = new HostGuard(
      hostname,
      options.allowedHosts,
      options.corsOrigins,
    );
    if (options.token !== undefined && options.oauth) {
      throw new TypeError(
        "Cannot serve with both a bearer token and OAuth: choose one",
      );
    }
    this.#auth = options.token === undefined
      ? undefined
      : new BearerAuth(options.token);
    this.#oauth = options.oauth
      ? new OAuthResource(options.oauth, (message) => log.warn(message))
      : undefined;
    this.#cors = options.corsOrigins?.length
      ? new Cors(options.corsOrigins)
      : undefined;
    this.#maxBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
    this.#bodies = new BodyReader(
      this.#maxBytes,
      this.#bodyTimeoutMs,
      undefined,
      (error) => log.debug("A request body could not be read", error),
    );
    this.#trouble = options.trouble;
    this.#peerOptions = {
      tools: options.tools,
      info: options.info ?? DEFAULT_SERVER_INFO,
      instructions: options.instructions,
      log,
      maxLineBytes: this.#maxBytes,
      shutdownGraceMs: options.shutdownGraceMs,
      watchFiles: options.watchFiles,
      stateKey: options.stateKey,
      sseHoldMs: options.sseHoldMs,
      updates: options.toolUpdates
        ? new ToolUpdates(options.tools, options.toolUpdates, log)
        : undefined,
      droppedNote,
    };
    this.#shared = new Peer(
      { ...this.#peerOptions, maxPending: MAX_PENDING_SHARED },
      false,
    );
    this.#sessions = new Sessions(
      options.maxSessions ?? DEFAULT_MAX_SESSIONS,
      options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS,
      (id, why) => log.debug(`Session ${id.slice(0, 8)}… ended: ${why}`),
    );
  }

  start(): HttpServer {
    const { promise: listening, resolve } = Promise.withResolvers<void>();
    const server = this.#server = Deno.serve({
      hostname: this.#options.hostname ?? "127.0.0.1",
      port: this.#options.port ?? DEFAULT_HTTP_PORT,
      onListen: () => resolve(),
      onError: (error) => {
        this.#log.error("Internal error while handling an HTTP request", error);
        return new Response("Internal Server Error", { status: 500 });
      },
    }, (request) => this.#handle(request));
    void listening;
    const signal = this.#options.signal;
    const onAbort = () => void this.shutdown();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finished = server.finished.then(async () => {
      signal?.removeEventListener("abort", onAbort);
      this.#bodies.close(); // no request is left whose body it bounds
      await this.#stopping;
    });
    const addr = server.addr;
    const host = addr.hostname.includes(":")
      ? `[${addr.hostname}]`
      : addr.hostname;
    return {
      url: `http://${host}:${addr.port}${MCP_PATH}`,
      port: addr.port,
      finished,
      shutdown: () => this.shutdown(),
    };
  }

  shutdown(): Promise<void> {
    return this.#stopping ??= this.#stop();
  }

  async #stop(): Promise<void> {
    const server = this.#server!;
    const stopped = server.shutdown();
    this.#oauth?.close(); // a request waiting on the authorization server would hold it
    this.#shared.close();
    await Promise.all([this.#sessions.closeAll(), this.#shared.done]);
    // Every call has ended and every stream has its last event: clients get a while to read.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      stopped.then(() => false),
      new Promise<boolean>((resolve) =>
        timer = setTimeout(() => resolve(true), SHUTDOWN_FLUSH_MS)
      ),
    ]);
    clearTimeout(timer);
    if (late) {
      this.#log.warn(
        `Stopping with responses unread: a client read nothing for ${SHUTDOWN_FLUSH_MS} ms`,
      );
    }
  }

  #handle(request: Request): Promise<Response> | Response {
    return this.#log.enabled("debug")
      ? this.#logged(request)
      : this.#route(request);
  }

  /** `#route`, with the access log's line (debug). */
  async #logged(request: Request): Promise<Response> {
    const started = performance.now();
    const response = await this.#route(request);
    this.#log.debug(
      `${request.method} ${new URL(request.url).pathname} ${response.status} ${
        (performance.now() - started).toFixed(1)
      } ms`,
    );
    return response;
  }

  #route(request: Request): Promise<Response> | Response {
    const path = new URL(request.url).pathname;
    if (path === "/healthz") {
      // Serving is what the status says: 200 either way, with what a person should know after.
      const trouble = this.#trouble?.();
      return request.method === "GET" || request.method === "HEAD"
        ? new Response(trouble ? `ok; ${trouble}` : "ok", {
          headers: { "content-type": "text/plain" },
        })
        : plain(405, "Method Not Allowed", { allow: "GET, HEAD" });
    }
    if (this.#oauth && path.startsWith(METADATA_PATH)) {
      // RFC 9728: the metadata at the well-known path (and with the resource's path after it).
      return path === METADATA_PATH ||
          new URL(this.#oauth.metadataUrl).pathname === path
        ? Response.json(this.#oauth.metadata(), {
          headers: { "cache-control": "max-age=3600" },
        })
        : plain(404, "Not Found");
    }
    if (path !== MCP_PATH) {
      return plain(404, "Not Found: the MCP endpoint is /mcp");
    }
    const refused = this.#guard.refuse(request.headers);
    if (refused) {
      this.#log.debug(`Refused a request: ${refused}`);
      return rpcError(403, null, INVALID_REQUEST, `Forbidden: ${refused}`);
    }
    const cors = this.#cors;
    const origin = cors?.allowed(request.headers);
    if (request.method === "OPTIONS") {
      // A preflight carries no credentials: it is answered before auth.
      if (cors && origin !== undefined) {
        return cors.preflight(
          origin,
          request.headers.get("access-control-request-headers"),
        );
      }
      const refusal = plain(405, "Method Not Allowed", {
        allow: "GET, POST, DELETE",
      });
      return cors ? cors.decorate(refusal, undefined) : refusal;
    }
    const response = this.#authorized(request);
    if (!cors) return response;
    return response instanceof Response
      ? cors.decorate(response, origin)
      : response.then((response) => cors.decorate(response, origin));
  }

  /** The response to `request` when it carries the token (or none is needed), else 401. */
  #authorized(request: Request): Promise<Response> | Response {
    const oauth = this.#oauth;
    if (oauth) {
      return oauth.check(
        request.headers,
        (why) => this.#log.debug(`Refused an access token: ${why}`),
        (principal) => this.#principals.set(request, principal),
      ).then((result) => {
        if (result === "ok") return this.#method(request);
        if (result === "unavailable") {
          // The token could not be checked, not found bad: a 401 would send the client to sign
          // in again, to meet the same failure (OAuthResource logs the cause as a warning).
          return rpcError(
            503,
            null,
            INTERNAL_ERROR,
            "Service Unavailable: the access token cannot be checked now (the authorization server's keys or introspection could not be had); try again shortly",
            { "retry-after": String(RETRY_AFTER_SECONDS) },
          );
        }
        this.#log.debug(`Refused a request: ${result} access token`);
        const forbidden = result === "insufficient_scope";
        return rpcError(
          forbidden ? 403 : 401,
          null,
          INVALID_REQUEST,
          result === "missing"
            ? "Unauthorized: this server needs an OAuth access token (Authorization: Bearer <token>)"
            : forbidden
            ? "Forbidden: the access token lacks a scope this server requires"
            : "Unauthorized: the access token is not valid for this server",
          { "www-authenticate": oauth.challenge(result) },
        );
      });
    }
    if (!this.#auth) return this.#method(request);
    // Checked before the body is read: a refused request costs a header and a digest.
    return this.#auth.check(request.headers).then((result) =>
      result === "ok" ? this.#method(request) : this.#unauthorized(result)
    );
  }

  #unauthorized(result: Exclude<AuthResult, "ok">): Response {
    this.#log.debug(
      result === "invalid"
        ? "Refused a request: its bearer token is not the server's"
        : "Refused a request: it has no bearer token",
    );
    return rpcError(
      401,
      null,
      INVALID_REQUEST,
      result === "invalid"
        ? "Unauthorized: the bearer token is not valid"
        : "Unauthorized: this server needs an Authorization: Bearer <token> header",
      { "www-authenticate": challenge(result) },
    );
  }

  #method(request: Request): Promise<Response> | Response {
    if (this.#stopping) return stopping();
    switch (request.method) {
      case "POST":
        return this.#post(request);
      case "GET":
        return this.#get(request);
      case "DELETE":
        return this.#delete(request);
      default:
        return plain(405, "Method Not Allowed", { allow: "GET, POST, DELETE" });
    }
  }

  async #post(request: Request): Promise<Response> {
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      return rpcError(
        415,
        null,
        INVALID_REQUEST,
        "Unsupported Media Type: the body must be application/json",
      );
    }
    const takes = replyTypes(request.headers.get("accept"));
    if (!takes.json && !takes.sse) {
      return rpcError(
        406,
        null,
        INVALID_REQUEST,
        "Not Acceptable: the client must accept application/json and text/event-stream",
      );
    }
    const body = await this.#bodies.read(request);
    if (body === "too slow") {
      return rpcError(
        408,
        null,
        INVALID_REQUEST,
        `Request Timeout: the body did not arrive within ${this.#bodyTimeoutMs} ms`,
      );
    }
    if (body === "too large") {
      return rpcError(
        413,
        null,
        INVALID_REQUEST,
        `Payload Too Large: a message may have ${this.#maxBytes} bytes`,
      );
    }
    if (body === "busy") {
      return rpcError(
        503,
        null,
        INTERNAL_ERROR,
        "Service Unavailable: too many request bodies are being received at once; try again shortly",
        { "retry-after": "1" },
      );
    }
    // Stopping began while the body came (Deno closes what it has not read then).
    if (this.#stopping) return stopping();
    if (body === "unreadable") {
      return rpcError(
        400,
        null,
        INVALID_REQUEST,
        "Bad Request: the body could not be read to its end",
      );
    }
    const message = parseMessage(body);
    if (message.kind === "invalid") {
      return reply(400, errorLine(message.id, message.error));
    }
    const sessionId = request.headers.get("mcp-session-id");
    if (message.kind === "request") {
      return this.#request(request, message, sessionId, takes);
    }
    if (sessionId === null) {
      // 2026-07-28: no client notification is defined over HTTP (closing a response cancels).
      return message.kind === "notification"
        ? new Response(null, { status: 202 })
        : rpcError(
          400,
          null,
          INVALID_REQUEST,
          "Bad Request: a response needs the Mcp-Session-Id of its session",
        );
    }
    const peer = this.#sessions.get(sessionId);
    if (!peer) return sessionNotFound();
    peer.send(message, body);
    return new Response(null, { status: 202 });
  }

  #request(
    request: Request,
    message: Extract<Message, { kind: "request" }>,
    sessionId: string | null,
    takes: { json: boolean; sse: boolean },
  ): Response | Promise<Response> {
    const { id, method, params } = message;
    const meta = params?._meta;
    const metaVersion = typeof meta === "object" && meta !== null
      ? (meta as Record<string, unknown>)[VERSION_KEY]
      : undefined;
    const headerVersion = request.headers.get("mcp-protocol-version");
    const modern = metaVersion !== undefined ||
      (MODERN_VERSIONS as readonly string[]).includes(headerVersion ?? "");
    if (modern) {
      const mismatch = headerMismatch(
        request.headers,
        method,
        params,
        metaVersion,
      ) ?? this.#paramMismatch(request.headers, method, params);
      if (mismatch) {
        return rpcError(
          400,
          id,
          HEADER_MISMATCH,
          `Header mismatch: ${mismatch}`,
        );
      }
      if (
        typeof metaVersion === "string" &&
        !(MODERN_VERSIONS as readonly string[]).includes(metaVersion)
      ) {
        // Answered here, with its 400, even while the server is too busy to read it soon.
        return reply(400, errorLine(id, unsupportedVersion(metaVersion)));
      }
      return this.#exchange(request, this.#shared, message, takes, {
        modern: true,
        stream: method === "subscriptions/listen" ? "listen" : "lazy",
      });
    }
    if (
      headerVersion !== null && method !== "initialize" &&
      !SUPPORTED_VERSIONS.includes(headerVersion)
    ) {
      return rpcError(
        400,
        id,
        INVALID_REQUEST,
        `Bad Request: unsupported MCP-Protocol-Version ${
          JSON.stringify(headerVersion.slice(0, 40))
        }; supported: ${SUPPORTED_VERSIONS.join(", ")}`,
      );
    }
    if (sessionId === null) {
      if (method === "server/discover") {
        return this.#exchange(request, this.#shared, message, takes, {
          modern: false,
          stream: "lazy",
        });
      }
      if (method !== "initialize") {
        return rpcError(
          400,
          id,
          INVALID_REQUEST,
          "Bad Request: the Mcp-Session-Id header is missing; send initialize first (or a 2026-07-28 request, with its _meta)",
        );
      }
      const opened = this.#sessions.open(() =>
        new Peer(
          { ...this.#peerOptions, maxPending: MAX_PENDING_SESSION },
          true,
        )
      );
      if (!opened) {
        return rpcError(
          503,
          id,
          INTERNAL_ERROR,
          "Service Unavailable: every session is busy; try again later",
          { "retry-after": "1" },
        );
      }
      const requested = params?.protocolVersion;
      opened.peer.primes = negotiateVersion(
        typeof requested === "string" ? requested : "",
      ) >= PRIMING_VERSION;
      this.#log.debug(
        `Session ${
          opened.id.slice(0, 8)
        }… opened (${this.#sessions.size} open)`,
      );
      return this.#exchange(request, opened.peer, message, takes, {
        modern: false,
        stream: "lazy",
        headers: { "mcp-session-id": opened.id },
        onReply: (ok) => {
          if (!ok) this.#sessions.end(opened.id, "its initialize failed");
        },
      });
    }
    const peer = this.#sessions.get(sessionId);
    if (!peer) return sessionNotFound(id);
    return this.#exchange(request, peer, message, takes, {
      modern: false,
      stream: method === "tools/call" ? "now" : "lazy",
    });
  }

  /**
   * For a `tools/call` of a tool whose arguments are mirrored in `Mcp-Param-*` headers: how the
   * headers disagree with the arguments, or undefined (an unknown tool is the call's to refuse).
   */
  #paramMismatch(
    headers: Headers,
    method: string,
    params: Params | undefined,
  ): string | undefined {
    if (method !== "tools/call" || typeof params?.name !== "string") {
      return undefined;
    }
    const tools = this.#peerOptions.updates?.current ?? this.#peerOptions.tools;
    const tool = tools.get(params.name);
    if (!tool) return undefined;
    const mirrored = paramHeaders(tool.descriptor.inputSchema);
    return mirrored.length === 0
      ? undefined
      : paramHeaderMismatch(headers, mirrored, params.arguments);
  }

  #exchange(
    request: Request,
    peer: Peer,
    message: Extract<Message, { kind: "request" }>,
    { json, sse }: { json: boolean; sse: boolean },
    how: Parameters<Peer["request"]>[1],
  ): Response | Promise<Response> {
    if (!sse && how.stream === "listen") {
      return rpcError(
        406,
        message.id,
        INVALID_REQUEST,
        "Not Acceptable: subscriptions/listen answers as an SSE stream; accept text/event-stream",
      );
    }
    const exchange = peer.request(
      message,
      sse && json ? how : { ...how, sse, json },
      this.#principals.get(request),
    );
    if (exchange === "busy") {
      return rpcError(
        503,
        message.id,
        INTERNAL_ERROR,
        "Service Unavailable: too many requests in progress; try again later",
        { "retry-after": "1" },
      );
    }
    if (exchange === "duplicate") {
      return rpcError(
        400,
        message.id,
        INVALID_REQUEST,
        "Invalid request: this id is already used by a request in progress",
      );
    }
    // A legacy client's hang-up is not a cancellation (2025 transports: it sends
    // notifications/cancelled); a 2026 client's is.
    if (how.modern) peer.watchLater(exchange, request);
    return exchange.response;
  }

  #get(request: Request): Response {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) {
      return plain(
        405,
        "Method Not Allowed: GET needs the Mcp-Session-Id of a legacy session",
        { allow: "POST" },
      );
    }
    if (
      !accepts(request.headers.get("accept") ?? "", "text/event-stream")
    ) {
      return rpcError(
        406,
        null,
        INVALID_REQUEST,
        "Not Acceptable: the client must accept text/event-stream",
      );
    }
    const peer = this.#sessions.get(sessionId);
    if (!peer) return sessionNotFound();
    const body = peer.listen(request.headers.get("last-event-id"));
    if (body === "conflict") {
      return rpcError(
        409,
        null,
        INVALID_REQUEST,
        "Conflict: this session's GET stream is already open",
      );
    }
    if (body === "unknown") {
      // Not 404: to a request with a session id that means the session is gone.
      return rpcError(
        400,
        null,
        INVALID_REQUEST,
        "Bad Request: Last-Event-ID names no stream of this session that can be resumed (it ended, or its events expired); send the request again",
      );
    }
    return new Response(body, { headers: SSE_HEADERS });
  }

  #delete(request: Request): Response {
    const sessionId = request.headers.get("mcp-session-id");
    if (sessionId === null) {
      return plain(
        405,
        "Method Not Allowed: DELETE needs the Mcp-Session-Id of a legacy session",
        { allow: "POST" },
      );
    }
    return this.#sessions.end(sessionId, "the client deleted it")
      ? new Response(null, { status: 200 })
      : sessionNotFound();
  }
}

/** The notification that says `count` were dropped because the client read too slowly. */
export function droppedNote(count: number): string {
  return notificationLine("notifications/message", {
    level: "warning",
    logger: "tooldrop",
    data: `${count} notification(s) dropped: the client read them too slowly`,
  });
}

function plain(
  status: number,
  text: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(text, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function reply(
  status: number,
  json: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(json, {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function rpcError(
  status: number,
  id: RequestId | null,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return reply(status, errorLine(id, new JsonRpcError(code, message)), headers);
}

function sessionNotFound(id: RequestId | null = null): Response {
  return rpcError(
    404,
    id,
    -32001,
    "Session not found: it ended or never existed; send initialize again",
  );
}

/** The answer to a request that comes while the server stops. */
function stopping(): Response {
  return rpcError(
    503,
    null,
    INTERNAL_ERROR,
    "Service Unavailable: the server is stopping",
  );
}
