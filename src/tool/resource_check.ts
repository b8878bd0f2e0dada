/**
 * @module
 * Checks a resource definition and builds what serves it: its `resources/list` or
 * `resources/templates/list` entry and the functions that check, call and shape a
 * `resources/read` and a `completion/complete`.
 * (Over 300 lines: each check a resource definition gets, with the message it gives, and the
 * shaping of what `read` returns, which those checks mirror, read best side by side.)
 */

import type { ResourceContents } from "./content.ts";
import type { ToolContext } from "./tool.ts";
import type { ToolPermissions } from "./permissions.ts";
import type {
  ResourceDescriptor,
  ResourceListing,
  ResourceTemplateDescriptor,
  SubscribeContext,
} from "./resource.ts";
import type { LogLevel } from "../util/log.ts";
import { DEFAULT_TIMEOUT_MS } from "./served.ts";
import { sharedFieldsProblem } from "./toolset.ts";
import { parseTemplate, type UriTemplate } from "./uri_template.ts";
import { type ServedResource, servedResource } from "./served_kinds.ts";
import {
  checkCompleters,
  type CompleteBody,
  type CompleteRequest,
  KindContext,
  KindError,
  kindOf,
  runCompleter,
} from "./kinds.ts";
import { isPlainObject } from "../util/is.ts";
import { textOf } from "../util/describe.ts";
import { MAX_TIMER_MS } from "../util/timer.ts";

/** A checked resource: its listing, its template, and the functions that serve it. */
export interface CheckedResource {
  /** Its list entry and what runs it. */
  readonly listing: ResourceListing;
  /** Where it came from, for messages: `resources/note.ts`. */
  readonly source: string;
  /** How messages name it: `resource "note"`. */
  readonly label: string;
  /** Its parsed `uriTemplate`; undefined for a fixed `uri`. */
  readonly template: UriTemplate | undefined;
  /**
   * Reads `request.uri` (`params`: the template's match of it, matched here when absent) and
   * shapes what `read` returned into a `ReadResourceResult` body. Rejects with a `KindError`:
   * `not_found` (data `{ uri }`) when the URI is not this resource's or `read` returned
   * `undefined`, -32603 for a return that is not contents; what `read` throws passes through
   * unchanged (see `toKindError`).
   */
  read(
    request: { uri: string; params?: Readonly<Record<string, string>> },
    ctx: ToolContext,
  ): Promise<ReadResourceBody>;
  /** Runs the completer of a template variable (see `CompleteRequest`). */
  complete(request: CompleteRequest, ctx: ToolContext): Promise<CompleteBody>;
  /**
   * Runs the `subscribe` hook for `request.uri` while `ctx.signal` has not aborted, each
   * `changed()` of it reported as `ctx.progress` (a count that grows); resolves `{}` once the
   * signal aborted, at once when there is no hook. Rejects as `read` does for a URI not its own.
   */
  subscribe(request: { uri: string }, ctx: ToolContext): Promise<object>;
}

/** A `resources/read` result body. */
export interface ReadResourceBody {
  /** What was read, blobs base64-encoded. */
  contents: ResourceContents[];
}

/** The cache hints of a read unless the resource sets them: none. */
const DEFAULT_CACHE = { ttlMs: 0, scope: "private" } as const;
/** A media type: `text/markdown`, `application/vnd.api+json; charset=utf-8`. */
const MEDIA_TYPE = /^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks that `definition` is a resource and builds it. `defaultName` is the file's stem (also
 * its key). Throws an `Error` whose message names `source` and says how to fix it.
 */
export function createResource(
  definition: unknown,
  defaultName: string,
  source: string,
): CheckedResource {
  const fail = (problem: string): never => {
    throw new Error(`Cannot load resource "${source}": ${problem}`);
  };
  if (typeof definition !== "object" || definition === null) {
    return fail(
      "it has no default export; end the file with `export default defineResource({ uri, description, read })`",
    );
  }
  const def = definition as Record<string, unknown>;
  if (typeof def.read !== "function") {
    fail(
      `the default export has no "read" function; add \`read: (params, ctx) => "the resource's text"\``,
    );
  }
  if (typeof def.description !== "string" || def.description.trim() === "") {
    fail(
      `"description" is missing; say what the resource holds, for the user and the model to read`,
    );
  }
  const template = checkAddress(def, fail);
  const name = def.name === undefined ? defaultName : def.name;
  if (typeof name !== "string" || name.trim() === "") {
    fail(`"name" must be a non-empty string; it names the resource in lists`);
  }
  if (
    def.mimeType !== undefined &&
    (typeof def.mimeType !== "string" || !MEDIA_TYPE.test(def.mimeType))
  ) {
    fail(`"mimeType" must be a media type, like "text/markdown"`);
  }
  if (template && def.size !== undefined) {
    fail(`"size" is for one resource; a "uriTemplate" names many`);
  }
  if (
    def.size !== undefined &&
    !(Number.isSafeInteger(def.size) && (def.size as number) >= 0)
  ) {
    fail(`"size" must be a whole number of bytes`);
  }
  const shared = sharedFieldsProblem(def);
  if (shared) fail(shared);
  const cache = checkCache(def.cache, fail);
  const variables = template?.variables ?? [];
  const watch = checkWatch(def.watch, template, fail);
  if (template === undefined && def.complete !== undefined) {
    fail(
      `"complete" suggests a "uriTemplate"'s variables; a "uri" has none, so remove it`,
    );
  }
  const completers = checkCompleters(def.complete, variables, "variable", fail);
  if (def.subscribe !== undefined && typeof def.subscribe !== "function") {
    fail(
      `"subscribe" must be a function, like (params, ctx) => { … ctx.changed() … }`,
    );
  }

  const label = `resource "${name as string}"`;
  const common = {
    name: name as string,
    ...(typeof def.title === "string" ? { title: def.title } : {}),
    description: def.description as string,
    ...(typeof def.mimeType === "string" ? { mimeType: def.mimeType } : {}),
    ...(def.annotations
      ? { annotations: def.annotations as Record<string, unknown> }
      : {}),
  };
  const tail = {
    ...(def.icons ? { icons: def.icons as unknown[] } : {}),
    ...(def._meta ? { _meta: def._meta as Record<string, unknown> } : {}),
  };
  const descriptor: ResourceDescriptor | ResourceTemplateDescriptor = template
    ? { uriTemplate: template.text, ...common, ...tail }
    : {
      uri: def.uri as string,
      ...common,
      ...(def.size === undefined ? {} : { size: def.size as number }),
      ...tail,
    };
  const read = def.read as (params: unknown, ctx: ToolContext) => unknown;
  const mimeType = def.mimeType as string | undefined;
  return {
    listing: {
      key: defaultName,
      descriptor,
      permissions: def.permissions as ToolPermissions | undefined,
      timeoutMs: (def.timeoutMs as number | undefined) ?? DEFAULT_TIMEOUT_MS,
      completes: [...completers.keys()],
      watch,
      subscribes: typeof def.subscribe === "function",
      cache,
    },
    source,
    label,
    template,
    async read({ uri, params }, ctx) {
      const matched = params ??
        (template ? template.match(uri) : uri === def.uri ? {} : undefined);
      if (matched === undefined) {
        throw new KindError("not_found", "Resource not found", { uri });
      }
      const value = await read.call(
        definition,
        Object.freeze({ ...matched }),
        new KindContext(ctx, name as string, uri),
      );
      return { contents: shapeContents(value, uri, mimeType, label) };
    },
    complete: (request, ctx) =>
      runCompleter(completers, variables, request, ctx, label, "variable"),
    async subscribe({ uri }, ctx) {
      const matched = template
        ? template.match(uri)
        : uri === def.uri
        ? {}
        : undefined;
      if (matched === undefined) {
        throw new KindError("not_found", "Resource not found", { uri });
      }
      const hook = def.subscribe;
      if (typeof hook !== "function" || ctx.signal.aborted) return {};
      let changes = 0;
      const subscribeContext: SubscribeContext = Object.freeze({
        uri,
        signal: ctx.signal,
        changed: () => {
          if (!ctx.signal.aborted) ctx.progress(++changes);
        },
        log: (level: LogLevel, message: string) => ctx.log(level, message),
      });
      await hook.call(
        definition,
        Object.freeze({ ...matched }),
        subscribeContext,
      );
      // The hook set up its watching and returned: it lasts until the signal aborts.
      if (!ctx.signal.aborted) {
        await new Promise((resolve) =>
          ctx.signal.addEventListener("abort", resolve, { once: true })
        );
      }
      return {};
    },
  };
}

/** Checks `uri` / `uriTemplate` (exactly one); returns the parsed template, if it is one. */
function checkAddress(
  def: Record<string, unknown>,
  fail: (problem: string) => never,
): UriTemplate | undefined {
  const { uri, uriTemplate } = def;
  if (uri !== undefined && uriTemplate !== undefined) {
    return fail(
      `it has both "uri" and "uriTemplate"; keep "uri" for one resource or "uriTemplate" for a family of them`,
    );
  }
  if (uri === undefined && uriTemplate === undefined) {
    return fail(
      `it has neither "uri" nor "uriTemplate"; add uri: "docs://readme" (one resource) or uriTemplate: "notes://{name}" (one per name)`,
    );
  }
  if (uri !== undefined) {
    if (typeof uri === "string" && uri.includes("{")) {
      return fail(
        `"uri" ${
          JSON.stringify(textOf(uri, 60))
        } holds "{", a template's variable; name the field "uriTemplate"`,
      );
    }
    if (typeof uri !== "string" || !URL.canParse(uri)) {
      return fail(
        `"uri" ${
          typeof uri === "string"
            ? JSON.stringify(textOf(uri, 60))
            : kindOf(uri)
        } is not an absolute URI; give it a scheme, like "docs://readme"`,
      );
    }
    return undefined;
  }
  if (typeof uriTemplate !== "string") {
    return fail(
      `"uriTemplate" must be a string, like "notes://{name}"; it is ${
        kindOf(uriTemplate)
      }`,
    );
  }
  const template = parseTemplate(uriTemplate);
  if (typeof template === "string") {
    return fail(
      `"uriTemplate" ${
        JSON.stringify(textOf(uriTemplate, 60))
      } is not a level-1 URI template: ${template}`,
    );
  }
  const sample = template.expand(
    Object.fromEntries(template.variables.map((v) => [v, "x"])),
  );
  if (!URL.canParse(sample)) {
    return fail(
      `"uriTemplate" ${
        JSON.stringify(textOf(uriTemplate, 60))
      } does not make an absolute URI; give it a scheme, like "notes://{name}"`,
    );
  }
  return template;
}

function checkCache(
  value: unknown,
  fail: (problem: string) => never,
): ResourceListing["cache"] {
  if (value === undefined) return DEFAULT_CACHE;
  if (!isPlainObject(value)) {
    return fail(
      `"cache" must be an object, like { ttlMs: 60000, scope: "public" }`,
    );
  }
  const { ttlMs = DEFAULT_CACHE.ttlMs, scope = DEFAULT_CACHE.scope } = value;
  if (
    !Number.isInteger(ttlMs) || (ttlMs as number) < 0 ||
    (ttlMs as number) > MAX_TIMER_MS
  ) {
    fail(
      `"cache.ttlMs" must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}; it is ${
        typeof ttlMs === "number" ? ttlMs : kindOf(ttlMs)
      }`,
    );
  }
  if (scope !== "public" && scope !== "private") {
    fail(
      `"cache.scope" must be "public" (any cache may keep a read) or "private" (only the client's)`,
    );
  }
  return {
    ttlMs: ttlMs as number,
    scope: scope as "public" | "private",
  };
}

/**
 * Checks `watch`: paths relative to the working directory, without `..`, whose `{…}` are the
 * template's variables. Returns them as written.
 */
function checkWatch(
  value: unknown,
  template: UriTemplate | undefined,
  fail: (problem: string) => never,
): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((p) => typeof p === "string")) {
    return fail(
      `"watch" must be an array of paths relative to the working directory, like ["notes/{name}.md"]`,
    );
  }
  for (const path of value as string[]) {
    const shown = JSON.stringify(textOf(path, 60));
    if (path === "") fail(`"watch" has an empty path; name a file or folder`);
    if (/^([/\\]|[A-Za-z]:)/.test(path)) {
      fail(
        `"watch" path ${shown} is absolute; give it relative to the working directory, like "notes/{name}.md"`,
      );
    }
    if (path.split(/[/\\]/).includes("..")) {
      fail(
        `"watch" path ${shown} climbs out with ".."; watch only inside the working directory`,
      );
    }
    const rest = path.replace(/\{([^{}]*)\}/g, (whole, name: string) => {
      if (!template) {
        fail(
          `"watch" path ${shown} has "${whole}", but a "uri" has no variables; write the path out`,
        );
      } else if (!template.variables.includes(name)) {
        fail(
          `"watch" path ${shown} has "${whole}", which is not a variable of "${template.text}"; use ${
            template.variables.map((v) => `{${v}}`).join(", ")
          }`,
        );
      }
      return "";
    });
    if (/[{}]/.test(rest)) {
      fail(`"watch" path ${shown} has an unbalanced "{" or "}"`);
    }
  }
  return value as string[];
}

const NO_CONTENTS =
  `read no contents; return "" for an empty resource, undefined for one that does not exist`;

/**
 * What `read` returned, as `contents`: text → one text item (`mimeType` the resource's, else
 * `text/plain`), bytes → one base64 `blob` item (else `application/octet-stream`), items with
 * their `uri` and `mimeType` filled the same way; `undefined` → `not_found`. Throws a -32603
 * `KindError` naming the flaw.
 */
function shapeContents(
  value: unknown,
  uri: string,
  mimeType: string | undefined,
  label: string,
): ResourceContents[] {
  const invalid = (what: string) =>
    new KindError(-32603, `Internal error: ${label} ${what}`);
  if (value === undefined) {
    throw new KindError("not_found", "Resource not found", { uri });
  }
  if (typeof value === "string") {
    return [{ uri, mimeType: mimeType ?? "text/plain", text: value }];
  }
  if (value instanceof Uint8Array) {
    return [{
      uri,
      mimeType: mimeType ?? "application/octet-stream",
      blob: value.toBase64(),
    }];
  }
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) throw invalid(NO_CONTENTS);
  return items.map((item, i) => {
    const at = Array.isArray(value) ? ` [${i}]` : "";
    const problem = itemProblem(item);
    if (problem) {
      throw invalid(
        `returned an invalid item${at}: ${problem}; return a string, a Uint8Array, { text } or { blob }, or an array of { text } and { blob } items`,
      );
    }
    const record = item as Record<string, unknown>;
    const text = typeof record.text === "string";
    const blob = record.blob;
    return {
      uri: (record.uri as string | undefined) ?? uri,
      mimeType: (record.mimeType as string | undefined) ?? mimeType ??
        (text ? "text/plain" : "application/octet-stream"),
      ...(text ? { text: record.text as string } : {
        blob: blob instanceof Uint8Array ? blob.toBase64() : blob as string,
      }),
      ...(record._meta === undefined
        ? {}
        : { _meta: record._meta as Record<string, unknown> }),
    } as ResourceContents;
  });
}

/** What is wrong with one item of a read, or undefined. */
function itemProblem(item: unknown): string | undefined {
  if (
    !isPlainObject(item) || ArrayBuffer.isView(item) ||
    item instanceof ArrayBuffer
  ) {
    return `it is ${kindOf(item)}`;
  }
  const { uri, mimeType, text, blob, _meta } = item;
  const hasText = text !== undefined;
  const hasBlob = blob !== undefined;
  if (hasText === hasBlob) {
    return hasText
      ? `it has both "text" and "blob"`
      : `it has no "text" or "blob"`;
  }
  if (hasText && typeof text !== "string") return `"text" is ${kindOf(text)}`;
  if (hasBlob && !(blob instanceof Uint8Array)) {
    if (typeof blob !== "string") return `"blob" is ${kindOf(blob)}`;
    if (blob.length % 4 !== 0 || !BASE64.test(blob)) {
      return `"blob" is a string that is not base64 (give the bytes as a Uint8Array)`;
    }
  }
  if (uri !== undefined && typeof uri !== "string") {
    return `"uri" is ${kindOf(uri)}`;
  }
  if (mimeType !== undefined && typeof mimeType !== "string") {
    return `"mimeType" is ${kindOf(mimeType)}`;
  }
  if (_meta !== undefined && !isPlainObject(_meta)) {
    return `"_meta" is ${kindOf(_meta)}`;
  }
  return undefined;
}

/** The error for two resources at one URI or template, naming both files. */
export function duplicateResourceError(
  resource: { source: string; listing: ResourceListing },
  other: { source: string },
): string {
  const { descriptor } = resource.listing;
  const [field, address] = "uriTemplate" in descriptor
    ? ["uriTemplate", descriptor.uriTemplate]
    : ["uri", descriptor.uri];
  return `Cannot load resource "${resource.source}": the ${field} ${
    JSON.stringify(address)
  } is already served by "${other.source}"; change one of them`;
}

/**
 * A resource definition as a server serves it in this thread (embedding, tests): checked as a
 * file's would be, `name` standing in for the file's stem.
 */
export function serveResource(
  definition: unknown,
  name: string,
): ServedResource {
  return servedResource(
    createResource(definition, name, `resources/${name}.ts`),
  );
}
