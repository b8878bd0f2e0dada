/**
 * @module
 * The one logger: levelled, timestamped lines for people, written to a sink (stderr in main.ts),
 * never to stdout. Levels are MCP's (RFC 5424), so the same level names work on both sides.
 */

import { logDetail } from "./describe.ts";

/** A log level, as MCP names them (RFC 5424's severities). */
export type LogLevel =
  | "debug"
  | "info"
  | "notice"
  | "warning"
  | "error"
  | "critical"
  | "alert"
  | "emergency";

/** Every log level, from least to most severe. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "notice",
  "warning",
  "error",
  "critical",
  "alert",
  "emergency",
];

/** True when `value` names a log level. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" &&
    (LOG_LEVELS as readonly string[]).includes(value);
}

/** The severity rank of a level: 0 for debug up to 7 for emergency. */
export function levelRank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

/** Where log text goes and how it is stamped. */
export interface LoggerOptions {
  /** Least severe level that is written; default "info". */
  level?: LogLevel;
  /** Receives each formatted line, newline included. */
  write: (text: string) => void;
  /** Clock for timestamps; tests pass a fixed one. */
  now?: () => Date;
}

/**
 * Writes `2026-11-23T06:34:00.123Z info  message` lines. An `Error` detail adds its stack.
 *
 * @example
 * ```ts
 * const log = new Logger({ level: "debug", write: (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)) });
 * log.info("serving 2 tools");
 * ```
 */
export class Logger {
  #rank: number;
  #write: (text: string) => void;
  #now: () => Date;

  /** A logger that writes lines at `options.level` and above to `options.write`. */
  constructor(options: LoggerOptions) {
    this.#rank = levelRank(options.level ?? "info");
    this.#write = options.write;
    this.#now = options.now ?? (() => new Date());
  }

  /** The least severe level written. */
  get level(): LogLevel {
    return LOG_LEVELS[this.#rank]!;
  }

  /** Changes the least severe level written. */
  set level(level: LogLevel) {
    this.#rank = levelRank(level);
  }

  /** True when a message at `level` would be written. */
  enabled(level: LogLevel): boolean {
    return levelRank(level) >= this.#rank;
  }

  /** Writes `message` at `level`, with `detail` (an error's stack, or any value) after it. */
  log(level: LogLevel, message: string, detail?: unknown): void {
    if (!this.enabled(level)) return;
    let text = `${this.#now().toISOString()} ${level.padEnd(7)} ${message}`;
    if (detail !== undefined) text += `\n${logDetail(detail)}`;
    try {
      this.#write(`${text}\n`);
    } catch {
      // stderr is gone too; there is nowhere left to report this.
    }
  }

  /** Writes `message` at debug level. */
  debug(message: string, detail?: unknown): void {
    this.log("debug", message, detail);
  }

  /** Writes `message` at info level. */
  info(message: string, detail?: unknown): void {
    this.log("info", message, detail);
  }

  /** Writes `message` at warning level. */
  warn(message: string, detail?: unknown): void {
    this.log("warning", message, detail);
  }

  /** Writes `message` at error level. */
  error(message: string, detail?: unknown): void {
    this.log("error", message, detail);
  }
}
