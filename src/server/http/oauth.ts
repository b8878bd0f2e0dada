/**
 * @module
 * OAuth 2.1 resource-server mode for `/mcp` (`serve --http --oauth-issuer URL`), as the MCP
 * authorization chapter asks of a server: it publishes its Protected Resource Metadata (RFC 9728)
 * naming the authorization server, answers a request without a valid token 401 with a
 * `WWW-Authenticate` challenge that points there, and accepts only a JWT access token signed by
 * the issuer's keys (its JWKS, found through the issuer's metadata, RFC 8414 or OpenID
 * discovery), issued by it, for this resource (`aud`), unexpired, with the scopes required.
 * Validation is the `jose` library's; loaded only when OAuth is configured.
 */

import type { AuthResult } from "./auth.ts";

/** Where the Protected Resource Metadata is served (RFC 9728, section 3). */
export const METADATA_PATH = "/.well-known/oauth-protected-resource";

/** How long the issuer's metadata is trusted before it is fetched again. */
const METADATA_TTL_MS = 60 * 60 * 1000;
/** How long fetching the issuer's metadata or keys may take. */
const FETCH_TIMEOUT_MS = 10_000;
/**
 * How long a failure to find the issuer's keys is remembered: meanwhile tokens are refused at
 * once, so a flood of requests does not become a flood of fetches.
 */
const FAILURE_TTL_MS = 30_000;

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
}

/** A token's check: as `AuthResult`, or a token without a scope it needs. */
export type OAuthResult = AuthResult | "insufficient_scope";

type Jose = typeof import("jose");

/** Checks access tokens for one resource; see the module documentation. */
export class OAuthResource {
  readonly #options: OAuthOptions;
  readonly #metadataUrl: string;
  #keys:
    | { set: ReturnType<Jose["createRemoteJWKSet"]>; at: number }
    | undefined;
  #loading: Promise<ReturnType<Jose["createRemoteJWKSet"]>> | undefined;
  #failed: { error: Error; at: number } | undefined;
  #jose: Promise<Jose> | undefined;

  constructor(options: OAuthOptions) {
    this.#options = options;
    const resource = new URL(options.resource);
    // RFC 9728, section 3.1: the well-known path, then the resource's own path.
    this.#metadataUrl = new URL(
      `${METADATA_PATH}${resource.pathname === "/" ? "" : resource.pathname}`,
      resource.origin,
    ).href;
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
   * Whether `headers` carry a valid access token for this resource; never throws (a token that
   * cannot be checked now, say the issuer is unreachable, is "invalid"). `onPrincipal` is told
   * whom a valid token speaks for (its issuer and subject).
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
      const jose = await (this.#jose ??= import("jose"));
      const { payload } = await jose.jwtVerify(token, await this.#keySet(), {
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
      onProblem?.(
        error instanceof Error
          ? `${error.name}: ${error.message}`.slice(0, 200)
          : "not a valid token",
      );
      return "invalid";
    }
  }

  /** The `WWW-Authenticate` value of a 401 or 403 (RFC 6750; RFC 9728, section 5.1). */
  challenge(result: Exclude<OAuthResult, "ok">): string {
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

  /** The issuer's keys, refetched (with its metadata) once an hour; jose caches the keys. */
  #keySet(): Promise<ReturnType<Jose["createRemoteJWKSet"]>> {
    const held = this.#keys;
    if (held && performance.now() - held.at < METADATA_TTL_MS) {
      return Promise.resolve(held.set);
    }
    const failed = this.#failed;
    if (failed && performance.now() - failed.at < FAILURE_TTL_MS) {
      return Promise.reject(failed.error);
    }
    return this.#loading ??= this.#loadKeys().then((set) => {
      this.#keys = { set, at: performance.now() };
      this.#failed = undefined;
      return set;
    }, (error) => {
      this.#failed = {
        error: error instanceof Error ? error : new Error(String(error)),
        at: performance.now(),
      };
      throw error;
    }).finally(() => this.#loading = undefined);
  }

  async #loadKeys(): Promise<ReturnType<Jose["createRemoteJWKSet"]>> {
    const jose = await (this.#jose ??= import("jose"));
    const uri = this.#options.jwksUri ?? await jwksUriOf(this.#options.issuer);
    return jose.createRemoteJWKSet(new URL(uri), {
      timeoutDuration: FETCH_TIMEOUT_MS,
    });
  }
}

/**
 * The `jwks_uri` in the issuer's metadata: RFC 8414's document first, then OpenID Connect
 * discovery's. Throws saying what failed.
 */
async function jwksUriOf(issuer: string): Promise<string> {
  const base = new URL(issuer);
  const path = base.pathname === "/" ? "" : base.pathname.replace(/\/$/, "");
  const candidates = [
    new URL(`/.well-known/oauth-authorization-server${path}`, base.origin),
    new URL(`${path}/.well-known/openid-configuration`, base.origin),
  ];
  const problems: string[] = [];
  for (const url of candidates) {
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        headers: { accept: "application/json" },
      });
      if (!response.ok) {
        await response.body?.cancel();
        problems.push(`${url.href}: ${response.status}`);
        continue;
      }
      const metadata = await response.json() as Record<string, unknown>;
      if (metadata.issuer !== issuer) {
        problems.push(`${url.href}: its issuer is not ${issuer}`);
        continue;
      }
      if (typeof metadata.jwks_uri !== "string") {
        problems.push(`${url.href}: no jwks_uri`);
        continue;
      }
      return metadata.jwks_uri;
    } catch (error) {
      problems.push(
        `${url.href}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }
  throw new Error(
    `Cannot find the keys of issuer ${issuer}: ${problems.join("; ")}`,
  );
}
