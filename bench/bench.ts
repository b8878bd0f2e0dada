/**
 * @module
 * `deno task bench`: tooldrop against the official MCP SDK server (Node) and a floor server,
 * in interleaved rounds on this machine. Ratios are taken within each round, then their median
 * is reported, so a noisy moment affects all servers alike. Prints a table and writes the raw
 * JSON to bench/results/. Not a test: timings belong to the machine they were taken on.
 *
 * Options: --rounds N (default 5), --quick (fewer calls, for trying the harness).
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

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const args = Deno.args;
const quick = args.includes("--quick");
const roundsArg = args.indexOf("--rounds");
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : quick ? 1 : 5;
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

/** The servers: tooldrop as `deno task start` runs it, its binary if built, the SDK, the floor. */
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

async function main(): Promise<void> {
  await prepareSdk();
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
  const result = {
    date: new Date().toISOString(),
    machine: await machine(),
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
  const file = `${ROOT}/bench/results/${result.date.slice(0, 10)}${
    quick ? "-quick" : ""
  }.json`;
  await Deno.mkdir(`${ROOT}/bench/results`, { recursive: true });
  await Deno.writeTextFile(file, `${JSON.stringify(result, null, 2)}\n`);
  print(`\nRaw results: ${file.replace(`${ROOT}/`, "")}`);
}

if (import.meta.main) await main();
