/**
 * Slow calls through the official SDK clients' Streamable HTTP transports (session 26): a
 * 2026-07-28 call still unanswered at the peer's second tick (250-500 ms) begins its response
 * as an SSE stream, so the clients must read a reply that comes as `text/event-stream` after
 * all, and the client's abort (which in the 2026 era is closing the connection) must reach the
 * tool's `ctx.signal`, also for a request too long for Deno to report a hang-up before its
 * response began. Legacy sessions' calls stream from the start and are cancelled by
 * `notifications/cancelled`. The v1 client (`@modelcontextprotocol/sdk` 1.32.2) speaks
 * 2025-11-25; the v2 client (`@modelcontextprotocol/client` 2.4.0) both eras. The clients are
 * the pinned npm specifiers tests/sdk.ts and tests/sdk_v2_test.ts use (in tests/deno.lock).
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { Client as ClientV1 } from "npm:@modelcontextprotocol/sdk@1.32.2/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "npm:@modelcontextprotocol/sdk@1.32.2/client/streamableHttp.js";
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from "npm:@modelcontextprotocol/client@2.4.0";
import { start } from "./http_client.ts";
import { toolSet } from "./wire.ts";

/** What became of one `slow` call, keyed by its `ms` (each test uses its own values). */
interface Run {
  started: PromiseWithResolvers<void>;
  /** The content type of the response to its tools/call, once the response began. */
  responded: PromiseWithResolvers<string | null>;
  /** "slept" when its time passed, else "aborted: " and the signal's reason. */
  ended: PromiseWithResolvers<string>;
}

/**
 * A server with `slow` and `echo`, the `slow` calls it saw (by `ms`; echo's content type is
 * kept as -1's), and a `fetch` for the client that notes each tools/call response's type.
 */
function slowServer() {
  const runs = new Map<number, Run>();
  const run = (ms: number): Run => {
    let found = runs.get(ms);
    if (found === undefined) {
      found = {
        started: Promise.withResolvers(),
        responded: Promise.withResolvers(),
        ended: Promise.withResolvers(),
      };
      runs.set(ms, found);
    }
    return found;
  };
  const tools = toolSet({
    slow: defineTool({
      description: "Waits ms milliseconds, unless its call is cancelled first.",
      input: z.object({ ms: z.number().int().min(0) }),
      run: ({ ms }, ctx) => {
        const seen = run(ms);
        seen.started.resolve();
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            seen.ended.resolve("slept");
            resolve(`slept ${ms}`);
          }, ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            seen.ended.resolve(`aborted: ${String(ctx.signal.reason)}`);
            reject(ctx.signal.reason);
          }, { once: true });
        });
      },
    }),
    echo: defineTool({
      description: "Returns its text.",
      input: z.object({ text: z.string() }),
      run: ({ text }) => text,
    }),
  });
  const server = start({ tools });
  const recording = async (url: string | URL, init?: RequestInit) => {
    const response = await fetch(url, init);
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : {};
    if (body.method === "tools/call") {
      run(body.params.arguments.ms ?? -1).responded.resolve(
        response.headers.get("content-type"),
      );
    }
    return response;
  };
  /** The content types the calls of these `ms` were answered with. */
  const types = (...ms: number[]) =>
    Promise.all(ms.map((each) => run(each).responded.promise));
  return { server, run, types, fetch: recording };
}

/** The text of a tools/call result. */
function textOf(result: unknown): string {
  const { content } = result as { content: { text: string }[] };
  return content.map((part) => part.text).join("");
}

/**
 * Calls slow 100 ms, slow 1500 ms and echo at once, through `client`; checks their results,
 * and that their responses came as `expected` (content types, in that order).
 */
async function callThree(
  client: {
    callTool(
      params: { name: string; arguments: Record<string, unknown> },
    ): Promise<unknown>;
  },
  types: (...ms: number[]) => Promise<Array<string | null>>,
  expected: string[],
): Promise<void> {
  const [quick, slow, echo] = await Promise.all([
    client.callTool({ name: "slow", arguments: { ms: 100 } }),
    client.callTool({ name: "slow", arguments: { ms: 1500 } }),
    client.callTool({ name: "echo", arguments: { text: "héllo" } }),
  ]);
  assert.deepEqual(
    [textOf(quick), textOf(slow), textOf(echo)],
    ["slept 100", "slept 1500", "héllo"],
  );
  assert.deepEqual(await types(100, 1500, -1), expected);
}

/**
 * Starts a call with `call`, aborts it once `when` resolves (by default, once the tool has
 * started), and checks that the client's call rejects with the abort and the tool was cancelled.
 */
async function abortedCancels(
  run: Run,
  call: (signal: AbortSignal) => Promise<unknown>,
  when: () => Promise<unknown> = () => run.started.promise,
): Promise<void> {
  const stop = new AbortController();
  const pending = call(stop.signal);
  await when();
  stop.abort(new Error("client stop"));
  await assert.rejects(pending, /client stop/);
  assert.match(await run.ended.promise, /^aborted: .*cancelled/);
}

const SSE = "text/event-stream";
const JSON_TYPE = "application/json";
/** Longer than Deno 2.9.6 reports a hang-up for before a response begins (~450 bytes). */
const PAD = { pad: "x".repeat(600) };

Deno.test("SDK v1 (2025-11-25) over HTTP: calls of 100 and 1500 ms answer on SSE, and its abort cancels the tool", async () => {
  const { server, run, types, fetch } = slowServer();
  await using _server = server;
  const client = new ClientV1({ name: "v1", version: "1" });
  const transport = new TransportV1(new URL(server.url), { fetch });
  await client.connect(transport);
  try {
    assert.equal(transport.protocolVersion, "2025-11-25");
    await callThree(client, types, [SSE, SSE, SSE]);

    await abortedCancels(run(9000), (signal) =>
      client.callTool(
        { name: "slow", arguments: { ms: 9000 } },
        undefined,
        { signal },
      ));
  } finally {
    await client.close();
  }
});

Deno.test("SDK v2 (2026-07-28) over HTTP: a 100 ms call is JSON, a 1500 ms one SSE, and its abort before or after the stream began cancels the tool", async () => {
  const { server, run, types, fetch } = slowServer();
  await using _server = server;
  const client = new ClientV2({ name: "v2", version: "2" }, {
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  });
  await client.connect(new TransportV2(new URL(server.url), { fetch }));
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2026-07-28");
    await callThree(client, types, [JSON_TYPE, SSE, JSON_TYPE]);

    // Aborted once its response began as a stream: the client closes the connection.
    await abortedCancels(
      run(9000),
      (signal) =>
        client.callTool({ name: "slow", arguments: { ms: 9000 } }, { signal }),
      async () => assert.equal(await run(9000).responded.promise, SSE),
    );

    // Aborted before any response, with a request longer than Deno reports a hang-up for:
    // noticed when the peer begins its stream at the second tick.
    await abortedCancels(run(9001), (signal) =>
      client.callTool(
        { name: "slow", arguments: { ms: 9001 }, _meta: PAD },
        { signal },
      ));

    // Closing the transport mid-call closes the call's connection too.
    const closed = client.callTool({ name: "slow", arguments: { ms: 9002 } });
    await run(9002).started.promise;
    await client.close();
    await assert.rejects(closed, /Connection closed/);
    assert.match(await run(9002).ended.promise, /^aborted: .*cancelled/);
  } finally {
    await client.close();
  }
});

Deno.test("SDK v2 (2025-11-25) over HTTP: calls of 100 and 1500 ms answer on SSE, and its abort cancels the tool", async () => {
  const { server, run, types, fetch } = slowServer();
  await using _server = server;
  const client = new ClientV2({ name: "v2", version: "2" }, {
    versionNegotiation: { mode: "legacy" },
  });
  await client.connect(new TransportV2(new URL(server.url), { fetch }));
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), "2025-11-25");
    await callThree(client, types, [SSE, SSE, SSE]);

    await abortedCancels(run(9000), (signal) =>
      client.callTool(
        { name: "slow", arguments: { ms: 9000 }, _meta: PAD },
        { signal },
      ));
  } finally {
    await client.close();
  }
});
