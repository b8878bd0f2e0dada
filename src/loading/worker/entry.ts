/**
 * @module
 * The main module of a tool worker: the process edge of its thread, as main.ts is the process's.
 * On `load` it installs the guards (stdout routes to stderr, no stdin, exits announced, stray
 * errors logged), imports the tool files and answers `loaded`; then it runs `calls` (./_calls.ts).
 *
 * It imports src/mod.ts, what tool files import as "tooldrop", so that a worker allowed to read
 * only its tools folder can import them: a dynamic import needs read access to every module it
 * loads that this thread has not loaded yet.
 */

import "../../mod.ts";
import type { FromWorker, LoadedTool, ToolFile, ToWorker } from "./protocol.ts";
import { WorkerCalls } from "./_calls.ts";
import {
  DEFAULT_LOAD_TIMEOUT_MS,
  importProblem,
  importTool,
} from "../import_tool.ts";
import { unionPermissions } from "../../tool/permissions.ts";
import { createTool } from "../../tool/toolset.ts";
import {
  duplicateNameError,
  type Tool,
  type ToolDescriptor,
} from "../../tool/served.ts";
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

/** Answers the server's thread: `load` first, then `calls`, `ack`, `abort` and `roots`. */
function serveWorker(scope: WorkerScope): void {
  // Taken before any tool module runs: a tool cannot post to the server's thread itself.
  const postMessage = scope.postMessage.bind(scope);
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) =>
    transfer.length > 0 ? postMessage(message, transfer) : postMessage(message);
  let calls: WorkerCalls | undefined;
  let ready: Promise<WorkerCalls> | undefined;
  let log = stderrLogger(undefined);
  const handle = (message: ToWorker) => {
    if (!calls) return;
    if (message.type === "calls") {
      if ("packed" in message) calls.runPacked(message.packed);
      else calls.run(message.calls);
    } else if (message.type === "ack") calls.ack();
    else if (message.type === "abort") {
      calls.abort(message.id, message.name, message.message);
    } else if (message.type === "roots") calls.answerRoots(message);
  };
  scope.addEventListener("message", (event) => {
    const message = event.data;
    if (message.type === "load") {
      if (ready) return log.error("Cannot load tools twice in one worker");
      const order = message as LoadOrder;
      log = stderrLogger(order.logLevel);
      ready = (async () => {
        let tools = new Map<string, Tool>();
        try {
          await installGuards(scope, log, () => calls?.flush(), post);
          tools = await loadTools(order.files, post, {
            describe: order.describe === true,
            timeoutMs: isTimerMs(order.loadTimeoutMs)
              ? order.loadTimeoutMs
              : DEFAULT_LOAD_TIMEOUT_MS,
          });
        } catch (error) {
          log.error("Cannot start the tool worker", error);
          const why = `the worker could not start: ${describeThrown(error)}`;
          post({
            type: "loaded",
            tools: order.files.map(({ source }) => ({
              source,
              error: `Cannot load tool "${source}": ${why}`,
            })),
          });
        }
        return calls = new WorkerCalls(tools, post, log);
      })();
    } else if (calls) handle(message);
    else if (ready) void ready.then(() => handle(message));
    else log.error(`Cannot handle "${message.type}" before "load"`);
  });
}

/**
 * Imports and checks each file; answers `loaded` (with each tool's `tools/list` entry when
 * `describe`); returns the tools by name.
 */
async function loadTools(
  files: readonly ToolFile[],
  post: (message: FromWorker) => void,
  { describe, timeoutMs }: { describe: boolean; timeoutMs: number },
): Promise<Map<string, Tool>> {
  const outcomes = await Promise.all(
    files.map((file) => importTool(file.url, timeoutMs)),
  );
  const byName = new Map<string, Tool>();
  const loaded: LoadedTool[] = files.map((file, i) => {
    const outcome = outcomes[i]!;
    const { source } = file;
    const prefix = `Cannot load tool "${source}": `;
    if (!("module" in outcome)) {
      return { source, error: prefix + importProblem(outcome) };
    }
    let tool: Tool;
    try {
      const definition = (outcome.module as { default?: unknown }).default;
      tool = createTool(definition, file.stem, source);
    } catch (error) {
      return { source, error: checkProblem(prefix, error) };
    }
    const other = byName.get(tool.name);
    if (other) return { source, error: duplicateNameError(tool, other) };
    let descriptor: ToolDescriptor | undefined;
    try {
      // What tools/list would send: JSON, so that fields a message cannot clone are dropped
      // as the reply would drop them.
      if (describe) descriptor = JSON.parse(JSON.stringify(tool.descriptor));
    } catch (error) {
      return {
        source,
        error: `${prefix}its tools/list entry cannot be written as JSON: ${
          describeThrown(error)
        }`,
      };
    }
    byName.set(tool.name, tool);
    return {
      source,
      name: tool.name,
      permissions: tool.permissions && unionPermissions([tool.permissions]),
      timeoutMs: tool.timeoutMs,
      ...(descriptor ? { descriptor } : {}),
    };
  });
  post({ type: "loaded", tools: loaded });
  return byName;
}

/** createTool's own message, or one naming the file for what reading the export threw. */
function checkProblem(prefix: string, error: unknown): string {
  try {
    if (error instanceof Error && error.message.startsWith(prefix)) {
      return error.message;
    }
  } catch {
    // a value that throws when inspected: described below
  }
  return `${prefix}reading its default export failed: ${describeThrown(error)}`;
}

/**
 * Before any tool module is evaluated: console and every stdout route to stderr, stdin refused,
 * `Deno.exit`, `process.exit` and `close()` announced to the server's thread before the worker
 * ends (`flush` first sends the results already made), stray errors and rejections logged.
 */
async function installGuards(
  scope: WorkerScope,
  log: Logger,
  flush: () => void,
  post: (message: FromWorker) => void,
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
