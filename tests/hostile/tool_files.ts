/**
 * @module
 * Hostile tool files for the loading and reload tests, and helpers that turn a hang into a
 * failure instead of a stalled test run.
 */

import { Logger } from "../../src/util/log.ts";

/** A valid tool's source; `extra` adds fields (`name: "x",`). */
export const TOOL = (extra = "") => `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Replies ok.",
  input: z.object({}),
  ${extra}
  run: () => "ok",
});
`;

const GATE = Symbol.for("tooldrop.test.gate");

/**
 * A tool whose top-level await does not settle while the test's gate is closed: to the loader
 * it is a module that never finishes (see {@link closedGate}).
 */
export const WAITS_FOR_GATE = `
await (globalThis as Record<symbol, unknown>)[Symbol.for("tooldrop.test.gate")];
export default { description: "Waits at import.", run: () => "late" };
`;

/** A tool whose top-level await never settles at all: only for a child process. */
export const NEVER_SETTLES = `
await new Promise(() => {});
export default { description: "Never loads.", run: () => "never" };
`;

/**
 * Closes the gate {@link WAITS_FOR_GATE} waits on; disposing opens it, so the waiting modules
 * finish and the test process can end (a module whose top-level await never settles makes Deno
 * fail the whole test file once its event loop runs dry).
 */
export function closedGate(): Disposable {
  const { promise, resolve } = Promise.withResolvers<void>();
  const global = globalThis as Record<symbol, unknown>;
  global[GATE] = promise;
  return {
    [Symbol.dispose]() {
      resolve();
      delete global[GATE];
    },
  };
}

/** `promise`, or a failure naming `what` after `ms`: a hang fails the test instead of stalling it. */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = 5_000,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A logger whose output a test can wait for, line by line, without sleeping. */
export function tapLog(): {
  log: Logger;
  text: () => string;
  waitFor: (pattern: RegExp) => Promise<void>;
} {
  const lines: string[] = [];
  let wake = () => {};
  const log = new Logger({
    level: "debug",
    write: (line) => {
      lines.push(line);
      wake();
    },
  });
  const text = () => lines.join("");
  const waitFor = async (pattern: RegExp) => {
    while (!pattern.test(text())) {
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return { log, text, waitFor };
}
