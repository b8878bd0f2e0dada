/**
 * @module
 * Times calls out with one timer per timeout length, not one per call: calls with the same
 * timeout expire in the order they started.
 */

import type { Call } from "./call.ts";

/** The calls of one timeout length, oldest first: they time out in the order they started. */
export interface Lane {
  readonly ms: number;
  oldest: Call | undefined;
  newest: Call | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Times calls out. Calls with the same timeout expire in the order they started, so each
 * timeout length needs one timer, armed for its oldest call: a call costs two links, not a
 * timer.
 */
export class Deadlines {
  readonly #lanes = new Map<number, Lane>();

  /** Aborts `call` with "timeout" once its tool's `timeoutMs` has passed, unless removed. */
  add(call: Call): void {
    const ms = call.tool.timeoutMs;
    let lane = this.#lanes.get(ms);
    if (!lane) {
      lane = { ms, oldest: undefined, newest: undefined, timer: undefined };
      this.#lanes.set(ms, lane);
    }
    call.deadline = performance.now() + ms;
    call.lane = lane;
    call.older = lane.newest;
    if (lane.newest) lane.newest.newer = call;
    else lane.oldest = call;
    lane.newest = call;
    if (lane.timer === undefined) this.#arm(lane, ms);
  }

  /** Forgets `call` (it ended); its lane's timer stops when no call is left. */
  remove(call: Call): void {
    const lane = call.lane;
    if (!lane) return;
    call.lane = undefined;
    if (call.older) call.older.newer = call.newer;
    else lane.oldest = call.newer;
    if (call.newer) call.newer.older = call.older;
    else lane.newest = call.older;
    call.older = call.newer = undefined;
    if (!lane.oldest && lane.timer !== undefined) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
  }

  #arm(lane: Lane, ms: number): void {
    lane.timer = setTimeout(() => this.#expire(lane), ms);
  }

  /** Times out every call of `lane` whose deadline has passed; re-arms for the next. */
  #expire(lane: Lane): void {
    lane.timer = undefined;
    const now = performance.now();
    let call = lane.oldest;
    while (call && call.deadline <= now) {
      this.remove(call);
      call.abort("timeout");
      call = lane.oldest;
    }
    // An abort may have started a call that armed a timer for itself: re-arm for the oldest.
    if (lane.timer !== undefined) clearTimeout(lane.timer);
    lane.timer = undefined;
    const oldest = lane.oldest;
    if (oldest) {
      this.#arm(lane, Math.max(1, Math.ceil(oldest.deadline - now)));
    }
  }
}
