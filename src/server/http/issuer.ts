/**
 * @module
 * The authorization server as OAuth resource-server mode (./oauth.ts) reaches it: its metadata
 * (RFC 8414, else OpenID discovery), a value kept for an hour with failures remembered, and a
 * reader of replies that stops at a bound.
 */

/** How long the issuer's metadata (or anything fetched from it) is trusted. */
const METADATA_TTL_MS = 60 * 60 * 1000;
/** How long fetching from the issuer may take. */
export const FETCH_TIMEOUT_MS = 10_000;
/**
 * How long a failure to load the issuer's metadata or keys is remembered: meanwhile tokens are
 * refused at once, so a flood of requests does not become a flood of fetches.
 */
const FAILURE_TTL_MS = 30_000;
/** Bytes of the issuer's metadata document read at most. */
const MAX_METADATA_BYTES = 256 * 1024;

/**
 * A value loaded on demand and kept for METADATA_TTL_MS; a failure is remembered for
 * FAILURE_TTL_MS, and concurrent gets share one load.
 */
export class Refreshing<T> {
  readonly #load: () => Promise<T>;
  #held: { value: T; at: number } | undefined;
  #loading: Promise<T> | undefined;
  #failed: { error: unknown; at: number } | undefined;

  /** `load` fetches the value; it is called again once the value is old or a failure is. */
  constructor(load: () => Promise<T>) {
    this.#load = load;
  }

  /** The value, held or loaded; rejects with the last failure while it is remembered. */
  get(): Promise<T> {
    const held = this.#held;
    if (held && performance.now() - held.at < METADATA_TTL_MS) {
      return Promise.resolve(held.value);
    }
    const failed = this.#failed;
    if (failed && performance.now() - failed.at < FAILURE_TTL_MS) {
      return Promise.reject(failed.error);
    }
    return this.#loading ??= this.#load().then((value) => {
      this.#held = { value, at: performance.now() };
      this.#failed = undefined;
      return value;
    }, (error) => {
      this.#failed = { error, at: performance.now() };
      throw error;
    }).finally(() => this.#loading = undefined);
  }
}

/** The message of `error`, whatever was thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The issuer's metadata: RFC 8414's document first, then OpenID Connect discovery's; the first
 * that names this issuer. Throws saying what failed for each.
 */
export async function issuerMetadata(
  issuer: string,
): Promise<Record<string, unknown>> {
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
      const text = await readBounded(response, MAX_METADATA_BYTES);
      if (text === undefined) {
        problems.push(`${url.href}: over ${MAX_METADATA_BYTES} bytes`);
        continue;
      }
      const metadata = JSON.parse(text) as Record<string, unknown> | null;
      if (metadata?.issuer !== issuer) {
        problems.push(`${url.href}: its issuer is not ${issuer}`);
        continue;
      }
      return metadata as Record<string, unknown>;
    } catch (error) {
      problems.push(`${url.href}: ${messageOf(error)}`);
    }
  }
  throw new Error(problems.join("; "));
}

/** The body of `response` as text, or undefined (the rest unread) when over `max` bytes. */
export async function readBounded(
  response: Response,
  max: number,
): Promise<string | undefined> {
  if (Number(response.headers.get("content-length")) > max) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    // Leaving the loop cancels the body: nothing more is read.
    if (total > max) return undefined;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
