/**
 * @module
 * A JSON-RPC client of a child process over its stdio, for `doctor`'s probe and the benchmark:
 * spawns the command, writes request lines, reads reply lines as they arrive (recording when,
 * before anything else is done with them), matches replies to requests by id with a deadline
 * on every wait, keeps the tail of stderr, and closes by ending stdin and awaiting the exit.
 */

import { readLineBatches } from "../server/lines.ts";
import { isPlainObject } from "../util/is.ts";

/** A reply as it arrived: when (`performance.now()`), its length, and the parsed message. */
export interface Arrival {
  at: number;
  bytes: number;
  message: Record<string, unknown>;
}

/** How to start the child. */
export interface RpcChildOptions {
  args?: readonly string[];
  /** Variables added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string | undefined;
}

/** How a close went: whether the child exited by itself, its exit code, and how long it took. */
export interface Exit {
  exited: boolean;
  code: number;
  ms: number;
}

/** Characters of stderr kept: the last ones, where a failure is explained. */
const STDERR_TAIL = 20_000;
/** Bytes a reply line may have (a 50 MiB echo fits; `readLineBatches` reserves 1 GiB at most). */
const MAX_REPLY_BYTES = 1 << 30;
/** Milliseconds to wait, after the exit, for the output still in the pipes. */
const DRAIN_MS = 1_000;

const encoder = new TextEncoder();

/** A child process that speaks JSON-RPC on its stdio; throws from `new` if it cannot start. */
export class RpcChild {
  /** When the spawn began (`performance.now()`). */
  readonly spawnedAt: number = performance.now();
  /** The child's process id. */
  readonly pid: number;
  /** Settles when the child exits. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stderrReader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #waiting = new Map<unknown, (arrival: Arrival | Error) => void>();
  readonly #arrived = new Map<unknown, Arrival>();
  readonly #stopReading = new AbortController();
  readonly #readers: Promise<unknown>;
  #onArrival: ((arrival: Arrival) => void) | undefined;
  /** Why no more replies will come, once that is so. */
  #ended: Error | undefined;
  #stderr = "";
  #closing: Promise<Exit> | undefined;

  constructor(command: string, options: RpcChildOptions = {}) {
    this.#child = new Deno.Command(command, {
      args: [...options.args ?? []],
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#child.pid;
    this.status = this.#child.status;
    this.#stdin = this.#child.stdin.getWriter();
    this.#stderrReader = this.#child.stderr.getReader();
    this.#readers = Promise.all([this.#read(), this.#readStderr()]);
  }

  /** Calls `fn` with every reply as it arrives, instead of keeping it for `reply()`. */
  onArrival(fn: ((arrival: Arrival) => void) | undefined): void {
    this.#onArrival = fn;
  }

  async #read(): Promise<void> {
    try {
      for await (
        const batch of readLineBatches(this.#child.stdout, {
          maxLineBytes: MAX_REPLY_BYTES,
          signal: this.#stopReading.signal,
        })
      ) {
        const at = performance.now();
        for (const line of batch) {
          if (typeof line !== "string" || this.#ended) continue;
          const message = parseObject(line);
          if (!message) {
            this.#end(
              `it wrote something that is not protocol to stdout, which breaks clients: ${
                JSON.stringify(line.slice(0, 120))
              } (log to stderr instead)`,
            );
            continue; // still read: a child blocked on a full pipe would not exit
          }
          const arrival = { at, bytes: line.length, message };
          if (this.#onArrival) {
            this.#onArrival(arrival);
            continue;
          }
          const wake = this.#waiting.get(message.id);
          if (wake) {
            this.#waiting.delete(message.id);
            wake(arrival);
          } else if (message.id !== undefined) {
            this.#arrived.set(message.id, arrival);
          }
        }
      }
    } catch {
      // The pipe broke: the same as its end, for whoever waits.
    } finally {
      this.#end("it exited without answering");
    }
  }

  /** From now on, every wait for a reply fails with `reason` (the first one given). */
  #end(reason: string): void {
    this.#ended ??= new Error(reason);
    for (const wake of this.#waiting.values()) wake(this.#ended);
    this.#waiting.clear();
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      while (true) {
        const { value, done } = await this.#stderrReader.read();
        if (done) break;
        this.#stderr = (this.#stderr + decoder.decode(value, { stream: true }))
          .slice(-STDERR_TAIL);
      }
    } catch {
      // cancelled by close(), or the pipe broke
    }
  }

  /** The child's stderr so far: its last 20,000 characters. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Writes raw bytes or text to the child's stdin. */
  async write(data: string | Uint8Array): Promise<void> {
    await this.#stdin.write(
      typeof data === "string" ? encoder.encode(data) : data,
    );
  }

  /** Writes `message` as one JSON line. */
  async send(message: unknown): Promise<void> {
    await this.write(`${JSON.stringify(message)}\n`);
  }

  /**
   * Waits for the reply to `id`. Rejects, saying why, when it does not come within `ms`, when
   * the child ends its output first, or when the child wrote a line that is not a JSON object.
   */
  reply(id: number | string, ms: number): Promise<Arrival> {
    const early = this.#arrived.get(id);
    if (early) {
      this.#arrived.delete(id);
      return Promise.resolve(early);
    }
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise<Arrival>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`no answer within ${duration(ms)}`));
      }, ms);
      this.#waiting.set(id, (arrival) => {
        clearTimeout(timer);
        if (arrival instanceof Error) reject(arrival);
        else resolve(arrival);
      });
    });
  }

  /**
   * Sends a request and waits for its reply, as `reply` does. A failed write is not the
   * failure reported: the child has gone, and the wait for the reply says how.
   */
  async call(
    id: number | string,
    method: string,
    params: unknown,
    ms: number,
  ): Promise<Arrival> {
    const reply = this.reply(id, ms);
    reply.catch(() => {}); // awaited below, after the write
    await this.send({ jsonrpc: "2.0", id, method, params }).catch(() => {});
    return await reply;
  }

  /**
   * Ends stdin and waits up to `ms` for the child to exit by itself, killing it past that; then
   * lets the output still in the pipes arrive (for at most a second). Later calls get the same.
   */
  close(ms: number): Promise<Exit> {
    return this.#closing ??= this.#close(ms);
  }

  async #close(ms: number): Promise<Exit> {
    const start = performance.now();
    await this.#stdin.close().catch(() => {});
    let status: Deno.CommandStatus | undefined;
    try {
      status = await deadline(this.status, ms, "");
    } catch {
      // did not exit in time
    }
    const took = performance.now() - start;
    const exited = status !== undefined;
    if (!status) {
      this.kill();
      status = await this.status;
    }
    try {
      await deadline(this.#readers, DRAIN_MS, "");
    } catch {
      // A process the child started holds the pipes open: stop reading them.
      this.#stopReading.abort();
      await this.#stderrReader.cancel().catch(() => {});
      await this.#readers;
    }
    return { exited, code: status.code, ms: took };
  }

  /** Ends the child now, if it is still running. */
  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** The JSON object a line holds, or undefined when it holds anything else. */
function parseObject(line: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return isPlainObject(value) ? value : undefined;
}

/** `ms` for a person: whole seconds as "15 s", anything else in milliseconds. */
function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Rejects with `message` if `promise` has not settled after `ms`; clears its timer either way. */
export async function deadline<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(message)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
