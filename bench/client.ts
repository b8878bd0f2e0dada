/**
 * @module
 * The benchmark's client: spawns a server, writes JSON-RPC lines to it, and records when each
 * reply line arrives (before parsing it, so parsing a 50 MiB reply is not charged to the server).
 * Every wait has a deadline; a server that misses one is reported, never waited on forever.
 */

import { readLineBatches } from "../src/server/lines.ts";

/** A reply as it arrived: when, how long, and the parsed message. */
export interface Arrival {
  at: number;
  bytes: number;
  message: Record<string, unknown>;
}

const encoder = new TextEncoder();

/** One server process under test. */
export class RpcProcess {
  readonly child: Deno.ChildProcess;
  readonly spawnedAt = performance.now();
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #waiting = new Map<unknown, (arrival: Arrival) => void>();
  #arrived = new Map<unknown, Arrival>();
  #onArrival: ((arrival: Arrival) => void) | undefined;
  #stderr = "";
  #closed = false;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(command: readonly string[], cwd: string) {
    this.child = new Deno.Command(command[0]!, {
      args: command.slice(1),
      cwd,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    this.status = this.child.status;
    void this.#read();
    void this.#readStderr();
  }

  /** Calls `fn` with every reply as it arrives, instead of keeping it for `reply()`. */
  onArrival(fn: ((arrival: Arrival) => void) | undefined): void {
    this.#onArrival = fn;
  }

  async #read(): Promise<void> {
    try {
      for await (
        const batch of readLineBatches(this.child.stdout, {
          maxLineBytes: 1 << 30,
        })
      ) {
        const at = performance.now();
        for (const line of batch) {
          if (typeof line !== "string") continue;
          const message = JSON.parse(line) as Record<string, unknown>;
          const arrival = { at, bytes: line.length, message };
          if (this.#onArrival) {
            this.#onArrival(arrival);
            continue;
          }
          const wake = this.#waiting.get(message.id);
          if (wake) {
            this.#waiting.delete(message.id);
            wake(arrival);
          } else this.#arrived.set(message.id, arrival);
        }
      }
    } catch {
      // The process died; waits fail on their deadlines or on exit.
    } finally {
      this.#closed = true;
      for (const wake of this.#waiting.values()) {
        wake({ at: NaN, bytes: 0, message: {} });
      }
      this.#waiting.clear();
    }
  }

  async #readStderr(): Promise<void> {
    for await (
      const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      if (this.#stderr.length < 20_000) this.#stderr += chunk;
    }
  }

  /** The server's stderr so far (first 20 KB), for reports of failures. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Writes raw bytes or text to the server's stdin. */
  async write(data: string | Uint8Array): Promise<void> {
    await this.#stdin.write(
      typeof data === "string" ? encoder.encode(data) : data,
    );
  }

  /** Sends a request line. */
  async send(
    id: number | string,
    method: string,
    params: unknown = {},
  ): Promise<void> {
    await this.write(
      `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`,
    );
  }

  /** Waits for the reply to `id`; throws when it does not come within `ms` or the output ends. */
  reply(id: number | string, ms: number): Promise<Arrival> {
    const early = this.#arrived.get(id);
    if (early) {
      this.#arrived.delete(id);
      return Promise.resolve(early);
    }
    if (this.#closed) {
      return Promise.reject(
        new Error(`the server closed stdout before replying to ${id}`),
      );
    }
    return deadline(
      new Promise<Arrival>((resolve, reject) =>
        this.#waiting.set(
          id,
          (a) =>
            Number.isNaN(a.at)
              ? reject(
                new Error(`the server closed stdout before replying to ${id}`),
              )
              : resolve(a),
        )
      ),
      ms,
      `no reply to ${id} within ${ms} ms`,
    );
  }

  /** Sends a request and waits for its reply. */
  async call(
    id: number | string,
    method: string,
    params: unknown,
    ms: number,
  ): Promise<Arrival> {
    const reply = this.reply(id, ms);
    reply.catch(() => {}); // awaited below; the write may fail first
    await this.send(id, method, params);
    return await reply;
  }

  /** Peak resident memory of the process and its descendants, in KiB (Linux; 0 elsewhere). */
  async peakRssKiB(): Promise<number> {
    let total = 0;
    for (const pid of await tree(this.child.pid)) {
      try {
        const status = await Deno.readTextFile(`/proc/${pid}/status`);
        total += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      } catch {
        // gone, or not Linux
      }
    }
    return total;
  }

  /** Closes stdin and measures how long the process takes to exit; kills it past `ms`. */
  async closeAndExit(ms: number): Promise<{ code: number; ms: number }> {
    const start = performance.now();
    await this.#stdin.close().catch(() => {});
    try {
      const status = await deadline(
        this.status,
        ms,
        `did not exit within ${ms} ms of EOF`,
      );
      return { code: status.code, ms: performance.now() - start };
    } catch (error) {
      this.kill();
      throw error;
    }
  }

  /** Ends the process now, if it is still running. */
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

async function tree(pid: number): Promise<number[]> {
  const pids = [pid];
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const children = await Deno.readTextFile(
        `/proc/${pid}/task/${task.name}/children`,
      );
      for (const child of children.trim().split(/\s+/).filter(Boolean)) {
        pids.push(...await tree(Number(child)));
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return pids;
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
