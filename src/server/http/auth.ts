/**
 * @module
 * Bearer-token auth for `/mcp` (`serve --http --token-env NAME`): `BearerAuth` checks a
 * request's `Authorization: Bearer <token>` against the configured token in constant time, by
 * comparing SHA-256 digests, so neither the token's length nor its first wrong byte shows.
 */

/** The realm the `WWW-Authenticate` challenge names. */
export const AUTH_REALM = "tooldrop";

/** A token the server can be configured with: one or more visible ASCII characters. */
const TOKEN_SYNTAX = /^[\x21-\x7e]+$/;

/** `Authorization: Bearer <token>`: the scheme in any case, then the token (trimmed). */
const BEARER = /^bearer +(\S+)$/i;

/** What a request's credentials are: right, absent (or not Bearer), or a wrong token. */
export type AuthResult = "ok" | "missing" | "invalid";

/** Why `token` cannot be the server's token, or undefined when it can. */
export function tokenProblem(token: string): string | undefined {
  if (token === "") return "it is empty";
  if (!TOKEN_SYNTAX.test(token)) {
    return "it must be visible ASCII characters only (no spaces or line breaks), as a header carries it";
  }
  return undefined;
}

/** Checks `Authorization` headers against one token; see the module documentation. */
export class BearerAuth {
  readonly #expected: Promise<Uint8Array>;

  /** `token`: the secret every request must present; check it with `tokenProblem` first. */
  constructor(token: string) {
    this.#expected = digest(token);
  }

  /** Whether `headers` carry this token; never throws. */
  async check(headers: Headers): Promise<AuthResult> {
    const presented = BEARER.exec(headers.get("authorization") ?? "")?.[1];
    if (presented === undefined) return "missing";
    const [expected, actual] = await Promise.all([
      this.#expected,
      digest(presented),
    ]);
    return sameBytes(expected, actual) ? "ok" : "invalid";
  }
}

/**
 * The `WWW-Authenticate` value of a 401: the challenge alone when no token came,
 * `error="invalid_token"` besides when a wrong one did (RFC 6750, section 3).
 */
export function challenge(result: Exclude<AuthResult, "ok">): string {
  return result === "invalid"
    ? `Bearer realm="${AUTH_REALM}", error="invalid_token"`
    : `Bearer realm="${AUTH_REALM}"`;
}

/**
 * Whether `a` and `b` hold the same bytes, in time that depends only on the longer length:
 * every byte is compared, with no early exit. Arrays of different lengths are unequal; it
 * never throws. (Given SHA-256 digests, both are always 32 bytes long.)
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length);
  let difference = a.length ^ b.length;
  for (let i = 0; i < length; i++) {
    difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  }
  return difference === 0;
}

async function digest(text: string): Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
