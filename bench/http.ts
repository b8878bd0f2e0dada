/**
 * @module
 * The HTTP part of `deno task bench`: tooldrop's `serve --http`, the official SDK's Streamable
 * HTTP server (Node, stateless), a `Deno.serve` floor and that floor with a worker crossing per call
 * ("floor+worker": the least a server that isolates its tools does), each started on a free loopback port and
 * loaded by bench/http_load.ts in a process of its own: echo calls from 1, 16 and 64 keep-alive
 * connections for a fixed time each, one progress call over SSE, then the server tree's peak RSS.
 */

import denoJson from "../deno.json" with { type: "json" };
import { deadline, treePeakRssKiB } from "./client.ts";
import { WORKER_FLOOR } from "./report.ts";
import type { Era, LoadResult, ProgressResult } from "./http_load.ts";

/** How to start one HTTP server under test on `port`, and which era its client speaks. */
export interface HttpSpec {
  name: string;
  command: (port: number) => string[];
  cwd: string;
  era: Era;
}

/** How long and how much each measurement runs. */
export interface HttpSettings {
  concurrencies: number[];
  warmupSeconds: number;
  seconds: number;
  progressCount: number;
  progressRepeats: number;
}

type Maybe<T> = T | { error: string };

/** What one server measured in one round. */
export interface HttpResult {
  /** By concurrency. */
  loads: Record<string, Maybe<LoadResult>>;
  progress: Maybe<ProgressResult>;
  /** Peak RSS of the server's process tree after all of the above. */
  peakRssMiB: number;
}

/**
 * The servers: tooldrop as `deno task start` runs it plus `--allow-net`, the SDK, the floor, and
 * the floor with a worker crossing per call.
 */
export function httpServers(root: string, toolsDir: string): HttpSpec[] {
  const start = denoJson.tasks.start.split(" ");
  const main = start.indexOf("main.ts");
  if (start[0] !== "deno" || main < 0) {
    throw new Error(`Unexpected start task: ${denoJson.tasks.start}`);
  }
  return [
    {
      name: "tooldrop",
      command: (port) => [
        Deno.execPath(),
        ...start.slice(1, main),
        "--allow-net",
        ...start.slice(main),
        "serve",
        "--http",
        `127.0.0.1:${port}`,
        "--tools",
        toolsDir,
      ],
      cwd: root,
      era: "2026",
    },
    {
      name: "SDK",
      command: (port) => [
        "node",
        `${root}/bench/sdk-server/server_http.mjs`,
        `${port}`,
      ],
      cwd: root,
      era: "2025",
    },
    ...["floor", WORKER_FLOOR].map((name): HttpSpec => ({
      name,
      command: (port) => [
        Deno.execPath(),
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        "--allow-read=.",
        `${root}/bench/floor_http.ts`,
        `${port}`,
        ...(name === "floor" ? [] : ["worker"]),
      ],
      cwd: root,
      era: "2025",
    })),
  ];
}

/** Starts `spec`, measures it, stops it. */
export async function measureHttp(
  spec: HttpSpec,
  settings: HttpSettings,
): Promise<HttpResult> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const [program, ...args] = spec.command(port);
  const child = new Deno.Command(program!, {
    args,
    cwd: spec.cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const drained = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write: (text) => void (stderr = (stderr + text).slice(-2000)),
    }),
  ).catch(() => {});
  const status = child.status;
  const waiting = new AbortController();
  try {
    await deadline(
      Promise.race([
        listening(port, waiting.signal),
        status.then((s) => {
          throw new Error(`exited with code ${s.code}: ${stderr.trim()}`);
        }),
      ]),
      30_000,
      `${spec.name} did not listen on ${port} within 30 s`,
    );
    // A short untimed run: the tools loaded, the JIT warm, before anything is timed.
    await client(["load", url, spec.era, "1", "0", "0.3"]);
    const loads: HttpResult["loads"] = {};
    for (const c of settings.concurrencies) {
      loads[`${c}`] = await attempt(() =>
        client([
          "load",
          url,
          spec.era,
          `${c}`,
          `${settings.warmupSeconds}`,
          `${settings.seconds}`,
        ]) as Promise<LoadResult>
      );
    }
    const progress = await attempt(() =>
      client([
        "progress",
        url,
        spec.era,
        `${settings.progressCount}`,
        `${settings.progressRepeats}`,
      ]) as Promise<ProgressResult>
    );
    return {
      loads,
      progress,
      peakRssMiB: (await treePeakRssKiB(child.pid)) / 1024,
    };
  } finally {
    waiting.abort();
    child.kill("SIGTERM");
    const stopped = await deadline(status, 5_000, "").then(
      () => true,
      () => false,
    );
    if (!stopped) {
      child.kill("SIGKILL");
      await status;
    }
    await drained;
  }
}

/** A port nothing listens on now (the server binds it a moment later). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Resolves once a TCP connection to `port` succeeds; gives up when `signal` aborts. */
async function listening(port: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Runs bench/http_load.ts with `args` in a Deno process of its own; its JSON output. */
async function client(args: string[]): Promise<unknown> {
  const { success, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      new URL("./http_load.ts", import.meta.url).pathname,
      ...args,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) {
    const text = new TextDecoder().decode(stderr).trim();
    // deno's uncaught-error report: its first line says what went wrong.
    throw new Error(
      text.split("\n")[0]!.slice(0, 300),
    );
  }
  return JSON.parse(new TextDecoder().decode(stdout));
}

async function attempt<T>(fn: () => Promise<T>): Promise<Maybe<T>> {
  try {
    return await fn();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
