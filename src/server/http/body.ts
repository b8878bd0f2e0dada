/**
 * @module
 * Reading a request's body within bounds: no longer than one line may be (413), sent within a
 * bounded time (408), and, with every other body being received, within a budget of count and
 * bytes (503): a client could open any number of connections, each declaring a body of the
 * largest size.
 */

/** How long a client may take to send a request's body, in all; then 408. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** Request bodies being received at once; beyond, 503 (a client could open any number). */
export const MAX_BODY_READS = 1024;
/**
 * Bytes those may hold in all (at least one body of the largest size): without a bound, many
 * clients each sending a body of the largest size would hold that many times it in memory.
 */
export const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** One body's hold on the budget: more bytes as a chunked body's come, then given back. */
export interface BodyHold {
  /** More bytes of this body; false when over the budget. */
  take(bytes: number): boolean;
  /** The read is over: its count and every byte it held go back. */
  close(): void;
}

/**
 * What the bodies being received hold, in count and bytes, against their bounds: a declared
 * length is held whole from the start, a chunked body's bytes as they come.
 */
export class BodyBudget {
  readonly #maxReads: number;
  readonly #maxBytes: number;
  #reads = 0;
  #bytes = 0;

  /** `largest`: the most one body may have (the budget always admits one of them). */
  constructor(
    largest: number,
    maxReads: number = MAX_BODY_READS,
    maxBytes: number = MAX_BODY_BYTES,
  ) {
    this.#maxReads = maxReads;
    this.#maxBytes = Math.max(maxBytes, largest);
  }

  /** Starts a read holding `bytes` (its declared length); undefined when over either bound. */
  open(bytes: number): BodyHold | undefined {
    if (this.#reads >= this.#maxReads || this.#bytes + bytes > this.#maxBytes) {
      return undefined;
    }
    this.#reads++;
    this.#bytes += bytes;
    let held = bytes;
    let open = true;
    return {
      take: (more) => {
        if (this.#bytes + more > this.#maxBytes) return false;
        this.#bytes += more;
        held += more;
        return true;
      },
      close: () => {
        if (!open) return;
        open = false;
        this.#reads--;
        this.#bytes -= held;
      },
    };
  }
}

/**
 * Reads request bodies within a bound of bytes and of time (see `readBody`), with one timer for
 * all the reads in progress rather than one each: a body with a `Content-Length` (no more than
 * `maxBytes`) is read whole with `Request.text()`, several times cheaper than reading its stream
 * chunk by chunk; a chunked one is read by `readBody`, which counts its bytes as they come.
 * `close()` stops the timer.
 */
export class BodyReader {
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #budget: BodyBudget;
  readonly #onUnreadable: (error: unknown) => void;
  /** Reads in progress, oldest first: all have the same bound, so deadlines are in order. */
  readonly #reads = new Set<{ deadline: number; late: () => void }>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    maxBytes: number,
    timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
    budget: BodyBudget = new BodyBudget(maxBytes),
    onUnreadable: (error: unknown) => void = () => {},
  ) {
    this.#onUnreadable = onUnreadable;
    this.#maxBytes = maxBytes;
    this.#timeoutMs = timeoutMs;
    this.#budget = budget;
  }

  /**
   * The body as text, "too large" or "too slow", as `readBody` says, "busy" when the bodies
   * being received already hold the budget (their count or their bytes): answered at once, or
   * "unreadable" when it cannot be read to its end (the connection broke, or the server began
   * stopping while it came: Deno then closes what it has not read; `onUnreadable` is told why).
   */
  async read(
    request: Request,
  ): Promise<string | "too large" | "too slow" | "busy" | "unreadable"> {
    const length = request.headers.get("content-length");
    if (length !== null && Number(length) > this.#maxBytes) return "too large";
    // A declared length is held whole from the start; a chunked body as its bytes come.
    const hold = this.#budget.open(length === null ? 0 : Number(length));
    if (!hold) return "busy";
    try {
      return length === null
        ? await readBody(request, this.#maxBytes, this.#timeoutMs, hold)
        : await this.#whole(request);
    } catch (error) {
      this.#onUnreadable(error); // told why (for a debug line): the reply says only that
      return "unreadable";
    } finally {
      hold.close();
    }
  }

  /** A body of a declared length, read at once under the shared timer. */
  #whole(request: Request): Promise<string | "too slow"> {
    const { promise, resolve, reject } = Promise.withResolvers<
      string | "too slow"
    >();
    // Too slow: answered now. The framing bounds what is still read (Content-Length bytes);
    // the read ends when the client sends the rest or closes, or at shutdown (never cancelled:
    // see readBody).
    const read = {
      deadline: performance.now() + this.#timeoutMs,
      late: () => resolve("too slow"),
    };
    this.#reads.add(read);
    this.#timer ??= setTimeout(() => this.#expire(), this.#timeoutMs);
    request.text().then((text) => {
      this.#reads.delete(read);
      resolve(text);
    }, (error) => {
      this.#reads.delete(read);
      reject(error);
    });
    return promise;
  }

  /** Stops the timer, once no request is left (reads still in progress are no longer bounded). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reads.clear();
  }

  /** Ends the reads past their deadline; the timer is set again for the oldest left. */
  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const read of this.#reads) {
      if (read.deadline > now) {
        this.#timer = setTimeout(() => this.#expire(), read.deadline - now);
        return;
      }
      this.#reads.delete(read);
      read.late();
    }
  }
}

/**
 * The body of a request as text; "too large" past `maxBytes`, "too slow" when it has not all
 * come within `timeoutMs` (either way read no further). The rest is left unread, not cancelled:
 * Deno's server never finishes shutting down while a client that is still connected holds a
 * request whose body was cancelled mid-way (it waits for that client to close).
 */
export async function readBody(
  request: Request,
  maxBytes: number,
  timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
  hold?: BodyHold,
): Promise<string | "too large" | "too slow" | "busy"> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) return "too large";
  if (!request.body) return "";
  const reader = request.body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"too slow">((resolve) =>
    timer = setTimeout(() => resolve("too slow"), timeoutMs)
  );
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), late]);
      if (read === "too slow") return read;
      const { done, value } = read;
      if (done) break;
      size += value.length;
      if (size > maxBytes) return "too large";
      if (hold && !hold.take(value.length)) return "busy";
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
    // A read still pending (too slow) is rejected by the release; nothing waits for it.
    reader.releaseLock();
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(all);
}
