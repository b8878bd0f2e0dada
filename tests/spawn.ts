/**
 * @module
 * Helpers for end-to-end tests: temporary tool folders, and the server as a real child process
 * whose stdout lines and stderr text can be awaited without sleeping.
 */

import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };

/** The project root (where deno.json and main.ts are). */
export const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(
  /[\\/]$/,
  "",
);

/** `deno task start` as arguments to deno, without the script: run it with `${ROOT}/main.ts`. */
export const START_FLAGS: readonly string[] = denoJson.tasks.start.split(" ")
  .slice(1, -1);

/**
 * Arguments to deno that run the server as `deno task start` does, with read access widened to
 * `toolsPath` (a temporary tools folder, passed as --tools) the way `tooldrop install` widens it.
 */
export function serverArgs(toolsPath?: string): string[] {
  const flags = START_FLAGS.map((flag) =>
    flag.startsWith("--allow-read=") && toolsPath
      ? `${flag},${toolsPath}`
      : flag
  );
  return [
    ...flags,
    `${ROOT}/main.ts`,
    ...(toolsPath ? ["--tools", toolsPath] : []),
  ];
}

/** Creates a temporary folder with `files`; returns its path and a function that removes it. */
export async function tempDir(
  files: Record<string, string>,
): Promise<{ path: string; [Symbol.asyncDispose]: () => Promise<void> }> {
  const path = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "tooldrop-e2e-" }),
  );
  for (const [name, text] of Object.entries(files)) {
    const file = `${path}/${name}`;
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(file, text);
  }
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

/**
 * A temporary copy of the project (main.ts, deno.json, deno.lock, src/ and the files of tools/)
 * with `extra` files added, for tests that change files a running server watches.
 */
export async function projectCopy(
  extra: Record<string, string> = {},
): Promise<{ path: string; [Symbol.asyncDispose]: () => Promise<void> }> {
  const files: Record<string, string> = {};
  for (const file of ["main.ts", "deno.json", "deno.lock"]) {
    files[file] = await Deno.readTextFile(`${ROOT}/${file}`);
  }
  const copy = async (folder: string, recursive: boolean) => {
    for await (const entry of Deno.readDir(`${ROOT}/${folder}`)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isFile) {
        files[path] = await Deno.readTextFile(`${ROOT}/${path}`);
      } else if (entry.isDirectory && recursive) await copy(path, true);
    }
  };
  await copy("src", true);
  await copy("tools", false);
  return await tempDir({ ...files, ...extra });
}

/** Text that arrives on a stream, with a way to wait for a pattern to appear in it. */
export class TextTap {
  text = "";
  #waiters: Array<() => void> = [];
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    const reader = this.#reader = stream.getReader();
    const decoder = new TextDecoder();
    this.done = (async () => {
      try {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          this.text += decoder.decode(value, { stream: true });
          for (const wake of this.#waiters.splice(0)) wake();
        }
      } catch {
        // cancelled by the test
      }
      for (const wake of this.#waiters.splice(0)) wake();
    })();
  }

  /** Stops reading: the other end sees its pipe closed (EPIPE). */
  async cancel(): Promise<void> {
    await this.#reader.cancel();
  }

  /** Resolves when `pattern` has appeared; rejects if the stream ends first. */
  async waitFor(pattern: RegExp, limitMs = 20_000): Promise<void> {
    let ended = false;
    this.done.then(() => ended = true);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let late = false;
    const limit = new Promise<void>((resolve) =>
      timer = setTimeout(() => {
        late = true;
        resolve();
      }, limitMs)
    );
    try {
      while (!pattern.test(this.text)) {
        if (ended || late) {
          throw new Error(
            `${
              ended ? "Stream ended" : `Waited ${limitMs} ms`
            } without ${pattern}; it said:\n${this.text}`,
          );
        }
        await Promise.race([
          new Promise<void>((r) => this.#waiters.push(r)),
          this.done,
          limit,
        ]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** The complete lines so far. */
  get lines(): string[] {
    return this.text.split("\n").slice(0, -1);
  }
}

/** A server child process with piped stdio. */
export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly stdout: TextTap;
  readonly stderr: TextTap;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  constructor(args: string[], options: { cwd?: string } = {}) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: options.cwd ?? ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stdout = new TextTap(this.child.stdout);
    this.stderr = new TextTap(this.child.stderr);
    this.#stdin = this.child.stdin.getWriter();
  }

  /** Writes JSON messages, a line each, to the server's stdin in one write (they arrive together). */
  async send(...messages: unknown[]): Promise<void> {
    await this.#stdin.write(
      new TextEncoder().encode(
        messages.map((message) => `${JSON.stringify(message)}\n`).join(""),
      ),
    );
  }

  /** Resolves with the reply line for request `id`. */
  async reply(id: number | string): Promise<Record<string, unknown>> {
    const pattern = new RegExp(
      `^\\{"jsonrpc":"2.0","id":${JSON.stringify(id)},`,
      "m",
    );
    await this.stdout.waitFor(pattern);
    return JSON.parse(this.stdout.lines.find((line) => pattern.test(line))!);
  }

  /** Closes stdin (EOF). */
  async closeStdin(): Promise<void> {
    await this.#stdin.close();
  }

  /** Waits for the exit; fails after `limitMs`, killing the process, so a hang cannot stall CI. */
  async exit(limitMs = 15_000): Promise<{ code: number; ms: number }> {
    const start = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<"hung">((resolve) =>
      timer = setTimeout(() => resolve("hung"), limitMs)
    );
    const status = await Promise.race([this.child.status, limit]);
    clearTimeout(timer);
    if (status === "hung") {
      this.child.kill("SIGKILL");
      await this.child.status;
      await Promise.all([this.stdout.done, this.stderr.done]);
      throw new Error(
        `The server did not exit within ${limitMs} ms; stderr:\n${this.stderr.text}`,
      );
    }
    await Promise.all([this.stdout.done, this.stderr.done]);
    return { code: status.code, ms: performance.now() - start };
  }
}
