/**
 * @module
 * Test harness: drives `serve()` over in-memory streams. `exchange()` feeds whole input and
 * returns every output line; `Session` sends lines one at a time and awaits replies in order.
 */

import type { Io } from "../src/cli/io.ts";
import { Logger } from "../src/util/log.ts";
import { serve, type ServeOptions } from "../src/server/serve.ts";
import { defineTool } from "tooldrop";
import { z } from "zod";
import type { AnyToolDefinition, ToolContext } from "../src/tool/tool.ts";
import { createTool } from "../src/tool/toolset.ts";
import { createPrompt } from "../src/tool/prompt_check.ts";
import { servedPrompt } from "../src/tool/served_kinds.ts";
import { serveResource } from "../src/tool/resource_check.ts";
import { describeIssues } from "../src/server/arguments.ts";
import { ToolSet } from "../src/tool/served.ts";
import { jsonLines } from "./requests.ts";

const encoder = new TextEncoder();

/** What a test's call context gives of the client: one that declared nothing. */
export const CLIENTLESS: Pick<ToolContext, "client" | "elicit" | "sample"> = {
  client: { name: undefined, version: undefined, capabilities: {} },
  elicit: () => Promise.reject(new Error("no client to ask")),
  sample: () => Promise.reject(new Error("no client to ask")),
};

/** A call's context that is never aborted, drops logs and progress, and has no roots. */
export function quietContext(): ToolContext {
  return {
    signal: new AbortController().signal,
    toolName: "test",
    log: () => {},
    progress: () => {},
    roots: () => Promise.resolve([]),
    ...CLIENTLESS,
  };
}

/** A tool set from definitions keyed by name, as if each were a file in tools/. */
export function toolSet(
  definitions: Record<string, AnyToolDefinition>,
  more: {
    prompts?: Record<string, unknown>;
    resources?: Record<string, unknown>;
  } = {},
): ToolSet {
  return new ToolSet(
    Object.entries(definitions).map(([name, def]) =>
      createTool(def, name, `tools/${name}.ts`)
    ),
    {
      prompts: Object.entries(more.prompts ?? {}).map(([name, def]) =>
        servedPrompt(
          createPrompt(def, name, `prompts/${name}.ts`, describeIssues),
        )
      ),
      resources: Object.entries(more.resources ?? {}).map(([name, def]) =>
        serveResource(def, name)
      ),
    },
  );
}

/** A tool that runs until its call is cancelled, then rejects with the reason. */
export function untilCancelled(): AnyToolDefinition {
  return defineTool({
    description: "Waits until its call is cancelled.",
    run: (_args, ctx) =>
      new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      ),
  });
}

/**
 * A tool that reports progress once, then runs until its call is cancelled: `started` resolves
 * once it has reported, `cancelled` with the abort's reason.
 */
export function progressUntilCancelled(): {
  tool: AnyToolDefinition;
  started: ReturnType<typeof deferred<void>>;
  cancelled: ReturnType<typeof deferred<string>>;
} {
  const started = deferred();
  const cancelled = deferred<string>();
  const tool = defineTool({
    description: "Reports progress, then waits until cancelled.",
    run: (_args, ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => {
          cancelled.resolve(String(ctx.signal.reason));
          reject(ctx.signal.reason);
        });
        ctx.progress(1);
        started.resolve();
      }),
  });
  return { tool, started, cancelled };
}

/** A logger that keeps its lines for assertions. */
export function memoryLog(
  level: Logger["level"] = "debug",
): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ level, write: (text) => lines.push(text) });
  return { log, lines };
}

/** Collects written bytes as text; `line(n)` waits for the n-th complete line. */
export class Collector {
  readonly writable: WritableStream<Uint8Array>;
  #text = "";
  #decoder = new TextDecoder();
  #waiters: Array<() => void> = [];

  constructor(sink?: { write?: (chunk: Uint8Array) => void | Promise<void> }) {
    this.writable = new WritableStream({
      write: async (chunk) => {
        await sink?.write?.(chunk);
        this.#text += this.#decoder.decode(chunk, { stream: true });
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const wake of waiters) wake();
      },
    });
  }

  /** Everything written so far. */
  get text(): string {
    return this.#text;
  }

  /** The complete lines written so far. */
  get lines(): string[] {
    const parts = this.#text.split("\n");
    parts.pop();
    return parts;
  }

  /** Resolves with line `index` (0-based) once it is complete. */
  async line(index: number): Promise<string> {
    while (this.lines.length <= index) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.lines[index]!;
  }
}

type Extra = Omit<ServeOptions, "readable" | "writable" | "tools"> & {
  tools?: ServeOptions["tools"];
};

/** Serves `input` (lines or raw chunks) to EOF and returns every output line. */
export async function exchange(
  input: Array<string | Uint8Array> | string,
  options: Extra = {},
): Promise<string[]> {
  const chunks = typeof input === "string" ? [input] : input;
  const out = new Collector();
  await serve({
    tools: toolSet({}),
    ...options,
    readable: ReadableStream.from(
      chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c),
    ),
    writable: out.writable,
  });
  return out.lines;
}

/** An interactive session: send lines, await replies, end the input, await the end. */
export class Session {
  readonly out = new Collector();
  readonly done: Promise<void>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #read = 0;

  constructor(options: Extra = {}, writable?: WritableStream<Uint8Array>) {
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => void (this.#controller = controller),
    });
    this.done = serve({
      tools: toolSet({}),
      ...options,
      readable,
      writable: writable ?? this.out.writable,
    });
  }

  /** Sends one message (an object as JSON, a string as it is) followed by a newline. */
  send(message: unknown): void {
    this.raw(jsonLines(message));
  }

  /** Sends raw text or bytes, as they are. */
  raw(chunk: string | Uint8Array): void {
    this.#controller.enqueue(
      typeof chunk === "string" ? encoder.encode(chunk) : chunk,
    );
  }

  /** The next reply line not yet read. */
  next(): Promise<string> {
    return this.out.line(this.#read++);
  }

  /** The next reply, parsed. */
  async nextJson(): Promise<Record<string, unknown>> {
    return JSON.parse(await this.next());
  }

  /** Ends the input (EOF) and waits for `serve()` to return. */
  async end(): Promise<void> {
    this.#controller.close();
    await this.done;
  }
}

/**
 * A tool set of one tool, `hold`, that waits until `release` or its cancellation (its signal's
 * reason goes to `cancelled`), counting both; its arguments (`pad`, `tag`: strings) only pad the
 * request.
 */
export function holder() {
  const started = deferred();
  const cancelled = deferred<string>();
  const release = deferred();
  const counts = { started: 0, cancelled: 0 };
  const tools = toolSet({
    hold: defineTool({
      description: "Waits until released or cancelled.",
      input: z.object({
        pad: z.string().optional(),
        tag: z.string().optional(),
      }),
      run: (_args, ctx) =>
        new Promise((resolve, reject) => {
          counts.started++;
          started.resolve();
          ctx.signal.addEventListener("abort", () => {
            counts.cancelled++;
            cancelled.resolve(String(ctx.signal.reason));
            reject(ctx.signal.reason);
          });
          void release.promise.then(() => resolve("released"));
        }),
    }),
  });
  return { tools, counts, started, cancelled, release };
}

/** A promise with its resolve function outside, for tools that wait on the test. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
} {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/**
 * The process as the CLI sees it, in memory: no input, stdout collected, stderr lines kept,
 * `env` as the environment, the fixture tools (tests/fixtures/tools/, never the project's
 * tools/) as its tools folder; `extra` overrides any part (entry, toolsDir, cwd, stdin…).
 */
export function fakeIo(
  args: string[],
  env: Record<string, string> = {},
  extra: Partial<Io> = {},
) {
  const out = new Collector();
  const errors: string[] = [];
  const io: Io = {
    args,
    stdin: ReadableStream.from<Uint8Array>([]),
    stdout: out.writable,
    stderr: (text) => void errors.push(text),
    env: (name) => env[name],
    toolsDir: new URL("./fixtures/tools/", import.meta.url),
    signal: new AbortController().signal,
    ...extra,
  };
  return { io, out, errors };
}
