/**
 * @module
 * The two ends by which the HTTP transport drives an unchanged `serve()`: `LineFeed`, a byte
 * reader it pushes request lines into, and `LineSink`, a byte writer that cuts what the server
 * writes back into lines and hands each one over as it completes.
 */

import type { ByteReader } from "../lines.ts";
import type { ByteWriter } from "../writer.ts";

const encoder = new TextEncoder();

/**
 * Lines in, for `serve()`: as they are (`lineBatches`, what `serve()` reads), or as bytes;
 * `close()` is the end of input.
 */
export class LineFeed implements ByteReader {
  #lines: string[] = [];
  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #closed = false;
  #waiting: (() => void) | undefined;

  /** Queues one line (without its newline) for the server to read. */
  push(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    this.#wake();
  }

  /** The lines pushed, in batches of those pushed meanwhile, until `close()` or `signal`. */
  async *lineBatches(signal?: AbortSignal): AsyncGenerator<string[]> {
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

  /** Ends the input: the server reads what is queued, then EOF. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    while (this.#head === this.#chunks.length) {
      if (this.#lines.length > 0) {
        for (const line of this.#lines) {
          this.#chunks.push(encoder.encode(`${line}\n`));
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
 * What the server writes, cut into lines: each complete line goes to `onLine` during the write
 * that completes it, so the server's writer never waits on an HTTP client (each response has
 * its own bounded queue).
 */
export class LineSink implements ByteWriter {
  readonly #decoder = new TextDecoder();
  readonly #onLine: (line: string) => void;
  #partial: string[] = [];

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  write(bytes: Uint8Array): Promise<number> {
    // Decoded now: the writer reuses its buffer once this resolves.
    const text = this.#decoder.decode(bytes, { stream: true });
    let start = 0;
    for (let end; (end = text.indexOf("\n", start)) !== -1; start = end + 1) {
      let line = text.slice(start, end);
      if (this.#partial.length > 0) {
        this.#partial.push(line);
        line = this.#partial.join("");
        this.#partial = [];
      }
      this.#onLine(line);
    }
    if (start < text.length) this.#partial.push(text.slice(start));
    return Promise.resolve(bytes.length);
  }
}
