/**
 * @module
 * The server's input as batches of lines, with a bounded read-ahead: while serving is paused
 * (the client is not reading its replies, or too many calls are waiting), a few more batches are
 * read so that the end of the input is still noticed, and no more than that is held.
 */

import type { ServedItem } from "./lines.ts";

/** Batches read ahead while paused: a batch is one read (64 KiB) or one long line. */
const MAX_AHEAD_BATCHES = 16;

/** Batches of lines, read on demand or a little ahead; see the module documentation. */
export class Input {
  readonly #batches: AsyncIterator<ServedItem[]>;
  readonly #onError: (error: unknown) => void;
  readonly #ahead: ServedItem[][] = [];
  #reading: Promise<void> | undefined;
  #ended = false;

  /** `onError` hears of a failed read, which ends the input. */
  constructor(
    batches: AsyncIterable<ServedItem[]>,
    onError: (error: unknown) => void,
  ) {
    this.#batches = batches[Symbol.asyncIterator]();
    this.#onError = onError;
  }

  /** True once the input has ended; batches read ahead may still be waiting in `next()`. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The next batch, or undefined at the end of the input. */
  async next(): Promise<ServedItem[] | undefined> {
    while (this.#ahead.length === 0 && !this.#ended) await this.#read();
    return this.#ahead.shift();
  }

  /**
   * Reads one more batch ahead, and resolves when it (or the end) has arrived; undefined when
   * nothing more may be read ahead.
   */
  readAhead(): Promise<void> | undefined {
    if (this.#ended || this.#ahead.length >= MAX_AHEAD_BATCHES) return;
    return this.#read();
  }

  #read(): Promise<void> {
    return this.#reading ??= this.#batches.next().then(
      (result) => {
        this.#reading = undefined;
        if (result.done) this.#ended = true;
        else this.#ahead.push(result.value);
      },
      (error) => {
        this.#reading = undefined;
        this.#ended = true;
        this.#onError(error);
      },
    );
  }
}
