/**
 * `serve --http`'s security options at the wire: the bearer token (`--token-env`), extra host
 * names (`--allow-host`), CORS (`--cors-origin`) and the time a body may take, with exact
 * status, headers and bodies; and the comparison and the command line underneath them.
 */

import assert from "node:assert/strict";
import { call, initialize, modern, ping } from "./requests.ts";
import { fakeIo, memoryLog } from "./wire.ts";
import {
  legacyHeaders,
  modernHeaders,
  post,
  raw,
  start,
} from "./http_client.ts";
import { sameBytes, tokenProblem } from "../src/server/http/auth.ts";
import { parseOrigin } from "../src/cli/options.ts";
import { parseArgs } from "../src/cli/options.ts";
import { runCli } from "../src/cli/mod.ts";

const TOKEN = "s3cret-Token_0123456789abcdef";
const PING = modern(ping(1));
const MISSING =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Unauthorized: this server needs an Authorization: Bearer <token> header"}}`;
const INVALID =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Unauthorized: the bearer token is not valid"}}`;

function withToken(
  token: string,
  headers: Record<string, string> = modernHeaders("ping"),
): Record<string, string> {
  return { ...headers, authorization: `Bearer ${token}` };
}

Deno.test("sameBytes compares every byte, tells different lengths apart, and never throws", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  assert.equal(sameBytes(bytes("abc"), bytes("abc")), true);
  assert.equal(sameBytes(new Uint8Array(), new Uint8Array()), true);
  assert.equal(sameBytes(bytes("abc"), bytes("abd")), false);
  assert.equal(sameBytes(bytes("xbc"), bytes("abc")), false);
  assert.equal(sameBytes(bytes("ab"), bytes("abc")), false);
  assert.equal(sameBytes(bytes("abc"), bytes("ab")), false);
  assert.equal(sameBytes(new Uint8Array(), bytes("a")), false);
  // A shorter array padded with zeros is still a different one.
  assert.equal(sameBytes(bytes("a"), Uint8Array.of(97, 0)), false);
  assert.equal(sameBytes(new Uint8Array(0), new Uint8Array(1)), false);
  assert.equal(sameBytes(new Uint8Array(1 << 16), new Uint8Array(1)), false);
});

Deno.test("tokenProblem refuses a token a header cannot carry", () => {
  assert.equal(tokenProblem(TOKEN), undefined);
  assert.equal(tokenProblem(""), "it is empty");
  for (const token of ["two words", "line\nbreak", "tab\there", "é"]) {
    assert.match(tokenProblem(token) ?? "", /^it must be visible ASCII/);
  }
});

Deno.test("with a token, /mcp without it is 401 with the challenge; /healthz is open", async () => {
  await using server = start({ token: TOKEN });
  const cases: Array<[Record<string, string>, string]> = [
    [{}, "missing"],
    [{ authorization: "" }, "missing"],
    [{ authorization: "Bearer" }, "missing"],
    [{ authorization: `Basic ${btoa(`user:${TOKEN}`)}` }, "missing"],
    [{ authorization: TOKEN }, "missing"],
    [{ authorization: "Bearer wrong" }, "invalid"],
    [{ authorization: `Bearer ${TOKEN.slice(0, -1)}` }, "invalid"],
    [{ authorization: `Bearer ${TOKEN}x` }, "invalid"],
    [{ authorization: `Bearer ${TOKEN.toUpperCase()}` }, "invalid"],
    [{ authorization: `Bearer ${"x".repeat(8000)}` }, "invalid"],
  ];
  for (const [extra, kind] of cases) {
    const response = await post(server, PING, {
      ...modernHeaders("ping"),
      ...extra,
    });
    const what = JSON.stringify(extra).slice(0, 60);
    assert.equal(response.status, 401, what);
    assert.equal(
      response.headers.get("www-authenticate"),
      kind === "invalid"
        ? `Bearer realm="tooldrop", error="invalid_token"`
        : `Bearer realm="tooldrop"`,
      what,
    );
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.equal(await response.text(), kind === "invalid" ? INVALID : MISSING);
  }
  // GET and DELETE need it too, before their own checks.
  for (const method of ["GET", "DELETE"]) {
    const response = await fetch(server.url, { method });
    assert.equal(response.status, 401, method);
    assert.equal(await response.text(), MISSING);
  }
  for (const scheme of ["Bearer", "bearer", "BEARER"]) {
    const response = await post(server, PING, {
      ...modernHeaders("ping"),
      authorization: `${scheme} ${TOKEN}`,
    });
    assert.equal(response.status, 200, scheme);
    assert.match(await response.text(), /^\{"jsonrpc":"2.0","id":1,"result":/);
  }
  const health = await fetch(new URL("/healthz", server.url));
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok");
});

Deno.test("a legacy session's id does not stand in for the token", async () => {
  await using server = start({ token: TOKEN });
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const refused = await post(server, initialize(1), headers);
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("mcp-session-id"), null);
  assert.equal(await refused.text(), MISSING);
  const opened = await post(server, initialize(1), withToken(TOKEN, headers));
  assert.equal(opened.status, 200);
  await opened.body?.cancel();
  const session = opened.headers.get("mcp-session-id");
  assert.ok(session);
  const without = await post(server, call(2, "echo"), legacyHeaders(session));
  assert.equal(without.status, 401);
  assert.equal(await without.text(), MISSING);
  const wrong = await post(
    server,
    call(2, "echo"),
    withToken("wrong", legacyHeaders(session)),
  );
  assert.equal(wrong.status, 401);
  assert.equal(await wrong.text(), INVALID);
  const right = await post(
    server,
    call(2, "echo", { text: "hi" }),
    withToken(TOKEN, legacyHeaders(session)),
  );
  assert.equal(right.status, 200);
  assert.match(await right.text(), /"text":"echo: hi"/);
});

Deno.test("a wrong token is logged at debug without the token, and never at info", async () => {
  const debug = memoryLog("debug");
  const info = memoryLog("info");
  for (const { log } of [debug, info]) {
    await using server = start({ token: TOKEN, log });
    for (const token of ["wrong-guess-1234", TOKEN]) {
      const response = await post(server, PING, withToken(token));
      await response.body?.cancel();
    }
    await (await post(server, PING)).body?.cancel();
  }
  const text = debug.lines.join("");
  assert.match(
    text,
    /Refused a request: its bearer token is not the server's\n/,
  );
  assert.match(text, /Refused a request: it has no bearer token\n/);
  assert.match(text, / POST \/mcp 401 /);
  for (const secret of ["wrong-guess", TOKEN]) {
    assert.ok(!text.toLowerCase().includes(secret.toLowerCase()), secret);
  }
  assert.deepEqual(info.lines, []);
});

Deno.test("--allow-host adds a name answered to as Host and as Origin; others stay 403", async () => {
  await using server = start({ allowedHosts: ["mcp.example.com"] });
  const body = JSON.stringify(PING);
  const request = (host: string, origin = "") =>
    `POST /mcp HTTP/1.1\r\nHost: ${host}\r\n${origin}Content-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  assert.match(
    await raw(server, request("mcp.example.com")),
    /^HTTP\/1.1 200 OK\r\n/,
  );
  assert.match(
    await raw(
      server,
      request("MCP.example.com:443", "Origin: https://mcp.example.com\r\n"),
    ),
    /^HTTP\/1.1 200 OK\r\n/,
  );
  const foreign = await raw(server, request("other.example.com"));
  assert.match(foreign, /^HTTP\/1.1 403 Forbidden\r\n/);
  assert.ok(
    foreign.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Host \\"other.example.com\\" is not one this server answers to"}}`,
    ),
  );
  const origin = await raw(
    server,
    request("mcp.example.com", "Origin: https://sub.mcp.example.com\r\n"),
  );
  assert.match(origin, /^HTTP\/1.1 403 Forbidden\r\n/);
  assert.match(
    origin,
    /Origin \\"https:\/\/sub.mcp.example.com\\" is not allowed/,
  );
  // Loopback still works beside the extra name.
  const local = await post(server, PING, modernHeaders("ping"));
  assert.equal(local.status, 200);
  await local.body?.cancel();
});

const APP = "https://app.example.com";
const ALLOW_HEADERS =
  "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";

function corsHeaders(response: Response): Record<string, string> {
  return Object.fromEntries(
    [...response.headers].filter(([name]) =>
      name.startsWith("access-control-") || name === "vary"
    ),
  );
}

Deno.test("CORS: a configured origin's preflight is 204 with the methods and headers; no token needed", async () => {
  await using server = start({ corsOrigins: [APP], token: TOKEN });
  const preflight = await fetch(server.url, {
    method: "OPTIONS",
    headers: {
      origin: APP,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(await preflight.text(), "");
  assert.deepEqual(corsHeaders(preflight), {
    "access-control-allow-headers": ALLOW_HEADERS,
    "access-control-allow-methods": "POST, GET, DELETE",
    "access-control-allow-origin": APP,
    "access-control-max-age": "600",
    vary: "Origin",
  });
  // The page can read a 401 (and its challenge), then the answer once it sends the token.
  const refused = await post(server, PING, {
    ...modernHeaders("ping"),
    origin: APP,
  });
  assert.equal(refused.status, 401);
  assert.deepEqual(corsHeaders(refused), {
    "access-control-allow-origin": APP,
    "access-control-expose-headers": "Mcp-Session-Id",
    vary: "Origin",
  });
  assert.equal(await refused.text(), MISSING);
  const served = await post(server, initialize(1), {
    ...withToken(TOKEN, {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    }),
    origin: APP,
  });
  assert.equal(served.status, 200);
  assert.ok(served.headers.get("mcp-session-id"));
  assert.deepEqual(corsHeaders(served), {
    "access-control-allow-origin": APP,
    "access-control-expose-headers": "Mcp-Session-Id",
    vary: "Origin",
  });
  await served.body?.cancel();
});

Deno.test("CORS: other origins get no CORS headers; a foreign one still 403; unconfigured, OPTIONS is 405", async () => {
  {
    await using server = start({ corsOrigins: [APP] });
    const local = await post(server, PING, {
      ...modernHeaders("ping"),
      origin: "http://localhost:5173",
    });
    assert.equal(local.status, 200);
    assert.deepEqual(corsHeaders(local), { vary: "Origin" });
    await local.body?.cancel();
    const localPreflight = await fetch(server.url, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173" },
    });
    assert.equal(localPreflight.status, 405);
    assert.deepEqual(corsHeaders(localPreflight), { vary: "Origin" });
    await localPreflight.body?.cancel();
    for (const method of ["OPTIONS", "POST"]) {
      const foreign = await fetch(server.url, {
        method,
        headers: { ...modernHeaders("ping"), origin: "https://evil.example" },
        ...(method === "POST" ? { body: JSON.stringify(PING) } : {}),
      });
      assert.equal(foreign.status, 403, method);
      assert.deepEqual(corsHeaders(foreign), {}, method);
      assert.equal(
        await foreign.text(),
        `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Forbidden: Origin \\"https://evil.example\\" is not allowed"}}`,
      );
    }
  }
  await using plain = start();
  const options = await fetch(plain.url, {
    method: "OPTIONS",
    headers: { origin: "http://localhost:5173" },
  });
  assert.equal(options.status, 405);
  assert.deepEqual(corsHeaders(options), {});
  assert.equal(options.headers.get("allow"), "GET, POST, DELETE");
  await options.body?.cancel();
});

Deno.test("parseOrigin takes scheme, host and port only", () => {
  assert.equal(parseOrigin("https://app.example.com"), APP);
  assert.equal(parseOrigin("https://App.Example.com/"), APP);
  assert.equal(parseOrigin("https://app.example.com:443"), APP);
  assert.equal(
    parseOrigin("http://localhost:5173"),
    "http://localhost:5173",
  );
  for (
    const text of [
      "app.example.com",
      "https://app.example.com/path",
      "https://app.example.com?x",
      "https://user@app.example.com",
      "file:///tmp",
      "*",
      "null",
    ]
  ) {
    assert.equal(parseOrigin(text), undefined, text);
  }
});

Deno.test("a body that has not all come within the bound is 408; one that has is served", async () => {
  await using server = start({ bodyTimeoutMs: 200 });
  const body = JSON.stringify(PING);
  const head =
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: ping\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  const slow = await raw(server, head + body.slice(0, 10));
  assert.match(slow, /^HTTP\/1.1 408 Request Timeout\r\n/);
  assert.ok(
    slow.endsWith(
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request Timeout: the body did not arrive within 200 ms"}}`,
    ),
    slow,
  );
  assert.match(await raw(server, head + body), /^HTTP\/1.1 200 OK\r\n/);
});

Deno.test("parseArgs reads --token-env, --allow-host, --cors-origin and --sse-hold, and refuses bad ones", () => {
  const parsed = parseArgs([
    "serve",
    "--http",
    "0",
    "--token-env",
    "MCP_TOKEN",
    "--allow-host",
    "MCP.example.com",
    "--allow-host=::1",
    "--cors-origin",
    "https://App.example.com/",
    "--cors-origin=http://localhost:5173",
  ]);
  assert.equal(parsed.tokenEnv, "MCP_TOKEN");
  assert.deepEqual(parsed.allowHosts, ["mcp.example.com", "[::1]"]);
  assert.deepEqual(parsed.corsOrigins, [APP, "http://localhost:5173"]);
  const http = ["serve", "--http", "0"];
  assert.throws(
    () => parseArgs([...http, "--token-env", "s3cret token"]),
    /^Error: The variable name "s3cret token" \(--token-env\) must be letters, digits and "_", not starting with a digit; the token itself goes in that variable, never on the command line$/,
  );
  for (const host of ["mcp.example.com:8443", "http://x", "-x", "a b", ""]) {
    assert.throws(
      () => parseArgs([...http, "--allow-host", host]),
      /^Error: Option --allow-host takes a host name or address without a port/,
      host,
    );
  }
  assert.throws(
    () => parseArgs([...http, "--cors-origin", "https://x.example/app"]),
    /^Error: Option --cors-origin takes an origin \(scheme, host and port: no path\), such as https:\/\/app.example.com, not "https:\/\/x.example\/app"$/,
  );
  assert.throws(
    () => parseArgs(["serve", "--token-env", "T"]),
    /^Error: Option --token-env needs serve --http \(or compile --http\)$/,
  );
  assert.throws(
    () => parseArgs(["list", "--cors-origin", APP]),
    /^Error: Option --cors-origin needs serve --http \(or compile --http\)$/,
  );
  assert.equal(parseArgs([...http, "--sse-hold", "50"]).sseHoldMs, 50_000);
  assert.equal(parseArgs([...http, "--sse-hold=0.25"]).sseHoldMs, 250);
  for (const seconds of ["0", "-1", "0.01", "1e9", "NaN", "forever", ""]) {
    assert.throws(
      () => parseArgs([...http, "--sse-hold", seconds]),
      /^Error: Option --sse-hold takes seconds, from 0.05 to 86400, such as 50 \(below a proxy's idle timeout\)$/,
      seconds,
    );
  }
  assert.throws(
    () => parseArgs(["serve", "--sse-hold", "5"]),
    /^Error: Option --sse-hold needs serve --http \(or compile --http\)$/,
  );
});

Deno.test("serve --http --token-env refuses to start (exit 2) when the variable is unset, empty or unusable", async () => {
  const cases: Array<[Record<string, string>, string]> = [
    [
      {},
      "Cannot read the token: the environment variable MCP_TOKEN (--token-env) is not set; set it to the token clients must send\n",
    ],
    [
      { MCP_TOKEN: "" },
      "Cannot use the token in the environment variable MCP_TOKEN (--token-env): it is empty\n",
    ],
    [
      { MCP_TOKEN: "has a space" },
      "Cannot use the token in the environment variable MCP_TOKEN (--token-env): it must be visible ASCII characters only (no spaces or line breaks), as a header carries it\n",
    ],
  ];
  for (const [env, message] of cases) {
    const { io, out, errors } = fakeIo(
      ["serve", "--http", ":0", "--token-env", "MCP_TOKEN"],
      env,
    );
    assert.equal(await runCli(io), 2);
    assert.equal(out.text, "");
    assert.equal(errors.join(""), message);
  }
});

Deno.test("serve --http --token-env serves with the token from the variable and never logs it", async () => {
  const stop = new AbortController();
  const { promise: url, resolve } = Promise.withResolvers<string>();
  const errors: string[] = [];
  const { io } = fakeIo(
    [
      "serve",
      "--http",
      ":0",
      "--token-env",
      "MCP_TOKEN",
      "--log-level",
      "debug",
      "--allow-host",
      "mcp.example.com",
    ],
    { MCP_TOKEN: TOKEN },
    {
      signal: stop.signal,
      stderr: (text) => {
        errors.push(text);
        const found = / at (http:\/\/\S+\/mcp)/.exec(text);
        if (found) resolve(found[1]!);
      },
    },
  );
  const exited = runCli(io);
  const endpoint = await url;
  const refused = await fetch(endpoint, {
    method: "POST",
    headers: { ...modernHeaders("ping"), authorization: "Bearer nope" },
    body: JSON.stringify(PING),
  });
  assert.equal(refused.status, 401);
  assert.equal(await refused.text(), INVALID);
  const served = await fetch(endpoint, {
    method: "POST",
    headers: withToken(TOKEN),
    body: JSON.stringify(PING),
  });
  assert.equal(served.status, 200);
  await served.body?.cancel();
  stop.abort();
  assert.equal(await exited, 0);
  const log = errors.join("");
  assert.match(log, /\(requests need the bearer token in MCP_TOKEN\)\n/);
  assert.ok(!log.includes(TOKEN), log);
  assert.ok(!log.includes("nope"), log);
});

Deno.test("compile --http: the baked arguments and the permissions serving needs", async () => {
  const { httpBuild } = await import("../src/cli/_compile_http.ts");
  assert.deepEqual(
    httpBuild(parseArgs([
      "compile",
      "--http",
      "[::]:8080",
      "--oauth-issuer",
      "https://auth.example.com/realms/t",
      "--oauth-resource",
      "https://tools.example.com/mcp",
      "--oauth-scope",
      "tools",
      "--oauth-client-id",
      "rs",
      "--oauth-client-secret-env",
      "AS_SECRET",
      "--cors-origin",
      APP,
    ])),
    {
      args: [
        "serve",
        "--http",
        "[::]:8080",
        "--cors-origin",
        APP,
        "--oauth-issuer",
        "https://auth.example.com/realms/t",
        "--oauth-resource",
        "https://tools.example.com/mcp",
        "--oauth-scope",
        "tools",
        "--oauth-client-id",
        "rs",
        "--oauth-client-secret-env",
        "AS_SECRET",
      ],
      permissions: {
        net: ["[::]:8080", "auth.example.com"],
        env: ["TOOLDROP_STATE_KEY", "AS_SECRET"],
      },
    },
  );
  assert.deepEqual(httpBuild(parseArgs(["compile", "--http", ":0"])), {
    args: ["serve", "--http", ":0"],
    permissions: { net: ["127.0.0.1"], env: ["TOOLDROP_STATE_KEY"] },
  });
  assert.match(
    String(httpBuild(parseArgs(["compile", "--http", "nowhere"]))),
    /^--http takes \[host:\]port/,
  );
});
