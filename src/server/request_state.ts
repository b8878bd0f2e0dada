/**
 * @module
 * The `requestState` of the 2026-07-28 era's multi round-trip requests: an opaque string the
 * client echoes when it retries a request with the input the server asked for. The client is
 * not trusted with it, so it is signed (HMAC-SHA-256 with a key made when the server starts and
 * never leaving it, or one shared by every instance behind a load balancer), expires, and is
 * bound to the request it was given for: the method, the tool and its arguments. A state from
 * another key, another call or past its time is refused.
 */

import { MIN_STATE_KEY_BYTES } from "./protocol.ts";

const encoder = new TextEncoder();

/**
 * What a state carries: which suspended call it resumes (in which server run), until when
 * (epoch ms), and the answers the call had before it asked again, so that a server that does
 * not hold the call (another instance sharing the key) can run it again with them.
 */
export interface StatePayload {
  /** The server run that suspended the call (random, per process). */
  readonly run: string;
  /** The suspended call's number in that run. */
  readonly call: number;
  /** Which of the call's questions-and-answers rounds it answers: an older one is refused. */
  readonly round: number;
  /** Epoch milliseconds after which the state is refused. */
  readonly expires: number;
  /** Answers given before, by input key; absent when they were too big to carry. */
  readonly answers?: Record<string, unknown>;
}

export { MIN_STATE_KEY_BYTES };

/** Signs and checks request states; one per server run. */
export class RequestStates {
  readonly #key: Promise<CryptoKey>;
  readonly #now: () => number;

  /**
   * `key`: the HMAC key, shared by instances that must accept each other's states (at least
   * MIN_STATE_KEY_BYTES); default a random one, this run's alone.
   */
  constructor(now: () => number = Date.now, key?: Uint8Array<ArrayBuffer>) {
    this.#now = now;
    if (key !== undefined && key.length < MIN_STATE_KEY_BYTES) {
      throw new RangeError(
        `A request state key needs at least ${MIN_STATE_KEY_BYTES} bytes`,
      );
    }
    this.#key = crypto.subtle.importKey(
      "raw",
      key ?? crypto.getRandomValues(new Uint8Array(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
  }

  /** A state for `payload`, valid only for a request that `binding` describes the same. */
  async seal(payload: StatePayload, binding: string): Promise<string> {
    const body = base64url(encoder.encode(JSON.stringify(payload)));
    const signature = await crypto.subtle.sign(
      "HMAC",
      await this.#key,
      encoder.encode(`${body}\n${binding}`),
    );
    return `${body}.${base64url(new Uint8Array(signature))}`;
  }

  /**
   * The payload of `state` when it was sealed by this server run for a request `binding`
   * describes and has not expired; otherwise why not, to put in the error.
   */
  async open(
    state: string,
    binding: string,
  ): Promise<StatePayload | { refused: string }> {
    const [body, signature, extra] = state.split(".");
    const mac = signature === undefined ? undefined : fromBase64url(signature);
    // Only the canonical encoding: the spare bits of a last character are not ignored, so a
    // state cannot be altered without changing its signature.
    if (
      body === undefined || mac === undefined || extra !== undefined ||
      base64url(mac) !== signature
    ) {
      return { refused: "is not one this server gave" };
    }
    const valid = await crypto.subtle.verify(
      "HMAC",
      await this.#key,
      mac,
      encoder.encode(`${body}\n${binding}`),
    );
    if (!valid) {
      return {
        refused:
          "does not match this request (another tool or other arguments), or was given by an earlier run of the server (or one with another key)",
      };
    }
    let payload: StatePayload;
    try {
      payload = JSON.parse(
        new TextDecoder().decode(fromBase64url(body)),
      ) as StatePayload;
    } catch {
      return { refused: "is not one this server gave" }; // signed, yet not ours: another key's
    }
    if (!(payload.expires > this.#now())) return { refused: "has expired" };
    return payload;
  }
}

/**
 * A shared key from its text (`TOOLDROP_STATE_KEY`): base64 or hex of at least
 * MIN_STATE_KEY_BYTES bytes, else a message saying what is wrong.
 */
export function stateKey(text: string): Uint8Array<ArrayBuffer> | string {
  const trimmed = text.trim();
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) {
    bytes = new Uint8Array(trimmed.length / 2);
    for (let i = 0; i < bytes.length; i++) {
      bytes[i] = parseInt(trimmed.slice(2 * i, 2 * i + 2), 16);
    }
  } else {
    bytes = fromBase64url(
      trimmed.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    );
  }
  if (!bytes || bytes.length < MIN_STATE_KEY_BYTES) {
    return `TOOLDROP_STATE_KEY must be at least ${MIN_STATE_KEY_BYTES} random bytes, written in hex or base64 (e.g. \`openssl rand -hex 32\`)`;
  }
  return bytes;
}

/**
 * What binds a state to its request: the method, the tool's name and arguments as JSON with
 * keys in order (a client may write them in another order when it retries), and the
 * authenticated principal when the transport names one.
 */
export function callBinding(
  name: string,
  args: Record<string, unknown>,
  principal?: string,
): string {
  const binding = `tools/call\n${name}\n${canonicalJson(args)}`;
  // Bound to whom the transport authenticated, when it did: another user's retry is refused.
  return principal === undefined
    ? binding
    : `${binding}\n${JSON.stringify(principal)}`;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, field) => {
    if (typeof field !== "object" || field === null || Array.isArray(field)) {
      return field;
    }
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(field).sort()) sorted[key] = field[key];
    return sorted;
  });
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) {
    binary += String.fromCharCode(bytes[i]!);
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}
