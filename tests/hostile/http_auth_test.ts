/**
 * Bearer-token auth against hostile clients: a request without the token is refused before its
 * body is read (a client cannot make the server wait or buffer for it), an oversized
 * `Authorization` header is refused without trouble, and a body that never ends is cut off.
 */

import assert from "node:assert/strict";
import { modern, ping } from "../requests.ts";
import { post, raw, start } from "../http_client.ts";

const TOKEN = "s3cret-Token_0123456789abcdef";

function request(headers: string, contentLength: number, body = ""): string {
  return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\n${headers}Content-Length: ${contentLength}\r\nConnection: close\r\n\r\n${body}`;
}

Deno.test("without the token, a request is refused before its body is read", async () => {
  // The body never comes: had the server waited for it, the answer would be the 408.
  await using server = start({ token: TOKEN, bodyTimeoutMs: 10_000 });
  for (
    const headers of ["", "Authorization: Bearer wrong\r\n"]
  ) {
    const response = await raw(server, request(headers, 60_000_000));
    assert.match(response, /^HTTP\/1.1 401 Unauthorized\r\n/, headers);
    assert.match(response, /\r\nwww-authenticate: Bearer realm="tooldrop"/);
  }
});

Deno.test("a request past the body bound is 413 only once the token is right", async () => {
  await using server = start({ token: TOKEN, maxLineBytes: 1024 });
  const body = "x".repeat(2048);
  const without = await raw(server, request("", body.length, body));
  assert.match(without, /^HTTP\/1.1 401 Unauthorized\r\n/);
  const withToken = await raw(
    server,
    request(`Authorization: Bearer ${TOKEN}\r\n`, body.length, body),
  );
  assert.match(withToken, /^HTTP\/1.1 413 Payload Too Large\r\n/);
});

Deno.test("an oversized or odd Authorization header is a plain refusal", async () => {
  await using server = start({ token: TOKEN });
  const cases = [
    `Bearer ${"A".repeat(48 * 1024)}`,
    `Bearer ${TOKEN} ${TOKEN}`,
    `Bearer  ${TOKEN}\u0000`,
    `Bearer ${TOKEN},Bearer ${TOKEN}`,
    "Bearer =?base64?" + btoa(TOKEN) + "?=",
  ];
  for (const authorization of cases) {
    let response: Response;
    try {
      response = await post(server, modern(ping(1)), {
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "ping",
        authorization,
      });
    } catch {
      continue; // the client itself refused to send it (a NUL in a header)
    }
    const what = authorization.slice(0, 40);
    assert.ok([401, 431].includes(response.status), what);
    await response.body?.cancel();
  }
  // The server still serves the right token afterwards.
  const served = await post(server, modern(ping(1)), {
    "content-type": "application/json",
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "ping",
    authorization: `Bearer ${TOKEN}`,
  });
  assert.equal(served.status, 200);
  await served.body?.cancel();
});

Deno.test("a body that trickles in without end is cut off with 408", async () => {
  await using server = start({ token: TOKEN, bodyTimeoutMs: 300 });
  const body = JSON.stringify(modern(ping(1)));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const encoder = new TextEncoder();
  await conn.write(
    encoder.encode(
      request(`Authorization: Bearer ${TOKEN}\r\n`, body.length + 1000),
    ),
  );
  // A byte at a time, each well within the bound, never finishing: the total bound cuts it.
  const reading = (async () => {
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
      if (/\}$/.test(text)) break;
    }
    return text;
  })();
  let answered = false;
  void reading.then(() => answered = true);
  for (let i = 0; !answered && i < body.length; i++) {
    try {
      await conn.write(encoder.encode(body[i]!));
    } catch {
      break; // the server closed the connection
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const text = await reading;
  conn.close();
  assert.match(text, /^HTTP\/1.1 408 Request Timeout\r\n/);
  assert.ok(
    text.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request Timeout: the body did not arrive within 300 ms"}}`,
    ),
    text,
  );
});
