/**
 * Calls of tools that run elsewhere (`Tool.remote`, src/server/call_runner.ts's fast path), on
 * the wire: a timeout or a cancellation answers at once (or not at all) and aborts the remote
 * run through its handle; a late result is dropped; calls that end as they start, queued by
 * the thousand, are answered in order without growing the stack.
 */

import assert from "node:assert/strict";
import { call, cancel, ping } from "./requests.ts";
import { Session } from "./wire.ts";
import { createTool } from "../src/tool/toolset.ts";
import { type RemoteRunner, ToolSet } from "../src/tool/served.ts";
import type { CallToolResult } from "../src/tool/tool.ts";

/** A remote run the test controls: its `done`, and the reasons it was aborted with. */
interface Run {
  args: Record<string, unknown>;
  done: (result: CallToolResult) => void;
  aborts: DOMException[];
}

/** A tool whose calls go to `remote`. */
function remoteTool(name: string, remote: RemoteRunner, timeoutMs?: number) {
  const tool = createTool(
    {
      description: "A remote tool.",
      run: () => "never run here",
      ...(timeoutMs ? { timeoutMs } : {}),
    },
    name,
    `tools/${name}.ts`,
  );
  return { ...tool, remote };
}

/** A remote runner that keeps its runs for the test; `instant` ones answer as they start. */
function recorder(instant = false): { remote: RemoteRunner; runs: Run[] } {
  const runs: Run[] = [];
  const remote: RemoteRunner = {
    run: () => Promise.reject(new Error("the call runner uses start")),
    start: (args, _context, done) => {
      const run: Run = { args, done, aborts: [] };
      runs.push(run);
      if (instant) done({ content: [{ type: "text", text: `${args.n}` }] });
      return { abort: (reason) => void run.aborts.push(reason) };
    },
  };
  return { remote, runs };
}

Deno.test("a remote call that times out is answered once, and its run is aborted with a TimeoutError", async () => {
  const { remote, runs } = recorder();
  const session = new Session({
    tools: new ToolSet([remoteTool("slow", remote, 20)]),
  });
  session.send(call(1, "slow"));
  assert.equal(
    await session.next(),
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"Tool \\"slow\\" timed out after 20 ms and was stopped"}],"isError":true}}`,
  );
  assert.equal(runs.length, 1);
  assert.deepEqual(
    runs[0]!.aborts.map((reason) => [reason.name, reason.message]),
    [["TimeoutError", 'Tool "slow" timed out after 20 ms']],
  );
  runs[0]!.done({ content: [{ type: "text", text: "too late" }] });
  session.send(ping(2));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  await session.end();
});

Deno.test("a cancelled remote call gets no reply, and its run is aborted with an AbortError", async () => {
  const { remote, runs } = recorder();
  const session = new Session({
    tools: new ToolSet([remoteTool("slow", remote)]),
  });
  session.send(call(1, "slow"));
  session.send(cancel(1));
  session.send(ping(2));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":2,"result":{}}`);
  assert.deepEqual(runs[0]!.aborts.map((reason) => reason.name), [
    "AbortError",
  ]);
  runs[0]!.done({ content: [{ type: "text", text: "too late" }] });
  session.send(ping(3));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":3,"result":{}}`);
  await session.end();
});

Deno.test("thousands of remote calls that end as they start, queued behind a busy one, are answered in order", async () => {
  const busy = recorder();
  const instant = recorder(true);
  const session = new Session({
    tools: new ToolSet([
      remoteTool("busy", busy.remote),
      remoteTool("instant", instant.remote),
    ]),
    maxConcurrentCalls: 1,
    maxPendingCalls: 20_000,
  });
  const COUNT = 4_000;
  session.send(call("busy", "busy"));
  let lines = "";
  for (let n = 0; n < COUNT; n++) {
    lines += JSON.stringify(call(n, "instant", { n })) + "\n";
  }
  session.raw(lines);
  session.send(ping("p"));
  assert.equal(await session.next(), `{"jsonrpc":"2.0","id":"p","result":{}}`);
  assert.equal(instant.runs.length, 0); // all wait for the busy call's slot
  busy.runs[0]!.done({ content: [{ type: "text", text: "free" }] });
  assert.match(await session.next(), /"id":"busy".*free/);
  for (let n = 0; n < COUNT; n++) {
    assert.equal(
      await session.next(),
      `{"jsonrpc":"2.0","id":${n},"result":{"content":[{"type":"text","text":"${n}"}]}}`,
    );
  }
  await session.end();
});
