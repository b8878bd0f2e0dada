/**
 * @module
 * Takes the protocol stream out of fd 1, so that nothing else in the process can write into it:
 * the server keeps a copy of the descriptor for its protocol lines (`dup(1)`) and points fd 1 at
 * stderr (`dup2(2, 1)`). A tool's `import { writeSync } from "node:fs"` writing to fd 1, a
 * subprocess that inherits stdout, native code: all of it then lands on stderr, which no guard
 * inside a worker could promise (a named import binds Node's own function; a child process
 * writes to the descriptor itself).
 *
 * Through libc by FFI, on Linux and macOS, with `--allow-ffi` for exactly the paths in
 * `LIBC_PATHS`: serving from source is granted them (src/tool/permissions.ts), tool workers never
 * are. Where libc cannot be opened (Windows, a libc elsewhere, a compiled binary, whose tools run
 * in its main thread and so must not hold FFI), or stdout is not a plain blocking descriptor,
 * nothing changes and the in-process guards (./guards.ts) are what protects the stream.
 */

/**
 * Where libc is on the platforms tooldrop runs on: Debian and Ubuntu (x86-64, arm64), Fedora
 * and RHEL, Arch, macOS. The process may open these and nothing else by FFI.
 */
export const LIBC_PATHS: readonly string[] = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib/libc.so.6",
  "/usr/lib/libSystem.B.dylib",
];

const SYMBOLS = {
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // Variadic in C; called with no third argument (F_GETFL), which every ABI passes alike.
  fcntl: { parameters: ["i32", "i32"], result: "i32" },
  // On a thread of its own: a client that stops reading must not block this one.
  write: {
    parameters: ["i32", "buffer", "usize"],
    result: "isize",
    nonblocking: true,
  },
} as const;

const F_GETFL = 3;
/** O_NONBLOCK: a descriptor whose writes may fail with EAGAIN, which cannot be told from EPIPE here. */
const NONBLOCKING: Partial<Record<typeof Deno.build.os, number>> = {
  linux: 0o4000,
  darwin: 0x4,
};

/** The protocol stream once moved: writes some of the bytes, as `Deno.stdout` does. */
export interface ProtocolOut {
  /** Writes some of `bytes` (at least one); rejects with `BrokenPipe` once it cannot. */
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/**
 * Moves the protocol stream off fd 1 (see the module's doc): its writer, or why it stayed, for
 * the debug log. Call before any tool runs and before the first protocol line.
 */
export function moveStdout(): ProtocolOut | string {
  const nonblocking = NONBLOCKING[Deno.build.os];
  if (nonblocking === undefined) return `not on ${Deno.build.os}`;
  let libc: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  let why = "libc is at none of its usual paths";
  for (const path of LIBC_PATHS) {
    try {
      libc = Deno.dlopen(path, SYMBOLS);
      break;
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) {
        why = "this process may not open libc (no --allow-ffi for it)";
        break;
      }
    }
  }
  if (!libc) return why;
  const { dup, dup2, close, fcntl, write } = libc.symbols;
  const flags = fcntl(1, F_GETFL);
  if (flags < 0) return "fd 1 is not open";
  if ((flags & nonblocking) !== 0) return "stdout is non-blocking";
  const fd = dup(1);
  if (fd < 0) return "fd 1 cannot be copied";
  if (dup2(2, 1) < 0) {
    close(fd);
    return "fd 2 cannot take fd 1's place";
  }
  let closed = false;
  return {
    write: async (bytes) => {
      if (bytes.length === 0) return 0;
      const written = closed
        ? -1
        : Number(await write(fd, bytes, BigInt(bytes.length)));
      if (written < 0) {
        // errno lives on the thread that wrote: any failure of a blocking write ends the stream.
        throw new Deno.errors.BrokenPipe(
          "the protocol stream cannot be written",
        );
      }
      return written;
    },
    close: () => {
      if (closed) return;
      closed = true;
      close(fd);
    },
  };
}
