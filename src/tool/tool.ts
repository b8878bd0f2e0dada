/**
 * @module
 * The tool contract: `defineTool` (an identity function for type inference), `ToolError`, the
 * context a tool runs with, and the MCP content types a tool may return.
 */

import type { z } from "zod";
import type { LogLevel } from "../util/log.ts";
import type { ToolPermissions } from "./permissions.ts";

/** Hints about a tool's behaviour; clients treat them as untrusted. */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** Who a content block is for and how much it matters. */
export interface ContentAnnotations {
  audience?: Array<"user" | "assistant">;
  priority?: number;
  lastModified?: string;
}

interface BlockCommon {
  annotations?: ContentAnnotations;
  _meta?: Record<string, unknown>;
}

export interface TextContent extends BlockCommon {
  type: "text";
  text: string;
}

export interface ImageContent extends BlockCommon {
  type: "image";
  /** Base64-encoded image data. */
  data: string;
  mimeType: string;
}

export interface AudioContent extends BlockCommon {
  type: "audio";
  /** Base64-encoded audio data. */
  data: string;
  mimeType: string;
}

export interface ResourceLink extends BlockCommon {
  type: "resource_link";
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  size?: number;
}

export interface EmbeddedResource extends BlockCommon {
  type: "resource";
  resource:
    | {
      uri: string;
      mimeType?: string;
      text: string;
      _meta?: Record<string, unknown>;
    }
    | {
      uri: string;
      mimeType?: string;
      blob: string;
      _meta?: Record<string, unknown>;
    };
}

/** One block of a tool result. */
export type ContentBlock =
  | TextContent
  | ImageContent
  | AudioContent
  | ResourceLink
  | EmbeddedResource;

/** A complete `tools/call` result. */
export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  _meta?: Record<string, unknown>;
}

/**
 * What `run` may return: a string (sent as one text block), a content block, an array of them,
 * or a whole {@link CallToolResult}. Other values are sent as JSON text.
 */
export type ToolReturn =
  | string
  | ContentBlock
  | ContentBlock[]
  | CallToolResult
  | number
  | boolean
  | null
  | undefined
  | void
  | Record<string, unknown>
  | unknown[];

/** A directory or file the client considers in scope, as a `file://` URI. */
export interface Root {
  uri: string;
  name?: string;
}

/** What a running tool gets besides its arguments. */
export interface ToolContext {
  /** Aborts on client cancellation, on the tool's timeout and at shutdown. */
  readonly signal: AbortSignal;
  /** The tool's name, as the client calls it. */
  readonly toolName: string;
  /**
   * Writes a diagnostic to stderr, and to the client as `notifications/message` when it asked
   * for log messages at this level (legacy: `logging/setLevel`; 2026-07-28: the request's
   * `_meta` log level).
   */
  log(level: LogLevel, message: string): void;
  /**
   * Reports progress when the client asked for it (a `progressToken`); otherwise does nothing.
   * `done` must grow with every call; updates that do not grow it are dropped.
   *
   * @example
   * ```ts
   * for (const [i, file] of files.entries()) {
   *   await index(file);
   *   ctx.progress(i + 1, files.length, file);
   * }
   * ```
   */
  progress(done: number, total?: number, message?: string): void;
  /**
   * The client's roots (its project folders) when it shares them; `undefined` when it cannot
   * (no `roots` capability, or a 2026-07-28 request that carried none). Lets file tools stay
   * inside the user's project.
   */
  roots(): Promise<Root[] | undefined>;
}

/** Any zod object schema; tools take named arguments. */
export type InputSchema = z.ZodObject;

/** A zod object schema for a tool's structured result. */
export type OutputSchema = z.ZodObject;

/** What `run` may return: with an `output` schema, the structured value (or a whole result). */
export type RunReturn<Output extends OutputSchema | undefined> =
  [Output] extends [OutputSchema] ? z.input<Output> | CallToolResult
    : ToolReturn;

/** An icon a client may show next to the tool. */
export interface Icon {
  src: string;
  mimeType?: string;
  sizes?: string[];
  theme?: "light" | "dark";
}

/** What a file in tools/ exports by default. */
export interface ToolDefinition<
  Input extends InputSchema = z.ZodObject<Record<never, never>>,
  Output extends OutputSchema | undefined = undefined,
> {
  /** The name the client calls; defaults to the file's name without `.ts`. */
  name?: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What the tool does, its limits and an example argument, written for the model. */
  description: string;
  /** The arguments as a zod object; omit it for a tool that takes none. */
  input?: Input;
  /**
   * The structured result as a zod object. `run` then returns that value; it is validated and
   * sent as `structuredContent`, with its JSON as a text block for clients that read only text.
   */
  output?: Output;
  annotations?: ToolAnnotations;
  icons?: Icon[];
  /** Milliseconds before `ctx.signal` aborts and the call fails; default 60 000. */
  timeoutMs?: number;
  /**
   * Deno permissions the tool needs beyond reading the working directory, e.g.
   * `{ net: ["api.example.com"] }`. `deno task compile`, `dev` and `install` grant the union of
   * every tool's; a server that lacks one says so at start-up.
   */
  permissions?: ToolPermissions;
  /** Extra fields for the tool's entry in `tools/list`, e.g. `anthropic/maxResultSizeChars`. */
  _meta?: Record<string, unknown>;
  /** Does the work. May be async; `args` are validated and typed from `input`. */
  run(
    args: z.output<Input>,
    ctx: ToolContext,
  ): RunReturn<Output> | Promise<RunReturn<Output>>;
}

/** A tool definition of any input and output, as the server holds it. */
export type AnyToolDefinition = ToolDefinition<
  InputSchema,
  OutputSchema | undefined
>;

/**
 * Declares a tool. An identity function: it exists so `run`'s arguments are typed from `input`
 * (and its result from `output`).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { defineTool } from "tooldrop";
 *
 * export default defineTool({
 *   description: "Echo a string back to the caller.",
 *   input: z.object({ text: z.string().describe("The text to send back") }),
 *   run: ({ text }) => text,
 * });
 * ```
 */
export function defineTool<
  Input extends InputSchema = z.ZodObject<Record<never, never>>,
  Output extends OutputSchema | undefined = undefined,
>(definition: ToolDefinition<Input, Output>): ToolDefinition<Input, Output> {
  return definition;
}

/**
 * An error meant for the model: the call returns `isError: true` with this message, and no
 * stack trace is logged.
 *
 * @example
 * ```ts
 * if (!found) throw new ToolError(`No note matches "${query}"; try a shorter query`);
 * ```
 */
export class ToolError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ToolError";
  }
}
