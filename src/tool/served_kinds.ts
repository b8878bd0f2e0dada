/**
 * @module
 * Prompts and resources as the server serves them: each `prompts/get`, `resources/read` and
 * `completion/complete` is run as a tool call is (the same bounded runner, timeout,
 * cancellation and, in the 2026 era, `input_required`), by a runnable in the `Tool` shape whose
 * `reply` says what its result is: the reply's body, not a `CallToolResult`. Its name is its
 * dispatch key, `prompt:review`, `resource:note`, `complete:prompt:review`: `:` is outside the
 * tool name rule, so no key meets a tool's name. Zod-free: the server's thread imports it.
 * (Over 300 lines: the served shapes of prompts and resources, the runnables that serve them in
 * this thread or from the listing cache, and their sets, change together.)
 */

import type { AnyToolDefinition, InputSchema, ToolContext } from "./tool.ts";
import type { PromptDescriptor, PromptListing } from "./prompt.ts";
import type {
  ResourceDescriptor,
  ResourceListing,
  ResourceTemplateDescriptor,
} from "./resource.ts";
import type { ToolPermissions } from "./permissions.ts";
import type { ReplyKind, Tool, ToolDescriptor } from "./served.ts";

export { PromptSet, ResourceSet } from "./served.ts";
import { parseTemplate, type UriTemplate } from "./uri_template.ts";
import { MAX_TIMER_MS } from "../util/timer.ts";

/** A prompt served: its entry, and the runnables of its gets and completions. */
export interface ServedPrompt {
  /** The name clients get it by. */
  readonly name: string;
  /** Where it came from, for messages: `prompts/review.ts`. */
  readonly source: string;
  /** Its `prompts/list` entry. */
  readonly descriptor: PromptDescriptor;
  /** Runs a `prompts/get`; its arguments are the request's `arguments`. */
  readonly get: Tool;
  /** Runs its arguments' completers: `{ argument, value, arguments }`. */
  readonly complete: Tool;
  /** The arguments that complete. */
  readonly completes: readonly string[];
}

/** A resource served: its entry, its template, and the runnables of its reads and completions. */
export interface ServedResource {
  /** Its name in lists. */
  readonly name: string;
  /** Where it came from, for messages: `resources/note.ts`. */
  readonly source: string;
  /** Its `resources/list` or `resources/templates/list` entry. */
  readonly descriptor: ResourceDescriptor | ResourceTemplateDescriptor;
  /** Its parsed `uriTemplate`; undefined for a fixed `uri`. */
  readonly template: UriTemplate | undefined;
  /** Runs a `resources/read`: `{ uri }`. */
  readonly read: Tool;
  /** Runs its template variables' completers: `{ argument, value, arguments }`. */
  readonly complete: Tool;
  /** The template variables that complete. */
  readonly completes: readonly string[];
  /**
   * Runs its `subscribe` hook for one subscribed URI (`{ uri }`) until the call's signal aborts,
   * each change reported as progress; undefined when it has no hook.
   */
  readonly subscribe: Tool | undefined;
  /** The 2026 era's cache hints of its reads. */
  readonly cache: {
    readonly ttlMs: number;
    readonly scope: "public" | "private";
  };
  /**
   * Paths relative to the working directory whose changes update a subscribed URI, as written
   * (a template's with its `{variables}`).
   */
  readonly watch: readonly string[];
}

/**
 * Milliseconds a completer may run at most (less when the prompt's or resource's `timeoutMs`
 * is less): it runs as the user types, and a client waits for it before showing anything.
 */
export const COMPLETE_TIMEOUT_MS = 5_000;

/** Serves a body-returning function as a runnable of `kind`, called `key`. */
export function kindRunnable(
  key: string,
  kind: ReplyKind,
  source: string,
  limits: { timeoutMs: number; permissions: ToolPermissions | undefined },
  run: (args: Record<string, unknown>, ctx: ToolContext) => Promise<unknown>,
): Tool {
  return {
    name: key,
    source,
    reply: kind,
    definition: { description: key, run } as unknown as AnyToolDefinition,
    // Never read: a runnable checks what it is given itself.
    input: undefined as unknown as InputSchema,
    output: undefined,
    timeoutMs: limits.timeoutMs,
    permissions: limits.permissions,
    descriptor: { name: key } as unknown as ToolDescriptor,
  };
}

/** A checked prompt (./prompt_check.ts) as served in this thread. */
export function servedPrompt(
  checked: {
    listing: PromptListing;
    source: string;
    get: (args: Record<string, unknown>, ctx: ToolContext) => Promise<unknown>;
    complete: (
      request: {
        argument: string;
        value: string;
        arguments: Record<string, string>;
      },
      ctx: ToolContext,
    ) => Promise<unknown>;
  },
): ServedPrompt {
  const { listing, source } = checked;
  return {
    name: listing.name,
    source,
    descriptor: listing.descriptor,
    get: kindRunnable(
      `prompt:${listing.name}`,
      "prompt",
      source,
      listing,
      (args, ctx) => checked.get(args, ctx),
    ),
    complete: kindRunnable(
      `complete:prompt:${listing.name}`,
      "complete",
      source,
      completeLimits(listing),
      (args, ctx) => checked.complete(args as never, ctx),
    ),
    completes: listing.completes,
  };
}

/** A checked resource (./resource_check.ts) as served in this thread. */
export function servedResource(
  checked: {
    listing: ResourceListing;
    source: string;
    read: (request: { uri: string }, ctx: ToolContext) => Promise<unknown>;
    complete: (
      request: {
        argument: string;
        value: string;
        arguments: Record<string, string>;
      },
      ctx: ToolContext,
    ) => Promise<unknown>;
    /** Runs the `subscribe` hook (see `CheckedResource.subscribe`); absent: resolves `{}`. */
    subscribe?:
      | ((request: { uri: string }, ctx: ToolContext) => Promise<unknown>)
      | undefined;
  },
): ServedResource {
  const { listing, source } = checked;
  const uriTemplate = "uriTemplate" in listing.descriptor
    ? listing.descriptor.uriTemplate
    : undefined;
  const template = uriTemplate === undefined
    ? undefined
    : parseTemplate(uriTemplate);
  if (typeof template === "string") {
    throw new Error(`Cannot serve resource "${source}": ${template}`);
  }
  return {
    name: listing.descriptor.name,
    source,
    descriptor: listing.descriptor,
    template,
    read: kindRunnable(
      `resource:${listing.key}`,
      "resource",
      source,
      listing,
      (args, ctx) => checked.read({ uri: String(args.uri) }, ctx),
    ),
    complete: kindRunnable(
      `complete:resource:${listing.key}`,
      "complete",
      source,
      completeLimits(listing),
      (args, ctx) => checked.complete(args as never, ctx),
    ),
    completes: listing.completes,
    subscribe: listing.subscribes
      ? kindRunnable(
        `subscribe:resource:${listing.key}`,
        "resource",
        source,
        // A subscription lasts until the client leaves: its signal, not a timeout, ends it.
        { ...listing, timeoutMs: MAX_TIMER_MS },
        (args, ctx) =>
          checked.subscribe?.({ uri: String(args.uri) }, ctx) ??
            Promise.resolve({}),
      )
      : undefined,
    cache: listing.cache,
    watch: listing.watch,
  };
}

/**
 * A prompt known only from its listing (the listing cache): its module is not imported in this
 * thread, and `attach` gives each of its runnables the runner of its calls (a worker).
 */
export function listedPrompt(
  listing: PromptListing,
  source: string,
  attach: (runnable: Tool) => Tool,
): ServedPrompt {
  const served = servedPrompt({
    listing,
    source,
    get: notHere(source),
    complete: notHere(source),
  });
  return {
    ...served,
    get: attach(served.get),
    complete: attach(served.complete),
  };
}

/** A resource known only from its listing; see `listedPrompt`. Throws for a bad template. */
export function listedResource(
  listing: ResourceListing,
  source: string,
  attach: (runnable: Tool) => Tool,
): ServedResource {
  const served = servedResource({
    listing,
    source,
    read: notHere(source),
    complete: notHere(source),
    subscribe: notHere(source),
  });
  return {
    ...served,
    read: attach(served.read),
    complete: attach(served.complete),
    subscribe: served.subscribe && attach(served.subscribe),
  };
}

/** A completer's limits: its file's permissions, at most COMPLETE_TIMEOUT_MS. */
function completeLimits(
  listing: { timeoutMs: number; permissions: ToolPermissions | undefined },
): { timeoutMs: number; permissions: ToolPermissions | undefined } {
  return {
    timeoutMs: Math.min(listing.timeoutMs, COMPLETE_TIMEOUT_MS),
    permissions: listing.permissions,
  };
}

/** What a listed runnable runs in this thread: nothing, its calls run in its worker. */
function notHere(source: string): () => Promise<never> {
  return () =>
    Promise.reject(
      new Error(
        `Cannot run "${source}" in this thread: its calls run in its worker`,
      ),
    );
}
