/**
 * @module
 * The two ends by which the HTTP transport drives an unchanged `serve()`: `LineFeed`, a reader
 * it pushes lines and parsed requests into, and `LineSink`, which hands over each line the
 * server writes back, as text.
 */

import type { LineReader, ParsedRequest, ServedItem } from "../lines.ts";
import type { TextSink } from "../writer.ts";

const encoder = new TextEncoder();

/**
 * Lines in, for `serve()`: as they are (`lineBatches`, what `serve()` reads), or as bytes;
 * `close()` is the end of input.
 */
export class LineFeed implements LineReader {
  #lines: Array<string | ParsedRequest> = [];
  #late: string[] = [];
  #lateDone = false;
  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #closed = false;
  #waiting: (() => void) | undefined;

  /**
   * Queues one line (without its newline) for the server to read, or a request parsed already:
   * the server takes it as it is (the HTTP transport parsed the body to route it), which saves
   * writing it out and parsing it again.
   */
  push(line: string | ParsedRequest): void {
    if (this.#closed) {
      // After the end: only lines (cancellations, answers), for `lateBatches`, until it ends
      // (they are as many as the requests the peer had in progress, at most).
      if (typeof line !== "string" || this.#lateDone) return;
      this.#late.push(line);
    } else this.#lines.push(line);
    this.#wake();
  }

  /** The lines pushed, in batches of those pushed meanwhile, until `close()` or `signal`. */
  async *lineBatches(signal?: AbortSignal): AsyncGenerator<ServedItem[]> {
    const stop = () => this.#wake();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      while (!signal?.aborted) {
        if (this.#lines.length > 0) {
          const batch = this.#lines;
          this.#lines = [];
          yield batch;
          continue;
        }
        if (this.#closed) return;
        await new Promise<void>((resolve) => this.#waiting = resolve);
      }
    } finally {
      signal?.removeEventListener("abort", stop);
    }
  }

  /**
   * The lines pushed after `close()` (a client's cancellation in the shutdown grace), in
   * batches, until `signal`: the server reads them while it waits for its calls to end.
   */
  async *lateBatches(signal: AbortSignal): AsyncGenerator<ServedItem[]> {
    const stop = () => this.#wake();
    signal.addEventListener("abort", stop, { once: true });
    try {
      while (!signal.aborted) {
        if (this.#late.length > 0) {
          const batch = this.#late;
          this.#late = [];
          yield batch;
          continue;
        }
        await new Promise<void>((resolve) => this.#waiting = resolve);
      }
    } finally {
      signal.removeEventListener("abort", stop);
      this.#lateDone = true;
      this.#late = [];
    }
  }

  /** Ends the input: the server reads what is queued, then EOF (then `lateBatches`). */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#head === this.#chunks.length) {
      if (this.#lines.length > 0) {
        for (const line of this.#lines) {
          const text = typeof line === "string" ? line : requestLine(line);
          this.#chunks.push(encoder.encode(`${text}\n`));
        }
        this.#lines = [];
        break;
      }
      if (this.#closed) return null;
      await new Promise<void>((resolve) => this.#waiting = resolve);
    }
    let filled = 0;
    while (filled < buffer.length && this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      const take = Math.min(
        chunk.length - this.#offset,
        buffer.length - filled,
      );
      buffer.set(chunk.subarray(this.#offset, this.#offset + take), filled);
      filled += take;
      this.#offset += take;
      if (this.#offset === chunk.length) {
        this.#head++;
        this.#offset = 0;
      }
    }
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
    return filled;
  }

  #wake(): void {
    const wake = this.#waiting;
    this.#waiting = undefined;
    wake?.();
  }
}

/**
 * What the server writes, line by line: each line goes to `onLine` as the server's writer gives
 * it, as text, so that writer never waits on an HTTP client (each response has its own bounded
 * queue).
 */
export class LineSink implements TextSink {
  readonly #onLine: (line: string) => void;

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  writeLine(line: string): void {
    this.#onLine(line);
  }
}

/** A parsed request's line, as a client sends it (for a reader of bytes). */
function requestLine({ id, method, params }: ParsedRequest): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    method,
    ...(params === undefined ? {} : { params }),
  });
}
