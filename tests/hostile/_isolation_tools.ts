/**
 * @module
 * Helpers for the isolation tests (issue 14, item 8): fixture tool files that carry their
 * declared permissions, the server spawned as `deno task start` runs it with the union of those
 * permissions and the worker options, disposed of (killed if need be) whatever the test did,
 * and waits that fail with a message instead of stalling.
 */

import {
  permissionFlags,
  type PermissionKind,
  type ToolPermissions,
  unionPermissions,
} from "../../src/tool/permissions.ts";
import { ROOT, ServerProcess, START_FLAGS, tempDir } from "../spawn.ts";

/** A fixture tool file: its source and the permissions it declares (granted to the process). */
export interface Fixture {
  source: string;
  permissions?: ToolPermissions | undefined;
}

/** What a fixture tool is made of; `run` and `input` are source text. */
export interface FixtureOptions {
  /** The tool's `run`, as a function expression: `async ({ url }) => { … }`. */
  run: string;
  /** The fields of its `z.object({ … })` input, as source text. */
  input?: string;
  permissions?: ToolPermissions;
  timeoutMs?: number;
  /** Lines before the definition (imports). */
  header?: string;
}

/**
 * A tool file's source. Its hostile behaviour must sit in `run`: this step still imports every
 * tool file in the server's thread to list it.
 */
export function fixture(options: FixtureOptions): Fixture {
  const fields = [
    `description: "An isolation test fixture."`,
    `input: z.object({ ${options.input ?? ""} })`,
    options.permissions &&
    `permissions: ${JSON.stringify(options.permissions)}`,
    options.timeoutMs !== undefined && `timeoutMs: ${options.timeoutMs}`,
    `run: ${options.run}`,
  ].filter(Boolean);
  return {
    source: `import { z } from "zod";
import { defineTool } from "tooldrop";
${options.header ?? ""}
/** Writes a marker line to stderr at once, so the test knows where the tool has got to. */
const mark = (text: string) =>
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\\n"));
export default defineTool({
  ${fields.join(",\n  ")},
});
`,
    permissions: options.permissions,
  };
}

/**
 * Arguments to deno that run the server as `deno task start` does, granting the process the
 * union of the start task's permissions, read access to `toolsPath` and what the tools declare
 * (a worker cannot exceed its parent), with `--unstable-worker-options`.
 */
export function isolatedArgs(
  toolsPath: string,
  declared: Iterable<ToolPermissions | undefined>,
): string[] {
  const flags: string[] = [];
  const granted: ToolPermissions[] = [{ read: [toolsPath] }];
  for (const flag of START_FLAGS) {
    const match = /^--allow-(\w+)(?:=(.*))?$/.exec(flag);
    if (!match) flags.push(flag);
    else {
      const kind = match[1] as PermissionKind;
      granted.push({
        [kind]: match[2] === undefined ? true : match[2].split(","),
      });
    }
  }
  return [
    ...flags,
    ...permissionFlags(unionPermissions([...granted, ...declared])),
    "--unstable-worker-options",
    `${ROOT}/main.ts`,
    "--tools",
    toolsPath,
  ];
}

/** A server over fixture tools; disposing kills it if it still runs and removes its folder. */
export interface Running {
  server: ServerProcess;
  /** The tools folder. */
  path: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Writes `tools` (file name → fixture) to a temporary folder and starts a server over it. */
export async function startServer(
  tools: Record<string, Fixture>,
  options: { env?: Record<string, string> } = {},
): Promise<Running> {
  const files = Object.fromEntries(
    Object.entries(tools).map(([name, tool]) => [name, tool.source]),
  );
  const dir = await tempDir(files);
  const args = isolatedArgs(
    dir.path,
    Object.values(tools).map((tool) => tool.permissions),
  );
  const server = new ServerProcess(
    args,
    options.env ? { env: options.env } : {},
  );
  return {
    server,
    path: dir.path,
    [Symbol.asyncDispose]: async () => {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // it has exited already
      }
      await server.child.status;
      await server.closeStdin().catch(() => {}); // closed by the test, or the reader is gone
      await Promise.all([server.stdout.done, server.stderr.done]);
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** A reply line, parsed, and when it arrived (ms after `since`). */
export interface Reply {
  line: string;
  message: Record<string, unknown>;
  ms: number;
}

/**
 * Waits at most `limitMs` for the reply to request `id`; fails with `what` and both streams.
 * `since` (a `performance.now()`) is when the request was sent.
 */
export async function replyWithin(
  server: ServerProcess,
  id: number | string,
  limitMs: number,
  what: string,
  since = performance.now(),
): Promise<Reply> {
  const pattern = new RegExp(
    `^\\{"jsonrpc":"2.0","id":${JSON.stringify(id)},.*$`,
    "m",
  );
  try {
    await server.stdout.waitFor(pattern, limitMs);
  } catch (error) {
    throw new Error(
      `${what}: no reply to request ${
        JSON.stringify(id)
      } within ${limitMs} ms (${
        (error as Error).message.split("\n")[0]
      })\nstdout:\n${server.stdout.text}\nstderr:\n${server.stderr.text}`,
    );
  }
  const line = pattern.exec(server.stdout.text)![0];
  return { line, message: JSON.parse(line), ms: performance.now() - since };
}

/** Waits at most `limitMs` for `pattern` on stderr; fails with `what` and both streams. */
export async function stderrWithin(
  server: ServerProcess,
  pattern: RegExp,
  limitMs: number,
  what: string,
): Promise<void> {
  try {
    await server.stderr.waitFor(pattern, limitMs);
  } catch {
    throw new Error(
      `${what}: ${pattern} did not appear on stderr within ${limitMs} ms\nstdout:\n${server.stdout.text}\nstderr:\n${server.stderr.text}`,
    );
  }
}

/** The text of an error result's first content block; fails when `reply` is not an error result. */
export function errorText(reply: Reply): string {
  const result = reply.message.result as
    | { isError?: boolean; content?: Array<{ text?: string }> }
    | undefined;
  if (
    result?.isError !== true || typeof result.content?.[0]?.text !== "string"
  ) {
    throw new Error(`Expected an error result, got: ${reply.line}`);
  }
  return result.content[0].text;
}

/** The exact line of a successful call's reply with one text block. */
export function textReply(id: number | string, text: string): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    result: { content: [{ type: "text", text }] },
  });
}

/** The exact line of a ping's reply. */
export function pingReply(id: number | string): string {
  return JSON.stringify({ jsonrpc: "2.0", id, result: {} });
}
