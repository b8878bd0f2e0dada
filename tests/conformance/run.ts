/**
 * `deno task conformance`: the official MCP conformance suite against tooldrop.
 *
 * Runs every server scenario of `@modelcontextprotocol/conformance@0.1.16` but the three about
 * HTTP itself against `main.ts serve --tools tests/conformance/fixtures/tools` (with the
 * prompts/ and resources/ beside it): tooldrop speaks stdio, so `supergateway@4.0.0` bridges it
 * to Streamable HTTP, one tooldrop process per session (`--stateful`), as a client would start
 * it (`--no-prompt`, read access to the working directory, `TOOLDROP_LOG`). Prints one line per
 * scenario and the score, and exits 1 when a scenario fails.
 *
 *   deno task conformance                      every scenario, two at a time
 *   deno task conformance tools-list ping      only these
 *   deno task conformance --jobs 1             one at a time
 *   deno task conformance --keep-log           keep the gateway's log even when all pass
 *   TOOLDROP_LOG=debug deno task conformance   the servers' debug logs in that log too
 *   deno task conformance --http               every scenario, the HTTP ones too, straight
 *                                              against `serve --http` (no bridge; ./_http.ts)
 *
 * Both npm packages run under Deno (the suite needs Node 22's fs.globSync; Deno has it) with
 * `--no-config` and their own lock file, `tests/conformance/deno.lock`, `--frozen`: the root
 * deno.lock holds only what serving needs (a test keeps it so), and the suite's ~170 packages
 * are pinned with their hashes. The first run downloads them from npm; that is why this is not
 * part of `deno task test`.
 *
 * The suite's default ("active") list leaves out json-schema-2020-12 as pending; it is run here
 * all the same, as issue 16 counts it. Each scenario runs in its own process with a 60 s limit
 * (a hung one is reported as failed); its verdict is read from the `checks.json` the suite
 * writes: a scenario passes when none of its checks is a FAILURE. The gateway's log (every line
 * to and from each tooldrop process, and their stderr) is kept in a temporary folder, named at
 * the end, when a scenario fails. The gateway, its tooldrop processes and the suite's processes
 * are stopped on every way out, Ctrl-C included. ./_suite.ts runs the suite, ./_gateway.ts the
 * bridge, ./_npm.ts says how both start.
 *
 * @module
 */

import { writeListing } from "../../src/loading/listing.ts";
import { Logger } from "../../src/util/log.ts";
import { type Gateway, startGateway } from "./_gateway.ts";
import { startHttpServer } from "./_http.ts";
import { listServerScenarios, runScenario, type Verdict } from "./_suite.ts";

/** Scenarios about the HTTP transport itself, which tooldrop (stdio) does not have. */
const HTTP_ONLY = [
  "dns-rebinding-protection",
  "server-sse-polling",
  "server-sse-multiple-streams",
];
/**
 * Scenarios run at once. Each is a suite process and a tooldrop process; two keep both cores
 * busy, which is where the time goes (starting processes), and no scenario depends on timing
 * tighter than its tool's own pauses.
 */
const DEFAULT_JOBS = 2;

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

async function main(args: string[]): Promise<number> {
  const started = performance.now();
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const work = await Deno.makeTempDir({ prefix: "tooldrop-conformance-" });
  const logPath = `${work}/gateway.log`;
  const gateway: { started?: Gateway } = {};
  let verdicts: Verdict[];
  let keepLog = false;
  let keepHttp = false;
  try {
    const scenarios = await chooseScenarios(args, interrupt.signal);
    if (typeof scenarios === "string") {
      say(Deno.stderr, scenarios);
      await Deno.remove(work, { recursive: true });
      return 2;
    }
    keepLog = scenarios.keepLog;
    keepHttp = scenarios.http;
    await writeListings();
    gateway.started = scenarios.http
      ? await startHttpServer(logPath, interrupt.signal)
      : await startGateway(logPath, interrupt.signal);
    verdicts = await runScenarios(scenarios.names, {
      url: gateway.started.url,
      work,
      jobs: scenarios.jobs,
      signal: interrupt.signal,
    });
  } catch (error) {
    if (interrupt.signal.aborted) {
      say(Deno.stderr, `Interrupted; the gateway's log is in ${logPath}`);
      return 130;
    }
    say(
      Deno.stderr,
      `conformance: cannot run: ${
        error instanceof Error ? error.message : String(error)
      }\nThe gateway's log is in ${logPath}`,
    );
    return 1;
  } finally {
    await gateway.started?.stop();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  if (interrupt.signal.aborted) {
    say(Deno.stderr, `Interrupted; the gateway's log is in ${logPath}`);
    return 130;
  }
  const passed = verdicts.filter((verdict) => verdict.passed).length;
  const failed = passed < verdicts.length;
  if (failed || keepLog) {
    say(Deno.stdout, `Every session's wire (the gateway's log): ${logPath}`);
  } else {
    await Deno.remove(work, { recursive: true });
  }
  say(
    Deno.stdout,
    `conformance: ${passed}/${verdicts.length} server scenarios passed ${
      keepHttp
        ? "over serve --http"
        : `(HTTP-only scenarios skipped: ${HTTP_ONLY.join(", ")})`
    } in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return failed ? 1 : 0;
}

/**
 * What to run, from the arguments: the scenarios named, else every server scenario but the
 * HTTP-only ones, `--jobs N` of them at a time, and whether to `--keep-log`; a string to print
 * when the arguments are wrong.
 */
async function chooseScenarios(
  args: string[],
  signal: AbortSignal,
): Promise<
  { names: string[]; jobs: number; keepLog: boolean; http: boolean } | string
> {
  let jobs = DEFAULT_JOBS;
  let keepLog = false;
  let http = false;
  const named: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--keep-log") {
      keepLog = true;
    } else if (arg === "--http") {
      http = true;
    } else if (arg === "--jobs" || arg.startsWith("--jobs=")) {
      const value = arg === "--jobs" ? args[++i] : arg.slice("--jobs=".length);
      jobs = Number(value);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 16) {
        return `--jobs takes a whole number from 1 to 16, not ${
          JSON.stringify(value ?? "")
        }`;
      }
    } else named.push(arg);
  }
  const all = await listServerScenarios(signal);
  const unknown = named.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    return `Unknown scenario ${
      unknown.map((name) => `"${name}"`).join(", ")
    }; the suite's server scenarios are: ${all.join(", ")}`;
  }
  const missing = HTTP_ONLY.filter((name) => !all.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `The suite has no scenario ${missing.join(", ")}; update HTTP_ONLY`,
    );
  }
  const names = named.length > 0
    ? named
    : all.filter((name) => http || !HTTP_ONLY.includes(name));
  return { names, jobs: Math.min(jobs, names.length), keepLog, http };
}

/**
 * Runs `scenarios`, `jobs` at a time (each session has its own tooldrop process), printing
 * each verdict in the suite's order as soon as it and those before it are known.
 */
async function runScenarios(
  scenarios: string[],
  options: { url: string; work: string; jobs: number; signal: AbortSignal },
): Promise<Verdict[]> {
  const verdicts: Verdict[] = [];
  let next = 0;
  let printed = 0;
  const lane = async () => {
    while (next < scenarios.length && !options.signal.aborted) {
      const index = next++;
      const scenario = scenarios[index]!;
      verdicts[index] = await runScenario(
        scenario,
        options.url,
        `${options.work}/${scenario}`,
        options.signal,
      );
      // A scenario the interrupt killed has no verdict worth printing.
      if (options.signal.aborted) return;
      for (; verdicts[printed]; printed++) {
        const verdict = verdicts[printed]!;
        say(
          Deno.stdout,
          `${verdict.passed ? "pass" : "FAIL"} ${verdict.scenario} (${
            (verdict.ms / 1000).toFixed(1)
          } s)${verdict.note ? `: ${verdict.note}` : ""}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: options.jobs }, lane));
  return verdicts.filter((verdict) => verdict !== undefined);
}

/**
 * Writes the fixture folders' listing caches afresh, as `deno task manifest` does for tools/:
 * each session's server then starts from them instead of probing every file in a worker (about
 * half a second a session). Afresh, because an entry is keyed by its file's hash and tooldrop's
 * version, which stays the same while src/ changes: a kept entry could list a schema as an
 * older checkout described it, and the suite would be checking that.
 */
async function writeListings(): Promise<void> {
  const log = new Logger({
    level: "warning",
    write: (text) => say(Deno.stderr, text.trimEnd()),
  });
  for (const kind of ["tool", "prompt", "resource"] as const) {
    const dir = new URL(`fixtures/${kind}s/`, import.meta.url);
    await Deno.remove(new URL(".listing.json", dir)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    await writeListing(dir, { log, kind });
  }
}

/** Writes a line, all of it (a pipe may take part of a write). */
function say(to: typeof Deno.stdout, line: string): void {
  let bytes = new TextEncoder().encode(`${line}\n`);
  while (bytes.length > 0) bytes = bytes.subarray(to.writeSync(bytes));
}
