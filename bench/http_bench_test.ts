// The HTTP benchmark's own parts: its HTTP/1.1 client reads chunked and sized replies and
// rejects a wrong one; its summary takes medians of per-round ratios.
import assert from "node:assert/strict";
import { load, progress } from "./http_load.ts";
import {
  httpMetrics,
  httpTable,
  httpTargets,
  summarizeHttp,
} from "./http_report.ts";
import { type HttpResult, httpServers, measureHttp } from "./http.ts";

function serve(handler: (body: string) => Response) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => handler(await request.text()),
  );
}

Deno.test("load reads chunked and sized replies over keep-alive connections", async () => {
  let chunked = false;
  await using server = serve((body) => {
    const { id, params } = JSON.parse(body);
    const reply = JSON.stringify({
      jsonrpc: "2.0",
      id,
      result: { content: [{ type: "text", text: params.arguments.text }] },
    });
    chunked = !chunked;
    if (!chunked) return new Response(reply);
    const bytes = new TextEncoder().encode(
      `event: message\ndata: ${reply}\n\n`,
    );
    return new Response(
      ReadableStream.from([bytes.slice(0, 9), bytes.slice(9)]),
    );
  });
  const url = new URL(`http://127.0.0.1:${server.addr.port}/mcp`);
  const result = await load(url, "2026", 2, 0, 0.1);
  assert.ok(result.requests > 2, `only ${result.requests} requests`);
  assert.ok(result.p50Ms <= result.p99Ms);
});

Deno.test("load fails on a reply that does not echo the text", async () => {
  await using server = serve(() => new Response(`{"result":{}}`));
  const url = new URL(`http://127.0.0.1:${server.addr.port}/mcp`);
  await assert.rejects(load(url, "2025", 1, 0, 0.1), /Bad reply \(200\)/);
});

Deno.test("progress fails when the last progress event is not count of count", async () => {
  await using server = serve(() =>
    new Response(
      `data: {"method":"notifications/progress","params":{"progress":1,"total":2}}\n\n` +
        `data: {"id":"p","result":{"content":[{"type":"text","text":"done"}]}}\n\n`,
    )
  );
  const url = new URL(`http://127.0.0.1:${server.addr.port}/mcp`);
  await assert.rejects(progress(url, "2026", 2), /said 1 of 2/);
});

Deno.test("the HTTP summary takes the median of per-round ratios, and judges each target", () => {
  const result = (rps: number, p99: number, rss: number): HttpResult => ({
    loads: {
      "1": { requests: 1, seconds: 1, perSecond: rps, p50Ms: 1, p99Ms: p99 },
    },
    progress: { events: 1, lastProgressMs: 1, resultMs: 2 },
    peakRssMiB: rss,
  });
  const rounds = [
    {
      tooldrop: result(300, 2, 60),
      SDK: result(100, 1, 100),
      floor: result(600, 1, 50),
    },
    {
      tooldrop: result(900, 1, 60),
      SDK: result(100, 2, 100),
      floor: result(1000, 1, 50),
    },
  ];
  const summary = summarizeHttp(
    rounds,
    ["tooldrop", "SDK", "floor"],
    httpMetrics([1], 2),
    httpTargets([1]),
  );
  assert.deepEqual(summary.ratios.rps1, { SDK: 6, floor: 0.7 }); // medians of 3, 9 and 0.5, 0.9
  assert.equal(summary.values.rps1!.tooldrop, 600);
  assert.deepEqual(
    summary.targets.map((t) => [t.metric, t.target, t.met]),
    [
      ["rps1", "≥ 3× SDK", true],
      ["rps1", "≥ 0.5× floor", true],
      ["p99_1", "≤ SDK", false], // medians of 2 and 0.5: 1.25
      ["peakRss", "≤ 0.6× SDK", true],
    ],
  );
});

Deno.test("the floor+worker server answers echo through its worker, and the table divides by it", async () => {
  const spec = httpServers(Deno.cwd(), "bench/http_tools").find((s) =>
    s.name === "floor+worker"
  )!;
  const measured = await measureHttp(spec, {
    concurrencies: [4],
    warmupSeconds: 0,
    seconds: 0.2,
    progressCount: 2,
    progressRepeats: 1,
  });
  const load = measured.loads["4"];
  assert.ok(load && !("error" in load) && load.requests > 4);
  const summary = summarizeHttp(
    [{ tooldrop: measured, floor: measured, "floor+worker": measured }],
    ["tooldrop", "floor", "floor+worker"],
    httpMetrics([4], 2),
    httpTargets([4]),
  );
  assert.deepEqual(summary.ratios.rps4, { floor: 1, "floor+worker": 1 });
  const header = httpTable(summary, httpMetrics([4], 2)).split("\n")[0]!;
  assert.match(
    header,
    /\| tooldrop ÷ floor \| tooldrop ÷ floor\+worker \| target \|$/,
  );
});
