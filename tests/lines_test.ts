import assert from "node:assert/strict";
import { type LineItem, readLineBatches } from "../src/server/lines.ts";

const encoder = new TextEncoder();

async function batches(
  chunks: Array<string | Uint8Array>,
  maxLineBytes?: number,
): Promise<LineItem[][]> {
  const out: LineItem[][] = [];
  const readable = ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c),
  );
  for await (
    const batch of readLineBatches(
      readable,
      maxLineBytes ? { maxLineBytes } : {},
    )
  ) {
    out.push(batch);
  }
  return out;
}

async function lines(
  chunks: Array<string | Uint8Array>,
  maxLineBytes?: number,
) {
  return (await batches(chunks, maxLineBytes)).flat().map((item) =>
    typeof item === "string" ? item : `<overlong ${item.maxLineBytes}>`
  );
}

Deno.test("lines split on \\n and drop exactly one trailing \\r", async () => {
  assert.deepEqual(await lines(["a\nb\r\nc\r\r\n"]), ["a", "b", "c\r"]);
});

Deno.test("lines: a bare \\r is not a line break", async () => {
  assert.deepEqual(await lines(["a\rb\n"]), ["a\rb"]);
});

Deno.test("lines skip empty and whitespace-only lines", async () => {
  assert.deepEqual(await lines(["\n\r\n  \n\t\r\nx\n\n"]), ["x"]);
});

Deno.test("lines drop a byte order mark at the start of any line, and only there", async () => {
  const bom = "\ufeff";
  assert.deepEqual(
    await lines([`${bom}a\n${bom}b\nc${bom}\n`, `${bom}`, "d\n"]),
    [
      "a",
      "b",
      `c${bom}`,
      "d",
    ],
  );
  assert.deepEqual(await lines([`${bom}\n${bom}  \nx\n`]), ["x"]);
});

Deno.test("lines decode bad UTF-8 line by line: a cut character stays in its line", async () => {
  const bytes = new Uint8Array([
    0x61,
    0xe2,
    0x9c,
    0x0a,
    0x62,
    0x0d,
    0x0a,
    0xff,
    0x0a,
  ]);
  assert.deepEqual(await lines([bytes]), ["a\ufffd", "b", "\ufffd"]);
  assert.deepEqual(await lines(Array.from(bytes, (b) => new Uint8Array([b]))), [
    "a\ufffd",
    "b",
    "\ufffd",
  ]);
});

Deno.test("lines split one chunk with many lines, some over the bound", async () => {
  assert.deepEqual(await lines(["ab\r\ncd\n123456789\n\n  \nok\nrest"], 8), [
    "ab",
    "cd",
    "<overlong 8>",
    "ok",
    "rest",
  ]);
});

Deno.test("lines join a message split across chunks, even inside a UTF-8 character", async () => {
  const bytes = encoder.encode('{"text":"é✓😀"}\n');
  const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
  assert.deepEqual(await lines(chunks), ['{"text":"é✓😀"}']);
});

Deno.test("lines yield all the lines of one chunk as one batch", async () => {
  assert.deepEqual(await batches(["a\nb\nc\n", "d\n"]), [["a", "b", "c"], [
    "d",
  ]]);
});

Deno.test("lines yield a last line that has no newline at EOF", async () => {
  assert.deepEqual(await lines(["a\nb"]), ["a", "b"]);
  assert.deepEqual(await lines(["a\n", "b", "c\r"]), ["a", "bc"]);
});

Deno.test("lines accept a line of exactly the bound and reject one byte more", async () => {
  const max = 8;
  assert.deepEqual(await lines(["12345678\n", "123456789\n", "ok\n"], max), [
    "12345678",
    "<overlong 8>",
    "ok",
  ]);
});

Deno.test("lines do not count the \\r of CRLF against the bound", async () => {
  assert.deepEqual(await lines(["12345678\r\n"], 8), ["12345678"]);
  assert.deepEqual(await lines(["1234", "5678", "\r", "\n"], 8), ["12345678"]);
  assert.deepEqual(await lines(["1234", "5678", "9", "\n"], 8), [
    "<overlong 8>",
  ]);
});

Deno.test("lines hold the bound when a line's last piece arrives with its newline", async () => {
  assert.deepEqual(await lines(["1234", "56789\nok\n"], 8), [
    "<overlong 8>",
    "ok",
  ]);
  assert.deepEqual(await lines(["1234", "5678\r\nok\n"], 8), [
    "12345678",
    "ok",
  ]);
  assert.deepEqual(await lines(["12", "34", "56", "78\n", "12", "3\n"], 8), [
    "12345678",
    "123",
  ]);
});

Deno.test("lines skip an over-long line across chunks and resynchronize after its newline", async () => {
  const out = await batches(["0123", "4567", "89ab", "cdef", "\nnext\n"], 6);
  assert.deepEqual(
    out.flat().map((i) => typeof i === "string" ? i : "<overlong>"),
    [
      "<overlong>",
      "next",
    ],
  );
});

Deno.test("lines report an over-long line once, even when it never ends", async () => {
  assert.deepEqual(await lines(["0123456789", "0123456789", "0123"], 4), [
    "<overlong 4>",
  ]);
});

Deno.test("lines count bytes, not characters, against the bound", async () => {
  // "éé" is 4 bytes in UTF-8.
  assert.deepEqual(await lines(["éé\n", "ééé\n"], 4), ["éé", "<overlong 4>"]);
});

Deno.test("lines stop reading when the signal aborts", async () => {
  const controller = new AbortController();
  const readable = new ReadableStream<Uint8Array>({
    start: (c) => c.enqueue(encoder.encode("a\n")), // and never closes
  });
  const seen: LineItem[] = [];
  for await (
    const batch of readLineBatches(readable, { signal: controller.signal })
  ) {
    seen.push(...batch);
    controller.abort();
  }
  assert.deepEqual(seen, ["a"]);
});

Deno.test("lines cost grows linearly: a 50 MiB line takes well under 100× a 5 MiB one", async () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  const time = async (mib: number) => {
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const chunks = Array.from({ length: mib * 16 }, () => chunk);
      const start = performance.now();
      const out = await lines([...chunks, "\n"], 64 * 1024 * 1024);
      best = Math.min(best, performance.now() - start);
      assert.equal(out[0]!.length, mib * 1024 * 1024);
    }
    return best;
  };
  const small = await time(5);
  const large = await time(50);
  // Linear is 10×; re-concatenating the buffer per chunk is about 100×. Memory effects (GC,
  // page faults) push the linear case up to ~15× on a loaded machine, hence the wide margin.
  assert.ok(large < small * 40, `50 MiB took ${large} ms, 5 MiB ${small} ms`);
});

Deno.test("lines read a byte stream (like stdin) into one reused buffer without mixing up lines", async () => {
  const text =
    Array.from({ length: 3000 }, (_, i) => `line ${i} ${"x".repeat(i % 97)}`)
      .join("\n") +
    "\n" + "y".repeat(200_000) + "\nlast\n";
  const bytes = encoder.encode(text);
  let at = 0;
  const readable = new ReadableStream({
    type: "bytes",
    pull: (controller: ReadableByteStreamController) => {
      if (at >= bytes.length) {
        controller.close();
        return controller.byobRequest?.respond(0); // the spec's way to end a pending BYOB read
      }
      const size = 1 + (at * 7919) % 50_000; // odd sizes, so lines straddle reads
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  const out: string[] = [];
  for await (const batch of readLineBatches(readable)) {
    for (const item of batch) if (typeof item === "string") out.push(item);
  }
  assert.deepEqual(out, text.split("\n").slice(0, -1));
});

/** A reader like `Deno.stdin`: fills the buffer it is given with up to `size(at)` bytes. */
function byteReader(bytes: Uint8Array, size: (at: number) => number) {
  let at = 0;
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      if (at >= bytes.length) return Promise.resolve(null);
      const count = Math.min(size(at), buffer.length, bytes.length - at);
      buffer.set(bytes.subarray(at, at + count));
      at += count;
      return Promise.resolve(count);
    },
  };
}

Deno.test("lines read a reader (Deno.stdin's read) into one reused buffer without mixing up lines", async () => {
  const text =
    Array.from({ length: 3000 }, (_, i) => `lïne ${i} ${"x".repeat(i % 97)}`)
      .join("\n") +
    "\n" + "y".repeat(200_000) + "\nlast";
  const reader = byteReader(
    encoder.encode(text),
    (at) => 1 + (at * 7919) % 70_000,
  );
  const out: string[] = [];
  for await (const batch of readLineBatches(reader)) {
    for (const item of batch) if (typeof item === "string") out.push(item);
  }
  assert.deepEqual(out, text.split("\n"));
});

Deno.test("lines from a reader end when the signal aborts, though a read is still waiting", async () => {
  const controller = new AbortController();
  let reads = 0;
  const reader = {
    read(buffer: Uint8Array): Promise<number | null> {
      if (reads++ > 0) return new Promise(() => {}); // stdin with nothing more to say
      buffer.set(encoder.encode("a\n"));
      return Promise.resolve(2);
    },
  };
  const seen: LineItem[] = [];
  for await (
    const batch of readLineBatches(reader, { signal: controller.signal })
  ) {
    seen.push(...batch);
    setTimeout(() => controller.abort(), 10);
  }
  assert.deepEqual(seen, ["a"]);
  assert.equal(reads, 2);
});
