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
  Root,
  SampleResult,
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
  /**
   * The client the tool sees, for a tool that asks it something: its roots, and how it answers
   * `ctx.elicit` and `ctx.sample` (each declared as a capability when given; `capabilities`
   * replaces what is declared). Without it the tool's client declared nothing.
   */
  client?: TestClient;
}

/** A client for a tool's test (`callTool`'s `client` option). */
export interface TestClient {
  /** Its name, as `ctx.client.name` gives it; default "test". */
  name?: string;
  /** What the client declares; default: what the fields below imply. */
  capabilities?: Record<string, unknown>;
  /** `ctx.roots()`. */
  roots?: Root[];
  /** Answers `ctx.elicit`: gets the `elicitation/create` params, returns the user's answer. */
  elicit?: (
    params: Record<string, unknown>,
  ) =>
    | { action: string; content?: unknown }
    | Promise<{ action: string; content?: unknown }>;
  /** Answers `ctx.sample`: gets the `sampling/createMessage` params, returns the message. */
  sample?: (
    params: Record<string, unknown>,
  ) => SampleResult | Promise<SampleResult>;
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
  const reply = await invokeRequest(
    tools,
    "tools/call",
    { name, arguments: args },
    options,
  );
  if (reply.error) throw new Error(reply.error.message);
  return reply.result as unknown as CallToolResult;
}

/** The server's reply to one request: its result, or its JSON-RPC error. */
export type Reply =
  | { result: Record<string, unknown>; error?: undefined }
  | {
    result?: undefined;
    error: { code: number; message: string; data?: unknown };
  };

/**
 * Sends one request, `method` with `params` (and a progress token), to a server of `tools` as a
 * client would, after an `initialize` when `options.client` is given; resolves to the reply.
 * The client's answers go back to the server's requests, progress to `options.onProgress`.
 * (`invokeTool` for `tools/call`; `tooldrop prompt` and `getPrompt` for `prompts/get`, …)
 */
export async function invokeRequest(
  tools: ToolSet,
  method: string,
  params: Record<string, unknown>,
  options: InvokeOptions = {},
): Promise<Reply> {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const output = new TransformStream<Uint8Array, Uint8Array>();
  const served = serve({
    readable: input.readable,
    writable: output.writable,
    tools,
    log: options.log ?? stderrLogger(),
  });
  const writer = input.writable.getWriter();
  const encoder = new TextEncoder();
  const client = options.client;
  if (client) {
    const hello = {
      jsonrpc: "2.0",
      id: "hello",
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        clientInfo: { name: client.name ?? "test", version: "1" },
        capabilities: client.capabilities ?? {
          ...(client.roots ? { roots: {} } : {}),
          ...(client.elicit ? { elicitation: { form: {}, url: {} } } : {}),
          ...(client.sample ? { sampling: {} } : {}),
        },
      },
    };
    await writer.write(encoder.encode(`${JSON.stringify(hello)}\n`));
  }
  const request = {
    jsonrpc: "2.0",
    id: 1,
    method,
    params: { ...params, _meta: { progressToken: 1 } },
  };
  await writer.write(encoder.encode(`${JSON.stringify(request)}\n`));
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
        } else if (
          client && message.method !== undefined && message.id !== undefined
        ) {
          void answer(client, message).then((reply) =>
            writer.write(encoder.encode(`${JSON.stringify(reply)}\n`))
          ).catch(() => {}); // the call has ended: nothing to answer
        } else if (message.id === 1) {
          return message.error
            ? { error: message.error }
            : { result: message.result };
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

/** The test client's response to a request the server sent it. */
async function answer(
  client: TestClient,
  request: { id: unknown; method: string; params?: Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const params = request.params ?? {};
  try {
    const result = request.method === "roots/list" && client.roots
      ? { roots: client.roots }
      : request.method === "elicitation/create" && client.elicit
      ? await client.elicit(params)
      : request.method === "sampling/createMessage" && client.sample
      ? await client.sample(params)
      : undefined;
    if (result === undefined) {
      return {
        jsonrpc: "2.0",
        id: request.id,
        error: { code: -32601, message: `Method not found: ${request.method}` },
      };
    }
    return { jsonrpc: "2.0", id: request.id, result };
  } catch (error) {
    return {
      jsonrpc: "2.0",
      id: request.id,
      error: {
        code: -32603,
        message: String((error as Error)?.message ?? error),
      },
    };
  }
}

/** How `callDefinition` runs a definition: as `callTool` does, and what to call it. */
export interface CallDefinitionOptions extends CallToolOptions {
  /**
   * The name of a definition without `name`, as the file that exports it gives it (`greet` for
   * greet.ts); default `UNNAMED_TOOL`.
   */
  name?: string;
  /** Where the definition comes from, for the message when it is not a valid tool. */
  source?: string;
}

/**
 * What a definition with no `name` and no known file is called in the messages of its calls
 * (`Invalid arguments for tool "unnamed"`): it says what is missing, where "tool" read as a name.
 */
export const UNNAMED_TOOL = "unnamed";

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
  options: CallDefinitionOptions = {},
): Promise<CallToolResult> {
  const { name = UNNAMED_TOOL, source, ...callOptions } = options;
  const tool = createTool(definition, name, source ?? "the tool under test");
  const { logLevel, ...rest } = callOptions;
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
