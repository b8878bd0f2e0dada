/**
 * @module
 * Bytes to lines with `TextLineStream` semantics (split on `\n`, drop one trailing `\r`), plus a
 * byte bound per line: an over-long line is skipped up to its newline and reported, never buffered.
 */

/** The default bound on one line, in bytes, without its terminator. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Marks a line that was longer than the bound; it has been (or is being) skipped. */
export interface OverlongLine {
  readonly overlong: true;
  /** The bound it exceeded, in bytes. */
  readonly maxLineBytes: number;
}

/** An item read from the stream: the text of one line, or the notice that a line was too long. */
export type LineItem = string | OverlongLine;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Where lines are read from: a byte stream, or a reader such as `Deno.stdin`, read without the
 * stream machinery (loading it costs milliseconds of start-up).
 */
export type ByteSource = ReadableStream<Uint8Array> | ByteReader;

/** Reads into a buffer it is given, as `Deno.stdin` does: the count read, or null at the end. */
export interface ByteReader {
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * Reads bytes as lines and yields them in batches, one batch per chunk that ended at least one
 * line, so a reader does not await once per line. Blank lines are dropped. Cost is linear in
 * the input: a long line is collected as a list of chunks and joined once. Aborting `signal`
 * ends the lines as the end of input would.
 *
 * @example
 * ```ts
 * for await (const batch of readLineBatches(Deno.stdin, { maxLineBytes: 1024 })) {
 *   for (const item of batch) typeof item === "string" ? handle(item) : reportTooLong(item);
 * }
 * ```
 */
export async function* readLineBatches(
  input: ByteSource,
  options: { maxLineBytes?: number; signal?: AbortSignal } = {},
): AsyncGenerator<LineItem[], void, undefined> {
  const { signal } = options;
  if (signal?.aborted) return;
  const source = isStream(input) ? streamSource(input) : readerSource(input);
  const stop = () => source.stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    yield* splitLines(source, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
  } finally {
    signal?.removeEventListener("abort", stop);
    source.release();
  }
}

/** Size of the buffer input is read into, again and again. */
const READ_BUFFER_BYTES = 64 * 1024;

interface Source {
  /** The next chunk, or null at the end. */
  read(): Promise<Uint8Array | null>;
  /** True when a chunk's memory is reused by the next read, so kept bytes must be copied. */
  reuses: boolean;
  /** Ends the input: a pending read resolves to null. */
  stop(): void;
  /** Lets go of the input once reading is over. */
  release(): void;
}

/** True for a stream; told apart without touching the `ReadableStream` global, which loads it. */
function isStream(input: ByteSource): input is ReadableStream<Uint8Array> {
  return typeof (input as ReadableStream).getReader === "function";
}

/**
 * Reads a reader into one reused buffer, which spares an allocation per read: ~5 MiB less
 * resident memory over a long session. A read under way cannot be cancelled, so stopping
 * answers it with the end at once and leaves the late bytes unread.
 */
function readerSource(reader: ByteReader): Source {
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  let stopped = false;
  let wake: (() => void) | undefined;
  return {
    reuses: true,
    read: () =>
      new Promise<Uint8Array | null>((resolve, reject) => {
        if (stopped) return resolve(null);
        wake = () => resolve(null);
        reader.read(buffer).then((count) => {
          wake = undefined;
          resolve(count === null || stopped ? null : buffer.subarray(0, count));
        }, reject);
      }),
    stop: () => {
      stopped = true;
      wake?.();
    },
    release: () => {},
  };
}

/**
 * Reads a byte stream into one reused buffer (a BYOB reader), like a reader; other streams are
 * read as they come.
 */
function streamSource(readable: ReadableStream<Uint8Array>): Source {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = readable.getReader({ mode: "byob" });
  } catch {
    // not a byte stream
  }
  const reader = byob ?? readable.getReader();
  const control = {
    stop: () => void reader.cancel().catch(() => {}),
    release: () => reader.releaseLock(),
  };
  if (!byob) {
    const plain = reader as ReadableStreamDefaultReader<Uint8Array>;
    return {
      ...control,
      reuses: false,
      read: async () => {
        const { value, done } = await plain.read();
        return done ? null : value;
      },
    };
  }
  let buffer = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    ...control,
    reuses: true,
    read: async () => {
      const { value, done } = await byob.read(new Uint8Array(buffer));
      if (done || !value) return null;
      buffer = value.buffer as ArrayBuffer; // the same memory, handed back for the next read
      return value;
    },
  };
}

async function* splitLines(
  source: Source,
  maxLineBytes: number,
): AsyncGenerator<LineItem[], void, undefined> {
  const overlong: OverlongLine = { overlong: true, maxLineBytes };
  const decoder = new TextDecoder();
  let pieces: Uint8Array[] = [];
  let pendingBytes = 0;
  let skipping = false;

  const finishLine = (bytes: Uint8Array, batch: LineItem[]) => {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    if (end > maxLineBytes) batch.push(overlong);
    else if (end > 0) {
      const text = decoder.decode(
        end === bytes.length ? bytes : bytes.subarray(0, end),
      );
      if (!isBlank(bytes[0]!, text)) batch.push(text);
    }
  };

  while (true) {
    const chunk = await source.read();
    if (chunk === null) break;
    const batch: LineItem[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        const rest = chunk.length - start;
        // One byte of slack: a trailing `\r` still to come off does not count against the bound.
        if (!skipping && pendingBytes + rest > maxLineBytes + 1) {
          batch.push(overlong);
          skipping = true;
          pieces = [];
          pendingBytes = 0;
        } else if (!skipping) {
          pieces.push(
            source.reuses ? chunk.slice(start) : chunk.subarray(start),
          );
          pendingBytes += rest;
        }
        break;
      }
      if (skipping) skipping = false;
      else if (pendingBytes === 0) {
        finishLine(chunk.subarray(start, newline), batch);
      } else {
        pieces.push(chunk.subarray(start, newline));
        finishLine(join(pieces, pendingBytes + newline - start), batch);
        pieces = [];
        pendingBytes = 0;
      }
      start = newline + 1;
    }
    if (batch.length > 0) yield batch;
  }
  if (!skipping && pendingBytes > 0) {
    const batch: LineItem[] = [];
    finishLine(join(pieces, pendingBytes), batch);
    if (batch.length > 0) yield batch;
  }
}

function join(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** True when a line holds only whitespace; checks the text only when its first byte is one. */
function isBlank(firstByte: number, text: string): boolean {
  return (firstByte === SPACE || firstByte === TAB || firstByte === CR) &&
    text.trim() === "";
}
