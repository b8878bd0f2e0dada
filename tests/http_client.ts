/**
 * @module
 * Test helpers for Streamable HTTP: a server of three small tools on a free loopback port, the
 * headers each era's requests carry, and a reader of SSE bodies.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { initialize, initialized } from "./requests.ts";
import { toolSet } from "./wire.ts";
import {
  type HttpServeOptions,
  type HttpServer,
  serveHttp,
} from "../src/server/http/serve_http.ts";
import type { ToolSet } from "../src/tool/served.ts";

export const VERSION = "2026-07-28";
export const INFO =
  `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"tooldrop","version":`;

export const tools: ToolSet = toolSet({
  echo: defineTool({
    description: "Echoes its text.",
    input: z.object({ text: z.string().optional() }),
    run: ({ text }) => `echo: ${text ?? ""}`,
  }),
  steps: defineTool({
    description: "Reports progress twice, then returns.",
    run: async (_args, ctx) => {
      ctx.progress(1, 2);
      await new Promise((resolve) => setTimeout(resolve, 0));
      ctx.progress(2, 2);
      return "done";
    },
  }),
  chatty: defineTool({
    description: "Logs one line, then returns.",
    run: (_args, ctx) => {
      ctx.log("info", "hello from chatty");
      return "said";
    },
  }),
});

/** Starts a server on a free port; `using` stops it at the end of the test. */
export function start(
  options: Partial<HttpServeOptions> = {},
): HttpServer & AsyncDisposable {
  const server = serveHttp({ tools, port: 0, ...options });
  return Object.assign(server, {
    [Symbol.asyncDispose]: () => server.shutdown(),
  });
}

/** The headers a 2026-era request carries for `method` (and `name`). */
export function modernHeaders(
  method: string,
  name?: string,
): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": VERSION,
    "mcp-method": method,
    ...(name === undefined ? {} : { "mcp-name": name }),
  };
}

/** POSTs `body` (JSON of it, unless a string). */
export function post(
  server: HttpServer,
  body: unknown,
  headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  },
): Promise<Response> {
  return fetch(server.url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The `data:` lines of an SSE body, each a JSON text, read to its end. */
export async function events(response: Response): Promise<string[]> {
  const text = await response.text();
  return [...text.matchAll(/^data: (.*)$/gm)].map((match) => match[1]!);
}

/**
 * A 2026 reply's JSON text however it came: the body (application/json), or the last event of
 * an SSE stream (a call the server had not answered by its second hang-up tick: WATCH_AFTER_MS).
 */
export async function replyText(response: Response): Promise<string> {
  return response.headers.get("content-type") === "text/event-stream"
    ? (await events(response)).at(-1) ?? ""
    : await response.text();
}

/** A legacy session: initialize (and initialized); its id. */
export async function openSession(server: HttpServer): Promise<string> {
  const response = await post(server, initialize(1));
  assert.equal(response.status, 200);
  await response.body?.cancel();
  const id = response.headers.get("mcp-session-id");
  assert.ok(id);
  const done = await post(server, initialized(), legacyHeaders(id));
  assert.equal(done.status, 202);
  return id;
}

export function legacyHeaders(session: string): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
    "mcp-session-id": session,
  };
}

/** Resolves after `ms` (for a client's own pacing, never to wait on the server). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * POSTs `body` to /mcp with `headers` on a raw connection left open (the test closes it to hang
 * up); `sendBytes`: only the first that many bytes of the body are sent.
 */
export async function rawPost(
  server: HttpServer,
  body: string,
  headers: Record<string, string>,
  sendBytes?: number,
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const bytes = new TextEncoder().encode(body);
  const head = Object.entries(headers).map(([name, value]) =>
    `${name}: ${value}\r\n`
  ).join("");
  await conn.write(new TextEncoder().encode(
    `POST /mcp HTTP/1.1\r\nHost: localhost\r\n${head}Content-Length: ${bytes.length}\r\n\r\n`,
  ));
  const sent = bytes.subarray(0, sendBytes ?? bytes.length);
  if (sent.length > 0) await conn.write(sent);
  return conn;
}

/** A raw HTTP/1.1 exchange over TCP (fetch sets Host itself): the status line and the rest. */
export async function raw(
  server: HttpServer,
  request: string,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buffer = new Uint8Array(65536);
  for (let n; (n = await conn.read(buffer)) !== null;) {
    text += new TextDecoder().decode(buffer.subarray(0, n));
    if (
      /\r\n\r\n[\s\S]*\}$/.test(text) || /content-length: 0\r\n/i.test(text)
    ) break;
  }
  conn.close();
  return text;
}

/** Reads an SSE body until its text satisfies `done` (or the body ends). */
export async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  done: (text: string) => boolean,
): Promise<string> {
  let text = "";
  while (!done(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += chunk.value;
  }
  return text;
}

/** A response's body as text, read piece by piece. */
export function textReader(
  response: Response,
): ReadableStreamDefaultReader<string> {
  return response.body!.pipeThrough(new TextDecoderStream()).getReader();
}

/** GETs a legacy session's stream from after `lastEventId` (resumption, polling). */
export function resume(
  server: HttpServer,
  session: string,
  lastEventId: string,
): Promise<Response> {
  return fetch(server.url, {
    headers: {
      accept: "text/event-stream",
      "mcp-session-id": session,
      "mcp-protocol-version": "2025-11-25",
      "last-event-id": lastEventId,
    },
  });
}

/** The events with data in an SSE text (priming and `retry:`-only ones left out). */
export function dataEvents(text: string): string[] {
  return text.split("\n\n").filter((event) => event.includes("\ndata: {"));
}
