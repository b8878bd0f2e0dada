/**
 * @module
 * Calls one tool outside a client — from the shell (`tooldrop call`) or from a tool's own test
 * (`callTool`, src/loading/call_tool.ts) — through the same server a client talks to, so
 * validation, coercion, timeouts and result shaping are exactly what the client would get.
 * `callTool` imports this module on its first call: a tool worker, which loads "tooldrop" for
 * `defineTool`, never loads the server.
 */

import { readLineBatches } from "./lines.ts";
import { Logger, type LogLevel } from "../util/log.ts";
import { serve } from "./serve.ts";
import type {
  CallArgs,
  CallToolResult,
  InputSchema,
  OutputSchema,
  ToolDefinition,
} from "../tool/tool.ts";
import { createTool } from "../tool/toolset.ts";
import { ToolSet } from "../tool/served.ts";

/** One progress update of a call, as the tool reported it with `ctx.progress`. */
export interface Progress {
  /** How much is done; grows with every update. */
  progress: number;
  /** How much there is in all, when the tool knows. */
  total?: number;
  /** What the tool is doing now. */
  message?: string;
}

/** How a tool's test runs its call (`callTool`). */
export interface CallToolOptions {
  /** Receives the tool's progress updates. */
  onProgress?: (progress: Progress) => void;
  /** Aborting it cancels the call, which then resolves with its cancelled result. */
  signal?: AbortSignal;
  /**
   * The least severe log lines shown on stderr: the server's, and the tool's `ctx.log`; default
   * warning. A tool file run in its worker also shows its console output, at info, unless this
   * is set to a more severe level.
   */
  logLevel?: LogLevel;
}

/** How to run the call: as for `callTool`, or with a logger of the caller's. */
export interface InvokeOptions extends Omit<CallToolOptions, "logLevel"> {
  /** Diagnostics of the server and the tool; default: warnings and errors to stderr. */
  log?: Logger;
}

/**
 * Calls tool `name` of `tools` with `args`; resolves to its result. Rejects with the server's
 * message when the call itself is refused (an unknown tool, arguments that are not an object).
 */
export async function invokeTool(
  tools: ToolSet,
  name: string,
  args: unknown,
  options: InvokeOptions = {},
): Promise<CallToolResult> {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  const served = serve({
    readable: input.readable,
    writable: output.writable,
    tools,
    log: options.log ?? stderrLogger(),
  });
  const writer = input.writable.getWriter();
  const request = {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name, arguments: args, _meta: { progressToken: 1 } },
  };
  await writer.write(new TextEncoder().encode(`${JSON.stringify(request)}\n`));
  const cancel = () => void writer.close().catch(() => {});
  options.signal?.addEventListener("abort", cancel, { once: true });
  try {
    for await (const batch of readLineBatches(output.readable)) {
      for (const line of batch) {
        if (typeof line !== "string") continue;
        const message = JSON.parse(line);
        if (message.method === "notifications/progress") {
          const { progressToken: _, ...progress } = message.params;
          options.onProgress?.(progress);
        } else if (message.id === 1) {
          if (message.error) throw new Error(message.error.message);
          return message.result as CallToolResult;
        }
      }
    }
    throw new Error("the server stopped without answering");
  } finally {
    options.signal?.removeEventListener("abort", cancel);
    cancel();
    await served;
  }
}

/**
 * Calls a tool definition in this thread, as a client would: arguments validated and coerced,
 * the result shaped. The tool runs with this process's permissions; `callTool` in
 * src/loading/call_tool.ts runs a tool file in a worker with only what it declares.
 */
export function callDefinition<
  Input extends InputSchema,
  Output extends OutputSchema | undefined,
>(
  definition: ToolDefinition<Input, Output>,
  args: CallArgs<Input>,
  options: CallToolOptions = {},
): Promise<CallToolResult> {
  const tool = createTool(definition, "tool", "the tool under test");
  const { logLevel, ...rest } = options;
  return invokeTool(new ToolSet([tool]), tool.name, args, {
    ...rest,
    log: stderrLogger(logLevel),
  });
}

/** A logger that writes whole lines to stderr; default level warning. */
export function stderrLogger(level: LogLevel = "warning"): Logger {
  const encoder = new TextEncoder();
  return new Logger({
    level,
    write: (text) => {
      const bytes = encoder.encode(text);
      for (let done = 0; done < bytes.length;) {
        done += Deno.stderr.writeSync(bytes.subarray(done));
      }
    },
  });
}
