/**
 * @module
 * The checked `Tool` the server serves, its `tools/list` entry and the `ToolSet` of one server,
 * with the name rules; and `listedTool`, a tool known only from the listing cache. Free of zod
 * (a type-only import aside): `serve --isolate` with a warm cache builds its tools here without
 * loading zod in the server's thread. Checking a definition (`createTool`) is ./toolset.ts's.
 * Also the sets of prompts and resources a `ToolSet` holds (their runnables: ./served_kinds.ts),
 * here so that a server of tools alone loads no module of theirs. (Over 300 lines by the sets.)
 */

import type { ServedPrompt, ServedResource } from "./served_kinds.ts";
import type {
  AnyToolDefinition,
  CallToolResult,
  InputSchema,
  OutputSchema,
  ToolContext,
} from "./tool.ts";
import type { ToolPermissions } from "./permissions.ts";

/** Milliseconds a call may run before it is aborted, unless the tool sets `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What the Claude API (and so Claude Code) accepts as a tool name. */
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** A tool's entry in a `tools/list` result. */
export interface ToolDescriptor {
  /** The name the client calls. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What the tool does, for the model. */
  description: string;
  /** The arguments' JSON Schema, as a caller sends them. */
  inputSchema: Record<string, unknown>;
  /** The structured result's JSON Schema, when the tool declares one. */
  outputSchema?: Record<string, unknown>;
  /** Hints about the tool's behaviour. */
  annotations?: Record<string, unknown>;
  /** Icons for client UIs. */
  icons?: unknown[];
  /** Extra fields for the client. */
  _meta?: Record<string, unknown>;
}

/**
 * What a runnable that is not a tool answers (./served_kinds.ts): its result is the body of a
 * `prompts/get`, `resources/read` or `completion/complete` reply, not a `CallToolResult`.
 */
export type ReplyKind = "prompt" | "resource" | "complete";

/** A checked tool, ready to serve. */
export interface Tool {
  /** The name the client calls: the definition's `name`, else the file's stem. */
  readonly name: string;
  /** Where it came from, for messages: `tools/echo.ts`. */
  readonly source: string;
  /** The definition as the tool file exports it. */
  readonly definition: AnyToolDefinition;
  /** The arguments' schema; an empty object schema when the tool takes none. */
  readonly input: InputSchema;
  /** The structured result's schema, when the tool declares one. */
  readonly output: OutputSchema | undefined;
  /** Milliseconds a call may run before it is aborted. */
  readonly timeoutMs: number;
  /** The Deno permissions it declares beyond the base set. */
  readonly permissions: ToolPermissions | undefined;
  /** Its entry in a `tools/list` result. */
  readonly descriptor: ToolDescriptor;
  /** Where its calls run when not in this thread (a worker); unset: `definition.run`, here. */
  readonly remote?: RemoteRunner | undefined;
  /** Set for the runnable of a prompt, a resource or a completer (./served_kinds.ts). */
  readonly reply?: ReplyKind | undefined;
}

/**
 * Runs a tool's calls outside this thread, in a worker with the tool's own permissions: the
 * arguments are checked and the result shaped there, as `definition.run`'s would be here.
 */
export interface RemoteRunner {
  /**
   * Runs one call with arguments that are a JSON object; resolves to its result, already
   * shaped, and never rejects (a tool that fails or ends its worker resolves to an error
   * result). `context` is the call's own: its signal, logs, progress and roots.
   */
  run(
    args: Record<string, unknown>,
    context: ToolContext,
  ): Promise<CallToolResult>;
  /**
   * Starts one call as `run` does, without a promise or a listener on `context.signal` (the
   * call runner's fast path): `done` receives its result once, perhaps before `start` returns;
   * the call is aborted through the returned handle, not the signal.
   */
  start(
    args: Record<string, unknown>,
    context: ToolContext,
    done: (result: CallToolResult) => void,
  ): { abort(reason: DOMException): void };
}

/** A tool as the listing cache knows it: what `tools/list` shows and how its calls are run. */
export interface ToolListing {
  readonly name: string;
  readonly descriptor: ToolDescriptor;
  readonly permissions: ToolPermissions | undefined;
  readonly timeoutMs: number;
}

/**
 * A tool known only from its listing, whose calls run in a worker (`remote`): its module is not
 * imported in this thread, so its `definition` and schemas here are stand-ins that no call uses.
 */
export function listedTool(
  listing: ToolListing,
  source: string,
  remote: RemoteRunner,
): Tool {
  const run = () => {
    throw new Error(
      `Cannot run tool "${listing.name}" in this thread: its calls run in its worker`,
    );
  };
  return {
    name: listing.name,
    source,
    definition: {
      description: listing.descriptor.description,
      run,
    } as unknown as AnyToolDefinition,
    input: notHere(listing.name),
    output: undefined,
    timeoutMs: listing.timeoutMs,
    permissions: listing.permissions,
    descriptor: listing.descriptor,
    remote,
  };
}

/** A stand-in arguments schema for a listed tool: its arguments are checked in its worker. */
function notHere(name: string): InputSchema {
  return {
    safeParse: () => {
      throw new Error(
        `Cannot check the arguments of tool "${name}" in this thread: they are checked in its worker`,
      );
    },
  } as unknown as InputSchema;
}

/** The Claude API's limit on a tool name, prefix `mcp__<server>__` included. */
export const MAX_QUALIFIED_NAME = 64;

/** The name Claude Code calls a tool by, `mcp__<server>__<tool>`; the API takes 64 at most. */
export function qualifiedName(serverName: string, toolName: string): string {
  return `mcp__${serverName}__${toolName}`;
}

/** Whether the tool's qualified name fits the Claude API's limit. */
export function qualifiedNameFits(
  serverName: string,
  toolName: string,
): boolean {
  return qualifiedName(serverName, toolName).length <= MAX_QUALIFIED_NAME;
}

/**
 * What doctor says when some of `toolNames` are too long once qualified for `serverName`;
 * undefined when all fit.
 */
export function longNamesProblem(
  serverName: string,
  toolNames: readonly string[],
): string | undefined {
  const long = toolNames.filter((name) => !qualifiedNameFits(serverName, name));
  if (long.length === 0) return undefined;
  return `tool name(s) ${long.join(", ")} are too long as ${
    qualifiedName(serverName, "<tool>")
  } (${MAX_QUALIFIED_NAME} characters at most): shorten them or the server name`;
}

/** The error for two tools with one name, naming both files. */
export function duplicateNameError(tool: Tool, other: Tool): string {
  return `Cannot load tool "${tool.source}": the name "${tool.name}" is already used by "${other.source}"; rename one of them or set "name"`;
}

/**
 * What one server serves, by name: its tools, with the `tools/list` result serialized once, and
 * its prompts and resources.
 */
export class ToolSet {
  readonly #byName = new Map<string, Tool>();
  readonly #tools: readonly Tool[];
  #listJson: string | undefined;
  /** Its prompts (`prompts/list`, `prompts/get`). */
  readonly prompts: PromptSet;
  /** Its resources (`resources/list`, `resources/templates/list`, `resources/read`). */
  readonly resources: ResourceSet;

  /** Throws when two tools, prompts or resources share a name, naming both files. */
  constructor(
    tools: readonly Tool[],
    more: {
      prompts?: readonly ServedPrompt[];
      resources?: readonly ServedResource[];
    } = {},
  ) {
    this.prompts = new PromptSet(more.prompts);
    this.resources = new ResourceSet(more.resources);
    for (const tool of tools) {
      const other = this.#byName.get(tool.name);
      if (other) {
        throw new Error(duplicateNameError(tool, other));
      }
      this.#byName.set(tool.name, tool);
    }
    this.#tools = tools;
  }

  /** The tool named `name`, if there is one. */
  get(name: string): Tool | undefined {
    return this.#byName.get(name);
  }

  /** The tools in their stable order (by file name). */
  get tools(): readonly Tool[] {
    return this.#tools;
  }

  /** The `tools/list` result as JSON text, built on first use. */
  get listJson(): string {
    return this.#listJson ??= `{"tools":[${
      this.#tools.map((t) => descriptorJson(t.descriptor)).join(",")
    }]}`;
  }
}

/** Each descriptor's JSON, made once: the lint searches it, `tools/list` joins it. */
const DESCRIPTOR_JSON = new WeakMap<ToolDescriptor, string>();

/**
 * `descriptor` as JSON text, as `JSON.stringify` writes it, made at its first use. A descriptor
 * is not changed once it is served (a reload makes a new one), so the text stays its own.
 */
export function descriptorJson(descriptor: ToolDescriptor): string {
  let json = DESCRIPTOR_JSON.get(descriptor);
  if (json === undefined) {
    json = JSON.stringify(descriptor);
    DESCRIPTOR_JSON.set(descriptor, json);
  }
  return json;
}

/** The prompts of one server, by name. */
export class PromptSet {
  readonly #byName = new Map<string, ServedPrompt>();
  /** The prompts in their order (by file name). */
  readonly prompts: readonly ServedPrompt[];

  /** Throws when two prompts share a name, naming both files. */
  constructor(prompts: readonly ServedPrompt[] = []) {
    for (const prompt of prompts) {
      const other = this.#byName.get(prompt.name);
      if (other) {
        throw new Error(
          `Cannot load prompt "${prompt.source}": the name "${prompt.name}" is already used by "${other.source}"; rename one of them or set "name"`,
        );
      }
      this.#byName.set(prompt.name, prompt);
    }
    this.prompts = prompts;
  }

  /** The prompt named `name`, if there is one. */
  get(name: string): ServedPrompt | undefined {
    return this.#byName.get(name);
  }
}

/** The resources of one server: fixed URIs first, then templates in their order. */
export class ResourceSet {
  readonly #byUri = new Map<string, ServedResource>();
  readonly #byTemplate = new Map<string, ServedResource>();
  /** The resources in their order (by file name). */
  readonly resources: readonly ServedResource[];

  /** Throws when two resources share a URI or a template, naming both files. */
  constructor(resources: readonly ServedResource[] = []) {
    for (const resource of resources) {
      const key = "uri" in resource.descriptor
        ? resource.descriptor.uri
        : resource.descriptor.uriTemplate;
      const map = resource.template ? this.#byTemplate : this.#byUri;
      const other = map.get(key);
      if (other) {
        throw new Error(
          `Cannot load resource "${resource.source}": ${
            resource.template ? "its uriTemplate" : "its uri"
          } ${
            JSON.stringify(key)
          } is already "${other.source}"'s; change one of them`,
        );
      }
      map.set(key, resource);
    }
    this.resources = resources;
  }

  /** The resources with a fixed URI (`resources/list`). */
  get fixed(): ServedResource[] {
    return this.resources.filter((r) => !r.template);
  }

  /** The templates (`resources/templates/list`). */
  get templates(): ServedResource[] {
    return this.resources.filter((r) => r.template);
  }

  /** What serves `uri`: a fixed URI first, then the first template that matches. */
  find(uri: string): ServedResource | undefined {
    const fixed = this.#byUri.get(uri);
    if (fixed) return fixed;
    for (const resource of this.#byTemplate.values()) {
      if (resource.template!.match(uri)) return resource;
    }
    return undefined;
  }

  /** The resource whose fixed URI or template text is `ref` (a completion's `ref/resource`). */
  byRef(ref: string): ServedResource | undefined {
    return this.#byTemplate.get(ref) ?? this.#byUri.get(ref);
  }
}
