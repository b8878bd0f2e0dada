/**
 * @module
 * The main module of a tool worker: the process edge of its thread, as main.ts is the process's.
 * On `load` it installs the guards (stdout routes to stderr, no stdin, exits announced, stray
 * errors logged) and runs `calls` (./_calls.ts) as they come: a tool's file is imported at its
 * first call, the others in the background (./_tool_imports.ts), and `loaded` says what each
 * file held once all are in.
 *
 * It imports src/mod.ts, what tool files import as "tooldrop", so that a worker allowed to read
 * only its tools folder can import them: a dynamic import needs read access to every module it
 * loads that this thread has not loaded yet.
 */

import "../../mod.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { WorkerCalls } from "./_calls.ts";
import { BACKGROUND_IMPORTS, ToolImports } from "./_tool_imports.ts";
import { soon } from "./_turns.ts";
import { DEFAULT_LOAD_TIMEOUT_MS } from "../import_tool.ts";
import { describeThrown } from "../../util/describe.ts";
import { guardNodeStdout, protectProcess } from "../../util/guards.ts";
import { isLogLevel, Logger, type LogLevel } from "../../util/log.ts";
import { isTimerMs } from "../../util/timer.ts";

/** What a tool sees when it touches stdin. */
export const STDIN_REFUSED =
  "Cannot read stdin in a tool: it carries the client's requests; take input from the call's arguments";

/** The worker's global scope, as far as this module uses it. */
interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  close(): void;
  addEventListener(
    type: "message",
    listener: (event: MessageEvent<ToWorker>) => void,
  ): void;
}

/** `load` may carry the server's log level (an optional field, not yet in protocol.ts). */
type LoadOrder = Extract<ToWorker, { type: "load" }> & { logLevel?: unknown };

if (import.meta.main) serveWorker(globalThis as unknown as WorkerScope);

/** Answers the server's thread: `load` first, then `calls`, `ack`, `abort` and `answer`. */
function serveWorker(scope: WorkerScope): void {
  // Taken before any tool module runs: a tool cannot post to the server's thread itself.
  const postMessage = scope.postMessage.bind(scope);
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) =>
    transfer.length > 0 ? postMessage(message, transfer) : postMessage(message);
  let calls: WorkerCalls | undefined;
  let imports: ToolImports | undefined;
  let ready: Promise<WorkerCalls> | undefined;
  let log = stderrLogger(undefined);
  const handle = (message: ToWorker) => {
    if (!calls) return;
    if (message.type === "calls") {
      if (Array.isArray(message.sources)) imports?.locate(message.sources);
      if ("packed" in message) calls.runPacked(message.packed);
      else calls.run(message.calls);
    } else if (message.type === "ack") calls.ack();
    else if (message.type === "abort") {
      calls.abort(message.id, message.name, message.message);
    } else if (message.type === "answer") calls.answer(message);
  };
  scope.addEventListener("message", (event) => {
    const message = event.data;
    if (message.type === "load") {
      if (ready) return log.error("Cannot load tools twice in one worker");
      const order = message as LoadOrder;
      log = stderrLogger(order.logLevel);
      const describe = order.describe === true;
      const timeoutMs = isTimerMs(order.loadTimeoutMs)
        ? order.loadTimeoutMs
        : DEFAULT_LOAD_TIMEOUT_MS;
      ready = (async () => {
        try {
          await installGuards(
            scope,
            log,
            () => calls?.flush(),
            post,
            order.stdioFree === true,
          );
          imports = new ToolImports(order.files, timeoutMs, {
            declared: typeof order.declared === "string"
              ? order.declared
              : undefined,
          });
        } catch (error) {
          log.error("Cannot start the tool worker", error);
          const why = `the worker could not start: ${describeThrown(error)}`;
          imports = new ToolImports(order.files, timeoutMs, { failed: why });
        }
        const all = imports;
        // After the calls that came while the worker started: each imports its own file
        // first. The probe (`describe`) wants every file at once.
        soon(() => {
          void all.importAll(describe ? Infinity : BACKGROUND_IMPORTS).then(
            () => post({ type: "loaded", tools: all.report(describe) }),
          );
        });
        return calls = new WorkerCalls(all, post, log);
      })();
    } else if (calls) handle(message);
    else if (ready) void ready.then(() => handle(message));
    else log.error(`Cannot handle "${message.type}" before "load"`);
  });
}

/**
 * Before any tool module is evaluated: console and every stdout route to stderr, stdin refused,
 * `Deno.exit`, `process.exit` and `close()` announced to the server's thread before the worker
 * ends (`flush` first sends the results already made), stray errors and rejections logged.
 * Node's routes are left alone when fd 0 and fd 1 carry no protocol (`stdioFree`: the process
 * moved its streams to /dev/null and stderr, or serves HTTP), and Node's `process.exit` ends in
 * `Deno.exit`, which is announced; not booting Node compatibility saves ~25 ms of a first call.
 */
async function installGuards(
  scope: WorkerScope,
  log: Logger,
  flush: () => void,
  post: (message: FromWorker) => void,
  stdioFree: boolean,
): Promise<void> {
  protectProcess(globalThis, log, true);
  // With a `then` on Object.prototype every object is a thenable, and Deno 2.9.6's worker
  // message loop panics, ending the whole process: a tool may not set one.
  Object.defineProperty(Object.prototype, "then", {
    value: undefined,
    writable: false,
    configurable: false,
    enumerable: false,
  });
  Object.defineProperty(Deno, "stdout", {
    value: Deno.stderr,
    configurable: true,
  });
  refuse(Deno, "stdin");
  const exit = Deno.exit;
  const close = scope.close.bind(scope);
  refusePosting(scope);
  const announce = (code: number, how: string) => {
    try {
      flush();
      post({ type: "exit", code, how });
    } catch {
      // Nothing more can be said: the worker ends all the same.
    }
  };
  const exitCode = (code: unknown, fallback: unknown) =>
    Number.isInteger(code)
      ? code as number
      : Number.isInteger(fallback)
      ? fallback as number
      : 0;
  Object.defineProperty(Deno, "exit", {
    value: (code?: number): never => {
      const chosen = exitCode(code, Deno.exitCode);
      announce(chosen, `Deno.exit(${code === undefined ? "" : chosen})`);
      return exit(chosen);
    },
    configurable: true,
    writable: true,
  });
  Object.defineProperty(globalThis, "close", {
    value: () => {
      announce(0, "close()");
      close();
    },
    configurable: true,
    writable: true,
  });
  if (stdioFree) return;
  // Boots Node compatibility (~10 ms): process.stdout and node:fs's fd 1 go to stderr.
  await guardNodeStdout();
  const process = (globalThis as { process?: { exitCode?: unknown } }).process;
  if (!process) return;
  refuse(process, "stdin");
  Object.defineProperty(process, "exit", {
    value: (code?: number): never => {
      const chosen = exitCode(code, process.exitCode);
      announce(chosen, `process.exit(${code === undefined ? "" : chosen})`);
      return exit(chosen);
    },
    configurable: true,
    writable: true,
  });
}

/** What a tool sees when it posts a message to the server's thread itself. */
export const POSTING_REFUSED =
  "Cannot post messages from a tool: the server's thread reads only the worker's own; return a result, or use ctx.log and ctx.progress";

/**
 * Makes `postMessage` throw {@link POSTING_REFUSED}, on the worker's scope and on the prototypes
 * it inherits it from: a tool posting in a loop would fill the server's queue without bound and
 * could answer other calls.
 */
function refusePosting(scope: WorkerScope): void {
  const refused = () => {
    throw new Error(POSTING_REFUSED);
  };
  for (
    let target: object | null = scope;
    target !== null;
    target = Object.getPrototypeOf(target)
  ) {
    if (Object.hasOwn(target, "postMessage")) {
      Object.defineProperty(target, "postMessage", {
        value: refused,
        configurable: false,
        writable: false,
      });
    }
  }
}

/** Makes `target[key]` throw {@link STDIN_REFUSED} when touched. */
function refuse(target: object, key: string): void {
  Object.defineProperty(target, key, {
    get: () => {
      throw new Error(STDIN_REFUSED);
    },
    configurable: true,
  });
}

/**
 * The worker's logger, on stderr: at `level` when the server sent one, else `TOOLDROP_LOG` when
 * this worker may read it, else info.
 */
function stderrLogger(level: unknown): Logger {
  let chosen: LogLevel = "info";
  if (isLogLevel(level)) chosen = level;
  else {
    try {
      const descriptor = { name: "env", variable: "TOOLDROP_LOG" } as const;
      if (Deno.permissions.querySync(descriptor).state === "granted") {
        const value = Deno.env.get("TOOLDROP_LOG");
        if (isLogLevel(value)) chosen = value;
      }
    } catch {
      // not permitted: the default
    }
  }
  const encoder = new TextEncoder();
  return new Logger({
    level: chosen,
    write: (text) => {
      let bytes = encoder.encode(text);
      while (bytes.length > 0) {
        bytes = bytes.subarray(Deno.stderr.writeSync(bytes));
      }
    },
  });
}
