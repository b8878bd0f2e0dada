/**
 * @module
 * The benchmark's measurements, each against a fresh server process: cold start, a steady
 * session (sequential latency, pipelined throughput, peak memory, exit after EOF), and big echoes.
 */

import { type Arrival, deadline, RpcProcess } from "./client.ts";

/** How to start one server under test. */
export interface ServerSpec {
  name: string;
  command: readonly string[];
  cwd: string;
}

const INITIALIZE = {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "tooldrop-bench", version: "1" },
};
const TIMEOUT_MS = 30_000;

/** What a cold start measured, in ms from the spawn. */
export interface ColdStart {
  initializeMs: number;
  toolsListMs: number;
  /** The reply to a call of `tool` sent as soon as the `tools/list` reply came. */
  firstCallMs: number;
}

/**
 * Spawn → `initialize` reply, → `tools/list` reply, and → the reply to a first call of `tool`
 * (default echo) sent as soon as the list came, as a client does when the model calls at once.
 */
export async function coldStart(
  spec: ServerSpec,
  tool = "echo",
): Promise<ColdStart> {
  const server = new RpcProcess(spec.command, spec.cwd);
  try {
    const init = await server.call(1, "initialize", INITIALIZE, TIMEOUT_MS);
    await server.write(
      `{"jsonrpc":"2.0","method":"notifications/initialized"}\n`,
    );
    const list = await server.call(2, "tools/list", {}, TIMEOUT_MS);
    checkResult(init);
    checkResult(list);
    const first = await server.call(3, "tools/call", {
      name: tool,
      arguments: { text: "first" },
    }, TIMEOUT_MS);
    checkEcho(first, "first");
    return {
      initializeMs: init.at - server.spawnedAt,
      toolsListMs: list.at - server.spawnedAt,
      firstCallMs: first.at - server.spawnedAt,
    };
  } finally {
    await server.closeAndExit(5_000).catch(() => server.kill());
  }
}

/** How many tool files the many-tools case serves. */
export const MANY_TOOLS = 1000;

/**
 * Writes MANY_TOOLS echo tools (`t0001` …) into `dir`, replacing what was there; the caller
 * then warms their listing cache (`main.ts manifest --tools dir`), as a committed project has it.
 */
export async function writeManyTools(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 1; i <= MANY_TOOLS; i++) {
    const name = `t${String(i).padStart(4, "0")}`;
    await Deno.writeTextFile(
      `${dir}/${name}.ts`,
      `import { z } from "zod";
import { defineTool } from "tooldrop";

export default defineTool({
  description: "Tool ${i} of ${MANY_TOOLS}: returns its text unchanged.",
  input: z.object({ text: z.string().describe("The text to send back") }),
  run: ({ text }) => text,
});
`,
    );
  }
}

/** What a steady session measured. */
export interface SessionResult {
  sequentialP50Ms: number;
  sequentialP99Ms: number;
  pipelinedPerSecond: number;
  /** Peak RSS of the process tree once each stock tool (echo, get_cwd) has answered one call. */
  calledRssMiB: number;
  /** Peak RSS of the process tree at the end, after the sequential and pipelined load. */
  peakRssMiB: number;
  exitAfterEofMs: number;
}

/** One server process: warm-up, sequential echoes, pipelined echoes, peak memory, exit. */
export async function session(
  spec: ServerSpec,
  options: { warmup: number; sequential: number; pipelined: number },
): Promise<SessionResult> {
  const server = new RpcProcess(spec.command, spec.cwd);
  let exited = false;
  try {
    await openSession(server);
    checkResult(
      await server.call("cwd", "tools/call", {
        name: "get_cwd",
        arguments: {},
      }, TIMEOUT_MS),
    );
    const calledRssMiB = (await server.peakRssKiB()) / 1024;
    let id = 0;
    const echo = async () => {
      const n = id++;
      const text = `hello ${n}`;
      const start = performance.now();
      const reply = await server.call(n, "tools/call", {
        name: "echo",
        arguments: { text },
      }, TIMEOUT_MS);
      checkEcho(reply, text);
      return reply.at - start;
    };
    for (let i = 0; i < options.warmup; i++) await echo();
    const latencies: number[] = [];
    for (let i = 0; i < options.sequential; i++) latencies.push(await echo());
    latencies.sort((a, b) => a - b);
    const pipelinedPerSecond = await pipelined(server, id, options.pipelined);
    const peakRssMiB = (await server.peakRssKiB()) / 1024;
    const exit = await server.closeAndExit(10_000);
    exited = true;
    return {
      sequentialP50Ms: percentile(latencies, 0.5),
      sequentialP99Ms: percentile(latencies, 0.99),
      pipelinedPerSecond,
      calledRssMiB,
      peakRssMiB,
      exitAfterEofMs: exit.ms,
    };
  } finally {
    if (!exited) server.kill();
  }
}

/** Writes `count` echo calls without waiting and counts the replies; every id must come once. */
async function pipelined(
  server: RpcProcess,
  firstId: number,
  count: number,
): Promise<number> {
  const seen = new Uint8Array(count);
  let answered = 0;
  let failure: string | undefined;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => finish = resolve);
  server.onArrival((arrival) => {
    const index = (arrival.message.id as number) - firstId;
    if (!(index >= 0 && index < count) || seen[index]) {
      failure ??= `unexpected or repeated id ${arrival.message.id}`;
    } else if (!isResult(arrival)) {
      failure ??= `id ${arrival.message.id} failed: ${
        JSON.stringify(arrival.message.error)
      }`;
    } else seen[index] = 1;
    if (++answered === count) finish();
  });
  const start = performance.now();
  const BATCH = 200;
  for (let i = 0; i < count; i += BATCH) {
    let chunk = "";
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      chunk += `{"jsonrpc":"2.0","id":${
        firstId + j
      },"method":"tools/call","params":{"name":"echo","arguments":{"text":"pipelined ${j}"}}}\n`;
    }
    await server.write(chunk);
  }
  await deadline(
    done,
    120_000,
    `only ${answered} of ${count} pipelined calls answered in 120 s`,
  );
  const seconds = (performance.now() - start) / 1000;
  server.onArrival(undefined);
  if (failure) throw new Error(failure);
  return count / seconds;
}

/**
 * Handshake, a first tools/list and one small echo, so the tools are loaded (for tooldrop: the
 * echo tool's worker started and its file imported) before anything is timed; the cold start's
 * first call measures that.
 */
async function openSession(server: RpcProcess): Promise<void> {
  checkResult(await server.call("init", "initialize", INITIALIZE, TIMEOUT_MS));
  await server.write(
    `{"jsonrpc":"2.0","method":"notifications/initialized"}\n`,
  );
  checkResult(await server.call("list", "tools/list", {}, TIMEOUT_MS));
  checkEcho(
    await server.call("warm", "tools/call", {
      name: "echo",
      arguments: { text: "warm" },
    }, TIMEOUT_MS),
    "warm",
  );
}

/** Echoes a text of `mib` MiB through a fresh server; ms from the first byte sent to the reply. */
export async function bigEcho(spec: ServerSpec, mib: number): Promise<number> {
  const server = new RpcProcess(spec.command, spec.cwd);
  try {
    await openSession(server); // tools loaded: the figure is the echo, not the first call
    const text = bigText(mib * 1024 * 1024);
    const line = new TextEncoder().encode(
      `${
        JSON.stringify({
          jsonrpc: "2.0",
          id: "big",
          method: "tools/call",
          params: { name: "echo", arguments: { text } },
        })
      }\n`,
    );
    const start = performance.now();
    const reply = server.reply("big", 120_000);
    reply.catch(() => {}); // awaited below; the write may fail first
    await server.write(line);
    const arrival = await reply;
    checkEcho(arrival, text);
    return arrival.at - start;
  } finally {
    await server.closeAndExit(5_000).catch(() => server.kill());
  }
}

/** Text with some characters JSON must escape, like real tool output. */
function bigText(bytes: number): string {
  const unit =
    'Line of "quoted" text with a tab\tand a newline\n, plus a backslash \\ for good measure. ';
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

function isResult(arrival: Arrival): boolean {
  return typeof arrival.message.result === "object" &&
    arrival.message.result !== null;
}

function checkResult(arrival: Arrival): void {
  if (!isResult(arrival)) {
    throw new Error(
      `error reply: ${
        JSON.stringify(arrival.message.error ?? arrival.message)
      }`,
    );
  }
}

function checkEcho(arrival: Arrival, text: string): void {
  checkResult(arrival);
  const result = arrival.message.result as {
    content?: Array<{ text?: string }>;
    isError?: boolean;
  };
  if (result.isError || result.content?.[0]?.text !== text) {
    throw new Error(
      `echo came back wrong: ${JSON.stringify(result).slice(0, 200)}`,
    );
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
