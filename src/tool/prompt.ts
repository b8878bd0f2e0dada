/**
 * @module
 * The prompt contract: `definePrompt` (an identity function for type inference), what `get`
 * may return, completers, and the `prompts/list` entry a checked prompt lists (./prompt_check.ts
 * checks a definition and builds it).
 */

import type {
  ContentBlock,
  Icon,
  InputSchema,
  RunArgs,
  ToolContext,
} from "./tool.ts";
import type { ToolPermissions } from "./permissions.ts";

/** One message of a prompt; a string `content` is one text block. */
export interface PromptMessage {
  /** Who says it. */
  role: "user" | "assistant";
  /** What it says: a content block, or a string for one text block. */
  content: ContentBlock | string;
}

/**
 * What `get` returns: a string (one user message), a message, messages, or the whole result
 * with a description.
 */
export type PromptReturn =
  | string
  | PromptMessage
  | PromptMessage[]
  | { description?: string; messages: PromptMessage[] };

/** What a completer gets besides the value typed so far. */
export interface CompleteContext {
  /** Arguments (prompt) or parameters (template) the client has resolved already. */
  readonly arguments: Readonly<Record<string, string>>;
  /** Aborts when the client cancels or the completion times out (5 s at most). */
  readonly signal: AbortSignal;
}

/**
 * Suggests values for one argument from what the user typed so far, best first; more than 100
 * are cut (the client learns how many there were).
 *
 * @example
 * ```ts
 * import type { Completer } from "tooldrop";
 *
 * const LANGUAGES = ["go", "python", "pypy", "rust"];
 * const language: Completer = (value) => LANGUAGES.filter((l) => l.startsWith(value));
 * ```
 */
export type Completer = (
  value: string,
  context: CompleteContext,
) => string[] | Promise<string[]>;

/** What `get` runs with: a tool's context, whose `toolName` is the prompt's name. */
export type PromptContext = ToolContext;

/**
 * Nothing when every field of `Args` takes a string (prompt arguments arrive as strings), else
 * a type that names the mistake: `args` is typed `Args & StringArgs<Args>`.
 */
export type StringArgs<Args extends InputSchema> = Args["_zod"]["input"] extends
  Readonly<Record<string, string | undefined>> ? unknown
  : {
    "every argument must take a string: use z.string() and parse it in get":
      never;
  };

/**
 * Completers by argument or variable name, for the names in `Names` only; none at all when
 * they are not known (`string`) or there are none.
 */
export type Completers<Names extends string> = string extends Names
  ? Record<string, never>
  : [Names] extends [never] ? Record<string, never>
  : { [K in Names]?: Completer };

/** What a file in prompts/ exports by default. */
export interface PromptDefinition<Args extends InputSchema = InputSchema> {
  /**
   * The name clients get it by (Claude Code shows it as `/mcp__<server>__<name>`); defaults to
   * the file's name without `.ts`.
   */
  name?: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What the prompt is for, shown to the user. */
  description: string;
  /**
   * Its arguments, as a zod object whose every field takes a string (they arrive as strings;
   * parse numbers in `get`). `.describe()` and `.meta({ title })` are listed for the user.
   */
  args?: Args & StringArgs<Args>;
  /** Suggestions for arguments while the user types them, by argument name. */
  complete?: Completers<keyof Args["shape"] & string>;
  /** Icons a client may show next to the prompt. */
  icons?: Icon[];
  /** Extra fields for the prompt's entry in `prompts/list`. */
  _meta?: Record<string, unknown>;
  /** Milliseconds before `ctx.signal` aborts and `get` fails; default 60 000. */
  timeoutMs?: number;
  /** Deno permissions `get` needs beyond reading the working directory, as for tools. */
  permissions?: ToolPermissions;
  /** Builds the prompt. May be async; `args` are validated and typed from `args`. */
  get(
    args: RunArgs<Args>,
    ctx: PromptContext,
  ): PromptReturn | Promise<PromptReturn>;
}

/**
 * Declares a prompt: a message template the user picks in the client (a slash command in
 * Claude Code). An identity function: it exists so that `get`'s arguments are typed from `args`.
 *
 * @example A prompt file, `prompts/review.ts`, ends with `export default definePrompt({ … })`
 * ```ts
 * import { z } from "zod";
 * import { definePrompt } from "tooldrop";
 *
 * export default definePrompt({
 *   title: "Code review",
 *   description: "Reviews code for bugs.",
 *   args: z.object({
 *     code: z.string().describe("The code"),
 *     language: z.string().optional().describe("Its language"),
 *   }),
 *   complete: {
 *     language: (value) => ["go", "python", "rust"].filter((l) => l.startsWith(value)),
 *   },
 *   get: ({ code, language }) => `Review this ${language ?? ""} code:\n${code}`,
 * });
 * ```
 */
export function definePrompt<Args extends InputSchema = InputSchema>(
  definition: PromptDefinition<Args>,
): PromptDefinition<Args> {
  return definition;
}

/** One argument of a prompt as `prompts/list` shows it. */
export interface PromptArgument {
  /** Its name. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What to give. */
  description?: string;
  /** Whether `prompts/get` must have it. */
  required: boolean;
}

/** A prompt's entry in a `prompts/list` result. */
export interface PromptDescriptor {
  /** The name clients get it by. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What the prompt is for. */
  description: string;
  /** Its arguments, in declared order; absent when it declares none. */
  arguments?: PromptArgument[];
  /** Icons for client UIs. */
  icons?: unknown[];
  /** Extra fields for the client. */
  _meta?: Record<string, unknown>;
}

/** A prompt as the listing cache knows it: what `prompts/list` shows and how it runs. */
export interface PromptListing {
  /** The name clients get it by. */
  readonly name: string;
  /** Its entry in `prompts/list`. */
  readonly descriptor: PromptDescriptor;
  /** The Deno permissions it declares beyond the base set. */
  readonly permissions: ToolPermissions | undefined;
  /** Milliseconds `get` may run. */
  readonly timeoutMs: number;
  /** The arguments that have a completer. */
  readonly completes: readonly string[];
}
