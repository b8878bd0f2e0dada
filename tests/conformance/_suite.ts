// The conformance suite's side of run.ts: which server scenarios it has, and one scenario run
// in its own process, judged from the checks.json it writes.

import { NPM_FLAGS, ROOT } from "./_npm.ts";

/** The suite, pinned: its scenarios name the fixtures' tools, prompts and resources. */
export const SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";
/** How long one scenario may take before it is killed and reported as failed. */
export const SCENARIO_TIMEOUT_MS = 60_000;

/** One check of a scenario, as checks.json holds it. */
interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | string;
  errorMessage?: string;
}

/** What became of one scenario. */
export interface Verdict {
  scenario: string;
  passed: boolean;
  /** Why it failed, or its warnings. */
  note: string;
  ms: number;
}

/** The suite's server scenarios, in its order (`conformance list --server`). */
export async function listServerScenarios(
  signal: AbortSignal,
): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...NPM_FLAGS, "--allow-all", SUITE, "list", "--server"],
    cwd: ROOT,
    stdin: "null",
    signal: AbortSignal.any([signal, AbortSignal.timeout(SCENARIO_TIMEOUT_MS)]),
  }).output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) {
    throw new Error(
      `"conformance list" exited ${code}: ${
        new TextDecoder().decode(stderr).trim().slice(-2000)
      }`,
    );
  }
  // Lines read "  - tools-list [2025-06-18,2025-11-25]".
  const names = [...text.matchAll(/^ {2}- (\S+)/gm)].map((match) => match[1]!);
  if (names.length === 0) {
    throw new Error(`"conformance list" named no scenario:\n${text}`);
  }
  return names;
}

/** Runs one scenario in its own process; its verdict from the checks.json it writes. */
export async function runScenario(
  scenario: string,
  url: string,
  outDir: string,
  signal: AbortSignal,
): Promise<Verdict> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(SCENARIO_TIMEOUT_MS);
  const verdict = (passed: boolean, note: string): Verdict => ({
    scenario,
    passed,
    note,
    ms: performance.now() - started,
  });
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...NPM_FLAGS,
        "--allow-all",
        SUITE,
        "server",
        "--url",
        url,
        "--scenario",
        scenario,
        "--output-dir",
        outDir,
      ],
      cwd: ROOT,
      stdin: "null",
      signal: AbortSignal.any([signal, timeout]),
    }).output();
  } catch (error) {
    return verdict(false, `cannot start the suite: ${String(error)}`);
  }
  if (timeout.aborted) {
    return verdict(
      false,
      `timed out after ${SCENARIO_TIMEOUT_MS / 1000} s (killed)`,
    );
  }
  const checks = await readChecks(outDir);
  if (!checks) {
    const said = new TextDecoder().decode(output.stderr).trim() ||
      new TextDecoder().decode(output.stdout).trim();
    return verdict(
      false,
      `exited ${output.code} without results: ${oneLine(said).slice(-300)}`,
    );
  }
  const failures = checks.filter((check) => check.status === "FAILURE");
  const warnings = checks.filter((check) => check.status === "WARNING");
  const successes = checks.filter((check) => check.status === "SUCCESS");
  const passed = failures.length === 0 && successes.length > 0;
  const notes = (passed ? warnings : failures).map((check) =>
    `${check.status === "WARNING" ? "warning " : ""}${check.id}: ${
      oneLine(check.errorMessage ?? "no message")
    }`
  );
  if (!passed && failures.length === 0) notes.push("no check succeeded");
  return verdict(passed, notes.join("; "));
}

/** The checks of the one result folder the suite wrote under `outDir`, if any. */
async function readChecks(outDir: string): Promise<Check[] | undefined> {
  try {
    for await (const entry of Deno.readDir(outDir)) {
      if (!entry.isDirectory) continue;
      const checks = JSON.parse(
        await Deno.readTextFile(`${outDir}/${entry.name}/checks.json`),
      );
      if (Array.isArray(checks)) return checks as Check[];
    }
  } catch {
    // no results: reported by the caller with what the suite printed
  }
  return undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
