// The stdio benchmark's summary: medians of per-round ratios against the SDK, the floor and, when
// it ran, the floor+worker; the table has a ratio column for each.
import assert from "node:assert/strict";
import { type Round, summarize, table, WORKER_FLOOR } from "./report.ts";

function server(initializeMs: number, pipelined: number): Round[string] {
  return {
    cold: [{ initializeMs, toolsListMs: initializeMs + 1, firstCallMs: 9 }],
    session: {
      sequentialP50Ms: 0.1,
      sequentialP99Ms: 0.2,
      pipelinedPerSecond: pipelined,
      calledRssMiB: 50,
      peakRssMiB: 60,
      exitAfterEofMs: 5,
    },
    echoes: { "1": 10, "10": 100, "50": 400 },
  };
}

Deno.test("the stdio summary divides tooldrop by the floor+worker too, and the table shows it", () => {
  const rounds: Round[] = [
    {
      tooldrop: server(100, 60),
      SDK: server(400, 30),
      floor: server(50, 240),
      [WORKER_FLOOR]: server(60, 120),
    },
    {
      tooldrop: server(120, 80),
      SDK: server(400, 20),
      floor: server(60, 200),
      [WORKER_FLOOR]: server(60, 100),
    },
  ];
  const summary = summarize(rounds, ["tooldrop", "SDK", "floor", WORKER_FLOOR]);
  // Medians of per-round ratios: 60/120 and 80/100 → 0.65; 100/60 and 120/60 → 1.83….
  assert.equal(summary.ratios.tooldrop!.pipelined![WORKER_FLOOR], 0.65);
  assert.equal(summary.ratios.tooldrop!.pipelined!.floor, 0.325);
  const header = table(summary).split("\n")[0]!;
  assert.match(
    header,
    /\| tooldrop ÷ SDK \| tooldrop ÷ floor \| tooldrop ÷ floor\+worker \| target \|$/,
  );
  const withoutIt = summarize(
    rounds.map((round) => {
      const { [WORKER_FLOOR]: _, ...rest } = round;
      return rest;
    }),
    ["tooldrop", "SDK", "floor"],
  );
  assert.equal(WORKER_FLOOR in withoutIt.ratios.tooldrop!.pipelined!, false);
  assert.match(table(withoutIt).split("\n")[0]!, /÷ floor \| target \|$/);
});
