/**
 * @module
 * The floor for the benchmark: the least any MCP stdio server must do. It splits stdin into lines
 * (scanning only new bytes, so cost stays linear), parses each with JSON.parse, and writes a reply
 * of the right shape (`tools/call` echoes its `text`, so big echoes compare fairly). No
 * validation, no error handling, no tool dispatch. Run by bench/bench.ts.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const INIT = {
  protocolVersion: "2025-06-18",
  capabilities: { tools: {} },
  serverInfo: { name: "floor", version: "1" },
};
const TOOLS = { tools: [{ name: "echo", inputSchema: { type: "object" } }] };

function reply(line: string): string | undefined {
  const message = JSON.parse(line);
  if (message.id === undefined) return undefined;
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
}
await writing;

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
