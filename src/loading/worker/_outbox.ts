/**
 * @module
 * What a tool worker sends the server's thread, gathered over one turn of its event loop and
 * sent as one `turn` message: results, logs, progress and requests to the client. A tool can log far
 * faster than the server's thread takes messages, so nothing here grows without bound: results
 * are bounded by the calls in flight (and never dropped), logs by the writer's own bound (the
 * oldest dropped beyond it, and counted), progress to the latest per call; and a turn with any
 * of those waits while two sent before it wait for the server's `ack`.
 */

import { soon } from "./_turns.ts";
import type {
  EncodedResult,
  FromWorker,
  Notes,
  PackedResults,
} from "./protocol.ts";
import { buffersOf } from "./_encoded.ts";
import type { CallToolResult } from "../../tool/tool.ts";
import type { LogLevel } from "../../util/log.ts";
import {
  MAX_QUEUED_LOG_CHARS,
  MAX_QUEUED_LOG_LINES,
} from "../../server/writer.ts";

/** Turns with logs, progress or client requests the server's thread may hold unhandled at once. */
export const MAX_UNACKED_TURNS = 2;

/** Fields of one entry of `Notes`. */
const NOTE_FIELDS = 4;

type Turn = Extract<FromWorker, { type: "turn" }>;
type Result = { id: number; result: CallToolResult | EncodedResult };

/** Posts a message with the buffers it moves; throws when the message cannot be cloned. */
export type Post = (message: FromWorker, transfer: ArrayBuffer[]) => void;

/** One worker's messages to the server's thread, gathered per turn; see the module docs. */
export class Outbox {
  readonly #post: Post;
  /** Told a result could not be sent, with why; returns the result to send instead. */
  readonly #unsendable: (error: unknown, who: string) => CallToolResult;
  /** How the results waiting to leave name what made them (`Tool "echo"`), by call id. */
  #who = new Map<number, string>();
  #notes: Notes = [];
  /** Where each log entry of `#notes` starts, oldest first from `#logHead`. */
  #logAt: number[] = [];
  #logHead = 0;
  #logChars = 0;
  /** Where each call's progress entry in `#notes` starts. */
  #progressAt = new Map<number, number>();
  /** Logs dropped, by call and level. */
  #dropped = new Map<number, Map<LogLevel, number>>();
  #asks: Array<number | string | Record<string, unknown>> = [];
  #results: Result[] = [];
  #packed: PackedResults = [];
  #transfer: ArrayBuffer[] = [];
  #unacked = 0;
  #queued = false;

  constructor(
    post: Post,
    unsendable: (error: unknown, who: string) => CallToolResult,
  ) {
    this.#post = post;
    this.#unsendable = unsendable;
  }

  /** A log message of call `id`; the oldest waiting one is dropped beyond the bound. */
  log(id: number, level: LogLevel, message: string): void {
    const notes = this.#notes;
    this.#logAt.push(notes.length);
    notes.push(id, level, message, undefined);
    this.#logChars += message.length;
    while (
      this.#logAt.length - this.#logHead > MAX_QUEUED_LOG_LINES ||
      this.#logChars > MAX_QUEUED_LOG_CHARS
    ) {
      const at = this.#logAt[this.#logHead++]!;
      const call = notes[at] as number;
      const dropped = notes[at + 1] as LogLevel;
      this.#logChars -= (notes[at + 2] as string).length;
      notes[at + 2] = undefined;
      notes[at] = undefined; // compacted away when sent
      let levels = this.#dropped.get(call);
      if (!levels) this.#dropped.set(call, levels = new Map());
      levels.set(dropped, (levels.get(dropped) ?? 0) + 1);
    }
    this.#schedule();
  }

  /** A progress update of call `id`: it replaces the one of the same call still waiting. */
  progress(id: number, done: number, total?: number, message?: string): void {
    const notes = this.#notes;
    const at = this.#progressAt.get(id);
    if (at === undefined) {
      this.#progressAt.set(id, notes.length);
      notes.push(id, done, total, message);
    } else {
      notes[at + 1] = done;
      notes[at + 2] = total;
      notes[at + 3] = message;
    }
    this.#schedule();
  }

  /** A request of call `id` to the client (`ctx.roots()`, `ctx.elicit`, `ctx.sample`). */
  ask(
    id: number,
    request: number,
    method: string,
    params: Record<string, unknown>,
  ): void {
    this.#asks.push(id, request, method, params);
    this.#schedule();
  }

  /** A call's result, for a `results` list (`packed`: the `packed` one). */
  result(
    id: number,
    result: string | CallToolResult | EncodedResult,
    packed: boolean,
    later = true,
    who = "Tool",
  ): void {
    this.#who.set(id, who);
    if (packed) this.#packed.push(id, result);
    else this.#results.push({ id, result: result as CallToolResult });
    for (const buffer of buffersOf(result)) this.#transfer.push(buffer);
    if (later) this.#schedule();
  }

  /** The server's thread handled a turn sent with `ack`: sends what waited for it. */
  ack(): void {
    if (this.#unacked > 0) this.#unacked--;
    this.flush();
  }

  /**
   * Sends what waits, in one `turn`; unless `force` (the worker is ending), logs, progress and
   * client requests (and the results behind them) wait while MAX_UNACKED_TURNS turns wait for their `ack`.
   */
  flush(force = false): void {
    this.#queued = false;
    const chatty = this.#notes.length > 0 || this.#dropped.size > 0 ||
      this.#asks.length > 0;
    if (chatty && this.#unacked >= MAX_UNACKED_TURNS && !force) return;
    const turn: Turn = { type: "turn" };
    if (chatty) {
      turn.ack = true;
      if (this.#dropped.size > 0) turn.dropped = this.#takeDropped();
      if (this.#notes.length > 0) turn.notes = this.#takeNotes();
      if (this.#asks.length > 0) {
        turn.asks = this.#asks;
        this.#asks = [];
      }
    }
    const results = this.#results;
    const packed = this.#packed;
    if (results.length > 0) {
      turn.results = results;
      this.#results = [];
    }
    if (packed.length > 0) {
      turn.packed = packed;
      this.#packed = [];
    }
    if (!chatty && !turn.results && !turn.packed) return;
    const transfer = this.#transfer;
    this.#transfer = [];
    const who = this.#who;
    this.#who = new Map();
    if (chatty) this.#unacked++;
    try {
      this.#post(turn, transfer);
    } catch {
      // A result that cannot be cloned (a function in structuredContent): send the rest alone,
      // and each result on its own, that one as the error saying why.
      delete turn.results;
      delete turn.packed;
      if (chatty) this.#post(turn, []);
      for (const { id, result } of results) {
        this.#postOne(id, result, false, who.get(id));
      }
      for (let i = 0; i + 1 < packed.length; i += 2) {
        const id = packed[i] as number;
        const result = packed[i + 1] as string | CallToolResult | EncodedResult;
        this.#postOne(id, result, true, who.get(id));
      }
    }
  }

  #postOne(
    id: number,
    result: string | CallToolResult | EncodedResult,
    packed: boolean,
    who = "Tool",
  ): void {
    const turn = (result: string | CallToolResult | EncodedResult): Turn =>
      packed ? { type: "turn", packed: [id, result] } : {
        type: "turn",
        results: [{ id, result: result as CallToolResult }],
      };
    try {
      this.#post(turn(result), buffersOf(result));
    } catch (error) {
      this.#post(turn(this.#unsendable(error, who)), []);
    }
  }

  #schedule(): void {
    if (this.#queued) return;
    this.#queued = true;
    // Everything that happens in this turn of the event loop leaves in the same message, sent
    // at the next turn (a 0 ms setTimeout would wait ~2 ms in Deno 2.9.6, and load Node's timers).
    soon(() => {
      if (this.#queued) this.flush();
    });
  }

  /** The notes waiting, without the dropped logs; empties them. */
  #takeNotes(): Notes {
    let notes = this.#notes;
    if (this.#logHead > 0) {
      const kept: Notes = [];
      for (let at = 0; at < notes.length; at += NOTE_FIELDS) {
        if (notes[at] === undefined) continue;
        kept.push(notes[at], notes[at + 1], notes[at + 2], notes[at + 3]);
      }
      notes = kept;
    }
    this.#notes = [];
    this.#logAt = [];
    this.#logHead = 0;
    this.#logChars = 0;
    this.#progressAt.clear();
    return notes;
  }

  #takeDropped(): Array<number | LogLevel> {
    const dropped: Array<number | LogLevel> = [];
    for (const [call, levels] of this.#dropped) {
      for (const [level, count] of levels) dropped.push(call, level, count);
    }
    this.#dropped.clear();
    return dropped;
  }
}
