/**
 * @module
 * OAuth 2.1 resource-server mode for `/mcp` (`serve --http --oauth-issuer URL`), as the MCP
 * authorization chapter asks of a server: it publishes its Protected Resource Metadata (RFC 9728)
 * naming the authorization server, answers a request without a valid token 401 with a
 * `WWW-Authenticate` challenge that points there, and accepts only an access token issued by the
 * issuer, for this resource (`aud`), unexpired, with the scopes required. A JWT is verified with
 * the issuer's keys (its JWKS, found through the issuer's metadata, RFC 8414 or OpenID discovery)
 * by the `jose` library, loaded only when OAuth is configured; an opaque token, when client
 * credentials are given, by introspection at the issuer (RFC 7662, ./introspect.ts).
 * (Over 300 lines: which path a token takes, and the one verdict either path gives — invalid,
 * lacking a scope, or unavailable when the issuer cannot be asked — read best in one place.)
 */

import type { AuthResult } from "./auth.ts";
import {
  type IntrospectionOptions,
  Introspector,
  RETRY_AFTER_SECONDS,
} from "./introspect.ts";
import {
  FETCH_TIMEOUT_MS,
  issuerMetadata,
  messageOf,
  Refreshing,
} from "./issuer.ts";

export { RETRY_AFTER_SECONDS };

/** How often a failure to have the issuer's keys is warned of, at most. */
const FAILURE_WARN_MS = 30_000;

/** Where the Protected Resource Metadata is served (RFC 9728, section 3). */
export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/** What resource-server mode needs. */
export interface OAuthOptions {
  /** The authorization server's issuer identifier: `https://auth.example.com`. */
  issuer: string;
  /**
   * This resource's identifier, the audience its tokens must name: the public URL of `/mcp`
   * (`https://tools.example.com/mcp`).
   */
  resource: string;
  /** Scopes every token must carry; default none. */
  scopes?: readonly string[] | undefined;
  /** The issuer's JWKS URL, when its metadata cannot be fetched; default from the metadata. */
  jwksUri?: string | undefined;
  /**
   * Client credentials for token introspection (RFC 7662); default none: only JWTs are
   * accepted. With `endpoint`, every token is introspected; without, tokens that are not JWTs,
   * at the issuer metadata's `introspection_endpoint`.
   */
  introspection?: IntrospectionOptions | undefined;
}

/**
 * A token's check: as `AuthResult`, a token without a scope it needs, or one that cannot be
 * checked now (the issuer's keys or introspection endpoint cannot be had: 503, not a 401 that
 * sends the client to sign in again for nothing).
 */
export type OAuthResult = AuthResult | "insufficient_scope" | "unavailable";

type Jose = typeof import("jose");
type KeySet = ReturnType<Jose["createRemoteJWKSet"]>;

/** Checks access tokens for one resource; see the module documentation. */
export class OAuthResource {
  readonly #options: OAuthOptions;
  readonly #metadataUrl: string;
  readonly #issuerMetadata: Refreshing<Record<string, unknown>>;
  readonly #keys: Refreshing<KeySet>;
  readonly #introspector: Introspector | undefined;
  readonly #warn: (message: string) => void;
  /** Aborted by `close()`: introspections and key fetches under way stop waiting. */
  readonly #stop = new AbortController();
  /** When keys that could not be had were last warned of (once per FAILURE_WARN_MS). */
  #warnedAt = -Infinity;
  #jose: Promise<Jose> | undefined;

  /** `warn` hears of keys or an introspection endpoint that cannot be had (never a token). */
  constructor(
    options: OAuthOptions,
    warn: (message: string) => void = () => {},
  ) {
    this.#options = options;
    this.#warn = warn;
    const resource = new URL(options.resource);
    // RFC 9728, section 3.1: the well-known path, then the resource's own path.
    this.#metadataUrl = new URL(
      `${METADATA_PATH}${resource.pathname === "/" ? "" : resource.pathname}`,
      resource.origin,
    ).href;
    const issuer = options.issuer;
    this.#issuerMetadata = new Refreshing(() => issuerMetadata(issuer));
    this.#keys = new Refreshing(() => this.#loadKeys());
    const introspection = options.introspection;
    this.#introspector = introspection && new Introspector(
      { issuer, resource: options.resource, scopes: options.scopes ?? [] },
      introspection,
      {
        endpoint: () =>
          introspection.endpoint === undefined
            ? this.#introspectionEndpoint()
            : Promise.resolve(introspection.endpoint),
        warn,
        signal: this.#stop.signal,
      },
    );
  }

  /**
   * The server is stopping: introspections and key fetches under way end now (their requests
   * are answered 503) rather than hold the shutdown for as long as the issuer may take.
   */
  close(): void {
    this.#stop.abort();
  }

  /** The URL of this resource's metadata, as the challenge names it. */
  get metadataUrl(): string {
    return this.#metadataUrl;
  }

  /** The Protected Resource Metadata document. */
  metadata(): Record<string, unknown> {
    return {
      resource: this.#options.resource,
      authorization_servers: [this.#options.issuer],
      bearer_methods_supported: ["header"],
      ...(this.#options.scopes?.length
        ? { scopes_supported: [...this.#options.scopes] }
        : {}),
    };
  }

  /**
   * Whether `headers` carry a valid access token for this resource; never throws. A token that
   * cannot be checked now (the issuer's keys or its introspection endpoint cannot be had) is
   * "unavailable", not "invalid": a client told its token is bad would sign in again for
   * nothing. `onPrincipal` is told whom a valid token speaks for (its issuer and subject).
   */
  async check(
    headers: Headers,
    onProblem?: (why: string) => void,
    onPrincipal?: (principal: string) => void,
  ): Promise<OAuthResult> {
    const token = /^bearer +(\S+)$/i.exec(headers.get("authorization") ?? "")
      ?.[1];
    if (token === undefined) return "missing";
    try {
      // Which path: introspection for every token when its endpoint was named (the operator
      // made the authorization server the authority: revocation counts, no JWKS is needed),
      // else for a token that is not a JWT; a JWT is verified here with the issuer's keys.
      const introspector = this.#introspector;
      if (
        introspector &&
        (this.#options.introspection?.endpoint !== undefined ||
          !isJwt(await (this.#jose ??= import("jose")), token))
      ) {
        const verdict = await introspector.check(token);
        if (verdict.result === "invalid") {
          onProblem?.(`introspection: ${verdict.why}`.slice(0, 200));
        }
        if (verdict.result !== "ok") return verdict.result;
        if (verdict.principal !== undefined) onPrincipal?.(verdict.principal);
        return "ok";
      }
      const jose = await (this.#jose ??= import("jose"));
      let keys: KeySet;
      try {
        keys = await this.#keys.get();
      } catch (error) {
        return this.#unavailable(messageOf(error));
      }
      const { payload } = await jose.jwtVerify(token, keys, {
        issuer: this.#options.issuer,
        audience: this.#options.resource,
        requiredClaims: ["exp"],
      });
      const required = this.#options.scopes ?? [];
      if (required.length > 0) {
        const granted = new Set(
          typeof payload.scope === "string" ? payload.scope.split(" ") : [],
        );
        if (!required.every((scope) => granted.has(scope))) {
          return "insufficient_scope";
        }
      }
      // Whom the token speaks for: what a multi round-trip request state is bound to.
      if (typeof payload.sub === "string") {
        onPrincipal?.(`${payload.iss} ${payload.sub}`);
      }
      return "ok";
    } catch (error) {
      // The server is stopping: the fetch was ended, the token not found bad.
      if (this.#stop.signal.aborted) return "unavailable";
      if (keysUnreachable(error)) {
        return this.#unavailable(
          `Cannot fetch the keys of issuer ${this.#options.issuer}: ${
            messageOf(error)
          }`,
        );
      }
      onProblem?.(
        error instanceof Error
          ? `${error.name}: ${error.message}`.slice(0, 200)
          : "not a valid token",
      );
      return "invalid";
    }
  }

  /** Tokens cannot be checked now: warned of once in a while (`why` never holds a token). */
  #unavailable(why: string): "unavailable" {
    const now = performance.now();
    if (now - this.#warnedAt >= FAILURE_WARN_MS) {
      this.#warnedAt = now;
      this.#warn(`Cannot check access tokens: ${why}`.slice(0, 300));
    }
    return "unavailable";
  }

  /** The `WWW-Authenticate` value of a 401 or 403 (RFC 6750; RFC 9728, section 5.1). */
  challenge(result: Exclude<OAuthResult, "ok" | "unavailable">): string {
    const parts = [`resource_metadata="${this.#metadataUrl}"`];
    if (result === "invalid") parts.push(`error="invalid_token"`);
    if (result === "insufficient_scope") {
      parts.push(
        `error="insufficient_scope"`,
        `scope="${(this.#options.scopes ?? []).join(" ")}"`,
      );
    }
    return `Bearer ${parts.join(", ")}`;
  }

  /** The issuer's metadata; throws `failure` and why it failed. */
  async #metadata(failure: string): Promise<Record<string, unknown>> {
    try {
      return await this.#issuerMetadata.get();
    } catch (error) {
      throw new Error(`${failure}: ${messageOf(error)}`);
    }
  }

  /** The issuer's keys; jose fetches and caches them. */
  async #loadKeys(): Promise<KeySet> {
    const jose = await (this.#jose ??= import("jose"));
    let uri = this.#options.jwksUri;
    if (uri === undefined) {
      const issuer = this.#options.issuer;
      const metadata = await this.#metadata(
        `Cannot find the keys of issuer ${issuer}`,
      );
      if (typeof metadata.jwks_uri !== "string") {
        throw new Error(
          `Cannot find the keys of issuer ${issuer}: its metadata has no jwks_uri`,
        );
      }
      uri = metadata.jwks_uri;
    }
    const stop = this.#stop.signal;
    return jose.createRemoteJWKSet(new URL(uri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
      // Stopping ends a key fetch under way too, rather than wait out its timeout.
      [jose.customFetch]: (url, options) =>
        fetch(url, {
          ...options,
          signal: AbortSignal.any([options.signal, stop]),
        }),
    });
  }

  /**
   * The issuer metadata's `introspection_endpoint`; not on a weaker scheme than the issuer's,
   * as the client secret goes there.
   */
  async #introspectionEndpoint(): Promise<string> {
    const issuer = this.#options.issuer;
    const metadata = await this.#metadata(
      `the metadata of issuer ${issuer} cannot be read`,
    );
    const endpoint = metadata.introspection_endpoint;
    if (typeof endpoint !== "string") {
      throw new Error(
        `the metadata of issuer ${issuer} names no introspection_endpoint; give it with --oauth-introspect`,
      );
    }
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (
      !url || (url.protocol !== "https:" &&
        !(url.protocol === "http:" && new URL(issuer).protocol === "http:"))
    ) {
      throw new Error(
        `the introspection_endpoint of issuer ${issuer} is not an ${
          new URL(issuer).protocol.slice(0, -1)
        } URL`,
      );
    }
    return url.href;
  }
}

/**
 * Whether jose failed for want of the issuer's keys (the JWKS could not be fetched, timed out,
 * or was not a key set), not because of the token.
 */
function keysUnreachable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (code === "ERR_JWKS_TIMEOUT" || code === "ERR_JWKS_INVALID") return true;
  if (code === "ERR_JOSE_GENERIC") {
    return /JSON Web Key Set/.test(error.message);
  }
  // fetch's own failure: refused, unresolvable, reset, blocked.
  return error instanceof TypeError &&
    /fetch|sending request|connect|network|dns/i.test(error.message);
}

/** Whether `token` is a JWT (three base64url parts, a JSON object in the middle). */
function isJwt(jose: Jose, token: string): boolean {
  try {
    jose.decodeJwt(token);
    return true;
  } catch {
    return false;
  }
}
