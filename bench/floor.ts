/**
 * @module
 * The floor for the benchmark: the least any MCP stdio server must do. It splits stdin into lines
 * (scanning only new bytes, so cost stays linear), parses each with JSON.parse, and writes a reply
 * of the right shape (`tools/call` echoes its `text`, so big echoes compare fairly). No
 * validation, no error handling, no tool dispatch. Run by bench/bench.ts.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const writer = Deno.stdout.writable.getWriter();
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

// Read into one reused buffer (a BYOB reader), as tooldrop does: it saves memory, not work.
const reader = Deno.stdin.readable.getReader({ mode: "byob" });
let buffer = new ArrayBuffer(65536);
let pieces: Uint8Array[] = [];
while (true) {
  const { value: chunk, done } = await reader.read(new Uint8Array(buffer));
  if (done || !chunk) break;
  buffer = chunk.buffer as ArrayBuffer;
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
    await writer.ready;
    void writer.write(encoder.encode(`${out.join("\n")}\n`));
  }
}
await writer.close();

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}
