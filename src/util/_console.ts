/**
 * @module
 * Sends every `console` method to the logger, so a `console.log` in a tool lands on stderr and
 * can never corrupt the protocol on stdout. Deno's own `dir`, `table`, `count` and `time*` print
 * to stdout even when `log` is replaced, so every method is replaced.
 */

import type { Logger, LogLevel } from "./log.ts";

/** Replaces the methods of `target` (usually `globalThis.console`) with ones that log. */
export function redirectConsole(target: Console, log: Logger): void {
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  let indent = "";
  const emit = (level: LogLevel, args: unknown[]) => {
    if (!log.enabled(level)) return;
    const text = formatArgs(args);
    log.log(level, indent ? text.replace(/^/gm, indent) : text);
  };
  const elapsed = (label: string) => {
    const start = timers.get(label);
    return start === undefined
      ? `Timer "${label}" does not exist`
      : `${label}: ${(performance.now() - start).toFixed(3)}ms`;
  };

  Object.assign(target, {
    log: (...args: unknown[]) => emit("info", args),
    info: (...args: unknown[]) => emit("info", args),
    debug: (...args: unknown[]) => emit("debug", args),
    warn: (...args: unknown[]) => emit("warning", args),
    error: (...args: unknown[]) => emit("error", args),
    dir: (value: unknown) => emit("info", [value]),
    dirxml: (...args: unknown[]) => emit("info", args),
    table: (data: unknown) => emit("info", [data]),
    trace: (...args: unknown[]) =>
      emit("debug", [`${formatArgs(args)}\n${new Error("Trace").stack}`]),
    assert: (condition: unknown, ...args: unknown[]) => {
      if (!condition) emit("error", ["Assertion failed", ...args]);
    },
    count: (label = "default") => {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      emit("info", [`${label}: ${n}`]);
    },
    countReset: (label = "default") => void counts.delete(label),
    time: (label = "default") => void timers.set(label, performance.now()),
    timeLog: (label = "default", ...args: unknown[]) =>
      emit("info", [elapsed(label), ...args]),
    timeEnd: (label = "default") => {
      emit("info", [elapsed(label)]);
      timers.delete(label);
    },
    group: (...args: unknown[]) => {
      if (args.length > 0) emit("info", args);
      indent += "  ";
    },
    groupCollapsed: (...args: unknown[]) => {
      if (args.length > 0) emit("info", args);
      indent += "  ";
    },
    groupEnd: () => void (indent = indent.slice(2)),
    clear: () => {},
  });
}

/** Formats console arguments the way console.log does, with %s %d %i %f %o %O %j %c. */
export function formatArgs(args: unknown[]): string {
  const rest = [...args];
  const parts: string[] = [];
  if (typeof rest[0] === "string" && rest[0].includes("%")) {
    const format = rest.shift() as string;
    parts.push(format.replace(/%([sdifoOjc%])/g, (match, spec: string) => {
      if (spec === "%") return "%";
      if (rest.length === 0) return match;
      return formatOne(spec, rest.shift());
    }));
  }
  for (const value of rest) {
    parts.push(typeof value === "string" ? value : inspect(value));
  }
  return parts.join(" ");
}

function formatOne(spec: string, value: unknown): string {
  switch (spec) {
    case "s":
      return typeof value === "string" ? value : inspect(value);
    case "d":
      return String(Number(value));
    case "i":
      return String(Math.trunc(Number(value)));
    case "f":
      return String(Number(value));
    case "j":
      return JSON.stringify(value);
    case "c":
      return "";
    default:
      return inspect(value);
  }
}

function inspect(value: unknown): string {
  return Deno.inspect(value, { depth: 4, colors: false });
}
