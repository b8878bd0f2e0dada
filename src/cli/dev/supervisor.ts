/**
 * @module
 * The dev supervisor: runs the server child (`serve --dev-child`), passes lines between it and
 * the client, and restarts it when asked, replaying the client's session to the new one.
 */

import { fileURLToPath } from "node:url";
import { existingFolders, type Io, servedFolders } from "../io.ts";
import type { CliOptions } from "../options.ts";
import { errorLine } from "../../server/jsonrpc.ts";
import { overlongError, readLineBatches } from "../../server/lines.ts";
import { LineWriter } from "../../server/writer.ts";
import { declaredPermissions } from "../../loading/load.ts";
import { RESTART_EXIT_CODE } from "../../loading/reload.ts";
import { folderPath } from "../../loading/watch.ts";
import { serverFlags } from "../../tool/permissions.ts";
import type { Logger } from "../../util/log.ts";
import { isFile } from "../../util/fs.ts";
import { LIST_CHANGED, type Routed, SessionReplay } from "./replay.ts";
import { TypeChecker } from "./typecheck.ts";
import { watchProject } from "./watch.ts";

/** Milliseconds a child gets to exit after its stdin closes, before it is killed. */
const EXIT_GRACE_MS = 2_000;

interface Child {
  process: Deno.ChildProcess;
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Resolves with the exit code once it exited and its output was forwarded. */
  done: Promise<number>;
  /** Set when the supervisor ended it on purpose. */
  stopping: boolean;
}

/** Sits between the client and a server child, which it starts again as the project changes. */
export class Supervisor {
  readonly #io: Io;
  readonly #options: CliOptions;
  readonly #log: Logger;
  readonly #entry: URL;
  readonly #root: string;
  readonly #toolsPath: string;
  /** The prompts and resources folders the running child serves (they reload in place). */
  #kindDirs: readonly URL[] = [];
  readonly #out: LineWriter;
  readonly #encoder = new TextEncoder();
  readonly #session = new SessionReplay();
  /** Checks the types of saved tools once the child has reloaded them. */
  readonly #types: TypeChecker;
  #child: Child | undefined;
  /** Lines for the child while it is being (re)started. */
  #queue: string[] | undefined = [];
  #stopped = false;
  /** Why no child is running, once one failed; requests are answered with it. */
  #down: string | undefined;
  /** The start or restart under way; a restart waits for it. */
  #restarting: Promise<void> = Promise.resolve();
  /** Ends reading the client's input (its stdout went away). */
  readonly #inputEnded = new AbortController();

  /** A supervisor for the project whose main.ts is `entry`. */
  constructor(io: Io, options: CliOptions, log: Logger, entry: URL) {
    this.#io = io;
    this.#options = options;
    this.#log = log;
    this.#entry = entry;
    this.#root = folderPath(new URL(".", entry));
    this.#toolsPath = folderPath(io.toolsDir);
    this.#out = new LineWriter(io.stdout, () => this.#stop());
    this.#types = new TypeChecker({
      root: this.#root,
      toolsDir: io.toolsDir,
      log,
    });
  }

  /** Serves the client until its input ends or a signal; resolves to the exit code. */
  async run(): Promise<number> {
    const watching = new AbortController();
    const watch = watchProject({
      root: this.#root,
      toolsDir: this.#io.toolsDir,
      renewManifest: !this.#io.manifest,
      log: this.#log,
      signal: watching.signal,
      restart: (why) => this.#restart(why),
      saved: (paths) => this.#types.saved(paths),
      kindDirs: () => this.#kindDirs,
      kindFolders: Object.values(servedFolders(this.#io)),
    });
    // The watcher runs from the start, so a restart it asks for now must wait for this start.
    this.#restarting = this.#start();
    await this.#restarting;
    try {
      for await (
        const batch of readLineBatches(this.#io.stdin, {
          maxLineBytes: this.#options.maxLineBytes,
          signal: AbortSignal.any([this.#io.signal, this.#inputEnded.signal]),
        })
      ) {
        for (const item of batch) {
          if (typeof item === "string") {
            this.#route(this.#session.fromClient(item, this.#down));
          } else {
            this.#out.send(errorLine(null, overlongError(item)));
          }
        }
      }
    } catch (error) {
      this.#log.error("Stopped reading input", error);
    }
    this.#stopped = true;
    watching.abort();
    await this.#types.close();
    await this.#restarting;
    await this.#end(this.#child);
    await watch;
    this.#toClient(this.#session.answerAll("the server stopped"));
    await this.#out.close();
    return 0;
  }

  #stop(): void {
    // stdout is gone: the client left. Ending input ends everything else.
    this.#stopped = true;
    this.#inputEnded.abort();
  }

  /** Sends lines on: to the client first, then to the child. */
  #route({ client, child }: Routed): void {
    this.#toClient(client);
    for (const line of child) this.#toChild(line);
  }

  #toClient(lines: string[]): void {
    for (const line of lines) this.#out.send(line);
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

  /** Starts a child, which serves the prompts/resources folders there now, and replays to it. */
  async #start(): Promise<void> {
    this.#kindDirs = existingFolders(this.#io);
    const args = [
      "run",
      ...await this.#flags(),
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
          if (typeof item === "string") {
            if (item === LIST_CHANGED) this.#types.reloaded();
            this.#toClient(this.#session.fromChild(item));
          }
        }
      }
      return (await process.status).code;
    })();
    this.#child = child;
    this.#down = undefined;
    void child.done.then((code) => this.#exited(child, code));

    const queued = this.#queue ?? [];
    this.#queue = undefined;
    for (const line of this.#session.replay()) this.#toChild(line);
    for (const line of queued) this.#toChild(line);
    this.#log.info(
      `dev: serving, watching ${this.#root} (tools reload in place; server code restarts it)`,
    );
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
    this.#toClient(this.#session.answerAll(this.#down));
  }

  #restart(why: string): Promise<void> {
    this.#restarting = this.#restarting.then(async () => {
      if (this.#stopped) return;
      this.#log.info(`dev: ${why}; restarting the server`);
      // From here client lines wait in the queue for the new child.
      this.#queue = [];
      this.#session.restarting();
      const old = this.#child;
      this.#child = undefined;
      await this.#end(old);
      // Calls that were running are lost with the old process; what else it left waiting is asked
      // again, ahead of what the queue holds.
      const { client, child } = this.#session.restart(why);
      this.#toClient(client);
      this.#queue.unshift(...child);
      await this.#start();
      this.#toClient(this.#session.restarted());
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

  /** The child's permission flags: the base set plus what the tools declare. */
  async #flags(): Promise<string[]> {
    const declared = await declaredPermissions(this.#io.toolsDir, {
      kinds: servedFolders(this.#io),
    });
    // src/: its modules are imported when first needed, which takes read access.
    return serverFlags(declared, {
      read: [this.#toolsPath.replace(/\/$/, ""), `${this.#root}src`],
    });
  }
}
