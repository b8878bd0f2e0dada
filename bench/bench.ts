/**
 * @module
 * `deno task bench`: tooldrop against the official MCP SDK server (Node) and a floor server,
 * in interleaved rounds on this machine. Ratios are taken within each round, then their median
 * is reported, so a noisy moment affects all servers alike. Prints a table and writes the raw
 * JSON to bench/results/. Not a test: timings belong to the machine they were taken on.
 *
 * Then the same over HTTP (bench/http.ts): tooldrop's `serve --http`, the SDK's Streamable HTTP
 * server, a `Deno.serve` floor, in interleaved rounds of their own, and a second table.
 *
 * Options: --rounds N (default 5 over stdio, 3 over HTTP), --quick (fewer calls, for trying the
 * harness), --http (the HTTP part alone).
 */

import denoJson from "../deno.json" with { type: "json" };
import {
  bigEcho,
  coldStart,
  MANY_TOOLS,
  type ServerSpec,
  session,
  writeManyTools,
} from "./measure.ts";
import { type Round, summarize, table } from "./report.ts";
import { httpServers, type HttpSettings, measureHttp } from "./http.ts";
import {
  httpMetrics,
  type HttpRound,
  httpTable,
  httpTargets,
  summarizeHttp,
} from "./http_report.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const args = Deno.args;
const quick = args.includes("--quick");
const httpOnly = args.includes("--http");
const roundsArg = args.indexOf("--rounds");
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 1 : 5;
const HTTP_ROUNDS = roundsArg >= 0 ? ROUNDS : quick ? 1 : 3;
/** Per round and server: 0.3 s to warm up, then 3 × (warmup + seconds), then the SSE calls. */
const HTTP: HttpSettings = quick
  ? {
    concurrencies: [1, 16, 64],
    warmupSeconds: 0.2,
    seconds: 0.5,
    progressCount: 100,
    progressRepeats: 3,
  }
  : {
    concurrencies: [1, 16, 64],
    warmupSeconds: 0.5,
    seconds: 2,
    progressCount: 100,
    progressRepeats: 5,
  };
/** The HTTP part's tools: tools/ echo and get_cwd, and a progress tool. */
const HTTP_TOOLS = `${ROOT}/bench/http_tools`;
const COLD_STARTS = quick ? 3 : 7;
const SESSION = quick
  ? { warmup: 100, sequential: 300, pipelined: 2_000 }
  : { warmup: 500, sequential: 3_000, pipelined: 20_000 };
const ECHO_SIZES_MIB = [1, 10, 50];
/** The many-tools case's folder: inside the project, so `start`'s `--allow-read=.` covers it. */
const MANY_DIR = `${ROOT}/bench/.many-tools`;

function print(text = ""): void {
  Deno.stdout.writeSync(new TextEncoder().encode(`${text}\n`));
}

/**
 * The servers: tooldrop as `deno task start` runs it, its binary if built, the SDK, the floor,
 * and the floor with a worker crossing per batch of calls.
 */
async function servers(): Promise<ServerSpec[]> {
  const start = denoJson.tasks.start.split(" ");
  if (start[0] !== "deno") {
    throw new Error(`Unexpected start task: ${denoJson.tasks.start}`);
  }
  const list: ServerSpec[] = [
    {
      name: "tooldrop",
      command: [Deno.execPath(), ...start.slice(1)],
      cwd: ROOT,
    },
  ];
  try {
    await Deno.stat(`${ROOT}/dist/tooldrop`);
    list.push({
      name: "tooldrop binary",
      command: [`${ROOT}/dist/tooldrop`],
      cwd: ROOT,
    });
  } catch {
    print(
      "(dist/tooldrop is not built: `deno task compile` adds it to the comparison)",
    );
  }
  list.push(
    {
      name: "SDK",
      command: ["node", `${ROOT}/bench/sdk-server/server.mjs`],
      cwd: ROOT,
    },
    {
      name: "floor",
      command: [
        Deno.execPath(),
        "run",
        "--no-prompt",
        `${ROOT}/bench/floor.ts`,
      ],
      cwd: ROOT,
    },
    {
      // The floor of a server that isolates its tools: its echo calls cross to a worker.
      name: "floor+worker",
      command: [
        Deno.execPath(),
        "run",
        "--no-prompt",
        `--allow-read=${ROOT}/bench/floor_worker.ts`,
        `${ROOT}/bench/floor.ts`,
        "worker",
      ],
      cwd: ROOT,
    },
  );
  return list;
}

/** Installs the SDK server's npm dependencies when they are missing. */
async function prepareSdk(): Promise<void> {
  try {
    await Deno.stat(
      `${ROOT}/bench/sdk-server/node_modules/@modelcontextprotocol/sdk`,
    );
  } catch {
    print("Installing the SDK server's dependencies (npm ci)…");
    const { success } = await new Deno.Command("npm", {
      args: ["ci", "--no-audit", "--no-fund"],
      cwd: `${ROOT}/bench/sdk-server`,
    }).output();
    if (!success) throw new Error("npm ci failed in bench/sdk-server");
  }
}

/** Runs `fn`, turning a failure into its message so one broken server does not stop the run. */
async function attempt<T>(
  fn: () => Promise<T>,
): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function machine(): Promise<Record<string, unknown>> {
  const cpu = await Deno.readTextFile("/proc/cpuinfo").then((t) =>
    /model name\s*:\s*(.*)/.exec(t)?.[1]
  ).catch(() => undefined);
  const node = await new Deno.Command("node", { args: ["--version"] }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() =>
      "absent"
    );
  return {
    cpu: cpu ?? Deno.build.arch,
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    node,
  };
}

/**
 * tooldrop from source over MANY_TOOLS tool files with a warm listing cache, as a project that
 * commits tools/.listing.json starts.
 */
async function manyToolsSpec(main: ServerSpec): Promise<ServerSpec> {
  print(`Writing ${MANY_TOOLS} tool files and their listing cache…`);
  await writeManyTools(MANY_DIR);
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/main.ts`, "manifest", "--tools", MANY_DIR],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `manifest --tools ${MANY_DIR} failed: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  return { ...main, command: [...main.command, "--tools", MANY_DIR] };
}

/** The stdio part: rounds of cold starts, a session and big echoes; prints its table. */
async function stdioPart(): Promise<Record<string, unknown>> {
  const specs = await servers();
  const many = await manyToolsSpec(specs[0]!);
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order each round, so no server always runs first (or right after another).
    const order = specs.map((_, i) => specs[(i + r) % specs.length]!);
    const round: Round = {};
    for (const spec of order) {
      print(`round ${r + 1}/${ROUNDS}: ${spec.name}`);
      const colds = [];
      for (let i = 0; i < COLD_STARTS; i++) {
        colds.push(await attempt(() => coldStart(spec)));
      }
      const echoes: Record<string, number | { error: string }> = {};
      for (const mib of ECHO_SIZES_MIB) {
        echoes[`${mib}`] = await attempt(() => bigEcho(spec, mib));
      }
      const manyColds = [];
      if (spec === specs[0]) {
        // The middle tool: neither the first nor the last file its worker imports.
        const tool = `t${String(MANY_TOOLS / 2).padStart(4, "0")}`;
        for (let i = 0; i < COLD_STARTS; i++) {
          manyColds.push(await attempt(() => coldStart(many, tool)));
        }
      }
      round[spec.name] = {
        cold: colds,
        session: await attempt(() => session(spec, SESSION)),
        echoes,
        ...(manyColds.length > 0 ? { many: manyColds } : {}),
      };
    }
    rounds.push(round);
  }
  const summary = summarize(rounds, specs.map((s) => s.name));
  print();
  print(table(summary));
  return {
    settings: {
      rounds: ROUNDS,
      coldStarts: COLD_STARTS,
      session: SESSION,
      echoSizesMiB: ECHO_SIZES_MIB,
      manyTools: MANY_TOOLS,
    },
    servers: specs.map((s) => ({
      name: s.name,
      command: s.command.join(" ").replaceAll(ROOT, "."),
    })),
    summary,
    rounds,
  };
}

/** The HTTP part: rounds of load at each concurrency, SSE progress and RSS; prints its table. */
async function httpPart(): Promise<Record<string, unknown>> {
  // A warm listing cache, as a project that commits tools/.listing.json has.
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/main.ts`, "manifest", "--tools", HTTP_TOOLS],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(
      `manifest --tools ${HTTP_TOOLS} failed: ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
  const specs = httpServers(ROOT, HTTP_TOOLS);
  const rounds: HttpRound[] = [];
  for (let r = 0; r < HTTP_ROUNDS; r++) {
    const order = specs.map((_, i) => specs[(i + r) % specs.length]!);
    const round: HttpRound = {};
    for (const spec of order) {
      print(`HTTP round ${r + 1}/${HTTP_ROUNDS}: ${spec.name}`);
      round[spec.name] = await attempt(() => measureHttp(spec, HTTP));
    }
    rounds.push(round);
  }
  const metrics = httpMetrics(HTTP.concurrencies, HTTP.progressCount);
  const summary = summarizeHttp(
    rounds,
    specs.map((s) => s.name),
    metrics,
    httpTargets(HTTP.concurrencies),
  );
  print();
  print(httpTable(summary, metrics));
  return {
    settings: { rounds: HTTP_ROUNDS, ...HTTP },
    servers: specs.map((s) => ({
      name: s.name,
      command: s.command(0).join(" ").replaceAll(ROOT, ".").replace(
        "127.0.0.1:0",
        "127.0.0.1:<port>",
      ).replace(/ 0$/, " <port>"),
      era: s.era,
    })),
    summary,
    rounds,
  };
}

async function main(): Promise<void> {
  await prepareSdk();
  const stdio = httpOnly ? {} : await stdioPart();
  const http = await httpPart();
  const result = {
    date: new Date().toISOString(),
    machine: await machine(),
    ...stdio,
    http,
  };
  const file = `${ROOT}/bench/results/${result.date.slice(0, 10)}${
    httpOnly ? "-http" : ""
  }${quick ? "-quick" : ""}.json`;
  await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
  await Deno.writeTextFile(file, `${JSON.stringify(result, null, 2)}\n`);
  print(`\nRaw results: ${file.replace(`${ROOT}/`, "")}`);
}

if (import.meta.main) await main();
