/**
 * @module
 * The HTTP benchmark's client, run as a Deno process of its own so its work is not the servers'
 * (nor the orchestrator's): `load` keeps `concurrency` keep-alive HTTP/1.1 connections each
 * sending one tools/call of echo after another for a fixed time; `progress` times one call of the
 * progress tool over SSE. Plain HTTP/1.1 over TCP, not fetch: fetch's own cost per request would
 * cap what the floor can show. Prints one JSON object on stdout. Run by bench/http.ts:
 *
 *   deno run --allow-net bench/http_load.ts load <url> <era> <concurrency> <warmup s> <seconds>
 *   deno run --allow-net bench/http_load.ts progress <url> <era> <count> <repeats>
 */

/** Which protocol era the requests speak: tooldrop gets 2026-07-28, the SDK 2025-11-25. */
export type Era = "2026" | "2025";

/** What one load run measured. */
export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * What one progress call measured, in ms from the request's first byte. A server may send fewer
 * events than the tool reported (tooldrop sends the latest of a call's updates that wait
 * together); the last one must say `count` of `count`.
 */
export interface ProgressResult {
  events: number;
  lastProgressMs: number;
  resultMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const META_2026 = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": {
    name: "tooldrop-bench",
    version: "1",
  },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** The request as each era sends it: headers (after Host) and body. */
export function callRequest(
  era: Era,
  id: number | string,
  name: string,
  args: Record<string, unknown>,
  meta: Record<string, unknown> = {},
): { headers: Record<string, string>; body: string } {
  const allMeta = era === "2026" ? { ...META_2026, ...meta } : meta;
  const params = {
    name,
    arguments: args,
    ...(Object.keys(allMeta).length > 0 ? { _meta: allMeta } : {}),
  };
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params,
  });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    // Both, as the 2025-11-25 spec requires of a POST (the SDK answers 406 otherwise).
    accept: "application/json, text/event-stream",
    ...(era === "2026"
      ? {
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
      }
      : { "mcp-protocol-version": "2025-11-25" }),
  };
  return { headers, body };
}

function rawRequest(url: URL, era: Era, id: number, text: string): Uint8Array {
  const { headers, body } = callRequest(era, id, "echo", { text });
  const bytes = encoder.encode(body);
  let head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const [key, value] of Object.entries(headers)) {
    head += `${key}: ${value}\r\n`;
  }
  head += `content-length: ${bytes.length}\r\n\r\n`;
  const all = new Uint8Array(head.length + bytes.length);
  all.set(encoder.encode(head));
  all.set(bytes, head.length);
  return all;
}

/** One keep-alive HTTP/1.1 connection that reads whole responses (length or chunked). */
class Connection {
  #conn: Deno.TcpConn;
  #buffer = new Uint8Array(1 << 16);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  async send(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) {
      done += await this.#conn.write(bytes.subarray(done));
    }
  }

  /** The next response: its status and body text (chunks joined). */
  async response(): Promise<{ status: number; body: string }> {
    let headerEnd: number;
    while ((headerEnd = this.#find("\r\n\r\n")) < 0) await this.#fill();
    const head = decoder.decode(this.#buffer.subarray(this.#start, headerEnd));
    this.#start = headerEnd + 4;
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length) {
      return { status, body: await this.#take(Number(length[1])) };
    }
    if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      throw new Error(`Neither content-length nor chunked: ${head}`);
    }
    let body = "";
    while (true) {
      let lineEnd: number;
      while ((lineEnd = this.#find("\r\n")) < 0) await this.#fill();
      const size = parseInt(
        decoder.decode(this.#buffer.subarray(this.#start, lineEnd)),
        16,
      );
      this.#start = lineEnd + 2;
      if (size === 0) {
        while (this.#find("\r\n") < 0) await this.#fill(); // no trailers expected
        this.#start = this.#find("\r\n") + 2;
        return { status, body };
      }
      body += await this.#take(size);
      while (this.#end - this.#start < 2) await this.#fill();
      this.#start += 2;
    }
  }

  close(): void {
    this.#conn.close();
  }

  async #take(count: number): Promise<string> {
    while (this.#end - this.#start < count) await this.#fill();
    const text = decoder.decode(
      this.#buffer.subarray(this.#start, this.#start + count),
    );
    this.#start += count;
    return text;
  }

  #find(text: string): number {
    const first = text.charCodeAt(0);
    for (let i = this.#start; i <= this.#end - text.length; i++) {
      if (this.#buffer[i] !== first) continue;
      let j = 1;
      while (j < text.length && this.#buffer[i + j] === text.charCodeAt(j)) j++;
      if (j === text.length) return i;
    }
    return -1;
  }

  async #fill(): Promise<void> {
    if (this.#start > 0) {
      this.#buffer.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    const count = await this.#conn.read(this.#buffer.subarray(this.#end));
    if (count === null) throw new Error("The server closed the connection");
    this.#end += count;
  }
}

/** Keeps `concurrency` connections busy with echo calls: `warmup` s untimed, then `seconds`. */
export async function load(
  url: URL,
  era: Era,
  concurrency: number,
  warmup: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const warmEnd = performance.now() + warmup * 1000;
  const end = warmEnd + seconds * 1000;
  let lastDone = warmEnd;
  const worker = async (index: number) => {
    const conn = new Connection(
      await Deno.connect({ hostname: url.hostname, port: Number(url.port) }),
    );
    try {
      const text = `hello bench ${index}`;
      const expect = `"text":"${text}"`;
      const request = rawRequest(url, era, index, text);
      while (true) {
        const start = performance.now();
        if (start >= end) break;
        await conn.send(request);
        const { status, body } = await conn.response();
        const done = performance.now();
        if (status !== 200 || !body.includes(expect)) {
          throw new Error(`Bad reply (${status}): ${body.slice(0, 300)}`);
        }
        if (start >= warmEnd) {
          latencies.push(done - start);
          if (done > lastDone) lastDone = done;
        }
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  latencies.sort((a, b) => a - b);
  const elapsed = (lastDone - warmEnd) / 1000;
  return {
    requests: latencies.length,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** One call of the progress tool with a progress token, read as SSE as it arrives. */
export async function progress(
  url: URL,
  era: Era,
  count: number,
): Promise<ProgressResult> {
  const { headers, body } = callRequest(era, "p", "progress", { count }, {
    progressToken: "bench",
  });
  const start = performance.now();
  const response = await fetch(url, { method: "POST", headers, body });
  if (response.status !== 200 || !response.body) {
    throw new Error(`Bad reply (${response.status}): ${await response.text()}`);
  }
  let events = 0;
  let lastProgress = 0;
  let lastProgressMs = NaN;
  let resultMs = NaN;
  let pending = "";
  for await (
    const chunk of response.body.pipeThrough(new TextDecoderStream())
  ) {
    const at = performance.now() - start;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith("data: ")) continue;
      const message = JSON.parse(line.slice(6));
      if (message.method === "notifications/progress") {
        events++;
        lastProgress = message.params.progress;
        lastProgressMs = at;
      } else if (message.id === "p") {
        if (message.result?.content?.[0]?.text !== "done") {
          throw new Error(`Bad result: ${line.slice(0, 300)}`);
        }
        resultMs = at;
      }
    }
  }
  if (lastProgress !== count || Number.isNaN(resultMs)) {
    throw new Error(
      `The last progress event said ${lastProgress} of ${count}${
        Number.isNaN(resultMs) ? ", and no result came" : ""
      }`,
    );
  }
  return { events, lastProgressMs, resultMs };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

if (import.meta.main) {
  const [mode, address, era, ...rest] = Deno.args;
  const url = new URL(address!);
  const numbers = rest.map(Number);
  let out: LoadResult | ProgressResult;
  if (mode === "load") {
    out = await load(url, era as Era, numbers[0]!, numbers[1]!, numbers[2]!);
  } else {
    // The median call by time to the result, of `repeats` one after another.
    const calls = [];
    for (let i = 0; i < numbers[1]!; i++) {
      calls.push(await progress(url, era as Era, numbers[0]!));
    }
    calls.sort((a, b) => a.resultMs - b.resultMs);
    out = calls[Math.floor(calls.length / 2)]!;
  }
  Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(out)}\n`));
}
