/**
 * @module
 * Serving stdio, before any tool runs and before the first read: the protocol's streams taken off
 * fd 0 and fd 1 (src/util/stdio_fds.ts, through `io.guards.moveStdio`), so that only the server
 * reads what the client sends and writes to it; and, in a binary baked with `--drop-ffi`, FFI
 * given up before its tools (which run in its main thread) are evaluated. The commands that print
 * what a tool gave (`call`, …) take stdout the same way, for their output.
 */

import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import type { Logger } from "../util/log.ts";

/**
 * A binary's `--drop-ffi`: the libc it was granted to move the streams is not its tools'. What is
 * open stays usable; nothing can be opened anew.
 */
export function dropFfi(io: Io, log: Logger): void {
  const left = io.guards?.dropFfi();
  if (left) log.debug(`Gave up FFI before loading the tools (ffi: ${left})`);
}

/** `given` with the server's own ends of the streams, and whether they were moved. */
export function takeStdio(
  given: Io,
  options: CliOptions,
  log: Logger,
): { io: Io; moved: boolean } {
  const moved = given.guards?.moveStdio();
  if (typeof moved === "string") {
    log.debug(`The protocol streams stay on fd 0 and fd 1: ${moved}`);
  }
  if (options.dropFfi) dropFfi(given, log);
  return typeof moved === "object"
    ? {
      io: { ...given, stdin: moved.input, stdout: moved.output },
      moved: true,
    }
    : { io: given, moved: false };
}
