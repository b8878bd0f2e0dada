/**
 * @module
 * Takes the protocol's two streams out of fd 0 and fd 1, so that nothing else in the process can
 * read the client's requests or write into the replies: the server keeps copies of both
 * descriptors for itself (`dup`), points fd 0 at /dev/null and fd 1 at stderr (`dup2`). A tool's
 * `import { writeSync } from "node:fs"` writing to fd 1 or `readSync(0, …)`, a subprocess that
 * inherits stdin or stdout (what `Deno.Command(…).spawn()` does by default), native code: all of
 * it then reads nothing and writes to stderr, which no guard inside a worker could promise (a
 * named import binds Node's own function; a child process uses the descriptors themselves).
 *
 * Through libc by FFI, on Linux and macOS, with `--allow-ffi` for exactly the paths in
 * `LIBC_PATHS` (src/tool/permissions.ts grants them), given up as soon as the streams are moved
 * (`giveUpLibc`), before any tool file is evaluated: no worker, probe or tool can open libc after.
 * A compiled binary, whose tools run in its main thread, gives up all FFI then (`dropFfi`) unless
 * a tool declares some. Where libc cannot be opened (Windows, a libc elsewhere), or a descriptor
 * is not a plain blocking one, nothing changes and the in-process guards (./guards.ts) are what
 * protects the streams.
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

/** Read and written on a thread of their own: a client that stops reading blocks no one. */
const TRANSFER = {
  parameters: ["i32", "buffer", "usize"],
  result: "isize",
  nonblocking: true,
} as const;

const SYMBOLS = {
  dup: { parameters: ["i32"], result: "i32" },
  dup2: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // Variadic in C; called without the variadic argument (O_RDONLY needs no mode, F_GETFL no
  // value), which every ABI passes alike.
  open: { parameters: ["buffer", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32"], result: "i32" },
  // Variadic too; FIOCLEX takes no argument (F_SETFD would need the variadic one, which Apple's
  // arm64 ABI passes on the stack).
  ioctl: { parameters: ["i32", "u64"], result: "i32" },
  read: TRANSFER,
  write: TRANSFER,
} as const;

const F_GETFL = 3;
const O_RDONLY = 0;
/**
 * O_NONBLOCK: a descriptor whose reads and writes may fail with EAGAIN, which cannot be told
 * from the end of the stream here (errno stays on the thread that read or wrote).
 */
const NONBLOCKING: Partial<Record<typeof Deno.build.os, number>> = {
  linux: 0o4000,
  darwin: 0x4,
};
/** Sets close-on-exec: what `dup` returns lacks it, and every child a tool starts would inherit it. */
const FIOCLEX: Partial<Record<typeof Deno.build.os, bigint>> = {
  linux: 0x5451n,
  darwin: 0x20006601n,
};

/** The protocol's streams once moved: the server's own ends of the client's pipes. */
export interface ProtocolStreams {
  /** Reads what the client sent, as `Deno.stdin` does: a count, or null at the end. */
  input: { read(buffer: Uint8Array): Promise<number | null> };
  /** Writes some of `bytes` (at least one); rejects with `BrokenPipe` once it cannot. */
  output: { write(bytes: Uint8Array): Promise<number>; close(): void };
}

/**
 * Revokes all FFI for the rest of the process, and says what is left ("prompt", "denied"): a
 * compiled binary's tools run in its main thread and declared none. What is open stays usable.
 */
export function dropFfi(): string {
  Deno.permissions.revokeSync({ name: "ffi" });
  return Deno.permissions.querySync({ name: "ffi" }).state;
}

/** What the first `moveStdio` gave: the streams are moved once per process. */
let outcome: ProtocolStreams | string | undefined;

/**
 * Moves the protocol streams off fd 0 and fd 1 (see the module's doc): the server's ends, or
 * why they stayed, for the debug log; then gives up libc (`giveUpLibc`), moved or not. Call
 * before any tool runs and before the first read; a second call gives what the first did.
 */
export function moveStdio(): ProtocolStreams | string {
  outcome ??= move();
  giveUpLibc();
  return outcome;
}

/**
 * Revokes FFI to each of `LIBC_PATHS` for the rest of the process: what `moveStdio` opened stays
 * usable, but nothing can open libc anew — not a probe worker, which inherits this process's
 * permissions to evaluate tool files whose own are not known yet, nor a worker started later.
 * Revoked path by path: an FFI grant a tool declared (a library of its own, or all FFI) stays.
 */
export function giveUpLibc(): void {
  for (const path of LIBC_PATHS) {
    try {
      Deno.permissions.revokeSync({ name: "ffi", path });
    } catch {
      // Not revocable here: there was nothing to revoke.
    }
  }
}

function move(): ProtocolStreams | string {
  const nonblocking = NONBLOCKING[Deno.build.os];
  const cloexec = FIOCLEX[Deno.build.os];
  if (nonblocking === undefined || cloexec === undefined) {
    return `not on ${Deno.build.os}`;
  }
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
  const streams = streamsThrough(libc, nonblocking, cloexec);
  if (typeof streams === "string") libc.close();
  return streams;
}

function streamsThrough(
  libc: Deno.DynamicLibrary<typeof SYMBOLS>,
  nonblocking: number,
  cloexec: bigint,
): ProtocolStreams | string {
  const { dup, dup2, close, open, fcntl, ioctl, read, write } = libc.symbols;
  for (const fd of [0, 1]) {
    const flags = fcntl(fd, F_GETFL);
    if (flags < 0) return `fd ${fd} is not open`;
    if ((flags & nonblocking) !== 0) return `fd ${fd} is non-blocking`;
  }
  const nul = open(new TextEncoder().encode("/dev/null\0"), O_RDONLY);
  if (nul < 0) return "/dev/null cannot be opened";
  // The server's copies of the client's pipes: never inherited by a child process, which would
  // hold the client's stdout open after the server exits, and could read or write the protocol.
  const input = dup(0);
  const output = dup(1);
  const moved = input >= 0 && output >= 0 &&
    ioctl(input, cloexec) >= 0 && ioctl(output, cloexec) >= 0 &&
    dup2(nul, 0) >= 0;
  if (!moved || dup2(2, 1) < 0) {
    if (moved) dup2(input, 0); // fd 0 back where it was
    for (const fd of [input, output]) if (fd >= 0) close(fd);
    close(nul);
    return "the descriptors cannot be copied";
  }
  close(nul);
  let ended = false;
  let closed = false;
  /** The write in flight: the descriptor is closed only after it, never under it. */
  let writing: Promise<unknown> = Promise.resolve();
  return {
    input: {
      read: async (buffer) => {
        if (ended) return null;
        const count = Number(
          await read(input, buffer, BigInt(buffer.length)),
        );
        if (count > 0) return count;
        ended = true; // the end, or a failed read: the client is gone either way
        return null;
      },
    },
    output: {
      write: async (bytes) => {
        if (bytes.length === 0) return 0;
        if (closed) throw new Deno.errors.BrokenPipe(CANNOT_WRITE);
        const written = write(output, bytes, BigInt(bytes.length));
        writing = written;
        const count = Number(await written);
        if (count < 0) throw new Deno.errors.BrokenPipe(CANNOT_WRITE);
        return count;
      },
      close: () => {
        if (closed) return;
        closed = true;
        const shut = () => close(output);
        void writing.then(shut, shut);
      },
    },
  };
}

/** Why a write failed: a blocking write fails only when the client is gone (errno stays on its thread). */
const CANNOT_WRITE =
  "Cannot write to the client: its end of the protocol stream is closed";
