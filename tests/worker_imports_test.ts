/**
 * A worker imports a tool's file when the tool is first called and its group's other files in
 * the background (issue 14, item 7), at the wire: a call does not wait for the other files of
 * its worker, and a file that fails to load in its worker answers its own calls with its error
 * while the others work.
 */

import assert from "node:assert/strict";
import { call, initialize, initialized, listTools } from "./requests.ts";
import { ServerProcess, tempDir } from "./spawn.ts";
import {
  isolatedArgs,
  replyWithin,
  stderrWithin,
  textReply,
} from "./hostile/_isolation_tools.ts";

/** A reply that needs no timer at all (a quick tool on a started or new worker). */
const QUICK_MS = 5_000;

/**
 * Granted to the server, so to the probe that lists the tools (it holds the server's
 * permissions), never to a tool's worker (it holds what its tools declare): a fixture behaves
 * as a plain tool while it is listed and shows its trick only in its worker.
 */
const PROBE_ONLY = "TOOLDROP_TEST_PROBE_ONLY";

/** Source that is true in the probe, false in a tool's worker. */
const IN_PROBE =
  `Deno.permissions.querySync({ name: "env", variable: "${PROBE_ONLY}" }).state === "granted"`;

/** A tool file: `head` at its top level, then a tool whose `run` returns `text`. */
function toolFile(head: string, text: string): string {
  return `import { z } from "zod";
import { defineTool } from "tooldrop";
${head}
export default defineTool({
  description: "A worker imports test fixture.",
  input: z.object({ text: z.string().default("") }),
  run: ({ text }) => text || ${JSON.stringify(text)},
});
`;
}

const ECHO = toolFile("", "");

/** The server over `files`, granted PROBE_ONLY, after the handshake and tools/list. */
async function listed(files: Record<string, string>) {
  const dir = await tempDir(files);
  const server = new ServerProcess(
    isolatedArgs(dir.path, []).map((flag) =>
      flag.startsWith("--allow-env=") ? `${flag},${PROBE_ONLY}` : flag
    ),
  );
  await server.send(initialize(1), initialized(), listTools(2));
  await replyWithin(server, 2, QUICK_MS, "tools/list");
  return {
    server,
    path: dir.path,
    async [Symbol.asyncDispose]() {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // it has exited already
      }
      await server.child.status;
      await server.closeStdin().catch(() => {});
      await Promise.all([server.stdout.done, server.stderr.done]);
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a tool answers while another file of its worker is still importing; that tool answers once its import ends", async () => {
  // In its worker, gate.ts does not finish importing until the test creates _open.
  await using running = await listed({
    "echo.ts": ECHO,
    "gate.ts": toolFile(
      `if (!(${IN_PROBE})) {
  const open = new URL("./_open", import.meta.url);
  const isOpen = () => { try { Deno.statSync(open); return true; } catch { return false; } };
  Deno.stderr.writeSync(new TextEncoder().encode("MARK gate waits\\n"));
  while (!isOpen()) await new Promise((resolve) => setTimeout(resolve, 10));
}`,
      "through the gate",
    ),
  });
  const { server } = running;
  // The pre-warmed worker imports gate.ts in the background, before any call.
  await stderrWithin(server, /MARK gate waits/, QUICK_MS, "gate.ts's import");
  await server.send(call(3, "echo", { text: "meanwhile" }));
  assert.equal(
    (await replyWithin(server, 3, QUICK_MS, "echo")).line,
    textReply(3, "meanwhile"),
  );
  await Deno.writeTextFile(`${running.path}/_open`, "");
  await server.send(call(4, "gate", {}));
  assert.equal(
    (await replyWithin(server, 4, QUICK_MS, "gate")).line,
    textReply(4, "through the gate"),
  );
});

Deno.test("a file that fails to load in its worker answers its calls with its error; the other tools of the worker work", async () => {
  await using running = await listed({
    "echo.ts": ECHO,
    "broken.ts": toolFile(
      `if (!(${IN_PROBE})) throw new Error("broken in its worker");`,
      "never",
    ),
  });
  const { server } = running;
  await server.send(
    call(3, "broken", {}),
    call(4, "echo", { text: "fine" }),
    call(5, "broken", {}),
  );
  const broken = (id: number) =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      result: {
        content: [{
          type: "text",
          text:
            `Cannot load tool "${running.path}/broken.ts": it failed to import: broken in its worker`,
        }],
        isError: true,
      },
    });
  assert.equal(
    (await replyWithin(server, 3, QUICK_MS, "broken")).line,
    broken(3),
  );
  assert.equal(
    (await replyWithin(server, 4, QUICK_MS, "echo")).line,
    textReply(4, "fine"),
  );
  assert.equal(
    (await replyWithin(server, 5, QUICK_MS, "broken again")).line,
    broken(5),
  );
});
