/**
 * Call timeouts (src/server/call.ts `Deadlines`): one timer per timeout length, calls of one
 * length timed out in the order they started, a removed call never aborted, no timer left.
 */

import assert from "node:assert/strict";
import { Call, type CallChannel } from "../src/server/call.ts";
import { Deadlines } from "../src/server/deadlines.ts";
import { legacyScope } from "../src/server/era.ts";
import type { Tool } from "../src/tool/served.ts";

/** What timed out, in order; `reached(n)` resolves once `n` calls have. */
class Aborted extends Array<string> {
  #waiters: Array<[number, () => void]> = [];

  record(entry: string): void {
    this.push(entry);
    for (const [count, resolve] of this.#waiters) {
      if (this.length >= count) resolve();
    }
  }

  reached(count: number): Promise<void> {
    if (this.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push([count, resolve]));
  }
}

/** A started call of a tool with this timeout; `aborted` records it when it times out. */
function call(name: string, timeoutMs: number, aborted: Aborted): Call {
  const tool = { name, timeoutMs } as Tool;
  const made = new Call(
    name,
    name,
    0,
    tool,
    {},
    legacyScope("2025-06-18"),
    {} as CallChannel,
  );
  made.started = true;
  made.onAbort = (c) => aborted.record(`${c.tool.name}:${c.ended}`);
  return made;
}

/** Counts `setTimeout` calls while `fn` runs. */
async function countingTimers(fn: () => Promise<void>): Promise<number> {
  const original = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof original>) => {
    timers++;
    return original(...args);
  }) as typeof original;
  try {
    await fn();
  } finally {
    globalThis.setTimeout = original;
  }
  return timers;
}

Deno.test("calls with the same timeout time out in the order they started, on one timer", async () => {
  const deadlines = new Deadlines();
  const aborted = new Aborted();
  const timers = await countingTimers(() => {
    for (let i = 0; i < 50; i++) deadlines.add(call(`t${i}`, 20, aborted));
    return Promise.resolve();
  });
  assert.equal(timers, 1);
  await aborted.reached(50);
  assert.deepEqual(
    [...aborted],
    Array.from({ length: 50 }, (_, i) => `t${i}:timeout`),
  );
});

Deno.test("a shorter timeout started later times out first", async () => {
  const deadlines = new Deadlines();
  const aborted = new Aborted();
  deadlines.add(call("long", 60, aborted));
  deadlines.add(call("short", 10, aborted));
  await aborted.reached(2);
  assert.deepEqual([...aborted], ["short:timeout", "long:timeout"]);
});

Deno.test("a removed call never times out, and its lane's timer stops with its last call", async () => {
  const deadlines = new Deadlines();
  const aborted = new Aborted();
  const first = call("first", 15, aborted);
  const second = call("second", 15, aborted);
  const third = call("third", 15, aborted);
  deadlines.add(first);
  deadlines.add(second);
  deadlines.add(third);
  deadlines.remove(second);
  deadlines.remove(first);
  await aborted.reached(1);
  assert.deepEqual([...aborted], ["third:timeout"]);
  // Removed before its deadline: no timer is left (the op sanitizer would fail the test).
  const alone = call("alone", 10_000, aborted);
  deadlines.add(alone);
  deadlines.remove(alone);
  deadlines.remove(alone); // twice is harmless
  assert.deepEqual([...aborted], ["third:timeout"]);
});

/** A clock the test moves: `performance.now` and the timers follow it. */
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { due: number; fn: () => void }>();
  const saved = {
    now: performance.now,
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
  };
  performance.now = () => now;
  globalThis.setTimeout = ((fn: () => void, ms = 0) => {
    timers.set(nextId, { due: now + ms, fn });
    return nextId++;
  }) as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((id?: number) => {
    if (id !== undefined) timers.delete(id);
  }) as unknown as typeof clearTimeout;
  return {
    /** Fires, in order, every timer due by `to`, with the clock at its due time. */
    advance(to: number): void {
      for (;;) {
        const due = [...timers].filter(([, t]) => t.due <= to)
          .sort((a, b) => a[1].due - b[1].due)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].due;
        due[1].fn();
      }
      now = to;
    },
    [Symbol.dispose](): void {
      performance.now = saved.now;
      globalThis.setTimeout = saved.setTimeout;
      globalThis.clearTimeout = saved.clearTimeout;
    },
  };
}

Deno.test("a call started by a timed-out call's abort does not delay the next deadline", () => {
  using clock = fakeClock();
  const deadlines = new Deadlines();
  const aborted = new Aborted();
  const first = call("first", 20, aborted);
  const second = call("second", 20, aborted);
  const started = call("started", 20, aborted);
  // A remote run that ends at once when aborted, letting the runner start a waiting call.
  first.remote = { abort: () => deadlines.add(started) };
  deadlines.add(first); // due at 20
  clock.advance(10);
  deadlines.add(second); // due at 30
  clock.advance(20);
  assert.deepEqual([...aborted], ["first:timeout"]);
  clock.advance(30);
  assert.deepEqual([...aborted], ["first:timeout", "second:timeout"]);
  clock.advance(40);
  assert.deepEqual([...aborted], [
    "first:timeout",
    "second:timeout",
    "started:timeout",
  ]);
});
