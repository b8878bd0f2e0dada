/**
 * @module
 * The single writer of protocol lines: one write at a time, lines that are ready together
 * coalesced into one write through one reused buffer (big strings escaped into it piece by
 * piece, strings a tool worker encoded written as they are), a bounded queue of log lines, a
 * backlog the reader can wait on, and a failed write (the client closed stdout) reported once
 * instead of thrown.
 *
 * About 360 lines, not split: nearly all of it is `LineWriter`, whose queue, log bound and
 * buffer share one state, and the rest is the sink I/O it writes through.
 * (Over 300 lines: one queue with its bounds — replies, logs, progress, big strings — and the one
 * loop that writes it; splitting it would split the invariants.)
 */

import {
  EncodedString,
  escapePieces,
  type JsonParts,
  lineText,
  pieceEnd,
} from "./json_line.ts";

/**
 * Where lines are written as bytes: a byte stream, or a writer such as `Deno.stdout`, written
 * without the stream machinery (loading it costs milliseconds of start-up).
 */
export type ByteSink = WritableStream<Uint8Array> | ByteWriter;

/**
 * Takes each line as text, without its newline, at once (an in-process transport: HTTP routes
 * each reply to its response as a string, so encoding it to bytes would be undone there).
 */
export interface TextSink {
  /** Takes one whole line; it must not wait on the reader (it queues what it cannot pass on). */
  writeLine(line: string): void;
  /** Closes the sink, once everything is written. */
  close?(): void;
}

/** Writes some of the bytes it is given, as `Deno.stdout` does, and says how many. */
export interface ByteWriter {
  /** Writes some of `bytes` (at least one); resolves to how many. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the writer, once everything is written. */
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

/** Writes `bytes` to a byte sink of either kind, and resolves once they are written. */
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

/** Bytes encoded before a write: a multiple of 3 (see `#put`), and a few pipefuls. */
const WRITE_BUFFER_BYTES = 192 * 1024;
/** Log notifications that may wait to be written at once; older ones are dropped. */
export const MAX_QUEUED_LOG_LINES = 1000;
/** The characters those may have in all. */
export const MAX_QUEUED_LOG_CHARS = 1024 * 1024;
const LOGS_DROPPED_KEY = "logs-dropped";
const LF = 10;

/** Serializes lines onto a byte sink; every line ends with `\n`. */
export class LineWriter {
  /** Writes `bytes`; `owned`: they are not reused after, so a stream may keep them. */
  readonly #write: (bytes: Uint8Array, owned?: boolean) => Promise<void>;
  /** A text sink's: lines go to it as they are, not encoded. */
  readonly #writeLine: ((line: string) => void) | undefined;
  readonly #close: () => Promise<void> | void;
  readonly #encoder = new TextEncoder();
  readonly #onError: (error: unknown) => void;
  /** Bytes waiting to be written; reused, since every write is awaited before the next fill. */
  readonly #buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  #used = 0;
  /** Lines to write; a log line dropped to make room leaves a null behind. */
  #queue: Array<string | JsonParts | null> = [];
  /** Where the queued log lines sit in `#queue`, oldest first from `#logHead`. */
  #logAt: number[] = [];
  #logHead = 0;
  #logChars = 0;
  #logsDropped = 0;
  #written = 0;
  /** Where a keyed line sits in `#queue`, while it waits there. */
  #keyed = new Map<string, number>();
  #queuedChars = 0;
  #inFlightChars = 0;
  #pumping = false;
  #failed = false;
  #idle: Array<() => void> = [];

  /** `onError` is called once, with the error of the first failed write. */
  constructor(sink: ByteSink | TextSink, onError: (error: unknown) => void) {
    if ("writeLine" in sink) {
      this.#writeLine = (line) => sink.writeLine(line);
      this.#write = () => Promise.resolve();
      this.#close = () => sink.close?.();
    } else if (isStream(sink)) {
      const writer = sink.getWriter();
      this.#write = async (bytes, owned) => {
        await writer.write(owned ? bytes : bytes.slice()); // a stream may keep what it gets
        this.#written += bytes.length;
      };
      this.#close = () => writer.close();
    } else {
      this.#write = async (bytes) => {
        for (let done = 0; done < bytes.length;) {
          const n = await sink.write(done === 0 ? bytes : bytes.subarray(done));
          done += n;
          this.#written += n;
        }
      };
      this.#close = () => sink.close?.();
    }
    this.#onError = onError;
  }

  /**
   * Queues one line (without its newline). A line with a `key` replaces a queued line with the
   * same key in its place, so a burst of updates (progress) shrinks to the latest one when the
   * reader is slower than the updates. Lines after a failed write are dropped.
   */
  send(line: string | JsonParts, key?: string): void {
    if (this.#failed) return;
    const chars = typeof line === "string" ? line.length : line.chars;
    if (key !== undefined && typeof line === "string") {
      const at = this.#keyed.get(key);
      if (at !== undefined) {
        this.#queuedChars += chars - (this.#queue[at] as string).length;
        this.#queue[at] = line;
        return;
      }
      this.#keyed.set(key, this.#queue.length);
    }
    this.#queue.push(line);
    this.#queuedChars += chars;
    if (!this.#pumping) {
      this.#pumping = true;
      queueMicrotask(() => this.#pump());
    }
  }

  /**
   * Queues a log notification. Logs are the one kind of line a tool can send without bound, so
   * at most MAX_QUEUED_LOG_LINES (and MAX_QUEUED_LOG_CHARS) wait at once: beyond that the
   * oldest waiting one is dropped, and one `makeNote(n)` line, kept up to date, says how many.
   */
  sendLog(line: string, makeNote: (dropped: number) => string): void {
    if (this.#failed) return;
    this.#logAt.push(this.#queue.length);
    this.#logChars += line.length;
    this.send(line);
    let dropped = 0;
    while (
      this.#logAt.length - this.#logHead > MAX_QUEUED_LOG_LINES ||
      this.#logChars > MAX_QUEUED_LOG_CHARS
    ) {
      const at = this.#logAt[this.#logHead++]!;
      const old = this.#queue[at] as string;
      this.#queue[at] = null;
      this.#logChars -= old.length;
      this.#queuedChars -= old.length;
      dropped++;
    }
    if (dropped > 0) {
      this.#logsDropped += dropped;
      this.send(makeNote(this.#logsDropped), LOGS_DROPPED_KEY);
    }
    if (this.#logHead >= MAX_QUEUED_LOG_LINES) this.#compact();
  }

  /**
   * Takes the places of dropped log lines out of the queue: a tool that logs without end while
   * the client does not read would otherwise grow it by one place a line.
   */
  #compact(): void {
    const dropped = this.#logAt.slice(0, this.#logHead); // ascending
    const head = this.#logHead;
    this.#queue = this.#queue.filter((line) => line !== null);
    // Every kept log line comes after every dropped one; a keyed line may sit anywhere.
    this.#logAt = this.#logAt.slice(head).map((at) => at - head);
    this.#logHead = 0;
    for (const [key, at] of this.#keyed) {
      let low = 0;
      for (let high = dropped.length; low < high;) {
        const mid = (low + high) >> 1;
        if (dropped[mid]! < at) low = mid + 1;
        else high = mid;
      }
      this.#keyed.set(key, at - low);
    }
  }

  /**
   * Counts `count` log notifications dropped before they reached this writer (a tool worker
   * dropped them while the server's thread was behind): the `makeNote` line of `sendLog` counts
   * them with the ones dropped here.
   */
  dropLogs(count: number, makeNote: (dropped: number) => string): void {
    if (this.#failed || !(count > 0)) return;
    this.#logsDropped += count;
    this.send(makeNote(this.#logsDropped), LOGS_DROPPED_KEY);
  }

  /**
   * Bytes written so far (characters, to a text sink): how the server tells a slow reader from
   * one that stopped.
   */
  get written(): number {
    return this.#written;
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
      let lines = this.#queue;
      this.#queue = [];
      if (this.#keyed.size > 0) this.#keyed.clear();
      if (this.#logAt.length > 0) {
        if (this.#logHead > 0) lines = lines.filter((line) => line !== null);
        this.#logAt = [];
        this.#logHead = 0;
        this.#logChars = 0;
      }
      this.#logsDropped = 0;
      this.#inFlightChars = this.#queuedChars;
      this.#queuedChars = 0;
      try {
        if (this.#writeLine) this.#giveLines(lines);
        else await this.#writeLines(lines as Array<string | JsonParts>);
      } catch (error) {
        this.#failed = true;
        this.#queue = [];
        this.#queuedChars = 0;
        this.#onError(error);
      }
      this.#used = 0;
      this.#inFlightChars = 0;
    }
    this.#pumping = false;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  /** To a text sink: each line as one string (big strings joined in: the sink needs them so). */
  #giveLines(lines: ReadonlyArray<string | JsonParts | null>): void {
    const writeLine = this.#writeLine!;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line === null || line === undefined) continue;
      const text = typeof line === "string" ? line : lineText(line);
      this.#written += text.length;
      writeLine(text);
    }
  }

  /**
   * Encodes lines into the buffer, writing it out whenever it fills, and at the end. Plain lines
   * that fit are encoded without an await (the common case, kept small for the JIT); a line too
   * long for the buffer, or with big strings, goes out in turns.
   */
  async #writeLines(lines: ReadonlyArray<string | JsonParts>): Promise<void> {
    for (let at = 0; at < lines.length;) {
      at = this.#fill(lines, at);
      if (at < lines.length && this.#used === 0) {
        await this.#writeLong(lines[at++]!);
      } else await this.#flush();
    }
  }

  /**
   * Encodes the plain lines from `at` on that fit in the buffer's free room, joined for one
   * encoding; returns the index of the first line left.
   */
  #fill(lines: ReadonlyArray<string | JsonParts>, at: number): number {
    let room = (WRITE_BUFFER_BYTES - this.#used) / 3 - 1; // UTF-16 units that surely fit
    let end = at;
    for (; end < lines.length; end++) {
      const line = lines[end]!;
      if (typeof line !== "string" || line.length + 1 > room) break;
      room -= line.length + 1;
    }
    if (end === at) return at;
    this.#encode(
      end === at + 1 ? lines[at] as string : lines.slice(at, end).join("\n"),
    );
    this.#buffer[this.#used++] = LF;
    return end;
  }

  /** A line that does not fit in the buffer at once, written in turns. */
  async #writeLong(line: string | JsonParts): Promise<void> {
    if (typeof line === "string") await this.#put(line);
    else {
      for (const part of line.parts) {
        if (typeof part === "string") await this.#put(part);
        else if (part instanceof EncodedString) {
          await this.#putBytes(part.bytes);
        } else {for (const piece of escapePieces(part.big)) {
            await this.#put(piece);
          }}
      }
    }
    await this.#put("\n");
    await this.#flush();
  }

  /** Encodes `text` into the buffer, writing the buffer out first, or in turns, when full. */
  async #put(text: string): Promise<void> {
    // A UTF-16 unit takes at most 3 bytes of UTF-8: this many always fit in an empty buffer.
    const room = WRITE_BUFFER_BYTES / 3;
    if (this.#used > 0 && text.length * 3 > WRITE_BUFFER_BYTES - this.#used) {
      await this.#flush();
    }
    let start = 0;
    while (text.length - start > room) {
      const end = pieceEnd(text, start, room);
      this.#encode(text.slice(start, end));
      await this.#flush();
      start = end;
    }
    this.#encode(start === 0 ? text : text.slice(start));
  }

  /** Writes bytes already encoded: copied into the buffer when they fit, else as they are. */
  async #putBytes(bytes: Uint8Array): Promise<void> {
    if (bytes.length <= WRITE_BUFFER_BYTES - this.#used) {
      this.#buffer.set(bytes, this.#used);
      this.#used += bytes.length;
      return;
    }
    if (this.#used > 0) await this.#flush();
    await this.#write(bytes, true);
  }

  #encode(text: string): void {
    const target = this.#used === 0
      ? this.#buffer
      : this.#buffer.subarray(this.#used);
    this.#used += this.#encoder.encodeInto(text, target).written;
  }

  async #flush(): Promise<void> {
    const bytes = this.#buffer.subarray(0, this.#used);
    this.#used = 0;
    await this.#write(bytes);
  }
}
