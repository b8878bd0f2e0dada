/**
 * @module
 * Bytes to lines with `TextLineStream` semantics (split on `\n`, drop one trailing `\r`, skip
 * blank lines), plus a byte bound per line: an over-long line is skipped up to its newline and
 * reported, never buffered. Synchronous; reading is lines.ts.
 */

import type { Message } from "./jsonrpc.ts";

/** Marks a line that was longer than the bound; it has been (or is being) skipped. */
export interface OverlongLine {
  readonly overlong: true;
  /** The bound it exceeded, in bytes. */
  readonly maxLineBytes: number;
}

/**
 * A request an in-process transport parsed already (HTTP parses a body to route it): served as
 * it is rather than written out as a line and parsed again.
 */
export type ParsedRequest = Extract<Message, { kind: "request" }>;

/** An item read from the stream: the text of one line, or the notice that a line was too long. */
export type LineItem = string | OverlongLine;

/** What the server reads: a line, or (from an in-process transport) a request parsed already. */
export type ServedItem = LineItem | ParsedRequest;

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * Address space reserved for one long line: lines past it are reported as too long (V8 cannot
 * hold a string of ~512 Mi characters or more anyway).
 */
const LONG_LINE_RESERVE = 1024 * 1024 * 1024;

/**
 * Splits chunks into lines, synchronously; a line that spans chunks is copied, as it arrives,
 * into one resizable buffer whose memory is reserved up front, so it is never moved or joined.
 */
export class LineSplitter {
  readonly #overlong: OverlongLine;
  /** Bytes a line may have with its `\r`: one byte of slack, so `\r` does not count. */
  readonly #limit: number;
  /** Byte order marks are dropped per line (see `addLine`), not only at the start. */
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** The start of a line that continues in the next chunk; created once, when first needed. */
  #held: HeldBytes | undefined;
  /** True while the rest of an over-long line is skipped up to its newline. */
  #skipping = false;

  constructor(maxLineBytes: number) {
    this.#overlong = { overlong: true, maxLineBytes };
    this.#limit = Math.min(maxLineBytes + 1, LONG_LINE_RESERVE);
  }

  /** The lines that `chunk` ends; it may be reused once this returns. */
  push(chunk: Uint8Array): LineItem[] {
    const batch: LineItem[] = [];
    let start = 0;
    if (this.#skipping || this.#held?.length) {
      // First the end of the line that began in an earlier chunk.
      const newline = chunk.indexOf(LF);
      if (newline === -1) {
        this.#keep(chunk, batch);
        return batch;
      }
      if (this.#skipping) this.#skipping = false;
      else if (this.#keep(chunk.subarray(0, newline), batch)) {
        this.#finish(this.#held!.bytes(), batch);
        this.#held!.clear();
      } else this.#skipping = false; // the newline ends the skipped line
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      if (last - start < this.#limit) {
        // No line here can be too long: decode them all at once, then split the text.
        this.#splitText(
          this.#decoder.decode(chunk.subarray(start, last)),
          batch,
        );
      } else {
        while (start <= last) {
          const newline = chunk.indexOf(LF, start);
          this.#finish(chunk.subarray(start, newline), batch);
          start = newline + 1;
        }
      }
      start = last + 1;
    }
    if (start < chunk.length) this.#keep(chunk.subarray(start), batch);
    return batch;
  }

  /** The last line, when the input ended without a newline. */
  end(): LineItem[] {
    const batch: LineItem[] = [];
    if (this.#held?.length) this.#finish(this.#held.bytes(), batch);
    this.#held?.clear();
    return batch;
  }

  /** Adds bytes to the line that spans chunks; false (reported) when it gets too long. */
  #keep(bytes: Uint8Array, batch: LineItem[]): boolean {
    if (this.#skipping) return false;
    const held = this.#held ??= new HeldBytes(this.#limit);
    if (held.length + bytes.length > this.#limit) {
      batch.push(this.#overlong);
      this.#skipping = true;
      held.clear();
      return false;
    }
    held.append(bytes);
    return true;
  }

  /** One line's bytes, without its `\n`. */
  #finish(bytes: Uint8Array, batch: LineItem[]): void {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    if (end >= this.#limit) return void batch.push(this.#overlong);
    if (end === 0) return;
    let text: string;
    try {
      text = this.#decoder.decode(
        end === bytes.length ? bytes : bytes.subarray(0, end),
      );
    } catch {
      return void batch.push(this.#overlong); // longer than a string may be
    }
    addLine(text, 0, text.length, batch);
  }

  /** Lines of decoded text that holds no `\n` after its last line. */
  #splitText(text: string, batch: LineItem[]): void {
    for (let from = 0; from <= text.length;) {
      let to = text.indexOf("\n", from);
      if (to === -1) to = text.length;
      addLine(text, from, text.charCodeAt(to - 1) === CR ? to - 1 : to, batch);
      from = to + 1;
    }
  }
}

const BOM = 0xfeff;

/**
 * Adds `text` from `from` to `to` as a line, unless it is blank. A byte order mark at the start
 * of a line is dropped: it is never part of a JSON message.
 */
function addLine(
  text: string,
  from: number,
  to: number,
  batch: LineItem[],
): void {
  if (text.charCodeAt(from) === BOM) from++;
  if (to <= from) return;
  const first = text.charCodeAt(from);
  const line = from === 0 && to === text.length ? text : text.slice(from, to);
  if (
    (first === SPACE || first === TAB || first === CR) && line.trim() === ""
  ) return;
  batch.push(line);
}

/** Memory kept committed between lines; above it, clearing gives the memory back. */
const KEEP_HELD_BYTES = 1024 * 1024;

/**
 * Bytes of one line collected across chunks, in a resizable buffer: its address space is
 * reserved once, pages are committed as it grows, and it is never moved or copied.
 */
class HeldBytes {
  readonly #buffer: ArrayBuffer;
  readonly #view: Uint8Array;
  #length = 0;

  constructor(limit: number) {
    this.#buffer = new ArrayBuffer(0, { maxByteLength: limit });
    this.#view = new Uint8Array(this.#buffer); // length-tracking: grows with the buffer
  }

  get length(): number {
    return this.#length;
  }

  append(bytes: Uint8Array): void {
    const end = this.#length + bytes.length;
    const size = this.#buffer.byteLength;
    if (end > size) {
      // Doubling commits address space, not memory: pages are only used once written.
      this.#buffer.resize(
        Math.min(this.#buffer.maxByteLength, Math.max(end, size * 2, 65536)),
      );
    }
    this.#view.set(bytes, this.#length);
    this.#length = end;
  }

  bytes(): Uint8Array {
    return this.#view.subarray(0, this.#length);
  }

  clear(): void {
    this.#length = 0;
    if (this.#buffer.byteLength > KEEP_HELD_BYTES) this.#buffer.resize(0);
  }
}
