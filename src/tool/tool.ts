/**
 * @module
 * The tool contract: `defineTool` (an identity function for type inference), `ToolError`, the
 * context a tool runs with, and the schemas that type its arguments and result. The content it
 * returns is in content.ts, re-exported here.
 */

import type { z } from "zod";
import type { LogLevel } from "../util/log.ts";
import type { CallToolResult, ToolReturn } from "./content.ts";
import type { ToolPermissions } from "./permissions.ts";
import type {
  ClientInfo,
  ElicitForm,
  ElicitResult,
  ElicitUrl,
  SampleRequest,
  SampleResult,
} from "./client_requests.ts";

export type {
  ClientInfo,
  ElicitForm,
  ElicitResult,
  ElicitUrl,
  SampleRequest,
  SampleResult,
  SamplingContent,
  SamplingMessage,
} from "./client_requests.ts";

export type {
  AudioContent,
  CallToolResult,
  ContentAnnotations,
  ContentBlock,
  ContentBlockBase,
  EmbeddedResource,
  ImageContent,
  ResourceContents,
  ResourceLink,
  TextContent,
  ToolReturn,
} from "./content.ts";

/** Hints about a tool's behaviour; clients treat them as untrusted. */
export interface ToolAnnotations {
  /** A human-friendly name for client UIs. */
  title?: string;
  /** The tool does not change its environment. */
  readOnlyHint?: boolean;
  /** The tool may destroy or overwrite data (meaningful when not read-only). */
  destructiveHint?: boolean;
  /** Calling it again with the same arguments has no further effect. */
  idempotentHint?: boolean;
  /** The tool reaches beyond a closed world, such as the web. */
  openWorldHint?: boolean;
}

/** A directory or file the client considers in scope, as a `file://` URI. */
export interface Root {
  /** The `file://` URI. */
  uri: string;
  /** A name the client shows for it. */
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
   * import assert from "node:assert/strict";
   * import { callTool, defineTool } from "tooldrop";
   *
   * const countdown = defineTool({
   *   description: "Counts down from three, reporting each step.",
   *   run: async (_args, ctx) => {
   *     for (let left = 3; left > 0; left--) {
   *       ctx.progress(4 - left, 3, `${left} to go`);
   *       await new Promise((resolve) => setTimeout(resolve, 10));
   *     }
   *     return "liftoff";
   *   },
   * });
   *
   * const steps: number[] = [];
   * const result = await callTool(countdown, {}, {
   *   onProgress: ({ progress }) => steps.push(progress),
   * });
   * assert.deepEqual(result.content, [{ type: "text", text: "liftoff" }]);
   * assert.equal(steps.at(-1), 3);
   * ```
   */
  progress(done: number, total?: number, message?: string): void;
  /**
   * The client's roots (its project folders) when it shares them; `undefined` when it cannot
   * (no `roots` capability, or a 2026-07-28 request that carried none). Lets file tools stay
   * inside the user's project.
   */
  roots(): Promise<Root[] | undefined>;
  /**
   * The client that called: its name and version when it gave them, and the capabilities it
   * declared (`roots`, `sampling`, `elicitation`, …), so a tool can choose a fallback before it
   * asks for what the client cannot give.
   */
  readonly client: ClientInfo;
  /**
   * Asks the user through the client. With `schema` (a `z.object` of strings, numbers,
   * booleans and string enums) the client shows a form; `accept` brings its answer, checked
   * against the schema. With `url` the client opens that page (for what must not pass through
   * the client, such as a sign-in). Throws a `ToolError` when the client did not declare
   * that kind of elicitation; `decline` and `cancel` are the user's answers, not errors.
   *
   * @example
   * ```ts
   * import { defineTool } from "tooldrop";
   * import { z } from "zod";
   *
   * export default defineTool({
   *   description: "Deletes the build folder after the user confirms.",
   *   run: async (_args, ctx) => {
   *     const answer = await ctx.elicit({
   *       message: "Delete build/?",
   *       schema: z.object({ confirm: z.boolean().describe("Yes, delete it") }),
   *     });
   *     if (answer.action !== "accept" || !answer.content.confirm) return "Kept.";
   *     return "Deleted.";
   *   },
   * });
   * ```
   */
  elicit<Form extends InputSchema>(
    request: ElicitForm<Form>,
  ): Promise<ElicitResult<Form["_zod"]["output"]>>;
  /** Asks the user to open a page (`url` mode); `accept` means they did. */
  elicit(request: ElicitUrl): Promise<ElicitResult<undefined>>;
  /**
   * Asks the client's model for a completion (`sampling/createMessage`): `messages` a string
   * (one user message) or messages; resolves to the model's message. The client may show it to
   * the user first. Throws a `ToolError` when the client did not declare `sampling`.
   */
  sample(request: SampleRequest): Promise<SampleResult>;
}

/** Any zod object schema; tools take named arguments. */
export type InputSchema = z.ZodObject;

/** A zod object schema for a tool's structured result. */
export type OutputSchema = z.ZodObject;

// The three types below are zod's `z.output` and `z.input`, spelled with the schema's own type
// so that the documentation of this API does not reach into zod's internals.

/** The arguments `run` gets: `input`'s output, validated (`z.output<Input>`). */
export type RunArgs<Input extends InputSchema> = Input["_zod"]["output"];

/** The arguments a caller passes: `input`'s input, before defaults (`z.input<Input>`). */
export type CallArgs<Input extends InputSchema> = Input["_zod"]["input"];

/** What `run` may return: with an `output` schema, the structured value (or a whole result). */
export type RunReturn<Output extends OutputSchema | undefined> =
  [Output] extends [OutputSchema] ? Output["_zod"]["input"] | CallToolResult
    : ToolReturn;

/** An icon a client may show next to the tool. */
export interface Icon {
  /** Its URL, or a `data:` URI. */
  src: string;
  /** Its media type, e.g. `image/png`. */
  mimeType?: string;
  /** The sizes it fits, e.g. `["48x48"]` or `["any"]`. */
  sizes?: string[];
  /** The client theme it is drawn for. */
  theme?: "light" | "dark";
}

/** What a file in tools/ exports by default. */
export interface ToolDefinition<
  Input extends InputSchema = InputSchema,
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
  /** Hints about the tool's behaviour, e.g. `{ readOnlyHint: true }`. */
  annotations?: ToolAnnotations;
  /** Icons a client may show next to the tool. */
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
    args: RunArgs<Input>,
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
 * @example A tool file, `tools/echo.ts`, ends with `export default defineTool({ … })`
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { callTool, defineTool } from "tooldrop";
 *
 * const echo = defineTool({
 *   description: 'Returns the text unchanged. Example: {"text": "hi"}',
 *   input: z.object({ text: z.string().describe("The text to send back") }),
 *   run: ({ text }) => text,
 * });
 *
 * const result = await callTool(echo, { text: "hi" });
 * assert.deepEqual(result.content, [{ type: "text", text: "hi" }]);
 * ```
 */
export function defineTool<
  Input extends InputSchema = InputSchema,
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
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { callTool, defineTool, ToolError } from "tooldrop";
 *
 * const notes = new Map([["groceries", "milk, eggs"]]);
 * const findNote = defineTool({
 *   description: 'Returns the note with this title. Example: {"title": "groceries"}',
 *   input: z.object({ title: z.string().describe("The note's title") }),
 *   run: ({ title }) => {
 *     const note = notes.get(title);
 *     if (note === undefined) {
 *       throw new ToolError(`No note is titled "${title}"; try "groceries"`);
 *     }
 *     return note;
 *   },
 * });
 *
 * const result = await callTool(findNote, { title: "todo" });
 * assert.equal(result.isError, true);
 * assert.deepEqual(result.content, [
 *   { type: "text", text: 'No note is titled "todo"; try "groceries"' },
 * ]);
 * ```
 */
export class ToolError extends Error {
  /** `message` is what the model reads: say what went wrong and what to try instead. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ToolError";
  }
}
