/**
 * @module
 * The range a timer can wait: `setTimeout` keeps at most 2^31-1 ms, and a longer delay overflows
 * and fires at once, so every configurable timeout is checked against it. And `nextTurn`, for
 * work that must wait for this turn's replies without a timer.
 */

/** The longest delay `setTimeout` keeps: a longer one overflows and fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** True for a whole number of milliseconds a timer can wait: 1 to 2147483647. */
export function isTimerMs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 &&
    (value as number) <= MAX_TIMER_MS;
}

/**
 * The milliseconds environment variable `name` sets; undefined when it is unset or this process
 * may not read it. A value that is not a whole number a timer can hold is reported to `warn`
 * and ignored.
 */
export function timerMsFromEnv(
  name: string,
  warn: (message: string) => void,
): number | undefined {
  let text: string | undefined;
  try {
    text = Deno.env.get(name);
  } catch {
    return undefined; // not permitted: the same as unset
  }
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (isTimerMs(ms)) return ms;
  warn(
    `Ignoring ${name}=${
      JSON.stringify(text.slice(0, 30))
    }: use a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
  );
  return undefined;
}

/**
 * Runs `fn` in a later turn of the event loop, once the writes this turn started are under way;
 * returns what cancels it. Not a timer: Deno's `setTimeout` is Node's, whose first use loads
 * Node's timer modules (15–30 ms measured here), and work put off to let a reply go first must
 * not make that reply wait for them.
 */
export function nextTurn(fn: () => void): () => void {
  const { port1, port2 } = new MessageChannel();
  const cancel = () => {
    port1.close();
    port2.close();
  };
  port1.addEventListener("message", () => {
    cancel();
    fn();
  }, { once: true });
  port1.start();
  port2.postMessage(undefined);
  return cancel;
}
