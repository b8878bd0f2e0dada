/**
 * @module
 * Waiting in a tool worker without Node's timers. Deno's `setTimeout` and `setImmediate` are
 * Node's, and their first use loads Node's timer modules into the worker: measured on 2.9.6,
 * ~9 ms of a worker's start (its first call waits for it) and ~2 MiB it keeps, for a worker whose
 * tools may never use a timer.
 */

/** What `soon` runs at the next turn; the channel is made at the first use. */
let waiting: Array<() => void> = [];
let channel: MessageChannel | undefined;

/**
 * Runs `fn` at a later turn of the worker's event loop, after what this turn does (a message of
 * the worker to itself: as quick as `setImmediate`, and messages that came meanwhile are
 * handled first or next to it). One message for all that are waiting.
 */
export function soon(fn: () => void): void {
  if (waiting.push(fn) > 1) return;
  if (!channel) {
    channel = new MessageChannel();
    channel.port2.addEventListener("message", runWaiting);
    channel.port2.start();
  }
  channel.port1.postMessage(null);
}

function runWaiting(): void {
  const due = waiting;
  waiting = [];
  for (const fn of due) {
    try {
      fn();
    } catch (error) {
      // As a throw from a timer would: reported, and the others still run.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/**
 * Calls `fn` after `ms` milliseconds unless the returned function is called first. Made of
 * `AbortSignal.timeout`, which loads no Node module; that cannot be cancelled, so a cancelled one
 * still fires, into nothing (`fn` is let go at once).
 */
export function after(ms: number, fn: () => void): () => void {
  let target: (() => void) | undefined = fn;
  AbortSignal.timeout(ms).addEventListener("abort", () => target?.(), {
    once: true,
  });
  return () => {
    target = undefined;
  };
}
