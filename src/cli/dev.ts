/**
 * @module
 * `deno task dev`: a supervisor between the client and a server child (`serve --dev-child`).
 * The child reloads tool files itself; the supervisor restarts it when the server's own code
 * changes (src/, main.ts, deno.json, code outside tools/) or when the child asks to be
 * restarted (a tool's helper changed, or a tool needs permissions it was not granted). The
 * client keeps its session across restarts: the supervisor replays its `initialize` (and log
 * level) to the new child, sends requests that were still waiting again — except tool calls,
 * which it answers with an error saying to call again — and tells the client the tool list may
 * have changed. It also keeps tools/_manifest.ts current as tool files come and go.
 */

import { fileURLToPath } from "node:url";
import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { serverLogger } from "./logger.ts";
import {
  errorLine,
  idKey,
  INTERNAL_ERROR,
  INVALID_REQUEST,
  JsonRpcError,
  parseMessage,
  type RequestId,
  resultLine,
} from "../server/jsonrpc.ts";
import { readLineBatches } from "../server/lines.ts";
import { declaredPermissions } from "../loading/load.ts";
import { Logger } from "../util/log.ts";
import { writeManifest } from "../loading/manifest.ts";
import { serverFlags } from "../tool/permissions.ts";
import { RESTART_EXIT_CODE } from "../loading/reload.ts";
import { LineWriter } from "../server/writer.ts";
import { isFile } from "../util/fs.ts";

/** Milliseconds to let a burst of file events settle before restarting. */
const SETTLE_MS = 50;
/** Milliseconds a child gets to exit after its stdin closes, before it is killed. */
const EXIT_GRACE_MS = 2_000;
/** Folders of the project whose changes never restart the server. */
const IGNORED_DIRS = [
  "tools",
  "tests",
  "bench",
  "dist",
  "node_modules",
  ".git",
];
const CODE_FILE = /\.(?:[mc]?[jt]sx?|jsonc?)$/;
const REPLAY_PREFIX = "tooldrop-dev:";
const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;

interface Pending {
  id: RequestId;
  method: string;
  line: string;
}

interface Child {
  process: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Resolves with the exit code once it exited and its output was forwarded. */
  done: Promise<number>;
  /** Set when the supervisor ended it on purpose. */
  stopping: boolean;
}

/** Runs the dev supervisor until stdin ends or a signal; resolves to the exit code. */
export async function runDev(io: Io, options: CliOptions): Promise<number> {
  const log = serverLogger(io, options);
  if (!io.entry) {
    log.error(
      "`dev` runs from source: use `deno task dev` in the project, not the compiled binary",
    );
    return 2;
  }
  if (io.stdinIsTerminal) {
    io.stderr(
      "tooldrop dev: serves tools/ over MCP on stdin/stdout, reloading tools as you save them and\nrestarting when server code changes. An AI client runs this (`deno task tooldrop install`\nregisters the server); there is nothing to type here. Ctrl+C ends it.\n",
    );
  }
  return await new Supervisor(io, options, log, io.entry).run();
}

class Supervisor {
  readonly #io: Io;
  readonly #options: CliOptions;
  readonly #log: Logger;
  readonly #entry: URL;
  readonly #root: string;
  readonly #toolsPath: string;
  readonly #out: LineWriter;
  readonly #encoder = new TextEncoder();
  readonly #pending = new Map<string | number | bigint, Pending>();
  #child: Child | undefined;
  /** Lines for the child while it is being (re)started. */
  #queue: string[] | undefined = [];
  #initialize: string | undefined;
  #initialized: string | undefined;
  #setLevel: string | undefined;
  #replays = 0;
  #stopped = false;
  /** Why no child is running, once one failed; requests are answered with it. */
  #down: string | undefined;
  #restarting: Promise<void> = Promise.resolve();
  /** Ends reading the client's input (its stdout went away). */
  readonly #inputEnded = new AbortController();

  constructor(io: Io, options: CliOptions, log: Logger, entry: URL) {
    this.#io = io;
    this.#options = options;
    this.#log = log;
    this.#entry = entry;
    this.#root = fileURLToPath(new URL(".", entry)).replaceAll("\\", "/");
    this.#toolsPath = fileURLToPath(io.toolsDir).replaceAll("\\", "/")
      .replace(/\/?$/, "/");
    this.#out = new LineWriter(io.stdout, () => this.#stop());
  }

  async run(): Promise<number> {
    const watching = new AbortController();
    const watch = this.#watch(watching.signal);
    await this.#start();
    try {
      for await (
        const batch of readLineBatches(this.#io.stdin, {
          maxLineBytes: this.#options.maxLineBytes,
          signal: AbortSignal.any([this.#io.signal, this.#inputEnded.signal]),
        })
      ) {
        for (const item of batch) {
          if (typeof item === "string") this.#fromClient(item);
          else {
            this.#out.send(errorLine(
              null,
              new JsonRpcError(
                INVALID_REQUEST,
                `Invalid request: line longer than ${item.maxLineBytes} bytes (--max-line-bytes); skipped`,
              ),
            ));
          }
        }
      }
    } catch (error) {
      this.#log.error("Stopped reading input", error);
    }
    this.#stopped = true;
    watching.abort();
    await this.#restarting;
    await this.#end(this.#child);
    await watch;
    this.#answerPending("the server stopped");
    await this.#out.close();
    return 0;
  }

  #stop(): void {
    // stdout is gone: the client left. Ending input ends everything else.
    this.#stopped = true;
    this.#inputEnded.abort();
  }

  /** Tracks one client line and passes it to the child. */
  #fromClient(line: string): void {
    const message = parseMessage(line);
    if (message.kind === "request") {
      if (message.method === "initialize") this.#initialize = line;
      if (message.method === "logging/setLevel") this.#setLevel = line;
      this.#pending.set(idKey(message.id), {
        id: message.id,
        method: message.method,
        line,
      });
      if (this.#down) {
        this.#answer(this.#pending.get(idKey(message.id))!, this.#down);
        return;
      }
    } else if (message.kind === "notification") {
      if (message.method === "notifications/initialized") {
        this.#initialized = line;
      }
      const requestId = message.params?.requestId;
      if (
        message.method === "notifications/cancelled" &&
        (typeof requestId === "string" || typeof requestId === "number")
      ) {
        this.#pending.delete(requestId);
      }
    }
    this.#toChild(line);
  }

  #toChild(line: string): void {
    if (this.#queue) {
      this.#queue.push(line);
      return;
    }
    const child = this.#child;
    if (!child) return;
    child.stdin.write(this.#encoder.encode(`${line}\n`)).catch(() => {
      // The child is gone; its exit is handled where it is awaited.
    });
  }

  /** Passes one child line to the client, unless it answers a replayed request. */
  #fromChild(line: string): void {
    if (line.startsWith(`{"jsonrpc":"2.0","id":"${REPLAY_PREFIX}`)) return;
    const message = parseMessage(line);
    if (message.kind === "response" || message.kind === "invalid") {
      if (message.id !== null) this.#pending.delete(idKey(message.id));
    }
    this.#out.send(line);
  }

  /** Starts a child and replays the client's session to it. */
  async #start(): Promise<void> {
    const flags = await this.#flags();
    const args = [
      "run",
      ...flags,
      ...(await isFile(`${this.#root}deno.json`)
        ? ["--config", `${this.#root}deno.json`]
        : []),
      fileURLToPath(this.#entry),
      "serve",
      "--dev-child",
      "--tools",
      this.#toolsPath,
      "--max-line-bytes",
      String(this.#options.maxLineBytes),
      ...(this.#options.logLevel
        ? ["--log-level", this.#options.logLevel]
        : []),
      ...(this.#options.name ? ["--name", this.#options.name] : []),
    ];
    this.#log.debug(`Starting: deno ${args.join(" ")}`);
    let process: Deno.ChildProcess;
    try {
      process = new Deno.Command(Deno.execPath(), {
        args,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    } catch (error) {
      this.#fail(`the server could not be started (${String(error)})`);
      return;
    }
    const child: Child = {
      process,
      stdin: process.stdin.getWriter(),
      stopping: false,
      done: Promise.resolve(0),
    };
    child.done = (async () => {
      for await (
        const batch of readLineBatches(process.stdout, {
          maxLineBytes: Number.MAX_SAFE_INTEGER,
        })
      ) {
        for (const item of batch) {
          if (typeof item === "string") this.#fromChild(item);
        }
      }
      return (await process.status).code;
    })();
    this.#child = child;
    this.#down = undefined;
    void child.done.then((code) => this.#exited(child, code));

    const queued = this.#queue ?? [];
    this.#queue = undefined;
    for (const line of this.#replay()) this.#toChild(line);
    for (const line of queued) this.#toChild(line);
    this.#log.info(
      `dev: serving, watching ${this.#root} (tools reload in place; server code restarts it)`,
    );
  }

  /** The client's session for a fresh child: handshake, log level, requests still waiting. */
  #replay(): string[] {
    const lines: string[] = [];
    const again = (line: string | undefined) => {
      if (!line) return;
      const message = parseMessage(line);
      if (message.kind !== "request") return;
      const id = JSON.stringify(`${REPLAY_PREFIX}${++this.#replays}`);
      lines.push(
        `{"jsonrpc":"2.0","id":${id},"method":${
          JSON.stringify(message.method)
        },"params":${JSON.stringify(message.params ?? {})}}`,
      );
    };
    again(this.#initialize);
    if (this.#initialized) lines.push(this.#initialized);
    again(this.#setLevel);
    return lines;
  }

  /** A child ended; restarts it when it asked, otherwise waits for a code change. */
  #exited(child: Child, code: number): void {
    if (child !== this.#child || child.stopping || this.#stopped) return;
    if (code === RESTART_EXIT_CODE) {
      void this.#restart("the server asked to be restarted");
      return;
    }
    this.#child = undefined;
    this.#fail(
      `the server exited (code ${code}); fix the error in its log and save, and it starts again`,
    );
  }

  /** No child is running: answer what waits, and what comes, with why. */
  #fail(why: string): void {
    this.#log.error(`dev: ${why}`);
    this.#down = `the server is not running: ${why}`;
    this.#queue = undefined;
    this.#answerPending(this.#down);
  }

  #restart(why: string): Promise<void> {
    this.#restarting = this.#restarting.then(async () => {
      if (this.#stopped) return;
      this.#log.info(`dev: ${why}; restarting the server`);
      this.#queue = [];
      const old = this.#child;
      this.#child = undefined;
      await this.#end(old);
      // Calls that were running are lost with the old process; everything else is asked again.
      const again: Pending[] = [];
      for (const pending of this.#pending.values()) {
        if (pending.method === "tools/call") this.#answer(pending, why);
        else if (pending.method !== "initialize") again.push(pending);
      }
      this.#queue.unshift(...again.map((p) => p.line));
      await this.#start();
      if (this.#initialized) this.#out.send(LIST_CHANGED);
    });
    return this.#restarting;
  }

  /** Ends a child: closes its input (it finishes or cancels its calls), kills it if it lingers. */
  async #end(child: Child | undefined): Promise<void> {
    if (!child) return;
    child.stopping = true;
    await child.stdin.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lingering = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), EXIT_GRACE_MS);
    });
    if (await Promise.race([child.done, lingering]) === "timeout") {
      try {
        child.process.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.done.catch(() => {});
    }
    clearTimeout(timer);
  }

  /** Answers every request still waiting: tool calls with an error result, others -32603. */
  #answerPending(why: string): void {
    for (const pending of [...this.#pending.values()]) {
      this.#answer(pending, why);
    }
  }

  #answer(pending: Pending, why: string): void {
    this.#pending.delete(idKey(pending.id));
    if (pending.method === "tools/call") {
      this.#out.send(resultLine(
        pending.id,
        JSON.stringify({
          content: [{
            type: "text",
            text:
              `The call did not finish: ${why}. The server restarts itself in development; call the tool again.`,
          }],
          isError: true,
        }),
      ));
    } else {
      this.#out.send(errorLine(
        pending.id,
        new JsonRpcError(INTERNAL_ERROR, `Internal error: ${why}`),
      ));
    }
  }

  /** The child's permission flags: the base set plus what the tools declare. */
  async #flags(): Promise<string[]> {
    const declared = await declaredPermissions(this.#io.toolsDir);
    // src/: its modules are imported when first needed, which takes read access.
    return serverFlags(declared, {
      read: [this.#toolsPath.replace(/\/$/, ""), `${this.#root}src`],
    });
  }

  /** Watches the project: server code changes restart the child; tool files renew the manifest. */
  async #watch(signal: AbortSignal): Promise<void> {
    const watcher = Deno.watchFs(this.#root, { recursive: true });
    signal.addEventListener("abort", () => {
      try {
        watcher.close();
      } catch {
        // already closed
      }
    }, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = new Set<string>();
    let toolsTouched = false;
    const flush = async () => {
      timer = undefined;
      const paths = [...changed].sort();
      changed.clear();
      if (toolsTouched && !this.#io.manifest) {
        toolsTouched = false;
        try {
          if (await writeManifest(this.#io.toolsDir)) {
            this.#log.info("dev: updated tools/_manifest.ts");
          }
        } catch (error) {
          this.#log.warn("dev: could not update tools/_manifest.ts", error);
        }
      }
      if (paths.length > 0 && !signal.aborted) {
        await this.#restart(`${paths.join(", ")} changed`);
      }
    };
    try {
      for await (const event of watcher) {
        for (const raw of event.paths) {
          const path = raw.replaceAll("\\", "/");
          if (path.startsWith(this.#toolsPath)) {
            toolsTouched = true;
            continue;
          }
          if (!path.startsWith(this.#root)) continue;
          const relative = path.slice(this.#root.length);
          const top = relative.split("/", 1)[0]!;
          const name = relative.slice(relative.lastIndexOf("/") + 1);
          if (
            IGNORED_DIRS.includes(top) || top.startsWith(".") ||
            name.startsWith(".") || !CODE_FILE.test(name) ||
            name === "deno.lock"
          ) continue;
          changed.add(relative);
        }
        if (timer === undefined && (changed.size > 0 || toolsTouched)) {
          timer = setTimeout(() => void flush(), SETTLE_MS);
        }
      }
    } catch (error) {
      if (!signal.aborted) this.#log.error("dev: stopped watching", error);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
