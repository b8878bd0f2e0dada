/**
 * @module
 * The resource contract: `defineResource` (an identity function for type inference) for one
 * fixed `uri` or a family of them under a `uriTemplate`, whose parameters are typed from the
 * template's text; what `read` may return; and the entries a checked resource lists
 * (./resource_check.ts checks a definition and builds it).
 */

import type { LogLevel } from "../util/log.ts";
import type { Icon, ToolContext } from "./tool.ts";
import type { ToolPermissions } from "./permissions.ts";
import type { Completers } from "./prompt.ts";

/**
 * The variables of an RFC 6570 level-1 template, as a type:
 * `"notes://{dir}/{name}"` → `"dir" | "name"`.
 */
export type TemplateVariables<T extends string> = T extends
  `${string}{${infer V}}${infer Rest}` ? V | TemplateVariables<Rest>
  : never;

/** The parameters `read` gets for a template: one decoded string per variable. */
export type TemplateParams<T extends string> = {
  readonly [K in TemplateVariables<T>]: string;
};

/**
 * One item of what `read` returns. `uri` defaults to the URI read; `mimeType` to the
 * definition's, else `text/plain` for text and `application/octet-stream` for a blob.
 */
export type ResourceContent =
  | {
    /** The URI of this item; default the URI read. */
    uri?: string;
    /** Its media type. */
    mimeType?: string;
    /** Its contents as text. */
    text: string;
    /** Extra data for the client. */
    _meta?: Record<string, unknown>;
  }
  | {
    /** The URI of this item; default the URI read. */
    uri?: string;
    /** Its media type. */
    mimeType?: string;
    /** Its contents: bytes, or a string already base64-encoded. */
    blob: Uint8Array | string;
    /** Extra data for the client. */
    _meta?: Record<string, unknown>;
  };

/**
 * What `read` returns: text, bytes (sent base64-encoded as a `blob`), an item or items with
 * their own URIs and types, or `undefined` when there is no such resource (the client gets the
 * protocol's "Resource not found" error).
 */
export type ReadReturn =
  | string
  | Uint8Array
  | ResourceContent
  | ResourceContent[]
  | undefined;

/** What `read` runs with: a tool's context, whose `toolName` is the resource's name. */
export interface ResourceContext extends ToolContext {
  /** The URI being read, as the client sent it. */
  readonly uri: string;
}

/** Given to `subscribe`: call `changed()` when the resource's content changed. */
export interface SubscribeContext {
  /** The URI a client subscribed to. */
  readonly uri: string;
  /** Aborts when the last client unsubscribes, when the file reloads, and at shutdown. */
  readonly signal: AbortSignal;
  /** Tells the subscribed clients that the resource changed (bursts become one update). */
  changed(): void;
  /** Writes a diagnostic to stderr. */
  log(level: LogLevel, message: string): void;
}

/** The cache hints of a resource's reads (protocol 2026-07-28). */
export interface ResourceCache {
  /** Milliseconds a client may reuse a read; default 0 (read again every time). */
  ttlMs?: number;
  /** Whether a shared cache may keep it ("public") or only this client ("private", default). */
  scope?: "public" | "private";
}

/** Hints about a resource for the client. */
export interface ResourceAnnotations {
  /** Who it is for. */
  audience?: ("user" | "assistant")[];
  /** From 0 (optional) to 1 (required). */
  priority?: number;
  /** When it last changed, as an ISO 8601 date-time. */
  lastModified?: string;
}

/** The fields of both forms of resource. */
export interface ResourceCommon {
  /** Its `name` in lists; defaults to the file's name without `.ts`. */
  name?: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What it holds, for the user and the model. */
  description: string;
  /** The media type of what `read` returns, e.g. `text/markdown`. */
  mimeType?: string;
  /** Icons a client may show next to the resource. */
  icons?: Icon[];
  /** Hints for the client. */
  annotations?: ResourceAnnotations;
  /** Extra fields for its entry in the list. */
  _meta?: Record<string, unknown>;
  /** Milliseconds before `ctx.signal` aborts and `read` fails; default 60 000. */
  timeoutMs?: number;
  /** Deno permissions `read` needs beyond reading the working directory, as for tools. */
  permissions?: ToolPermissions;
  /** Cache hints of its reads (2026-07-28); default `{ ttlMs: 0, scope: "private" }`. */
  cache?: ResourceCache;
  /**
   * Paths relative to the working directory whose changes update a subscribed URI; a
   * template's may use its variables (`"notes/{name}.md"`). The server watches them, not your
   * code.
   */
  watch?: string[];
}

/** One resource at a fixed URI. */
export interface StaticResource extends ResourceCommon {
  /** Its URI, with a scheme: `docs://readme`. */
  uri: string;
  /** Its size in bytes, when known before reading. */
  size?: number;
  /** Reads it. May be async; returns `undefined` when it does not exist (now). */
  read(
    params: Record<never, string>,
    ctx: ResourceContext,
  ): ReadReturn | Promise<ReadReturn>;
  /** Watches it while a client is subscribed: call `ctx.changed()` on each change. */
  subscribe?(
    params: Record<never, string>,
    ctx: SubscribeContext,
  ): void | Promise<void>;
}

/** A family of resources, one per value of the template's variables. */
export interface TemplateResource<T extends string> extends ResourceCommon {
  /** An RFC 6570 level-1 template: `notes://{name}`. */
  uriTemplate: T;
  /**
   * Reads the resource `params` name, each decoded and never `.`, `..` or holding `/`, `\` or
   * NUL. May be async; returns `undefined` when there is no such resource.
   */
  read(
    params: TemplateParams<T>,
    ctx: ResourceContext,
  ): ReadReturn | Promise<ReadReturn>;
  /** Suggestions for the template's variables while the user types them. */
  complete?: Completers<TemplateVariables<T> & string>;
  /** Watches one resource while a client is subscribed: call `ctx.changed()` on each change. */
  subscribe?(
    params: TemplateParams<T>,
    ctx: SubscribeContext,
  ): void | Promise<void>;
}

/**
 * Declares a family of resources under a URI template; `read` gets the template's variables,
 * typed from its text.
 *
 * @example A resource file, `resources/note.ts`, ends with `export default defineResource({ … })`
 * ```ts
 * import { defineResource } from "tooldrop";
 *
 * const notes = new Map([["todo", "milk"]]);
 * export default defineResource({
 *   uriTemplate: "notes://{name}",
 *   description: "A note by name.",
 *   read: ({ name }) => notes.get(name), // undefined: not found
 *   complete: { name: (value) => [...notes.keys()].filter((n) => n.startsWith(value)) },
 * });
 * ```
 */
export function defineResource<const T extends string>(
  definition: TemplateResource<T>,
): TemplateResource<T>;
/**
 * Declares one resource at a fixed URI.
 *
 * @example
 * ```ts
 * import { defineResource } from "tooldrop";
 *
 * export default defineResource({
 *   uri: "docs://readme",
 *   description: "The project's README.",
 *   mimeType: "text/markdown",
 *   read: () => Deno.readTextFile("README.md"),
 * });
 * ```
 */
export function defineResource(definition: StaticResource): StaticResource;
export function defineResource(
  definition: StaticResource | TemplateResource<string>,
): StaticResource | TemplateResource<string> {
  return definition;
}

/** A fixed resource's entry in a `resources/list` result. */
export interface ResourceDescriptor {
  /** Its URI. */
  uri: string;
  /** Its name. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What it holds. */
  description: string;
  /** Its media type. */
  mimeType?: string;
  /** Hints for the client. */
  annotations?: Record<string, unknown>;
  /** Its size in bytes. */
  size?: number;
  /** Icons for client UIs. */
  icons?: unknown[];
  /** Extra fields for the client. */
  _meta?: Record<string, unknown>;
}

/** A template's entry in a `resources/templates/list` result. */
export interface ResourceTemplateDescriptor {
  /** Its RFC 6570 template. */
  uriTemplate: string;
  /** Its name. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What its resources hold. */
  description: string;
  /** Their media type. */
  mimeType?: string;
  /** Hints for the client. */
  annotations?: Record<string, unknown>;
  /** Icons for client UIs. */
  icons?: unknown[];
  /** Extra fields for the client. */
  _meta?: Record<string, unknown>;
}

/** A resource as the listing cache knows it: what the lists show and how it runs. */
export interface ResourceListing {
  /** Its file's stem: the key its reads are dispatched by. */
  readonly key: string;
  /** Its entry in `resources/list` (a `uri`) or `resources/templates/list` (a `uriTemplate`). */
  readonly descriptor: ResourceDescriptor | ResourceTemplateDescriptor;
  /** The Deno permissions it declares beyond the base set. */
  readonly permissions: ToolPermissions | undefined;
  /** Milliseconds `read` may run. */
  readonly timeoutMs: number;
  /** The template variables that have a completer. */
  readonly completes: readonly string[];
  /** The paths whose changes update a subscribed URI, as written. */
  readonly watch: readonly string[];
  /** Whether it has a `subscribe` hook. */
  readonly subscribes: boolean;
  /** Cache hints of its reads, defaults filled. */
  readonly cache: { ttlMs: number; scope: "public" | "private" };
}
