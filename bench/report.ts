/**
 * @module
 * Turns benchmark rounds into medians, per-round ratios (tooldrop ÷ SDK, ÷ floor, ÷ floor+worker),
 * verdicts on the targets, and a Markdown table.
 */

import type { ColdStart, SessionResult } from "./measure.ts";

type Failure = { error: string };
type Maybe<T> = T | Failure;

/** What one round measured, by server name. */
export type Round = Record<string, {
  cold: Array<Maybe<ColdStart>>;
  session: Maybe<SessionResult>;
  echoes: Record<string, Maybe<number>>;
  /** Cold starts over MANY_TOOLS tool files (tooldrop from source only). */
  many?: Array<Maybe<ColdStart>> | undefined;
}>;

interface Metric {
  key: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
  pick: (server: Round[string]) => number | string;
}

const failed = (value: unknown): value is Failure =>
  typeof value === "object" && value !== null && "error" in value;

/** The median of `values` (the mean of the middle two for an even count). */
export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const fromSession = (key: keyof SessionResult) => (server: Round[string]) =>
  failed(server.session)
    ? `failed: ${server.session.error}`
    : server.session[key];

/** The median of `key` over the cold starts (`many`: those over MANY_TOOLS tool files). */
const fromCold =
  (key: keyof ColdStart, many = false) => (server: Round[string]) => {
    const starts = many ? server.many : server.cold;
    if (!starts) return "not run";
    const ok = starts.filter((c): c is ColdStart => !failed(c));
    const bad = starts.find(failed);
    return ok.length > 0
      ? median(ok.map((c) => c[key]))
      : `failed: ${bad?.error}`;
  };

/** The median of first call − tools/list reply over the cold starts. */
const fromFirstCall = (many: boolean) => (server: Round[string]) => {
  const starts = many ? server.many : server.cold;
  if (!starts) return "not run";
  const ok = starts.filter((c): c is ColdStart => !failed(c));
  return ok.length > 0
    ? median(ok.map((c) => c.firstCallMs - c.toolsListMs))
    : `failed: ${starts.find(failed)?.error}`;
};

const fromEcho = (mib: string) => (server: Round[string]) => {
  const value = server.echoes[mib];
  return failed(value) ? `failed: ${value.error}` : value ?? "not run";
};

export const METRICS: Metric[] = [
  {
    key: "coldInitialize",
    label: "cold start: spawn → initialize reply",
    unit: "ms",
    higherIsBetter: false,
    pick: fromCold("initializeMs"),
  },
  {
    key: "coldToolsList",
    label: "cold start: spawn → tools/list reply",
    unit: "ms",
    higherIsBetter: false,
    pick: fromCold("toolsListMs"),
  },
  {
    key: "coldFirstCall",
    label: "cold start: tools/list reply → first call reply",
    unit: "ms",
    higherIsBetter: false,
    pick: fromFirstCall(false),
  },
  {
    key: "manyToolsList",
    label: "1,000 tool files: spawn → tools/list reply",
    unit: "ms",
    higherIsBetter: false,
    pick: fromCold("toolsListMs", true),
  },
  {
    key: "manyFirstCall",
    label: "1,000 tool files: tools/list reply → first call reply",
    unit: "ms",
    higherIsBetter: false,
    pick: fromFirstCall(true),
  },
  {
    key: "sequentialP50",
    label: "sequential echo p50",
    unit: "ms",
    higherIsBetter: false,
    pick: fromSession("sequentialP50Ms"),
  },
  {
    key: "sequentialP99",
    label: "sequential echo p99",
    unit: "ms",
    higherIsBetter: false,
    pick: fromSession("sequentialP99Ms"),
  },
  {
    key: "pipelined",
    label: "pipelined echo throughput",
    unit: "calls/s",
    higherIsBetter: true,
    pick: fromSession("pipelinedPerSecond"),
  },
  {
    key: "echo1",
    label: "1 MiB echo",
    unit: "ms",
    higherIsBetter: false,
    pick: fromEcho("1"),
  },
  {
    key: "echo10",
    label: "10 MiB echo",
    unit: "ms",
    higherIsBetter: false,
    pick: fromEcho("10"),
  },
  {
    key: "echo50",
    label: "50 MiB echo",
    unit: "ms",
    higherIsBetter: false,
    pick: fromEcho("50"),
  },
  {
    key: "calledRss",
    label: "peak RSS after one call of each tool (process tree)",
    unit: "MiB",
    higherIsBetter: false,
    pick: fromSession("calledRssMiB"),
  },
  {
    key: "peakRss",
    label: "peak RSS after the load above (process tree)",
    unit: "MiB",
    higherIsBetter: false,
    pick: fromSession("peakRssMiB"),
  },
  {
    key: "exit",
    label: "exit after stdin EOF",
    unit: "ms",
    higherIsBetter: false,
    pick: fromSession("exitAfterEofMs"),
  },
];

/**
 * A target from the issue, checked on the median of per-round ratios (`absolute`: on the median
 * value itself, in the metric's unit).
 */
interface Target {
  metric: string;
  against: "SDK" | "floor" | "self" | "absolute";
  text: string;
  ok: (ratio: number) => boolean;
}

/** The floor of a server that isolates its tools (bench/floor.ts `worker`), when measured. */
export const WORKER_FLOOR = "floor+worker";

export const TARGETS: Target[] = [
  { metric: "pipelined", against: "SDK", text: "≥ 4× SDK", ok: (r) => r >= 4 },
  {
    metric: "pipelined",
    against: "floor",
    text: "≥ 0.5× floor",
    ok: (r) => r >= 0.5,
  },
  { metric: "sequentialP99", against: "SDK", text: "≤ SDK", ok: (r) => r <= 1 },
  {
    metric: "coldInitialize",
    against: "floor",
    text: "≤ 1.5× floor",
    ok: (r) => r <= 1.5,
  },
  {
    metric: "coldInitialize",
    against: "SDK",
    text: "≤ 0.25× SDK",
    ok: (r) => r <= 0.25,
  },
  {
    metric: "coldToolsList",
    against: "floor",
    text: "≤ 2× floor",
    ok: (r) => r <= 2,
  },
  {
    metric: "manyToolsList",
    against: "absolute",
    text: "≤ 200 ms",
    ok: (ms) => ms <= 200,
  },
  {
    metric: "manyFirstCall",
    against: "absolute",
    text: "≤ 50 ms",
    ok: (ms) => ms <= 50,
  },
  {
    metric: "calledRss",
    against: "SDK",
    text: "≤ 0.7× SDK",
    ok: (r) => r <= 0.7,
  },
  { metric: "echo10", against: "floor", text: "≤ 2× floor", ok: (r) => r <= 2 },
  { metric: "echo50", against: "floor", text: "≤ 2× floor", ok: (r) => r <= 2 },
  {
    metric: "echo50",
    against: "self",
    text: "< 6× its 10 MiB echo",
    ok: (r) => r < 6,
  },
];

/** Medians per server, median ratios per tooldrop variant, and target verdicts. */
export interface Summary {
  servers: string[];
  values: Record<string, Record<string, number | string>>;
  ratios: Record<string, Record<string, Record<string, number | null>>>;
  targets: Array<
    {
      server: string;
      metric: string;
      target: string;
      ratio: number | null;
      met: boolean;
    }
  >;
}

/** Summarizes rounds; tooldrop variants are the servers whose name starts with "tooldrop". */
export function summarize(rounds: Round[], servers: string[]): Summary {
  const values: Summary["values"] = {};
  const ratios: Summary["ratios"] = {};
  for (const metric of METRICS) {
    values[metric.key] = {};
    for (const server of servers) {
      const picks = rounds.map((round) => metric.pick(round[server]!));
      const numbers = picks.filter((p): p is number => typeof p === "number");
      values[metric.key]![server] = numbers.length > 0
        ? median(numbers)
        : String(picks[0]);
    }
  }
  const variants = servers.filter((s) => s.startsWith("tooldrop"));
  for (const variant of variants) {
    ratios[variant] = {};
    for (const metric of METRICS) {
      const per = (other: string | null) => {
        const list = rounds.map((round) => {
          const mine = metric.pick(round[variant]!);
          const theirs = other === null
            ? fromEcho("10")(round[variant]!)
            : metric.pick(round[other]!);
          return typeof mine === "number" && typeof theirs === "number"
            ? mine / theirs
            : null;
        }).filter((r): r is number => r !== null);
        return list.length > 0 ? median(list) : null;
      };
      ratios[variant]![metric.key] = {
        SDK: per("SDK"),
        floor: per("floor"),
        ...(servers.includes(WORKER_FLOOR)
          ? { [WORKER_FLOOR]: per(WORKER_FLOOR) }
          : {}),
        ...(metric.key === "echo50" ? { self: per(null) } : {}),
      };
    }
  }
  const targets = variants.flatMap((server) =>
    TARGETS.map((t) => {
      const value = medianOf(values, t.metric, server);
      const ratio = t.against === "absolute"
        ? value
        : ratios[server]![t.metric]![t.against] ?? null;
      return {
        server,
        metric: t.metric,
        target: t.text,
        ratio,
        met: ratio !== null && t.ok(ratio),
      };
    })
  );
  return { servers, values, ratios, targets };
}

/** A table cell: a number with digits by size (none for a rate), "fails" or "–". */
export function format(
  value: number | string | undefined,
  unit: string,
): string {
  if (typeof value !== "number") {
    return value?.startsWith("failed") ? "fails" : "–";
  }
  const digits = unit.endsWith("/s") || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${
    value.toLocaleString("en-US", {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    })
  }`;
}

/** The median value of `metric` for `server`, when it is a number. */
function medianOf(
  values: Summary["values"],
  metric: string,
  server: string,
): number | null {
  const value = values[metric]?.[server];
  return typeof value === "number" ? value : null;
}

/** A ratio as `1.23×`, or "–". */
export const ratioText = (
  r: number | null | undefined,
) => (r === null || r === undefined ? "–" : `${r.toFixed(2)}×`);

/** One row of a results table: a metric's cells per server, tooldrop's ratios, its verdicts. */
export interface TableRow {
  label: string;
  unit: string;
  cells: string[];
  /** By the server divided by: SDK, floor, and any other the table names. */
  ratios: Record<string, number | null | undefined>;
  verdicts: string;
}

/**
 * A Markdown results table (the stdio one and the HTTP one): a row per metric with each
 * server's median, the first server's ratios to the SDK and the floor, and its target verdicts;
 * then the measurements that failed, from `values`.
 */
export function resultsTable(
  servers: string[],
  rows: TableRow[],
  values: Summary["values"],
  against: string[] = ["SDK", "floor"],
): string {
  const main = servers[0]!;
  const lines = [
    `| metric | ${servers.join(" | ")} | ${
      against.map((other) => `${main} ÷ ${other}`).join(" | ")
    } | target |`,
    `| --- | ${[...servers, ...against].map(() => "---:").join(" | ")} | --- |`,
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.label} (${row.unit}) | ${row.cells.join(" | ")} | ${
        against.map((other) => ratioText(row.ratios[other])).join(" | ")
      } | ${row.verdicts} |`,
    );
  }
  const failures = Object.entries(values).flatMap(([key, row]) =>
    Object.entries(row).filter(([, v]) =>
      typeof v === "string" && v.startsWith("failed")
    ).map(([server, v]) => `- ${server}, ${key}: ${v}`)
  );
  if (failures.length > 0) lines.push("", "Failures:", ...failures);
  return lines.join("\n");
}

/** The Markdown table: medians, ratios for the main tooldrop row, and target verdicts. */
export function table(summary: Summary): string {
  const main = summary.servers[0]!;
  const rows = METRICS.map((metric): TableRow => {
    const row = summary.values[metric.key]!;
    const ratio = summary.ratios[main]![metric.key]!;
    const verdicts = summary.targets.filter((t) =>
      t.server === main && t.metric === metric.key
    )
      .map((t) =>
        `${t.met ? "✅" : "❌"} ${t.target}${
          t.metric === "echo50" && t.target.startsWith("<")
            ? ` (${ratioText(t.ratio)})`
            : ""
        }`
      )
      .join("; ");
    return {
      label: metric.label,
      unit: metric.unit,
      cells: summary.servers.map((s) => format(row[s], metric.unit)),
      ratios: ratio,
      verdicts,
    };
  });
  return resultsTable(
    summary.servers,
    rows,
    summary.values,
    ["SDK", "floor", WORKER_FLOOR].filter((other) =>
      summary.servers.includes(other)
    ),
  );
}
