/**
 * @module
 * `callTool` and `toolFile`, for a tool's tests: a tool file runs as the server runs it, in a
 * worker with only the permissions it declares; a bare definition runs in the caller's thread.
 * Every tool module loads this file through "tooldrop", in its worker too, so it imports only
 * what `defineTool` needs; the server and the worker host are imported on the first call.
 */

import type { CallToolOptions } from "../server/invoke.ts";
import type {
  CallArgs,
  CallToolResult,
  InputSchema,
  OutputSchema,
  ToolDefinition,
} from "../tool/tool.ts";
import { checkWorkerGrants, withTestHost } from "./_test_host.ts";
import { type Tool, ToolSet } from "../tool/served.ts";
import { createTool } from "../tool/toolset.ts";
import { toolFileUrl } from "./import_tool.ts";

/** A tool definition and the file that exports it: `callTool` runs it as the server would. */
export class FileTool<
  Input extends InputSchema = InputSchema,
  Output extends OutputSchema | undefined = OutputSchema | undefined,
> {
  /** The definition, as the file exports it (`export default defineTool({ … })`). */
  readonly definition: ToolDefinition<Input, Output>;
  /** The file's `file:` URL. */
  readonly url: URL;

  /** What `toolFile(definition, url)` makes; throws a `TypeError` for a URL that is not `file:`. */
  constructor(definition: ToolDefinition<Input, Output>, url: URL) {
    if (!(url instanceof URL) || url.protocol !== "file:") {
      throw new TypeError(
        `Cannot test ${
          JSON.stringify(String(url))
        } as a tool file: pass its file: URL, like new URL("./greet.ts", import.meta.url)`,
      );
    }
    this.definition = definition;
    this.url = new URL(url.href);
  }
}

/**
 * The tool that file `url` exports as `definition`, for `callTool` to run as served: in a
 * worker with the base permissions, read access to its folder and what it declares.
 *
 * @example In tools/greet_test.ts
 * ```ts ignore
 * import { callTool, toolFile } from "tooldrop";
 * import definition from "./greet.ts";
 *
 * const tool = toolFile(definition, new URL("./greet.ts", import.meta.url));
 * const result = await callTool(tool, { name: "Ada" });
 * ```
 */
export function toolFile<
  Input extends InputSchema,
  Output extends OutputSchema | undefined,
>(
  definition: ToolDefinition<Input, Output>,
  url: URL,
): FileTool<Input, Output> {
  return new FileTool(definition, url);
}

/**
 * Calls a tool as a client would — arguments validated and coerced as the server does, the
 * result shaped — for a tool's tests; `args` are the tool's input type (to test how it answers
 * bad arguments, mark that call with `// @ts-expect-error`).
 *
 * Where the tool runs:
 * - A {@link FileTool} (`toolFile(definition, url)`) runs as served: its file is imported in a
 *   worker with only the permissions it declares, whatever the test process holds, so a tool
 *   that uses a permission it did not declare fails here as it would for a client (`Tool "x"
 *   needs net access to "example.com", which it does not declare; add permissions: …`). A tool
 *   that exits or outlives its timeout is answered as served, and the worker is terminated
 *   before this resolves (one stuck in a synchronous loop keeps its thread busy until the test
 *   process exits, as it would the server's). The test process needs read access to the
 *   project (tooldrop's modules) and the tool's folder, and what the tool declares
 *   (`deno task test` grants all); else this rejects, saying what is missing.
 * - A definition runs in this thread with the test process's permissions and no worker: for
 *   unit tests of a tool's logic, and definitions that no file exports.
 *
 * Rejects when the call itself is refused (arguments that are not an object), when the file
 * does not export `definition`, or when the definition is not a valid tool.
 *
 * @example A definition, in this thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { z } from "zod";
 * import { callTool, defineTool } from "tooldrop";
 *
 * const greet = defineTool({
 *   description: 'Greets someone by name. Example: {"name": "Ada"}',
 *   input: z.object({ name: z.string().min(1).describe("Who to greet") }),
 *   run: ({ name }) => `Hello, ${name}!`,
 * });
 *
 * const result = await callTool(greet, { name: "Ada" });
 * assert.deepEqual(result.content, [{ type: "text", text: "Hello, Ada!" }]);
 *
 * // @ts-expect-error: the name is missing on purpose
 * const refused = await callTool(greet, {});
 * assert.equal(refused.isError, true);
 * ```
 *
 * @example A tool file, as served: tools/greet_test.ts (it needs read access to tools/)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { callTool, toolFile } from "tooldrop";
 * import definition from "./greet.ts";
 *
 * const tool = toolFile(definition, new URL("./greet.ts", import.meta.url));
 *
 * Deno.test("greet answers as served", async () => {
 *   const result = await callTool(tool, { name: "Ada" });
 *   assert.deepEqual(result.content, [{ type: "text", text: "Hello, Ada!" }]);
 * });
 * ```
 */
export async function callTool<
  Input extends InputSchema,
  Output extends OutputSchema | undefined,
>(
  tool: ToolDefinition<Input, Output> | FileTool<Input, Output>,
  args: CallArgs<Input>,
  options: CallToolOptions = {},
): Promise<CallToolResult> {
  if (tool instanceof FileTool) return await callFile(tool, args, options);
  // Read before the first await: the stack still holds the test that called.
  const caller = callerFile(new Error().stack);
  const { callDefinition } = await import("../server/invoke.ts");
  const file = tool.name === undefined
    ? await exportingFile(tool, caller)
    : undefined;
  return await callDefinition(tool, args, { ...options, ...file });
}

/** The `file:` URL of the first frame of `stack` outside this module: `callTool`'s caller. */
export function callerFile(stack: string | undefined): URL | undefined {
  if (typeof stack !== "string") return undefined;
  for (const match of stack.matchAll(/(file:\/\/[^\s()]+?):\d+:\d+/g)) {
    const href = match[1]!;
    if (href === import.meta.url) continue;
    try {
      return new URL(href);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The name and source of the file that exports `definition`, found from the test that calls
 * it: greet.ts beside greet_test.ts (or greet.test.ts), when its default export is this very
 * definition, so that messages name the tool as served (`Invalid arguments for tool "greet"`).
 * Undefined otherwise (a definition written in the test itself), and where this process may
 * not read the file: looking must never prompt for a permission.
 */
export async function exportingFile(
  definition: unknown,
  test: URL | undefined,
): Promise<{ name: string; source: string } | undefined> {
  if (test?.protocol !== "file:") return undefined;
  const path = decodeURIComponent(test.pathname);
  const stem = /([^/]+?)(?:_test|\.test)\.[cm]?[jt]sx?$/.exec(path)?.[1];
  if (stem === undefined) return undefined;
  const files = await import("./tool_files.ts");
  const dir = new URL(".", test);
  for (const extension of [".ts", ".mts", ".js", ".mjs"]) {
    const fileName = `${stem}${extension}`;
    const url = toolFileUrl(dir, fileName);
    try {
      const filePath = decodeURIComponent(url.pathname);
      const { state } = Deno.permissions.querySync({
        name: "read",
        path: filePath,
      });
      if (state !== "granted" || !Deno.statSync(filePath).isFile) continue;
      // Already imported by the test in the usual case, so this evaluates nothing again.
      const module: { default?: unknown } = await import(url.href);
      if (module.default !== definition) return undefined;
      return {
        name: files.toolStem(fileName),
        source: `${files.folderLabel(dir)}${fileName}`,
      };
    } catch {
      continue; // missing, unreadable, or it fails to import: not this one
    }
  }
  return undefined;
}

/** Runs `tool`'s file in a worker of its own, as the server would, and terminates it after. */
async function callFile(
  tool: FileTool,
  args: unknown,
  options: CallToolOptions,
): Promise<CallToolResult> {
  const [{ invokeTool }, files] = await Promise.all([
    import("../server/invoke.ts"),
    import("./tool_files.ts"),
  ]);
  const dir = new URL(".", tool.url);
  const path = decodeURIComponent(tool.url.pathname);
  const fileName = path.slice(path.lastIndexOf("/") + 1);
  const checked = createTool(
    tool.definition,
    files.toolStem(fileName),
    `${files.folderLabel(dir)}${fileName}`,
  );
  await checkServable(tool, checked, dir, fileName);
  const { logLevel, ...rest } = options;
  return await withTestHost(dir, logLevel, async (host, log) => {
    const served = host.attach(checked, fileName);
    return await invokeTool(new ToolSet([served]), served.name, args, {
      ...rest,
      log,
    });
  });
}

/**
 * Throws, saying what to do, where the test itself is wrong rather than the tool: this process
 * lacks a permission the tool's worker needs, the worker could not read its own modules, or the
 * file does not export the definition given.
 */
async function checkServable(
  tool: FileTool,
  checked: Tool,
  dir: URL,
  fileName: string,
): Promise<void> {
  const prefix =
    `Cannot call tool "${checked.name}" (${checked.source}) as served: `;
  checkWorkerGrants(prefix, checked.permissions, dir);
  // The worker imports the file itself: the definition given must be the one it finds there.
  const module: { default?: unknown } = await import(
    toolFileUrl(dir, fileName).href
  );
  if (module.default !== tool.definition) {
    throw new Error(
      `${prefix}the file's default export is not the definition given to toolFile(); pass the one it exports (import definition from "./${fileName}")`,
    );
  }
}
