import assert from "node:assert/strict";
import {
  BIG_STRING_CHARS,
  EncodedString,
  jsonLine,
} from "../src/server/json_line.ts";
import { LineWriter, MAX_QUEUED_LOG_LINES } from "../src/server/writer.ts";

const decoder = new TextDecoder();

/** A writer like `Deno.stdout`: takes at most `most` bytes a call, and records them. */
function byteWriter(most: number) {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    write(bytes: Uint8Array): Promise<number> {
      const count = Math.min(most, bytes.length);
      chunks.push(bytes.slice(0, count));
      return Promise.resolve(count);
    },
    text: () => chunks.map((c) => decoder.decode(c, { stream: true })).join(""),
  };
}

/** A big string with everything JSON escapes, and a surrogate pair across every 16 Ki boundary. */
function awkwardText(chars: number): string {
  const unit = 'quote " backslash \\ tab \t nl \n nul \u0000 é 中 😀 ';
  let text = unit.repeat(Math.ceil(chars / unit.length)).slice(0, chars);
  for (let at = 16 * 1024 - 1; at + 1 < text.length; at += 16 * 1024) {
    text = `${text.slice(0, at)}😀${text.slice(at + 2)}`;
  }
  return `${text}\ud800 lone surrogate`;
}

Deno.test("jsonLine writes exactly JSON.stringify's text, big strings included", async () => {
  const big = awkwardText(BIG_STRING_CHARS + 12_345);
  const values: unknown[] = [
    { content: [{ type: "text", text: big }] },
    { content: [{ type: "text", text: big }, { type: "image", data: big }] },
    [big, "small", { nested: { deeper: [big] } }],
    { text: "\u0000big-string-not-a-marker:0", same: big },
    { text: "all small", n: 1 },
  ];
  for (const value of values) {
    const line = jsonLine('{"id":1,"result":', value, "}");
    const writer = byteWriter(50_000);
    const lines = new LineWriter(writer, (error) => {
      throw error;
    });
    lines.send(line);
    lines.send("after");
    await lines.drained();
    assert.equal(
      writer.text(),
      `{"id":1,"result":${JSON.stringify(value)}}\nafter\n`,
    );
    assert.equal(typeof line === "string", value === values.at(-1));
  }
});

Deno.test("the writer coalesces lines ready together into one write", async () => {
  const writer = byteWriter(1 << 20);
  const lines = new LineWriter(writer, (error) => {
    throw error;
  });
  for (let i = 0; i < 100; i++) lines.send(`{"id":${i}}`);
  await lines.drained();
  assert.equal(writer.chunks.length, 1);
  assert.equal(
    writer.text(),
    Array.from({ length: 100 }, (_, i) => `{"id":${i}}\n`).join(""),
  );
});

Deno.test("the writer keeps order across short lines, long lines and big strings", async () => {
  const long = "x".repeat(100_000); // more than one buffer's worth at 3 bytes a unit
  const wide = "中".repeat(30_000); // 90,000 bytes: fills the buffer's room in few lines
  const big = jsonLine('{"id":"big","result":', {
    text: awkwardText(BIG_STRING_CHARS + 1),
  }, "}");
  assert.notEqual(typeof big, "string");
  const writer = byteWriter(1 << 20);
  const lines = new LineWriter(writer, (error) => {
    throw error;
  });
  const sent = ["a", long, "b", wide, wide, wide, "c", big, "d", long];
  for (const line of sent) lines.send(line);
  await lines.drained();
  const expected = sent.map((line) =>
    typeof line === "string"
      ? line
      : `{"id":"big","result":${
        JSON.stringify({ text: awkwardText(BIG_STRING_CHARS + 1) })
      }}`
  );
  assert.deepEqual(writer.text().split("\n"), [...expected, ""]);
});

Deno.test("the writer splits a long plain line between surrogate pairs, never inside one", async () => {
  // JSON text: no lone surrogates (JSON.stringify escapes them), so it survives UTF-8 intact.
  const text = awkwardText(3 * 64 * 1024 + 7).replace("\ud800", "");
  const writer = byteWriter(4096);
  const lines = new LineWriter(writer, (error) => {
    throw error;
  });
  lines.send(text);
  await lines.drained();
  assert.equal(writer.text(), `${text}\n`);
  assert.ok(!writer.text().includes("\ufffd\ufffd"), "a pair was split");
});

Deno.test("the writer hands a stream its own copy of every write", async () => {
  const received: Uint8Array[] = [];
  const lines = new LineWriter(
    new WritableStream({ write: (chunk) => void received.push(chunk) }),
    (error) => {
      throw error;
    },
  );
  lines.send("first");
  await lines.drained();
  lines.send("second");
  await lines.drained();
  assert.deepEqual(received.map((r) => decoder.decode(r)), [
    "first\n",
    "second\n",
  ]);
});

Deno.test("the writer reports a failed write once and drops later lines", async () => {
  const errors: unknown[] = [];
  const lines = new LineWriter({
    write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")),
  }, (error) => errors.push(error));
  lines.send("one");
  await lines.drained();
  lines.send("two");
  await lines.drained();
  assert.equal(errors.length, 1);
  assert.ok(lines.failed);
});

/** An `EncodedString` of `text`: the UTF-8 of its JSON, as a tool worker sends it. */
function encoded(text: string): EncodedString {
  return new EncodedString(new TextEncoder().encode(JSON.stringify(text)));
}

Deno.test("strings a worker sent encoded are written as their bytes, in order with the rest, small or bigger than the buffer; a text sink gets each line whole", async () => {
  const small = awkwardText(1000);
  const big = awkwardText(300_000);
  const huge = awkwardText(BIG_STRING_CHARS + 10);
  const value = {
    content: [{ type: "text", text: encoded(big) }, {
      type: "text",
      text: encoded(small),
    }],
    structuredContent: { big, n: 1, huge },
  };
  const line = jsonLine('{"id":1,"result":', value, "}");
  assert.notEqual(typeof line, "string");
  for (const sink of ["bytes", "stream", "text"]) {
    const writer = byteWriter(50_000);
    const chunks: Uint8Array[] = [];
    const given: string[] = [];
    const lines = new LineWriter(
      sink === "bytes"
        ? writer
        : sink === "text"
        ? { writeLine: (line: string) => void given.push(line) }
        : new WritableStream({ write: (chunk) => void chunks.push(chunk) }),
      (error) => {
        throw error;
      },
    );
    lines.send("before");
    lines.send(line);
    lines.send("after");
    await lines.drained();
    const text = sink === "bytes"
      ? writer.text()
      : sink === "text"
      ? given.map((line) => `${line}\n`).join("")
      : chunks.map((c) => decoder.decode(c, { stream: true })).join("");
    if (sink === "text") assert.equal(given.length, 3);
    assert.equal(
      text,
      `before\n{"id":1,"result":${
        JSON.stringify({
          content: [{ type: "text", text: big }, { type: "text", text: small }],
          structuredContent: { big, n: 1, huge },
        })
      }}\nafter\n`,
    );
  }
});

Deno.test("log lines dropped while the reader waits are taken out of the queue, and keyed lines keep their places", async () => {
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => release = resolve);
  const chunks: string[] = [];
  const lines = new LineWriter(
    new WritableStream({
      async write(chunk) {
        await blocked;
        chunks.push(decoder.decode(chunk, { stream: true }));
      },
    }),
    (error) => {
      throw error;
    },
  );
  const note = (n: number) => `note ${n}`;
  lines.send("first"); // being written: the rest wait behind it
  await Promise.resolve();
  lines.send("progress 1", "progress");
  for (let i = 0; i < 5000; i++) lines.sendLog(`log ${i}`, note);
  lines.dropLogs(7, note); // dropped in a worker
  lines.send("progress 2", "progress"); // takes the place of "progress 1"
  lines.sendLog("log last", note);
  release();
  await lines.drained();
  const logs = Array.from(
    { length: MAX_QUEUED_LOG_LINES - 1 },
    (_, i) => `log ${5001 - MAX_QUEUED_LOG_LINES + i}`,
  );
  assert.deepEqual(chunks.join("").split("\n"), [
    "first",
    "progress 2",
    `note ${5000 - MAX_QUEUED_LOG_LINES + 1 + 7}`,
    ...logs,
    "log last",
    "",
  ]);
});
