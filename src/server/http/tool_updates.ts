/**
 * @module
 * One stream of new sets (`serve --watch`) shared by every connection of the HTTP server
 * (`ToolUpdates`): the stateless 2026-era one and each legacy session. A connection opened later
 * starts from the newest set; each follows the sets after the one it started with, and only the
 * newest matters to it (a burst while it is busy is one change).
 */

import type { ToolSet } from "../../tool/served.ts";
import type { Logger } from "../../util/log.ts";

/** See the module documentation. */
export class ToolUpdates {
  #current: ToolSet;
  #version = 0;
  readonly #waiting = new Set<() => void>();

  /** Reads `updates` until it ends; a failure is logged and ends it. */
  constructor(first: ToolSet, updates: AsyncIterable<ToolSet>, log: Logger) {
    this.#current = first;
    void (async () => {
      try {
        for await (const set of updates) {
          this.#current = set;
          this.#version++;
          for (const wake of this.#waiting) wake();
          this.#waiting.clear();
        }
      } catch (error) {
        log.error("Stopped following changes", error);
      }
    })();
  }

  /** The newest set: what a new connection starts with. */
  get current(): ToolSet {
    return this.#current;
  }

  /**
   * The sets after the current one, for one connection, until `signal` aborts (the connection
   * ended: nothing of it is kept).
   */
  follow(signal: AbortSignal): AsyncGenerator<ToolSet> {
    return this.#follow(this.#version, signal);
  }

  async *#follow(seen: number, signal: AbortSignal): AsyncGenerator<ToolSet> {
    while (!signal.aborted) {
      if (this.#version === seen) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.#waiting.delete(wake);
            signal.removeEventListener("abort", wake);
            resolve();
          };
          this.#waiting.add(wake);
          signal.addEventListener("abort", wake, { once: true });
        });
        continue;
      }
      seen = this.#version;
      yield this.#current;
    }
  }
}
