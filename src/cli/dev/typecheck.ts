/**
 * @module
 * Type checks for `dev`: after a save in tools/, `deno check` runs in a subprocess on the saved
 * tool files and the tools that import a saved helper, with the project's config and lock as the
 * server child runs. The server reloads without checking types, so this is where a type error
 * shows before a call fails on it. A check starts once the child has reloaded (its
 * `list_changed`), so that it never competes with the reload for a core.
 */

import { folderPath } from "../../loading/watch.ts";
import type { Logger } from "../../util/log.ts";
import { isFile } from "../../util/fs.ts";
import { concernsTypes, toolsToCheck } from "./check_scope.ts";
import {
  type Diagnostic,
  formatErrors,
  OutputText,
  readCheckOutput,
} from "./type_errors.ts";

/**
 * Milliseconds a check may take before it is abandoned (killed). One changed tool took 1.5–3.7 s
 * on a shared 2-core machine, with Deno's cache cold or warm alike: deno check type-checks
 * tooldrop's src/ and zod's types with it each time the tool changed. A minute leaves room for
 * a slow machine's first download, and no more.
 */
export const CHECK_TIMEOUT_MS = 60_000;
/**
 * Milliseconds a check waits for the child's reload to end (`reloaded`) before it starts anyway:
 * a save that changes no listing (a file that fails to load, a helper whose tools list the same)
 * sends no `list_changed`.
 */
export const RELOAD_WAIT_MS = 1000;

/** What `TypeChecker` checks, with what, and where it reports. */
export interface TypeCheckOptions {
  /** The project folder (`/`-separated, trailing `/`): the check's working directory. */
  root: string;
  /** The tools folder. */
  toolsDir: URL;
  /** Where errors, a fix and an abandoned check are reported. */
  log: Logger;
  /** Milliseconds before a check is abandoned; default `CHECK_TIMEOUT_MS`. */
  timeoutMs?: number | undefined;
  /** Milliseconds a check waits for `reloaded` after a save; default `RELOAD_WAIT_MS`. */
  reloadWaitMs?: number | undefined;
  /**
   * The program and its arguments, before the files' paths; default `deno check --quiet` with
   * the project's deno.json when it has one (its lock is the one beside it, as for the child).
   */
  command?: readonly string[] | undefined;
}

/**
 * Checks what saves in tools/ touch, one check at a time: saves that come during a check are
 * gathered and checked together once it ends. Logs one block of errors per check, and `types
 * OK` when a check passes for a tool whose last check failed (silence otherwise).
 */
export class TypeChecker {
  readonly #options: TypeCheckOptions;
  readonly #tools: string | undefined;
  /** Saved paths (relative to the project) not yet checked. */
  readonly #pending = new Set<string>();
  /** Tool files (relative to the project) whose last check found errors. */
  readonly #failing = new Set<string>();
  #busy = false;
  #done: Promise<void> = Promise.resolve();
  /** Set from a save until the child's reload ended (or `RELOAD_WAIT_MS` passed). */
  #reloading:
    | { done: PromiseWithResolvers<void>; timer: ReturnType<typeof setTimeout> }
    | undefined;
  #process: Deno.ChildProcess | undefined;
  #closed = false;

  /** A checker for the project at `options.root`. */
  constructor(options: TypeCheckOptions) {
    this.#options = options;
    const tools = folderPath(options.toolsDir);
    this.#tools = tools.startsWith(options.root)
      ? tools.slice(options.root.length)
      : undefined;
  }

  /** Paths (relative to the project) that changed in tools/: checks them soon; never waits. */
  saved(paths: readonly string[]): void {
    if (this.#closed || this.#tools === undefined) return;
    const concerned = paths.filter((path) =>
      path.startsWith(this.#tools!) &&
      concernsTypes(path.slice(this.#tools!.length))
    );
    if (concerned.length === 0) return;
    for (const path of concerned) this.#pending.add(path);
    if (!this.#reloading) {
      const done = Promise.withResolvers<void>();
      const timer = setTimeout(
        () => this.reloaded(),
        this.#options.reloadWaitMs ?? RELOAD_WAIT_MS,
      );
      this.#reloading = { done, timer };
    }
    if (this.#busy) return;
    this.#busy = true;
    this.#done = this.#drain();
  }

  /** The child reloaded what changed (it sent `list_changed`): a check may start now. */
  reloaded(): void {
    const reloading = this.#reloading;
    if (!reloading) return;
    this.#reloading = undefined;
    clearTimeout(reloading.timer);
    reloading.done.resolve();
  }

  /** Ends the check under way (killed) and checks nothing more; resolves once it has ended. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending.clear();
    this.reloaded();
    try {
      this.#process?.kill("SIGKILL");
    } catch {
      // it has just ended
    }
    await this.#done;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending.size > 0 && !this.#closed) {
        if (this.#reloading) {
          await this.#reloading.done.promise;
          continue;
        }
        const paths = [...this.#pending].sort();
        this.#pending.clear();
        try {
          await this.#check(paths);
        } catch (error) {
          this.#options.log.warn("dev: could not check types", error);
        }
      }
    } finally {
      // In the turn the loop saw nothing pending: a save after this starts a new drain.
      this.#busy = false;
    }
  }

  async #check(paths: readonly string[]): Promise<void> {
    const { root, log } = this.#options;
    const files = await toolsToCheck(paths, {
      root,
      toolsDir: this.#options.toolsDir,
      tools: this.#tools!,
    });
    const command = this.#options.command ?? await defaultCommand(root);
    // Closed meanwhile: a check started now would outlive close().
    if (files.length === 0 || this.#closed) return;
    const names = files.join(", ");
    const started = performance.now();
    log.debug(`dev: checking types: ${names}`);
    const process = this.#process = new Deno.Command(command[0]!, {
      args: [...command.slice(1), ...files.map((file) => `${root}${file}`)],
      cwd: root,
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timeoutMs = this.#options.timeoutMs ?? CHECK_TIMEOUT_MS;
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      try {
        process.kill("SIGKILL");
      } catch {
        // it has just ended
      }
    }, timeoutMs);
    const output = new OutputText();
    const [status] = await Promise.all([
      process.status,
      output.read(process.stdout),
      output.read(process.stderr),
    ]).finally(() => {
      clearTimeout(timer);
      this.#process = undefined;
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (this.#closed) return;
    if (late) {
      log.warn(
        `dev: deno check ${names} took over ${
          timeoutMs / 1000
        } s and was abandoned; the next save checks again`,
      );
      return;
    }
    const outcome = readCheckOutput(output.text, root, output.tail);
    const failing = failingFiles(files, outcome.errors, status.success);
    const fixed = files.filter((file) =>
      !failing.includes(file) && this.#failing.delete(file)
    );
    for (const file of failing) this.#failing.add(file);
    const ok = fixed.length > 0 ? `types OK: ${fixed.join(", ")}` : undefined;
    if (failing.length === 0) {
      if (ok) log.info(`dev: ${ok}`);
      log.debug(`dev: checked types of ${names} in ${seconds} s`);
      return;
    }
    const lines = outcome.total > 0
      ? formatErrors(outcome)
      : outcome.other.length > 0
      ? outcome.other
      : [`it exited with code ${status.code} and said nothing`];
    if (ok) lines.push(ok);
    log.warn(
      `dev: deno check ${names}: ${
        outcome.total > 0
          ? `${outcome.total} type error${
            outcome.total === 1 ? "" : "s"
          } (the server runs the code all the same)`
          : "failed"
      }; checked in ${seconds} s\n${
        lines.map((line) => `  ${line}`).join("\n")
      }`,
    );
  }
}

/**
 * The checked `files` the errors concern: those an error is in, or all of them when the check
 * failed with an error elsewhere (a helper, src/) or with none read (a module not found).
 */
function failingFiles(
  files: readonly string[],
  errors: readonly Diagnostic[],
  success: boolean,
): string[] {
  if (success && errors.length === 0) return [];
  const fileOf = (at: string | undefined) => at?.replace(/:\d+:\d+$/, "");
  const within = errors.filter((error) => files.includes(fileOf(error.at)!));
  if (errors.length === 0 || within.length < errors.length) return [...files];
  return files.filter((file) =>
    within.some((error) => fileOf(error.at) === file)
  );
}

/** `deno check --quiet`, with the project's deno.json when it has one. */
async function defaultCommand(root: string): Promise<string[]> {
  const config = `${root}deno.json`;
  return [
    Deno.execPath(),
    "check",
    "--quiet",
    ...(await isFile(config) ? ["--config", config] : []),
  ];
}
