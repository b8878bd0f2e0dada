/**
 * @module
 * Token introspection (RFC 7662) for OAuth resource-server mode (./oauth.ts): an opaque access
 * token is POSTed to the authorization server's introspection endpoint with this server's client
 * credentials, and the answer is judged as a JWT's claims are (active, issuer, audience, expiry,
 * scopes). Answers are cached by the token's SHA-256; concurrent checks of one token share one
 * request; replies are read to a bound. No token or secret ever goes into a message.
 */

import { FETCH_TIMEOUT_MS, readBounded } from "./issuer.ts";

/** This server's credentials at the authorization server, and where to introspect. */
export interface IntrospectionOptions {
  /** This resource server's client id at the authorization server. */
  clientId: string;
  /** Its client secret (sent as HTTP Basic, RFC 6749 section 2.3.1); never logged. */
  clientSecret: string;
  /**
   * The introspection endpoint; when given, every token is introspected, JWTs too. Default: the
   * issuer metadata's `introspection_endpoint`, for tokens that are not JWTs.
   */
  endpoint?: string | undefined;
}

/** What the check of one token concluded; `unavailable`: the endpoint could not say. */
export type Verdict =
  | { result: "ok"; principal: string | undefined }
  | { result: "invalid"; why: string }
  | { result: "insufficient_scope" }
  | { result: "unavailable" };

/** The seconds a client is told to wait (`Retry-After`) when tokens cannot be checked. */
export const RETRY_AFTER_SECONDS = 5;

/** How long an active token's answer is trusted at most: a revocation shows within this. */
const POSITIVE_TTL_MS = 60_000;
/** How long a refusal is remembered: a flood of one bad token is one introspection call. */
const NEGATIVE_TTL_MS = 5_000;
/** Answers remembered, each kind; the oldest goes first. */
const MAX_CACHED = 10_000;
/** After the endpoint fails, how long tokens not cached are answered `unavailable` at once. */
const FAILURE_BACKOFF_MS = RETRY_AFTER_SECONDS * 1000;
/** Distinct tokens being introspected at once; beyond, `unavailable` (the endpoint is busy). */
const MAX_IN_FLIGHT = 64;
/** Bytes of an introspection reply read at most; a reply is a few hundred. */
const MAX_REPLY_BYTES = 64 * 1024;

const UNAVAILABLE: Verdict = { result: "unavailable" };

type Entry = { verdict: Verdict; until: number };

/** What an introspected token must be. */
export interface Expectation {
  issuer: string;
  resource: string;
  scopes: readonly string[];
}

/** Checks opaque tokens at one introspection endpoint; see the module documentation. */
export class Introspector {
  readonly #expect: Expectation;
  readonly #endpoint: () => Promise<string>;
  readonly #warn: (message: string) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #authorization: string;
  readonly #positive = new Map<string, Entry>();
  readonly #negative = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Verdict>>();
  #failedAt = -Infinity;

  /** `endpoint` finds the URL (it may throw saying why); `warn` hears of endpoint failures. */
  constructor(
    expect: Expectation,
    credentials: IntrospectionOptions,
    options: {
      endpoint: () => Promise<string>;
      warn: (message: string) => void;
      /** Aborted when the server stops: introspections under way end (`unavailable`) at once. */
      signal?: AbortSignal | undefined;
    },
  ) {
    this.#expect = expect;
    this.#endpoint = options.endpoint;
    this.#warn = options.warn;
    this.#signal = options.signal;
    // RFC 6749, section 2.3.1: id and secret form-urlencoded, then joined by ":" for Basic.
    const encoded = `${formEncode(credentials.clientId)}:${
      formEncode(credentials.clientSecret)
    }`;
    this.#authorization = `Basic ${btoa(encoded)}`;
  }

  /** The verdict on `token`: cached, shared with a check under way, or asked for; never throws. */
  async check(token: string): Promise<Verdict> {
    const key = await digest(token);
    const cached = fresh(this.#positive, key) ?? fresh(this.#negative, key);
    if (cached) return cached;
    const pending = this.#pending.get(key);
    if (pending) return pending;
    if (performance.now() - this.#failedAt < FAILURE_BACKOFF_MS) {
      return UNAVAILABLE;
    }
    if (this.#pending.size >= MAX_IN_FLIGHT) return UNAVAILABLE;
    const asked = this.#ask(token).then(({ verdict, until }) => {
      if (verdict.result === "invalid") {
        remember(this.#negative, key, {
          verdict,
          until: Date.now() + NEGATIVE_TTL_MS,
        });
      } else if (verdict.result !== "unavailable") {
        remember(this.#positive, key, { verdict, until });
      }
      return verdict;
    }).finally(() => this.#pending.delete(key));
    this.#pending.set(key, asked);
    return asked;
  }

  /** One introspection call and its judgement; `until`: how long an answer holds. */
  async #ask(token: string): Promise<Entry> {
    let endpoint: string;
    try {
      endpoint = await this.#endpoint();
    } catch (error) {
      return this.#failed(error instanceof Error ? error.message : "unknown");
    }
    let reply: unknown;
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {
          authorization: this.#authorization,
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" })
          .toString(),
        // A redirect would carry the token and the credentials somewhere not configured.
        redirect: "error",
        signal: this.#signal
          ? AbortSignal.any([
            AbortSignal.timeout(FETCH_TIMEOUT_MS),
            this.#signal,
          ])
          : AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        return this.#failed(
          response.status === 401 || response.status === 403
            ? `it refused this server's client credentials (${response.status}); check the client id and secret`
            : `it answered ${response.status}`,
        );
      }
      const text = await readBounded(response, MAX_REPLY_BYTES);
      if (text === undefined) {
        return this.#failed(`its reply is over ${MAX_REPLY_BYTES} bytes`);
      }
      reply = JSON.parse(text);
    } catch (error) {
      // The server is stopping: not the endpoint's failure.
      if (this.#signal?.aborted) return { verdict: UNAVAILABLE, until: 0 };
      // Fetch and JSON errors name the URL or a position, never the request's body.
      return this.#failed(
        error instanceof SyntaxError
          ? "its reply is not JSON"
          : error instanceof Error
          ? `${error.name}: ${error.message}`.slice(0, 200)
          : "unknown",
      );
    }
    if (typeof reply !== "object" || reply === null || Array.isArray(reply)) {
      return this.#failed("its reply is not a JSON object");
    }
    return judge(reply as Record<string, unknown>, this.#expect, Date.now());
  }

  #failed(why: string): Entry {
    this.#failedAt = performance.now();
    this.#warn(
      `Cannot introspect an access token: ${why}; answering 503 for ${RETRY_AFTER_SECONDS} s`,
    );
    return { verdict: UNAVAILABLE, until: 0 };
  }
}

/**
 * The verdict on an introspection reply (RFC 7662, section 2.2) and until when it holds (`now`
 * and the result in milliseconds since the epoch). The audience must name this resource: the
 * MCP authorization chapter has a server refuse tokens not issued for it, so a reply without
 * `aud` is refused too.
 */
export function judge(
  reply: Record<string, unknown>,
  expect: Expectation,
  now: number,
): Entry {
  const refuse = (why: string): Entry => ({
    verdict: { result: "invalid", why },
    until: 0,
  });
  // Only the boolean: a string "true" is not RFC 7662's active.
  if (reply.active !== true) {
    return refuse("the authorization server says it is not active");
  }
  if (reply.iss !== undefined && reply.iss !== expect.issuer) {
    return refuse(`its issuer is not ${expect.issuer}`);
  }
  const aud = reply.aud;
  const audiences = typeof aud === "string"
    ? [aud]
    : Array.isArray(aud)
    ? aud
    : [];
  if (!audiences.includes(expect.resource)) {
    return refuse(
      aud === undefined
        ? "its introspection names no audience (aud), and this server accepts only tokens issued for it"
        : `its audience is not ${expect.resource}`,
    );
  }
  let until = now + POSITIVE_TTL_MS;
  if (reply.exp !== undefined) {
    if (typeof reply.exp !== "number") return refuse("its exp is not a number");
    if (reply.exp * 1000 <= now) return refuse("it has expired");
    until = Math.min(until, reply.exp * 1000);
  }
  const granted = new Set(
    typeof reply.scope === "string" ? reply.scope.split(" ") : [],
  );
  if (!expect.scopes.every((scope) => granted.has(scope))) {
    return { verdict: { result: "insufficient_scope" }, until };
  }
  // Whom the token speaks for, as the JWT path says it: issuer and subject.
  const principal = typeof reply.sub === "string"
    ? `${expect.issuer} ${reply.sub}`
    : undefined;
  return { verdict: { result: "ok", principal }, until };
}

/** `text` as application/x-www-form-urlencoded encodes a value. */
function formEncode(text: string): string {
  return new URLSearchParams({ v: text }).toString().slice(2);
}

/** The token's cache key: its SHA-256, so the cache holds no token. */
async function digest(token: string): Promise<string> {
  const hash = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(token),
  );
  return String.fromCharCode(...new Uint8Array(hash));
}

/** The verdict under `key` while it holds; an expired one is dropped. */
function fresh(map: Map<string, Entry>, key: string): Verdict | undefined {
  const entry = map.get(key);
  if (!entry) return undefined;
  if (entry.until > Date.now()) return entry.verdict;
  map.delete(key);
  return undefined;
}

/** Stores `entry`, dropping the oldest beyond MAX_CACHED. */
function remember(map: Map<string, Entry>, key: string, entry: Entry): void {
  map.delete(key);
  map.set(key, entry);
  if (map.size > MAX_CACHED) map.delete(map.keys().next().value!);
}
