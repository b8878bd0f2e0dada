/**
 * The budget of request bodies being received at once (src/server/http/body.ts): a count and
 * bytes, a declared length held whole from the start, a chunked body's bytes as they come, and
 * everything given back when a read ends, whichever way.
 */

import assert from "node:assert/strict";
import { BodyBudget, BodyReader } from "../src/server/http/body.ts";

/** A POST whose body is the stream of `chunks`, then (unless `open`) its end. */
function posted(
  chunks: string[],
  options: { length?: number; open?: boolean },
) {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (!options.open) controller.close();
    },
  });
  return new Request("http://127.0.0.1/mcp", {
    method: "POST",
    body,
    headers: options.length === undefined
      ? {}
      : { "content-length": String(options.length) },
  });
}

Deno.test("BodyBudget: a count and bytes; what a read held goes back when it closes, once", () => {
  const budget = new BodyBudget(100, 2, 150);
  const first = budget.open(100)!;
  assert.ok(first);
  assert.equal(budget.open(60), undefined, "bytes over the budget");
  const second = budget.open(50)!;
  assert.ok(second);
  assert.equal(budget.open(0), undefined, "count over the budget");
  assert.equal(second.take(1), false, "a chunk past the budget");
  first.close();
  first.close(); // twice gives back nothing more
  assert.ok(second.take(100));
  assert.equal(budget.open(1), undefined, "the chunks taken are held");
  second.close();
  assert.ok(budget.open(150), "all of it back");
  // One body of the largest size always fits, whatever the budget.
  assert.ok(new BodyBudget(500, 1, 10).open(500));
});

Deno.test("BodyReader: busy when the budget is held, at once; a chunked body busy past it; a body that fits is read", async () => {
  const budget = new BodyBudget(100, 8, 120);
  const reader = new BodyReader(100, 5_000, budget);
  const waiting = reader.read(posted(["{"], { length: 100, open: true }));
  assert.equal(
    await reader.read(posted(["{}"], { length: 30 })),
    "busy",
  );
  assert.equal(
    await reader.read(posted(["{}", "x".repeat(30)], {})),
    "busy",
    "a chunked body whose bytes pass the budget",
  );
  assert.equal(await reader.read(posted(["{}"], { length: 2 })), "{}");
  reader.close(); // ends the shared timer; the waiting read is let go
  void waiting;
});
