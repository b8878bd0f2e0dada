/**
 * @module
 * The single writer of protocol lines: one write at a time, lines that are ready together
 * coalesced into one write, a backlog the reader can wait on, and a failed write (the client
 * closed stdout) reported once instead of thrown.
 */

/**
 * Where lines are written: a byte stream, or a writer such as `Deno.stdout`, written without the
 * stream machinery (loading it costs milliseconds of start-up).
 */
export type ByteSink = WritableStream<Uint8Array> | ByteWriter;

/** Writes some of the bytes it is given, as `Deno.stdout` does, and says how many. */
export interface ByteWriter {
  write(bytes: Uint8Array): Promise<number>;
  close?(): void;
}

/** Writes all of `bytes` to `writer`, however many calls that takes. */
export async function writeAll(
  writer: ByteWriter,
  bytes: Uint8Array,
): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await writer.write(done === 0 ? bytes : bytes.subarray(done));
  }
}

/** Writes `bytes` to a sink of either kind, and resolves once they are written. */
export async function writeTo(
  sink: ByteSink,
  bytes: Uint8Array,
): Promise<void> {
  if (!isStream(sink)) return await writeAll(sink, bytes);
  const writer = sink.getWriter();
  try {
    await writer.write(bytes);
  } finally {
    writer.releaseLock();
  }
}

/** True for a stream; told apart without touching the `WritableStream` global, which loads it. */
function isStream(sink: ByteSink): sink is WritableStream<Uint8Array> {
  return typeof (sink as WritableStream).getWriter === "function";
}

/** Serializes lines onto a byte sink; every line ends with `\n`. */
export class LineWriter {
  readonly #write: (bytes: Uint8Array) => Promise<void>;
  readonly #close: () => Promise<void> | void;
  readonly #encoder = new TextEncoder();
  readonly #onError: (error: unknown) => void;
  #queue: string[] = [];
  /** Where a keyed line sits in `#queue`, while it waits there. */
  #keyed = new Map<string, number>();
  #queuedChars = 0;
  #inFlightChars = 0;
  #pumping = false;
  #failed = false;
  #idle: Array<() => void> = [];

  /** `onError` is called once, with the error of the first failed write. */
  constructor(sink: ByteSink, onError: (error: unknown) => void) {
    if (isStream(sink)) {
      const writer = sink.getWriter();
      this.#write = (bytes) => writer.write(bytes);
      this.#close = () => writer.close();
    } else {
      this.#write = (bytes) => writeAll(sink, bytes);
      this.#close = () => sink.close?.();
    }
    this.#onError = onError;
  }

  /**
   * Queues one line (without its newline). A line with a `key` replaces a queued line with the
   * same key in its place, so a burst of updates (progress) shrinks to the latest one when the
   * reader is slower than the updates. Lines after a failed write are dropped.
   */
  send(line: string, key?: string): void {
    if (this.#failed) return;
    if (key !== undefined) {
      const at = this.#keyed.get(key);
      if (at !== undefined) {
        this.#queuedChars += line.length - this.#queue[at]!.length;
        this.#queue[at] = line;
        return;
      }
      this.#keyed.set(key, this.#queue.length);
    }
    this.#queue.push(line);
    this.#queuedChars += line.length;
    if (!this.#pumping) {
      this.#pumping = true;
      queueMicrotask(() => this.#pump());
    }
  }

  /** Characters queued or being written: what the reader compares against its high-water mark. */
  get backlog(): number {
    return this.#queuedChars + this.#inFlightChars;
  }

  /** True after a write failed: the other end is gone. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves when everything queued so far has been written (or writing has failed). */
  drained(): Promise<void> {
    if (!this.#pumping) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Closes the stream once what is queued has been written; never throws. */
  async close(): Promise<void> {
    await this.drained();
    if (this.#failed) return;
    try {
      await this.#close();
    } catch {
      // The reader went away; nothing is left to flush.
    }
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failed) {
      const lines = this.#queue;
      this.#queue = [];
      if (this.#keyed.size > 0) this.#keyed.clear();
      this.#inFlightChars = this.#queuedChars;
      this.#queuedChars = 0;
      const text = lines.length === 1
        ? `${lines[0]}\n`
        : `${lines.join("\n")}\n`;
      try {
        await this.#write(this.#encoder.encode(text));
      } catch (error) {
        this.#failed = true;
        this.#queue = [];
        this.#queuedChars = 0;
        this.#onError(error);
      }
      this.#inFlightChars = 0;
    }
    this.#pumping = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
