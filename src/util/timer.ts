/**
 * @module
 * The range a timer can wait: `setTimeout` keeps at most 2^31-1 ms, and a longer delay overflows
 * and fires at once, so every configurable timeout is checked against it.
 */

/** The longest delay `setTimeout` keeps: a longer one overflows and fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** True for a whole number of milliseconds a timer can wait: 1 to 2147483647. */
export function isTimerMs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 &&
    (value as number) <= MAX_TIMER_MS;
}
