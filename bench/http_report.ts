/**
 * @module
 * The HTTP part's rounds turned into medians, per-round ratios (tooldrop ÷ SDK, ÷ floor, ÷
 * floor+worker), verdicts on issue 17's targets, and a Markdown table like the stdio one.
 */

import type { HttpResult } from "./http.ts";
import type { LoadResult } from "./http_load.ts";
import {
  format,
  median,
  resultsTable,
  type TableRow,
  WORKER_FLOOR,
} from "./report.ts";

/** What one round measured, by server name. */
export type HttpRound = Record<string, HttpResult | { error: string }>;

interface Metric {
  key: string;
  label: string;
  unit: string;
  /** Whether a ratio to the other servers means anything here. */
  ratios: boolean;
  pick: (server: HttpResult) => number | string;
}

interface Target {
  metric: string;
  against: "SDK" | "floor";
  text: string;
  ok: (ratio: number) => boolean;
}

/** The medians, ratios and verdicts of the HTTP part. */
export interface HttpSummary {
  servers: string[];
  values: Record<string, Record<string, number | string>>;
  /** By metric, then by the server divided by (SDK, floor, floor+worker). */
  ratios: Record<string, Record<string, number | null>>;
  targets: Array<
    { metric: string; target: string; ratio: number | null; met: boolean }
  >;
}

/** The servers tooldrop is divided by, in the table's order. */
const RATIOS_AGAINST = ["SDK", "floor", WORKER_FLOOR];

const failed = (value: unknown): value is { error: string } =>
  typeof value === "object" && value !== null && "error" in value;

const fromLoad =
  (concurrency: number, key: keyof LoadResult) => (server: HttpResult) => {
    const load = server.loads[`${concurrency}`];
    return load === undefined
      ? "not run"
      : failed(load)
      ? `failed: ${load.error}`
      : load[key];
  };

const fromProgress =
  (key: "lastProgressMs" | "resultMs" | "events") => (server: HttpResult) =>
    failed(server.progress)
      ? `failed: ${server.progress.error}`
      : server.progress[key];

/** The metrics for these concurrencies and this many progress updates. */
export function httpMetrics(
  concurrencies: number[],
  progressCount: number,
): Metric[] {
  return [
    ...concurrencies.flatMap((c): Metric[] => [
      {
        key: `rps${c}`,
        label: `echo throughput, ${c} client${c === 1 ? "" : "s"}`,
        unit: "requests/s",
        ratios: true,
        pick: fromLoad(c, "perSecond"),
      },
      {
        key: `p50_${c}`,
        label: `echo p50, ${c} client${c === 1 ? "" : "s"}`,
        unit: "ms",
        ratios: true,
        pick: fromLoad(c, "p50Ms"),
      },
      {
        key: `p99_${c}`,
        label: `echo p99, ${c} client${c === 1 ? "" : "s"}`,
        unit: "ms",
        ratios: true,
        pick: fromLoad(c, "p99Ms"),
      },
    ]),
    {
      key: "progressLast",
      label: `SSE: request → last of ${progressCount} progress updates`,
      unit: "ms",
      ratios: true,
      pick: fromProgress("lastProgressMs"),
    },
    {
      key: "progressResult",
      label: "SSE: request → result",
      unit: "ms",
      ratios: true,
      pick: fromProgress("resultMs"),
    },
    {
      key: "progressEvents",
      label: "SSE: progress events sent",
      unit: "events",
      ratios: false,
      pick: fromProgress("events"),
    },
    {
      key: "peakRss",
      label: "peak RSS after the load above (process tree)",
      unit: "MiB",
      ratios: true,
      pick: (server) => server.peakRssMiB,
    },
  ];
}

/** Issue 17 item 7's targets, at every concurrency. */
export function httpTargets(concurrencies: number[]): Target[] {
  return [
    ...concurrencies.flatMap((c): Target[] => [
      {
        metric: `rps${c}`,
        against: "SDK",
        text: "≥ 3× SDK",
        ok: (r) => r >= 3,
      },
      {
        metric: `rps${c}`,
        against: "floor",
        text: "≥ 0.5× floor",
        ok: (r) => r >= 0.5,
      },
      {
        metric: `p99_${c}`,
        against: "SDK",
        text: "≤ SDK",
        ok: (r) => r <= 1,
      },
    ]),
    {
      metric: "peakRss",
      against: "SDK",
      text: "≤ 0.6× SDK",
      ok: (r) => r <= 0.6,
    },
  ];
}

/** Medians per server, and medians of per-round ratios for the first server (tooldrop). */
export function summarizeHttp(
  rounds: HttpRound[],
  servers: string[],
  metrics: Metric[],
  targets: Target[],
): HttpSummary {
  const main = servers[0]!;
  const pick = (metric: Metric, round: HttpRound, server: string) => {
    const result = round[server];
    return result === undefined
      ? "not run"
      : failed(result)
      ? `failed: ${result.error}`
      : metric.pick(result);
  };
  const values: HttpSummary["values"] = {};
  const ratios: HttpSummary["ratios"] = {};
  for (const metric of metrics) {
    values[metric.key] = {};
    for (const server of servers) {
      const picks = rounds.map((round) => pick(metric, round, server));
      const numbers = picks.filter((p): p is number => typeof p === "number");
      values[metric.key]![server] = numbers.length > 0
        ? median(numbers)
        : String(picks[0]);
    }
    const per = (other: string) => {
      if (!metric.ratios) return null;
      const list = rounds.map((round) => {
        const mine = pick(metric, round, main);
        const theirs = pick(metric, round, other);
        return typeof mine === "number" && typeof theirs === "number"
          ? mine / theirs
          : null;
      }).filter((r): r is number => r !== null);
      return list.length > 0 ? median(list) : null;
    };
    ratios[metric.key] = Object.fromEntries(
      RATIOS_AGAINST.filter((other) => servers.includes(other)).map((
        other,
      ) => [other, per(other)]),
    );
  }
  return {
    servers,
    values,
    ratios,
    targets: targets.map((t) => {
      const ratio = ratios[t.metric]?.[t.against] ?? null;
      return {
        metric: t.metric,
        target: t.text,
        ratio,
        met: ratio !== null && t.ok(ratio),
      };
    }),
  };
}

/** The Markdown table: medians, ratios for tooldrop, and target verdicts. */
export function httpTable(summary: HttpSummary, metrics: Metric[]): string {
  const rows = metrics.map((metric): TableRow => {
    const row = summary.values[metric.key]!;
    return {
      label: metric.label,
      unit: metric.unit,
      cells: summary.servers.map((s) =>
        metric.unit === "events" && typeof row[s] === "number"
          ? String(row[s])
          : format(row[s], metric.unit)
      ),
      ratios: summary.ratios[metric.key]!,
      verdicts: summary.targets.filter((t) => t.metric === metric.key)
        .map((t) => `${t.met ? "✅" : "❌"} ${t.target}`).join("; "),
    };
  });
  return resultsTable(
    summary.servers,
    rows,
    summary.values,
    RATIOS_AGAINST.filter((other) => summary.servers.includes(other)),
  );
}
