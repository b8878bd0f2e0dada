/**
 * @module
 * The floor for the benchmark: the least any MCP stdio server must do. It splits stdin into lines
 * (scanning only new bytes, so cost stays linear), parses each with JSON.parse, and writes a reply
 * of the right shape (`tools/call` echoes its `text`, so big echoes compare fairly). No
 * validation, no error handling, no tool dispatch. Run by bench/bench.ts.
 *
 * With `worker` as its argument it is the floor of a server that isolates its tools: the same,
 * but the echo calls of each chunk read cross to a Worker (bench/floor_worker.ts, started at the
 * first call) in one message, and their replies are written when it answers, while the next
 * chunk is read.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INIT = {
  protocolVersion: "2025-06-18",
  capabilities: { tools: {} },
  serverInfo: { name: "floor", version: "1" },
};
const TOOLS = { tools: [{ name: "echo", inputSchema: { type: "object" } }] };

/** The worker the echo calls cross to, and back: their replies are written as they come. */
class Crossing {
  #worker: Worker | undefined;
  #pending = 0;
  #idle: (() => void) | undefined;

  send(calls: unknown[]): void {
    if (!this.#worker) {
      this.#worker = new Worker(
        new URL("./floor_worker.ts", import.meta.url),
        { type: "module" },
      );
      this.#worker.onmessage = (event: MessageEvent<unknown[]>) =>
        this.#answered(event.data);
    }
    this.#pending++;
    this.#worker.postMessage(calls);
  }

  done(): Promise<void> {
    return this.#pending === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.#idle = resolve);
  }

  close(): void {
    this.#worker?.terminate();
  }

  #answered(results: unknown[]): void {
    const out: string[] = [];
    for (let i = 0; i + 1 < results.length; i += 2) {
      out.push(
        JSON.stringify({
          jsonrpc: "2.0",
          id: results[i],
          result: results[i + 1],
        }),
      );
    }
    const bytes = encoder.encode(`${out.join("\n")}\n`);
    writing = writing.then(() => writeAll(bytes));
    if (--this.#pending === 0) this.#idle?.();
  }
}

async function writeAll(bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    done += await Deno.stdout.write(bytes.subarray(done));
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

/** Echo calls of the chunk being read, as `[id, text, …]`, for the worker (with `worker`). */
let calls: unknown[] = [];
const crossing = Deno.args[0] === "worker" ? new Crossing() : undefined;

function reply(line: string): string | undefined {
  const message = JSON.parse(line);
  if (message.id === undefined) return undefined;
  if (crossing && message.method === "tools/call") {
    calls.push(message.id, message.params?.arguments?.text ?? Deno.cwd());
    return undefined;
  }
  const result = message.method === "tools/call"
    ? {
      content: [{
        type: "text",
        text: message.params?.arguments?.text ?? Deno.cwd(),
      }],
    }
    : message.method === "initialize"
    ? INIT
    : message.method === "tools/list"
    ? TOOLS
    : {};
  return JSON.stringify({ jsonrpc: "2.0", id: message.id, result });
}

// Read into one reused buffer and write with Deno.stdin/stdout's own read and write, as tooldrop
// does: the web streams would add start-up time and a promise or two per chunk.
const buffer = new Uint8Array(65536);
let pieces: Uint8Array[] = [];
let writing = Promise.resolve();
while (true) {
  const count = await Deno.stdin.read(buffer);
  if (count === null) break;
  const chunk = buffer.subarray(0, count);
  let start = 0;
  let newline: number;
  const out: string[] = [];
  while ((newline = chunk.indexOf(10, start)) !== -1) {
    pieces.push(chunk.subarray(start, newline));
    const bytes = pieces.length === 1 ? pieces[0]! : concat(pieces);
    pieces = [];
    const text = reply(decoder.decode(bytes));
    if (text !== undefined) out.push(text);
    start = newline + 1;
  }
  if (start < chunk.length) pieces.push(chunk.slice(start)); // a copy: the buffer is reused
  if (out.length > 0) {
    await writing; // one write at a time; it runs on while the next chunk is read
    writing = writeAll(encoder.encode(`${out.join("\n")}\n`));
  }
  if (calls.length > 0) {
    crossing!.send(calls);
    calls = [];
  }
}
await crossing?.done();
await writing;
crossing?.close();
