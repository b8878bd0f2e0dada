/**
 * Streamable HTTP after requests reach the server parsed and replies leave as text (bee8314):
 * the client's own params object in the server core (unsafe integers, `__proto__` keys, params
 * nested deeper than JSON.stringify can go), exact big replies (escapes, lone surrogates, emoji
 * across pieces, strings a worker encoded), and hang-ups at every moment now that a connection
 * is watched only once its request goes unanswered a while (WATCH_AFTER_MS).
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { call, modern, ping } from "../requests.ts";
import { deferred, progressUntilCancelled, toolSet } from "../wire.ts";
import { within } from "./tool_files.ts";
import {
  events,
  modernHeaders,
  post,
  rawPost,
  replyText,
  sleep,
  start,
} from "../http_client.ts";
import { createTool } from "../../src/tool/toolset.ts";
import { type RemoteRunner, ToolSet } from "../../src/tool/served.ts";
import { EncodedString } from "../../src/server/json_line.ts";
import { WATCH_AFTER_MS } from "../../src/server/http/exchange.ts";
import type { HttpServer } from "../../src/server/http/serve_http.ts";

const encoder = new TextEncoder();

/** A 2026-era tools/call written on a raw connection, which the test closes to hang up. */
function rawCall(
  server: HttpServer,
  body: string,
  tool: string,
  sendBytes?: number,
): Promise<Deno.TcpConn> {
  return rawPost(server, body, modernHeaders("tools/call", tool), sendBytes);
}

/** Reads a raw connection to its end (the server closes it or the test does). */
async function readAll(conn: Deno.TcpConn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) {
      chunks.push(buffer.slice(0, n));
    }
  } catch {
    // reset: what came is what there is
  }
  return new TextDecoder().decode(
    chunks.reduce((all, c) => new Uint8Array([...all, ...c]), new Uint8Array()),
  );
}

/** A tool that waits until cancelled, counting its starts and cancellations. */
function waiter() {
  const started: Array<() => void> = [];
  const counts = { started: 0, cancelled: 0 };
  let onStart = deferred();
  let onCancel = deferred<string>();
  const tools = toolSet({
    wait: defineTool({
      description: "Waits until cancelled.",
      input: z.object({ n: z.number().optional() }),
      run: (_args, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener("abort", () => {
            counts.cancelled++;
            onCancel.resolve(String(ctx.signal.reason));
            reject(ctx.signal.reason);
          });
          counts.started++;
          onStart.resolve();
          for (const f of started) f();
        }),
    }),
  });
  return {
    tools,
    counts,
    started: () => onStart.promise,
    cancelled: () => onCancel.promise,
    reset() {
      onStart = deferred();
      onCancel = deferred<string>();
    },
  };
}

// --- 1. The client's own params in the server core --------------------------------------------

Deno.test("params nested deeper than JSON.stringify can go are answered, and the server serves on", async () => {
  // Before bee8314 the peer wrote the request out again with JSON.stringify, which overflows
  // the stack here: a 500, and an exchange left in the peer's map for good.
  const depth = 200_000;
  const body =
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"deep","deep":${
      "[".repeat(depth)
    }${"]".repeat(depth)}},"_meta":${
      JSON.stringify(modern(ping(0)).params!._meta)
    }}}`;
  await using server = start();
  const response = await post(
    server,
    body,
    modernHeaders("tools/call", "echo"),
  );
  assert.equal(response.status, 200);
  const reply = await response.json();
  assert.equal(reply.id, 1);
  assert.deepEqual(reply.result.content, [{
    type: "text",
    text: "echo: deep",
  }]);
  const after = await post(server, modern(ping(2)), modernHeaders("ping"));
  assert.equal(after.status, 200);
  assert.match(await after.text(), /^\{"jsonrpc":"2.0","id":2,"result":/);
});

Deno.test("unsafe integers in id, progressToken and params.requestId come back digit for digit", async () => {
  await using server = start();
  const meta = JSON.stringify(modern(ping(0)).params!._meta).slice(0, -1);
  const body =
    `{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"steps","requestId":123456789012345678901,"arguments":{},"_meta":${meta},"progressToken":18014398509481985}}}`;
  const data = await events(
    await post(server, body, modernHeaders("tools/call", "steps")),
  );
  assert.deepEqual(data.slice(0, 2), [
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":18014398509481985,"progress":1,"total":2}}`,
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":18014398509481985,"progress":2,"total":2}}`,
  ]);
  assert.match(
    data[2]!,
    /^\{"jsonrpc":"2.0","id":9007199254740993,"result":\{"content":\[\{"type":"text","text":"done"\}\]/,
  );
});

Deno.test("__proto__ keys in arguments and _meta stay plain keys: no prototype, no progress", async () => {
  const seen: string[] = [];
  const tools = toolSet({
    look: defineTool({
      description: "Says what its arguments hold.",
      input: z.object({ text: z.string().optional() }).passthrough(),
      run: (args) => {
        seen.push(
          `${args.text}|${Object.getPrototypeOf(args) === Object.prototype}|${
            Object.hasOwn(args, "__proto__")
          }`,
        );
        return "looked";
      },
    }),
  });
  await using server = start({ tools });
  const meta = JSON.stringify(modern(ping(0)).params!._meta).slice(0, -1);
  const body =
    `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"look","arguments":{"__proto__":{"text":"polluted"}},"_meta":${meta},"__proto__":{"progressToken":7}}}}`;
  const response = await post(
    server,
    body,
    modernHeaders("tools/call", "look"),
  );
  // No progress token was given (only a key named __proto__): a plain JSON reply, no stream.
  assert.equal(response.headers.get("content-type"), "application/json");
  const reply = await response.json();
  assert.deepEqual(reply.result.content, [{ type: "text", text: "looked" }]);
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /^undefined\|true\|/);
  assert.equal(({} as Record<string, unknown>).text, undefined);
});

Deno.test("a tool that changes its arguments object changes nothing another request sees", async () => {
  const texts: string[] = [];
  const tools = toolSet({
    grab: defineTool({
      description: "Mutates what it is given.",
      input: z.object({ list: z.array(z.string()) }),
      run: (args) => {
        texts.push(args.list.join(","));
        args.list.push("mutated");
        return args.list.join(",");
      },
    }),
  });
  await using server = start({ tools });
  const send = (id: number) =>
    post(
      server,
      modern(call(id, "grab", { list: ["a"] })),
      modernHeaders("tools/call", "grab"),
    ).then((r) => r.json());
  const [one, two] = await Promise.all([send(1), send(2)]);
  assert.deepEqual(texts, ["a", "a"]);
  assert.equal(one.result.content[0].text, "a,mutated");
  assert.equal(two.result.content[0].text, "a,mutated");
});

// --- 2. Replies as text: exact ----------------------------------------------------------------

/** A string over 1 MiB with every kind of escape, lone surrogates and pairs across 16 Ki pieces. */
function nastyString(): string {
  let controls = "";
  for (let c = 0; c < 0x20; c++) controls += String.fromCharCode(c);
  const unit = `${controls}"\\/\u007f\u2028\u2029é€😀\ud800x\udc00y`;
  let text = "";
  while (text.length < 1024 * 1024 + 10) {
    // An emoji whose halves straddle every 16 Ki boundary, and a lone high surrogate just before
    text += unit;
    const boundary = Math.ceil((text.length + 1) / 16384) * 16384;
    if (boundary - text.length < 400) {
      text += "a".repeat(boundary - text.length - 1) + "😀" + "\ud83d";
    }
  }
  return text + "\ud83d"; // ends on a lone high surrogate
}

Deno.test("a big result with every escape and lone surrogates is exactly JSON.stringify's, over HTTP", async () => {
  const big = nastyString();
  const tools = toolSet({
    big: defineTool({
      description: "Returns a big nasty string.",
      run: () => big,
    }),
  });
  await using server = start({ tools });
  const response = await post(
    server,
    modern(call(1, "big")),
    modernHeaders("tools/call", "big"),
  );
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  assert.ok(
    text.includes(JSON.stringify(big)),
    "JSON.stringify's text in the reply",
  );
  assert.equal(JSON.parse(text).result.content[0].text, big);
});

/** A tool that runs elsewhere and returns `text` as a worker sends it: encoded already. */
function encodedTool(name: string, texts: string[], progress = false): ToolSet {
  const remote: RemoteRunner = {
    run: () => Promise.reject(new Error("the call runner uses start")),
    start: (_args, context, done) => {
      if (progress) context.progress(1, 2);
      queueMicrotask(() => {
        if (progress) context.progress(2, 2);
        done({
          content: texts.map((text) => ({
            type: "text" as const,
            text: new EncodedString(
              encoder.encode(JSON.stringify(text)),
            ) as unknown as string,
          })),
        });
      });
      return { abort: () => {} };
    },
  };
  const tool = createTool(
    { description: "Remote.", run: () => "never run here" },
    name,
    `tools/${name}.ts`,
  );
  return new ToolSet([{ ...tool, remote }]);
}

Deno.test("strings a worker encoded reach the HTTP reply byte for byte, after their progress", async () => {
  const big = nastyString();
  const small = `small ${'\u0000😀"'.repeat(10)}`;
  await using server = start({
    tools: encodedTool("far", [big, small, big], true),
  });
  const response = await post(
    server,
    modern(call(1, "far"), { progressToken: "t" }),
    modernHeaders("tools/call", "far"),
  );
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  // Split as SSE splits (at LF only): U+2028 and U+2029 are in the text unescaped, as
  // JSON.stringify leaves them, and a RegExp's `.` and `$` stop at them.
  const data = text.split("\n").filter((line) => line.startsWith("data: "))
    .map((line) => line.slice("data: ".length));
  assert.deepEqual(data.slice(0, 2), [
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"total":2}}`,
    `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":2,"total":2}}`,
  ]);
  assert.equal(data.length, 3);
  assert.ok(
    data[2]!.startsWith(
      `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":${
        JSON.stringify(big)
      }},{"type":"text","text":${
        JSON.stringify(small)
      }},{"type":"text","text":${JSON.stringify(big)}}]`,
    ),
  );
});

// --- 3. Hang-ups at every moment ------------------------------------------------------------

for (
  const [label, delay] of [
    ["within the first tick", WATCH_AFTER_MS / 3],
    ["between the ticks", WATCH_AFTER_MS * 1.5],
    ["long after the ticks", WATCH_AFTER_MS * 5],
  ] as const
) {
  Deno.test(`a client that hangs up ${label} after its call started cancels it`, async () => {
    const w = waiter();
    await using server = start({ tools: w.tools });
    const conn = await rawCall(
      server,
      JSON.stringify(modern(call(1, "wait"))),
      "wait",
    );
    await w.started();
    await sleep(delay);
    conn.close();
    assert.match(await within(w.cancelled(), "the cancellation"), /cancel/i);
  });
}

Deno.test("a client that hangs up before its body is read starts no call; the server serves on", async () => {
  const w = waiter();
  await using server = start({ tools: w.tools });
  const body = JSON.stringify(modern(call(1, "wait")));
  const conn = await rawCall(server, body, "wait", 10);
  await sleep(WATCH_AFTER_MS * 3);
  conn.close();
  const after = await post(server, modern(ping(2)), modernHeaders("ping"));
  assert.equal(after.status, 200);
  await after.body?.cancel();
  assert.equal(w.counts.started, 0);
});

Deno.test("a client that hangs up after the stream began (progress first) cancels the call", async () => {
  const { tool, started: begun, cancelled } = progressUntilCancelled();
  const tools = toolSet({ wait: tool });
  await using server = start({ tools });
  // Hung up at once: the response settles as a stream (the progress) before any tick watches
  // the connection, so only the stream's own cancellation can see the client gone.
  const conn = await rawCall(
    server,
    JSON.stringify(modern(call(1, "wait"), { progressToken: 1 })),
    "wait",
  );
  conn.close();
  await begun.promise;
  assert.match(await within(cancelled.promise, "the cancellation"), /cancel/i);
});

// Found in session 26: with 1,000 calls hung up, 128 started and only 64 were cancelled (their
// requests, with _meta, were over the ~450 bytes for which Deno 2.9.6 reports a hang-up before a
// response begins); fixed by beginning an unanswered 2026 call's response as a stream.
Deno.test({
  name:
    "1,000 concurrent calls whose clients all hang up are all cancelled, queued ones never run",
  fn: async () => {
    const w = waiter();
    const N = 1000;
    await using server = start({ tools: w.tools });
    const conns = await Promise.all(
      Array.from(
        { length: N },
        (_, i) =>
          rawCall(server, JSON.stringify(modern(call(i, "wait"))), "wait"),
      ),
    );
    await w.started();
    await sleep(WATCH_AFTER_MS * 3); // every request is past the ticks: all watched
    for (const conn of conns) conn.close();
    // Calls queued behind the cap start only as running ones end: each must be cancelled too
    // (or never start), so the counts settle equal.
    const quiet = deferred();
    let last = -1;
    const poll = setInterval(() => {
      if (
        w.counts.started === w.counts.cancelled && last === w.counts.started
      ) {
        quiet.resolve();
      }
      last = w.counts.started;
    }, WATCH_AFTER_MS * 5);
    await within(quiet.promise, "every started call cancelled", 3_000).catch(
      (e) => {
        throw new Error(`${e.message}: ${JSON.stringify(w.counts)}`);
      },
    ).finally(
      () => clearInterval(poll),
    );
    assert.equal(w.counts.started, w.counts.cancelled);
  },
});

Deno.test("1,000 concurrent calls answered after the ticks all get their replies (as SSE once unanswered at the second tick), none cancelled", async () => {
  let cancelled = 0;
  const tools = toolSet({
    slow: defineTool({
      description: "Answers after three ticks of the watch timer.",
      input: z.object({ n: z.number() }),
      run: ({ n }, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => cancelled++);
          setTimeout(() => resolve(`n=${n}`), WATCH_AFTER_MS * 3);
        }),
    }),
  });
  await using server = start({ tools });
  const N = 1000;
  const replies = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      post(
        server,
        modern(call(i, "slow", { n: i })),
        modernHeaders("tools/call", "slow"),
      ).then(async (r) => JSON.parse(await replyText(r)))),
  );
  for (let i = 0; i < N; i++) {
    assert.equal(replies[i].id, i);
    assert.equal(replies[i].result.content[0].text, `n=${i}`);
  }
  assert.equal(cancelled, 0);
});

// Found in session 26: once the server stopped, the shared peer's input was closed, so a hang-up
// in the grace could not reach the server core as a cancellation, and the calls ran on to the
// grace's end; the core now takes late lines (cancellations) while it waits for its calls.
Deno.test({
  name:
    "a client that hangs up during the shutdown grace cancels its call then, not at the grace's end",

  fn: async () => {
    const w = waiter();
    const server = start({ tools: w.tools, shutdownGraceMs: 60_000 });
    // One call watched already (past the ticks), one sent just before shutdown (not yet watched).
    const early = await rawCall(
      server,
      JSON.stringify(modern(call(1, "wait"))),
      "wait",
    );
    await w.started();
    await sleep(WATCH_AFTER_MS * 3);
    w.reset();
    const late = await rawCall(
      server,
      JSON.stringify(modern(call(2, "wait"))),
      "wait",
    );
    await w.started();
    const stopped = server.shutdown();
    early.close();
    late.close();
    await within(stopped, "shutdown, both calls cancelled", 10_000);
    assert.equal(w.counts.cancelled, 2);
  },
});

// Found in session 26: the retry carries a requestState, so its request is over ~450 bytes, for
// which Deno 2.9.6 never aborts request.signal before a response begins (nor settles
// info.completed); fixed by beginning the response as a stream, whose end Deno reports.
Deno.test({
  name:
    "a 2026 call resumed after an elicitation is cancelled by its client hanging up",
  fn: async () => {
    const cancelled = deferred<string>();
    const answered = deferred<string>();
    const tools = toolSet({
      ask: defineTool({
        description: "Asks a name, then waits until cancelled.",
        run: async (_args, ctx) => {
          const answer = await ctx.elicit({
            message: "Your name?",
            schema: z.object({ name: z.string() }),
          });
          answered.resolve(answer.action);
          return await new Promise<string>((_, reject) =>
            ctx.signal.addEventListener("abort", () => {
              cancelled.resolve(String(ctx.signal.reason));
              reject(ctx.signal.reason);
            })
          );
        },
      }),
    });
    await using server = start({ tools });
    const caps = {
      "io.modelcontextprotocol/clientCapabilities": {
        elicitation: { form: {} },
      },
    };
    const asked = await (await post(
      server,
      modern(call(1, "ask"), caps),
      modernHeaders("tools/call", "ask"),
    )).json();
    assert.equal(asked.result.resultType, "input_required");
    const retry = modern(call(2, "ask"), caps) as {
      params: Record<string, unknown>;
    };
    retry.params.requestState = asked.result.requestState;
    retry.params.inputResponses = {
      [Object.keys(asked.result.inputRequests)[0]!]: {
        action: "accept",
        content: { name: "Ada" },
      },
    };
    const conn = await rawCall(server, JSON.stringify(retry), "ask");
    assert.equal(await within(answered.promise, "the answer"), "accept");
    await sleep(WATCH_AFTER_MS / 2);
    conn.close();
    assert.match(
      await within(cancelled.promise, "the cancellation"),
      /cancel/i,
    );
  },
});

// A request whose body was still arriving when shutdown began reaches the shared peer after it
// has stopped.
// Found in session 26: the answer was a plain-text 500 "Internal Server Error" (Deno closes a
// body not yet read at shutdown, and the read threw), not a JSON-RPC 503.
Deno.test({
  name:
    "a request whose body completes after shutdown began is answered, not left hanging",
  fn: async () => {
    const w = waiter();
    const server = start({ tools: w.tools, shutdownGraceMs: 0 });
    const body = JSON.stringify(modern(ping(1)));
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: server.port,
    });
    const bytes = encoder.encode(body);
    await conn.write(encoder.encode(
      `POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
    ));
    await conn.write(bytes.subarray(0, 5));
    await sleep(WATCH_AFTER_MS); // the headers are read, the body is awaited
    const stopping = server.shutdown();
    await sleep(WATCH_AFTER_MS * 5); // the shared peer has no call: it ends at once
    await conn.write(bytes.subarray(5));
    const text = await within(readAll(conn), "a response", 5_000).catch(
      (error) => {
        conn.close();
        throw error;
      },
    );
    assert.match(text, /^HTTP\/1.1 503 /);
    await stopping;
  },
});

// Found in session 26: Deno 2.9.6 does not abort request.signal for a client that hangs up when
// its request was over ~450 bytes and no response has begun (a 2026 call with clientInfo and
// capabilities in _meta is usually that big), so the call ran on (before bee8314 too).
Deno.test({
  name:
    "a client whose request is over 500 bytes hangs up after the ticks: its call is cancelled",
  fn: async () => {
    const w = waiter();
    await using server = start({ tools: w.tools });
    const body = JSON.stringify(
      modern(call(1, "wait"), { pad: "x".repeat(400) }),
    );
    const conn = await rawCall(server, body, "wait");
    await w.started();
    await sleep(WATCH_AFTER_MS * 5);
    conn.close();
    assert.match(await within(w.cancelled(), "the cancellation"), /cancel/i);
  },
});

Deno.test("a 2026 call still unanswered at the second tick gets its reply on an SSE stream; a client that accepts only JSON gets JSON", async () => {
  const tools = toolSet({
    slow: defineTool({
      description: "Answers after four ticks of the watch timer.",
      run: () =>
        new Promise((resolve) =>
          setTimeout(() => resolve("late"), WATCH_AFTER_MS * 4)
        ),
    }),
    quick: defineTool({ description: "Answers at once.", run: () => "now" }),
  });
  await using server = start({ tools });
  const tail =
    `"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":"0.1.0"}}}}`;
  const reply =
    `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"late"}],${tail}`;
  const streamed = await post(
    server,
    modern(call(1, "slow")),
    modernHeaders("tools/call", "slow"),
  );
  assert.equal(streamed.status, 200);
  assert.equal(streamed.headers.get("content-type"), "text/event-stream");
  assert.equal(await streamed.text(), `event: message\ndata: ${reply}\n\n`);

  const jsonOnly = await post(server, modern(call(1, "slow")), {
    ...modernHeaders("tools/call", "slow"),
    accept: "application/json",
  });
  assert.equal(jsonOnly.headers.get("content-type"), "application/json");
  assert.equal(await jsonOnly.text(), reply);

  const quick = await post(
    server,
    modern(call(2, "quick")),
    modernHeaders("tools/call", "quick"),
  );
  assert.equal(quick.headers.get("content-type"), "application/json");
  assert.equal(
    await quick.text(),
    `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"now"}],${tail}`,
  );
});
