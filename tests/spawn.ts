/**
 * @module
 * Helpers for end-to-end tests: temporary tool folders, and the server as a real child process
 * whose stdout lines and stderr text can be awaited without sleeping.
 */

import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { initialize, initialized, jsonLines } from "./requests.ts";

/**
 * How the CLI's hints name this Deno: `deno`, or `npx -y deno@<version>` when it runs from npx's
 * cache (CI runs the tests so), which is how a person would run it again.
 */
export const DENO_WORD: string = /[\\/]_npx[\\/]/.test(Deno.execPath())
  ? `npx -y deno@${Deno.version.deno}`
  : "deno";

/** The project root (where deno.json and main.ts are). */
export const ROOT = fileURLToPath(new URL("../", import.meta.url)).replace(
  /[\\/]$/,
  "",
);

/**
 * The framework tests' own tools folder (echo and get_cwd, with their manifest and listing
 * cache). The project's tools/ is the user's: no test of tooldrop depends on what is in it.
 */
export const FIXTURE_TOOLS = `${ROOT}/tests/fixtures/tools`;

/** `deno task start` as arguments to deno, without the script: run it with `${ROOT}/main.ts`. */
export const START_FLAGS: readonly string[] = denoJson.tasks.start.split(" ")
  .slice(1, -1);

/**
 * Arguments to deno that run the server as `deno task start` does, on the tools in `toolsPath`
 * (passed as --tools; default the fixture tools), with read access widened to it the way
 * `tooldrop install` widens it.
 */
export function serverArgs(toolsPath: string = FIXTURE_TOOLS): string[] {
  const flags = START_FLAGS.map((flag) =>
    flag.startsWith("--allow-read=") ? `${flag},${toolsPath}` : flag
  );
  return [...flags, `${ROOT}/main.ts`, "--tools", toolsPath];
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
 * A temporary copy of tooldrop (main.ts, deno.json, deno.lock and src/) whose tools/ holds the
 * fixture tools, with `extra` files added: for tests of the default tools folder next to
 * main.ts, and for tests that change files a running server watches.
 */
export async function projectCopy(
  extra: Record<string, string> = {},
): Promise<{ path: string; [Symbol.asyncDispose]: () => Promise<void> }> {
  const files: Record<string, string> = {};
  for (const file of ["main.ts", "deno.json", "deno.lock"]) {
    files[file] = await Deno.readTextFile(`${ROOT}/${file}`);
  }
  const copy = async (from: string, to: string, recursive: boolean) => {
    for await (const entry of Deno.readDir(`${ROOT}/${from}`)) {
      const path = `${from}/${entry.name}`;
      if (entry.isFile) {
        files[`${to}/${entry.name}`] = await Deno.readTextFile(
          `${ROOT}/${path}`,
        );
      } else if (entry.isDirectory && recursive) {
        await copy(path, `${to}/${entry.name}`, true);
      }
    }
  };
  await copy("src", "src", true);
  await copy("tests/fixtures/tools", "tools", false);
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

/**
 * A server child process with piped stdio. Its stdout and stderr are read from the start, unless
 * `unread` names them: then the test plays a client that does not read, until it first asks.
 */
export class ServerProcess {
  readonly child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout: TextTap | undefined;
  #stderr: TextTap | undefined;

  constructor(
    args: string[],
    options: {
      cwd?: string;
      env?: Record<string, string>;
      unread?: Array<"stdout" | "stderr">;
    } = {},
  ) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: options.cwd ?? ROOT,
      ...(options.env ? { env: options.env } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#stdin = this.child.stdin.getWriter();
    if (!options.unread?.includes("stdout")) {
      this.#stdout = new TextTap(this.child.stdout);
    }
    if (!options.unread?.includes("stderr")) {
      this.#stderr = new TextTap(this.child.stderr);
    }
  }

  /** The server's stdout, read from the first time it is asked for. */
  get stdout(): TextTap {
    return this.#stdout ??= new TextTap(this.child.stdout);
  }

  /** The server's stderr, read from the first time it is asked for. */
  get stderr(): TextTap {
    return this.#stderr ??= new TextTap(this.child.stderr);
  }

  /**
   * Writes messages, a line each, to the server's stdin in one write (they arrive together):
   * objects as JSON, strings as they are.
   */
  async send(...messages: unknown[]): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(jsonLines(...messages)));
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
    if (status === "hung") this.child.kill("SIGKILL");
    const { code } = await this.child.status;
    await Promise.all([this.#stdout?.done, this.#stderr?.done]);
    if (!this.#stdout) await this.child.stdout.cancel();
    if (!this.#stderr) await this.child.stderr.cancel();
    if (status === "hung") {
      throw new Error(
        `The server did not exit within ${limitMs} ms; stderr:\n${
          this.#stderr?.text ?? "(not read)"
        }`,
      );
    }
    return { code, ms: performance.now() - start };
  }
}

/** `deno task dev` in the copy of the project at `path`, past its handshake (id 1). */
export async function devSession(path: string): Promise<ServerProcess> {
  const devArgs = denoJson.tasks.dev.split(" ").slice(1);
  const server = new ServerProcess(
    devArgs.map((a) => (a === "main.ts" ? `${path}/main.ts` : a)),
    { cwd: path },
  );
  await server.send(initialize(1, "2025-06-18"), initialized());
  await server.reply(1);
  return server;
}
