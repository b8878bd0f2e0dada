import assert from "node:assert/strict";
import { after, soon } from "../src/loading/worker/_turns.ts";

Deno.test("soon runs what waits in order, at a later turn, once each; a throw stops none of the others", async () => {
  const ran: string[] = [];
  const thrown: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    thrown.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  try {
    soon(() => ran.push("a"));
    soon(() => {
      throw new Error("b failed");
    });
    soon(() => ran.push("c"));
    assert.equal(ran.length, 0, "nothing runs in this turn");
    await new Promise((resolve) => soon(() => resolve(undefined)));
    assert.deepEqual(ran, ["a", "c"]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal((thrown[0] as Error).message, "b failed");
    soon(() => ran.push("d"));
    await new Promise((resolve) => soon(() => resolve(undefined)));
    assert.deepEqual(ran, ["a", "c", "d"]);
  } finally {
    globalThis.removeEventListener("error", onError);
  }
});

Deno.test("after calls once after its delay, and not at all once cancelled", async () => {
  const fired: string[] = [];
  after(5, () => fired.push("kept"));
  const cancel = after(5, () => fired.push("cancelled"));
  cancel();
  // Let both underlying signals fire: a cancelled one fires into nothing.
  await new Promise((resolve) => setTimeout(resolve, 40));
  assert.deepEqual(fired, ["kept"]);
});
