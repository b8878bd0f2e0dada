/**
 * @module
 * `getPrompt` and `readResource`, for a prompt's or a resource's tests as `callTool` is for a
 * tool's: a file runs as the server runs it, in a worker with only the permissions it declares;
 * a definition in the caller's thread. Both send the server the request a client would
 * (`prompts/get`, `resources/read`). Every tool module loads this file through "tooldrop", so it
 * imports types only; the server, the worker host and the checks load on the first call.
 */

import type { CallToolOptions, Reply } from "../server/invoke.ts";
import type { PromptDefinition } from "../tool/prompt.ts";
import type { StaticResource, TemplateResource } from "../tool/resource.ts";
import type {
  CallArgs,
  ContentBlock,
  InputSchema,
  ResourceContents,
} from "../tool/tool.ts";
import type { ServedPrompt, ServedResource } from "../tool/served_kinds.ts";
import type { Logger } from "../util/log.ts";
import { textOf } from "../util/describe.ts";
import { isPlainObject } from "../util/is.ts";

/** What `getPrompt` resolves to: the `prompts/get` result a client gets. */
export interface GetPromptResult {
  /** The prompt's description for this use, when `get` gave one. */
  description?: string;
  /** Its messages, every content a block (a string `get` returned is one user text block). */
  messages: { role: "user" | "assistant"; content: ContentBlock }[];
}

/** What `readResource` resolves to: the `resources/read` result a client gets. */
export interface ReadResourceResult {
  /** What was read: text, or bytes base64-encoded as `blob`. */
  contents: ResourceContents[];
}

/**
 * Gets a prompt as a client would (`prompts/get`): `args` checked as the server checks them,
 * what `get` returns shaped into messages. `prompt` is the file, as a `file:` URL
 * (`import.meta.resolve("./review.ts")`), run as served: imported in a worker with only the
 * permissions it declares, whatever the test process holds; or a definition, run in this thread
 * with this process's permissions. Rejects with the error the client would get (a
 * `JsonRpcError`: `code`, `message`, `data`) for bad arguments or a failing `get`, and with an
 * `Error` naming the file for one the server would not serve.
 *
 * @example A definition, in this thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { definePrompt, getPrompt } from "tooldrop";
 *
 * const review = definePrompt({
 *   description: "Reviews code for bugs.",
 *   args: z.object({ code: z.string().describe("The code") }),
 *   get: ({ code }) => `Review this code:\n${code}`,
 * });
 *
 * assert.deepEqual(await getPrompt(review, { code: "x = 1" }), {
 *   messages: [{ role: "user", content: { type: "text", text: "Review this code:\nx = 1" } }],
 * });
 * // @ts-expect-error: "code" is left out on purpose
 * await assert.rejects(getPrompt(review, {}), { code: -32602 });
 * ```
 *
 * @example A prompt file, as served: in prompts/review_test.ts
 * ```ts ignore
 * import { getPrompt } from "tooldrop";
 *
 * const { messages } = await getPrompt(import.meta.resolve("./review.ts"), { code: "x = 1" });
 * ```
 */
export async function getPrompt<Args extends InputSchema>(
  prompt: PromptDefinition<Args> | URL | string,
  args: CallArgs<Args>,
  options: CallToolOptions = {},
): Promise<GetPromptResult> {
  return await run("prompt", prompt, options, (served) => ({
    name: served.name,
    arguments: args,
  }));
}

/**
 * Reads a resource as a client would (`resources/read`): `uri` matched against its `uri` or
 * `uriTemplate`, what `read` returns shaped into contents (bytes as a base64 `blob`). Where it
 * runs is as for {@link getPrompt}: a `file:` URL (`import.meta.resolve("./note.ts")`) in a
 * worker with only its declared permissions, a definition in this thread. Rejects with the
 * error the client would get (a `JsonRpcError`): `-32002` `Resource not found: "<uri>"` for a URI
 * it does not serve or when `read` returns `undefined`, `-32602` for a `ToolError`, `-32603` for
 * any other failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineResource, readResource } from "tooldrop";
 *
 * const note = defineResource({
 *   uriTemplate: "notes://{name}",
 *   description: "A note by name.",
 *   read: ({ name }) => (name === "todo" ? "milk" : undefined),
 * });
 *
 * assert.deepEqual(await readResource(note, "notes://todo"), {
 *   contents: [{ uri: "notes://todo", mimeType: "text/plain", text: "milk" }],
 * });
 * await assert.rejects(readResource(note, "notes://nope"), { code: -32002 });
 * ```
 */
export async function readResource<T extends string>(
  resource: StaticResource | TemplateResource<T> | URL | string,
  uri: string,
  options: CallToolOptions = {},
): Promise<ReadResourceResult> {
  return await run("resource", resource, options, () => ({ uri }));
}

/**
 * Sends the request `params` makes to a server of `subject` alone: a file as served, a
 * definition in this thread, named after the file beside the calling test that exports it.
 */
async function run<K extends keyof Kinds>(
  kind: K,
  subject: unknown,
  options: CallToolOptions,
  params: (served: Kinds[K]["served"]) => Record<string, unknown>,
): Promise<Kinds[K]["result"]> {
  if (typeof subject === "string" || subject instanceof URL) {
    return await fromFile(kind, subject, params, options);
  }
  // Read before the first await: the stack still holds the test that called.
  const caller = await callerExport(subject, new Error().stack);
  const name = caller?.name ?? UNNAMED;
  const source = caller?.source ?? `the ${kind} under test`;
  const [kinds, prompts, resources] = await Promise.all([
    import("../tool/served_kinds.ts"),
    import("../tool/prompt_check.ts"),
    import("../tool/resource_check.ts"),
  ]);
  const served =
    (kind === "prompt"
      ? kinds.servedPrompt(prompts.createPrompt(subject, name, source))
      : kinds.servedResource(
        resources.createResource(subject, name, source),
      )) as Kinds[K]["served"];
  return await ask(kind, served, params(served), options);
}

/** Characters of a URI echoed into an error. */
const URI_CHARS = 100;

/** What a definition with no `name` and no file found is called, as for `callTool`. */
const UNNAMED = "unnamed";

/** What each kind is served as, and the method that asks for it. */
interface Kinds {
  prompt: { served: ServedPrompt; result: GetPromptResult };
  resource: { served: ServedResource; result: ReadResourceResult };
}

const METHODS = { prompt: "prompts/get", resource: "resources/read" };

/**
 * The file that exports `definition`, found from the test that called (its frames in `stack`
 * past this module's), so that messages name it as served (`prompt "review"`).
 */
async function callerExport(definition: unknown, stack: string | undefined) {
  const { callerFile, exportingFile } = await import("./call_tool.ts");
  const frames = stack?.split("\n").filter((frame) =>
    !frame.includes(import.meta.url)
  ).join("\n");
  const named = (definition as { name?: unknown }).name !== undefined;
  return named
    ? undefined
    : await exportingFile(definition, callerFile(frames));
}

/**
 * Sends `params` to a server of `served` alone; resolves to the result, or rejects with the
 * reply's error as a `JsonRpcError` (see `replyFailure`).
 */
async function ask<K extends keyof Kinds>(
  kind: K,
  served: Kinds[K]["served"],
  params: Record<string, unknown>,
  options: CallToolOptions,
  log?: Logger,
): Promise<Kinds[K]["result"]> {
  const [{ invokeRequest, stderrLogger }, { ToolSet }, { JsonRpcError }] =
    await Promise.all([
      import("../server/invoke.ts"),
      import("../tool/served.ts"),
      import("../server/jsonrpc.ts"),
    ]);
  const { logLevel, ...rest } = options;
  const set = new ToolSet(
    [],
    kind === "prompt"
      ? { prompts: [served as ServedPrompt] }
      : { resources: [served as ServedResource] },
  );
  const reply: Reply = await invokeRequest(set, METHODS[kind], params, {
    ...rest,
    log: log ?? stderrLogger(logLevel),
  });
  if (reply.error) {
    const { code, data } = reply.error;
    throw new JsonRpcError(code, replyFailure(reply.error), data);
  }
  return reply.result as unknown as Kinds[K]["result"];
}

/**
 * A failed get's or read's message as the server words it, with the URI it names in `data`
 * quoted after it (`Resource not found: "notes://nope"`), bounded and escaped.
 */
export function replyFailure(
  error: { message: string; data?: unknown },
): string {
  const { message, data } = error;
  return isPlainObject(data) && typeof data.uri === "string"
    ? `${message}: ${JSON.stringify(textOf(data.uri, URI_CHARS))}`
    : message;
}

/**
 * Runs the request for the prompt or resource file at `file` as served: listed as the server
 * lists it (from its folder's listing cache, else by a probe worker), its calls in a worker of
 * its own with only what it declares, terminated before this resolves.
 */
async function fromFile<K extends keyof Kinds>(
  kind: K,
  file: URL | string,
  params: (served: Kinds[K]["served"]) => Record<string, unknown>,
  options: CallToolOptions,
): Promise<Kinds[K]["result"]> {
  const url = fileUrl(kind, file);
  const [{ listToolFiles }, listed, files, tests] = await Promise.all([
    import("./listing.ts"),
    import("./listed_kinds.ts"),
    import("./tool_files.ts"),
    import("./_test_host.ts"),
  ]);
  const dir = new URL(".", url);
  const path = decodeURIComponent(url.pathname);
  const fileName = path.slice(path.lastIndexOf("/") + 1);
  const label = files.folderLabel(dir);
  const prefix = `Cannot ${
    kind === "prompt" ? "get" : "read"
  } ${kind} "${label}${fileName}" as served: `;
  if (!files.isToolFile(fileName)) {
    throw new Error(
      `${prefix}the server skips it (helpers start with "_", tests end in "_test"); pass the ${kind}'s own file`,
    );
  }
  if (!(await Deno.stat(url).catch(() => undefined))?.isFile) {
    throw new Error(`${prefix}there is no such file`);
  }
  return await tests.withTestHost(dir, options.logLevel, async (host, log) => {
    const { listed: [item] } = await listToolFiles(dir, [fileName], {
      log,
      label,
      kind,
    });
    // A broken file: the error names it, as the server would at start.
    if (!item?.entry) {
      throw new Error(item?.error ?? `${prefix}it did not list`);
    }
    tests.checkWorkerGrants(prefix, item.entry.permissions, dir);
    const served = listed.servedEntry(
      dir,
      kind,
      fileName,
      item.entry,
      label,
      (runnable, toolFile) => ({
        ...runnable,
        remote: host.runner(runnable, toolFile),
      }),
    ) as Kinds[K]["served"];
    return await ask(kind, served, params(served), options, log);
  });
}

/** `file` as a `file:` URL; a `TypeError` saying what to pass for anything else. */
function fileUrl(kind: keyof Kinds, file: URL | string): URL {
  const url = URL.parse(file);
  if (url?.protocol !== "file:") {
    throw new TypeError(
      `Cannot test ${
        JSON.stringify(String(file).slice(0, 60))
      } as a ${kind} file: pass its file: URL, like import.meta.resolve("./${
        kind === "prompt" ? "review" : "note"
      }.ts")`,
    );
  }
  return url;
}
