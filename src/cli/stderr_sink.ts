/**
 * @module
 * A bounded, asynchronous text sink for stderr: writing never waits, so a client that pipes
 * stderr and never reads it cannot block the server; when MAX_QUEUED_CHARS wait unwritten, new
 * text is dropped, counted, and reported once the sink can write again.
 */

import type { ByteWriter } from "../server/writer.ts";

/** Characters that may wait to be written; beyond that, text is dropped. */
const MAX_QUEUED_CHARS = 1024 * 1024;

/** Queues text for a byte writer and writes it in the background; see the module documentation. */
export class StderrSink {
  readonly #writer: ByteWriter;
  readonly #max: number;
  readonly #encoder = new TextEncoder();
  #queue: string[] = [];
  #queuedChars = 0;
  #dropped = 0;
  #pumping: Promise<void> | undefined;
  #failed = false;

  constructor(writer: ByteWriter, maxChars = MAX_QUEUED_CHARS) {
    this.#writer = writer;
    this.#max = maxChars;
  }

  /** Queues `text`; never blocks, never throws. */
  write(text: string): void {
    if (this.#failed) return;
    if (this.#queuedChars + text.length > this.#max) {
      this.#dropped++;
      return;
    }
    this.#queue.push(text);
    this.#queuedChars += text.length;
    this.#pumping ??= this.#pump();
  }

  /** Waits until everything queued is written, or `ms` have passed. */
  async flush(ms: number): Promise<void> {
    if (!this.#pumping) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#pumping,
      new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const text = this.#queue.join("");
        this.#queue = [];
        const bytes = this.#encoder.encode(text);
        for (let done = 0; done < bytes.length;) {
          done += await this.#writer.write(bytes.subarray(done));
        }
        this.#queuedChars -= text.length;
        if (this.#dropped > 0 && this.#queue.length === 0) {
          const note =
            `tooldrop: ${this.#dropped} log write(s) dropped: stderr was not being read\n`;
          this.#dropped = 0;
          this.#queue.push(note);
          this.#queuedChars += note.length;
        }
      }
    } catch {
      this.#failed = true; // stderr is gone: there is nowhere left to write to
      this.#queue = [];
    }
    this.#pumping = undefined;
  }
}
