/**
 * @module
 * What `deno check` said, read and cut short for a person watching `dev`: each error as one
 * `tools/hello.ts:12:7 type error TS2322: …` line, at most `MAX_SHOWN`, then how many more.
 */

import { fileURLToPath } from "node:url";
import { concat } from "../../util/bytes.ts";

/** Errors shown for one check; the rest are counted. */
export const MAX_SHOWN = 8;
/** Lines of other output (a module not found, a parse error) shown when no error was read. */
const MAX_OTHER_LINES = 6;
/** Bytes of a check's output kept from its start; past them only the last `TAIL_BYTES`. */
const MAX_OUTPUT_BYTES = 256 * 1024;
const TAIL_BYTES = 1024;
/** Characters of one error's message shown. */
const MAX_MESSAGE_CHARS = 300;

/** `TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.` */
const DIAGNOSTIC = /^(TS\d+) \[ERROR\]: (.*)$/;
/** `    at file:///project/tools/hello.ts:12:7`: where the error above it is. */
const LOCATION = /^\s+at (\S+):(\d+):(\d+)$/;
/** `Found 12 errors.`: the total, which output cut short still ends with. */
const FOUND = /^Found (\d+) errors?\.$/m;
/** Lines that say nothing a person needs: the summary, and a Rust backtrace (RUST_BACKTRACE). */
const NOISE =
  /^(?:Check |Found \d+ errors?\.|error: Type checking failed\.|Stack backtrace:|\s+\d+: )/;

/** One type error: where it is (a path relative to the project when inside it) and what. */
export interface Diagnostic {
  code: string;
  message: string;
  /** `tools/hello.ts:12:7`; undefined for an error of the whole program. */
  at: string | undefined;
}

/** What one `deno check` run said. */
export interface CheckOutcome {
  /** The errors read, in the order deno printed them. */
  errors: Diagnostic[];
  /** How many errors deno counted (more than `errors` when the output was cut short). */
  total: number;
  /** Other lines that explain a failure with no type error read (a module not found…). */
  other: string[];
}

/**
 * Reads `deno check` output (without colours, `NO_COLOR=1`): `text` is its start and `tail`
 * its last bytes, when it was too long to keep whole. `root` is the project folder
 * (`/`-separated, trailing `/`), which locations are shown relative to.
 */
export function readCheckOutput(
  text: string,
  root: string,
  tail = "",
): CheckOutcome {
  const errors: Diagnostic[] = [];
  const other: string[] = [];
  let current: Diagnostic | undefined;
  for (const line of text.split(/\r?\n/)) {
    const diagnostic = DIAGNOSTIC.exec(line);
    if (diagnostic) {
      current = {
        code: diagnostic[1]!,
        message: diagnostic[2]!.slice(0, MAX_MESSAGE_CHARS),
        at: undefined,
      };
      errors.push(current);
      continue;
    }
    const location = LOCATION.exec(line);
    if (location && current && current.at === undefined) {
      current.at = place(location, root);
      continue;
    }
    if (current || line.trim() === "" || NOISE.test(line)) continue;
    if (other.length < MAX_OTHER_LINES) {
      other.push(location ? `    at ${place(location, root)}` : line);
    }
  }
  const found = FOUND.exec(`${text}\n${tail}`);
  const total = Math.max(errors.length, found ? Number(found[1]) : 0);
  return { errors, total, other };
}

/**
 * The block a person reads: one line per error shown, `and N more` past `MAX_SHOWN`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatErrors, readCheckOutput } from "./type_errors.ts";
 *
 * const said = `TS2322 [ERROR]: Type 'string' is not assignable to type 'number'.
 * const n: number = "x";
 *       ^
 *     at file:///home/ada/mytools/tools/hello.ts:3:7
 *
 * Found 1 error.`;
 * assert.deepEqual(formatErrors(readCheckOutput(said, "/home/ada/mytools/")), [
 *   "tools/hello.ts:3:7 type error TS2322: Type 'string' is not assignable to type 'number'.",
 * ]);
 * ```
 */
export function formatErrors(outcome: CheckOutcome): string[] {
  const lines = outcome.errors.slice(0, MAX_SHOWN).map((
    { code, message, at },
  ) => `${at ? `${at} ` : ""}type error ${code}: ${message}`);
  const more = outcome.total - lines.length;
  if (more > 0) lines.push(`and ${more} more`);
  return lines;
}

/** `tools/hello.ts:12:7` for a LOCATION match. */
function place(location: RegExpExecArray, root: string): string {
  return `${shownPath(location[1]!, root)}:${location[2]}:${location[3]}`;
}

/** A `file:` URL as a path, relative to `root` when inside it; anything else as it is. */
function shownPath(url: string, root: string): string {
  if (!url.startsWith("file:")) return url;
  let path: string;
  try {
    path = fileURLToPath(url).replaceAll("\\", "/");
  } catch {
    return url;
  }
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/**
 * A process's output (stdout and stderr together) as text: its first `MAX_OUTPUT_BYTES`, and
 * past them its last `TAIL_BYTES`, where deno's count of errors is.
 */
export class OutputText {
  #kept = 0;
  #chunks: Uint8Array[] = [];
  #tail = new Uint8Array(0);

  /** Reads `stream` to its end. */
  async read(stream: ReadableStream<Uint8Array>): Promise<void> {
    for await (const chunk of stream) {
      const room = MAX_OUTPUT_BYTES - this.#kept;
      if (room > 0) {
        this.#chunks.push(chunk.subarray(0, room));
        this.#kept += Math.min(room, chunk.length);
      }
      if (chunk.length > room) {
        const joined = new Uint8Array(this.#tail.length + chunk.length);
        joined.set(this.#tail);
        joined.set(chunk, this.#tail.length);
        this.#tail = joined.slice(-TAIL_BYTES);
      }
    }
  }

  /** The start of the output. */
  get text(): string {
    return new TextDecoder().decode(concat(this.#chunks));
  }

  /** The end of the output, when it was longer than `MAX_OUTPUT_BYTES`. */
  get tail(): string {
    return new TextDecoder().decode(this.#tail);
  }
}
