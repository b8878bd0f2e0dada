/**
 * OAuth resource-server mode (issue 17, item 2): the Protected Resource Metadata, the challenge,
 * and which access tokens pass, against an authorization server played by this test (its
 * metadata and keys on a free loopback port; tokens signed here with jose).
 */

import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { OAuthResource } from "../src/server/http/oauth.ts";
import { toolSet } from "./wire.ts";
import { parseArgs } from "../src/cli/options.ts";
import { call, modern, request } from "./requests.ts";
import { Logger } from "../src/util/log.ts";
import { modernHeaders, post, start } from "./http_client.ts";

const RESOURCE = "https://tools.example.com/mcp";

/** An authorization server: metadata (RFC 8414) and a JWKS with one ES256 key. */
async function issuerServer() {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...await exportJWK(publicKey), kid: "k1", alg: "ES256" };
  let fetches = 0;
  let issuer = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request): Response => {
      fetches++;
      const path = new URL(request.url).pathname;
      if (path === "/.well-known/oauth-authorization-server") {
        return Response.json({ issuer, jwks_uri: `${issuer}/jwks.json` });
      }
      if (path === "/jwks.json") return Response.json({ keys: [jwk] });
      return new Response("not found", { status: 404 });
    },
  );
  issuer = `http://127.0.0.1:${server.addr.port}`;
  const token = (
    claims: Record<string, unknown> = {},
    options: { key?: CryptoKey; expires?: string; audience?: string } = {},
  ) =>
    new SignJWT({ scope: "tools", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(String(claims.iss ?? issuer))
      .setAudience(options.audience ?? RESOURCE)
      .setIssuedAt()
      .setExpirationTime(options.expires ?? "5m")
      .sign(options.key ?? privateKey);
  return {
    issuer,
    token,
    fetches: () => fetches,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

const bearer = (token: string) =>
  new Headers({ authorization: `Bearer ${token}` });

Deno.test("the resource metadata names the resource and its authorization server; the challenge points to it", () => {
  const oauth = new OAuthResource({
    issuer: "https://auth.example.com",
    resource: RESOURCE,
    scopes: ["tools"],
  });
  assert.equal(
    oauth.metadataUrl,
    "https://tools.example.com/.well-known/oauth-protected-resource/mcp",
  );
  assert.deepEqual(oauth.metadata(), {
    resource: RESOURCE,
    authorization_servers: ["https://auth.example.com"],
    bearer_methods_supported: ["header"],
    scopes_supported: ["tools"],
  });
  assert.equal(
    oauth.challenge("missing"),
    `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp"`,
  );
  assert.equal(
    oauth.challenge("invalid"),
    `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token"`,
  );
  assert.equal(
    oauth.challenge("insufficient_scope"),
    `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp", error="insufficient_scope", scope="tools"`,
  );
});

Deno.test("only a token the issuer signed, for this resource, unexpired and with the scopes, passes", async () => {
  await using auth = await issuerServer();
  const oauth = new OAuthResource({
    issuer: auth.issuer,
    resource: RESOURCE,
    scopes: ["tools"],
  });
  const problems: string[] = [];
  const check = async (headers: Headers) =>
    await oauth.check(headers, (why) => problems.push(why));
  assert.equal(await check(bearer(await auth.token())), "ok");
  assert.equal(await check(new Headers()), "missing");
  assert.equal(
    await check(new Headers({ authorization: "Basic dXNlcjpwYXNz" })),
    "missing",
  );
  assert.equal(await check(bearer("not.a.jwt")), "invalid");
  assert.equal(
    await check(
      bearer(await auth.token({}, { audience: "https://other.example/mcp" })),
    ),
    "invalid",
  );
  assert.equal(
    await check(bearer(await auth.token({}, { expires: "-1m" }))),
    "invalid",
  );
  assert.equal(
    await check(bearer(await auth.token({ iss: "https://evil.example" }))),
    "invalid",
  );
  const { privateKey: other } = await generateKeyPair("ES256");
  assert.equal(
    await check(bearer(await auth.token({}, { key: other }))),
    "invalid",
  );
  assert.equal(
    await check(bearer(await auth.token({ scope: "read" }))),
    "insufficient_scope",
  );
  assert.equal(problems.length, 5);
  assert.ok(problems.every((why) => !why.includes("eyJ")), problems.join("\n")); // no token text
  // Metadata and keys were fetched once and reused.
  assert.ok(auth.fetches() <= 3, `${auth.fetches()} fetches`);
});

Deno.test("an issuer that cannot be reached leaves tokens unchecked (503), not bad (401); warned of once", async () => {
  const warnings: string[] = [];
  const oauth = new OAuthResource(
    { issuer: "http://127.0.0.1:1", resource: RESOURCE },
    (message) => warnings.push(message),
  );
  const problems: string[] = [];
  for (let i = 0; i < 3; i++) {
    assert.equal(
      await oauth.check(bearer("a.b.c"), (why) => problems.push(why)),
      "unavailable",
    );
  }
  assert.deepEqual(problems, []);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0]!,
    /^Cannot check access tokens: Cannot find the keys of issuer http:\/\/127\.0\.0\.1:1/,
  );
  assert.doesNotMatch(warnings[0]!, /a\.b\.c/);
});

Deno.test("a JWKS that cannot be fetched (the metadata can) is 503 with Retry-After at the wire", async () => {
  await using auth = await issuerServer();
  // A port nothing listens on: taken, then let go.
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  const warnings: string[] = [];
  await using server = start({
    oauth: {
      issuer: auth.issuer,
      resource: RESOURCE,
      jwksUri: `http://127.0.0.1:${port}/jwks.json`,
    },
    log: new Logger({
      level: "warning",
      write: (line) => void warnings.push(line),
    }),
  });
  const token = await auth.token();
  const response = await fetch(server.url, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify(request(1, "ping")),
  });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "5");
  assert.equal(response.headers.get("www-authenticate"), null);
  assert.equal(
    await response.text(),
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service Unavailable: the access token cannot be checked now (the authorization server's keys or introspection could not be had); try again shortly"}}`,
  );
  assert.match(
    warnings.join(""),
    /Cannot check access tokens: Cannot fetch the keys of issuer http:\/\/127\.0\.0\.1:\d+: /,
  );
  assert.ok(!warnings.join("").includes(token));
});

Deno.test("serve over HTTP with OAuth: the metadata is public, /mcp wants a valid token, a missing scope is 403", async () => {
  await using auth = await issuerServer();
  await using server = start({
    oauth: { issuer: auth.issuer, resource: RESOURCE, scopes: ["tools"] },
  });
  const base = new URL(server.url);
  const metadata = await fetch(
    new URL("/.well-known/oauth-protected-resource/mcp", base),
  );
  assert.equal(metadata.status, 200);
  assert.deepEqual(await metadata.json(), {
    resource: RESOURCE,
    authorization_servers: [auth.issuer],
    bearer_methods_supported: ["header"],
    scopes_supported: ["tools"],
  });
  const request = modern(call(1, "echo", { text: "hi" }));
  const headers = modernHeaders("tools/call", "echo");
  const without = await post(server, request, headers);
  assert.equal(without.status, 401);
  assert.equal(
    without.headers.get("www-authenticate"),
    `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp"`,
  );
  assert.equal(
    await without.text(),
    `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Unauthorized: this server needs an OAuth access token (Authorization: Bearer <token>)"}}`,
  );
  const withToken = (token: string) =>
    post(server, request, { ...headers, authorization: `Bearer ${token}` });
  const ok = await withToken(await auth.token());
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).result.content[0].text, "echo: hi");
  const wrong = await withToken(
    await auth.token({}, { audience: "https://else.example/mcp" }),
  );
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate")!, /error="invalid_token"/);
  await wrong.body?.cancel();
  const narrow = await withToken(await auth.token({ scope: "read" }));
  assert.equal(narrow.status, 403);
  assert.match(
    narrow.headers.get("www-authenticate")!,
    /error="insufficient_scope", scope="tools"/,
  );
  await narrow.body?.cancel();
});

Deno.test("parseArgs: the OAuth options need each other, serve --http, and no --token-env", () => {
  const http = ["serve", "--http", ":0"];
  assert.deepEqual(
    (({ oauthIssuer, oauthResource, oauthScopes }) => ({
      oauthIssuer,
      oauthResource,
      oauthScopes,
    }))(parseArgs([
      ...http,
      "--oauth-issuer",
      "https://auth.example.com",
      "--oauth-resource",
      RESOURCE,
      "--oauth-scope",
      "tools",
    ])),
    {
      oauthIssuer: "https://auth.example.com",
      oauthResource: RESOURCE,
      oauthScopes: ["tools"],
    },
  );
  assert.throws(
    () => parseArgs([...http, "--oauth-issuer", "https://auth.example.com"]),
    /Option --oauth-issuer needs --oauth-resource: this server's public URL of \/mcp/,
  );
  assert.throws(
    () => parseArgs([...http, "--oauth-resource", RESOURCE]),
    /need --oauth-issuer/,
  );
  assert.throws(
    () =>
      parseArgs([
        ...http,
        "--oauth-issuer",
        "ftp://x",
        "--oauth-resource",
        RESOURCE,
      ]),
    /Option --oauth-issuer takes an http\(s\) URL/,
  );
  assert.throws(
    () =>
      parseArgs([
        ...http,
        "--token-env",
        "T",
        "--oauth-issuer",
        "https://a.example",
        "--oauth-resource",
        RESOURCE,
      ]),
    /exclude each other/,
  );
  assert.throws(
    () => parseArgs(["serve", "--oauth-issuer", "https://a.example"]),
    /needs serve --http/,
  );
});

Deno.test("with OAuth, a multi round-trip state is bound to the token's subject: another user's retry is refused, even when it claims the subject in _meta", async () => {
  await using auth = await issuerServer();
  const tools = toolSet({
    ask: defineTool({
      description: "Asks the user's name.",
      run: async (_args, ctx) => {
        const answer = await ctx.elicit({
          message: "Your name?",
          schema: z.object({ name: z.string() }),
        });
        return answer.action === "accept" ? answer.content.name : "no";
      },
    }),
  });
  await using server = start({
    tools,
    oauth: { issuer: auth.issuer, resource: RESOURCE },
  });
  const caps = {
    "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
  };
  const ada = await auth.token({ sub: "ada" });
  const bob = await auth.token({ sub: "bob" });
  const send = async (token: string, body: unknown) =>
    await (await post(server, body, {
      ...modernHeaders("tools/call", "ask"),
      authorization: `Bearer ${token}`,
    })).json();
  const asked = await send(ada, modern(call(1, "ask"), caps));
  assert.equal(asked.result.resultType, "input_required");
  const retry = (id: number, meta: Record<string, unknown> = {}) => {
    const message = modern(call(id, "ask"), { ...caps, ...meta }) as {
      params: Record<string, unknown>;
    };
    message.params.requestState = asked.result.requestState;
    message.params.inputResponses = {
      "elicitation-1": { action: "accept", content: { name: "Ada" } },
    };
    return message;
  };
  const stolen = await send(bob, retry(2));
  assert.equal(stolen.error.code, -32602);
  assert.match(stolen.error.message, /does not match this request/);
  const claimed = await send(
    bob,
    retry(3, { "tooldrop/principal": `${auth.issuer} ada` }),
  );
  assert.equal(claimed.error.code, -32602);
  const own = await send(ada, retry(4));
  assert.deepEqual(own.result.content, [{ type: "text", text: "Ada" }]);
});

Deno.test("shutdown is not held by an issuer whose keys never come: the waiting request is 503", async () => {
  const { publicKey: _unused, privateKey } = await generateKeyPair("ES256");
  const asked = Promise.withResolvers<void>();
  const never = Promise.withResolvers<Response>();
  let issuer = "";
  const auth = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/.well-known/oauth-authorization-server") {
        return Response.json({ issuer, jwks_uri: `${issuer}/jwks.json` });
      }
      asked.resolve();
      return never.promise; // the keys never come
    },
  );
  issuer = `http://127.0.0.1:${auth.addr.port}`;
  try {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(issuer)
      .setAudience(RESOURCE)
      .setExpirationTime("5m")
      .sign(privateKey);
    // The reference: a shutdown with nothing in progress, here and now.
    const idle = start({ oauth: { issuer, resource: RESOURCE } });
    let at = performance.now();
    await idle.shutdown();
    const unit = Math.max(50, performance.now() - at);
    const server = start({ oauth: { issuer, resource: RESOURCE } });
    const waiting = fetch(server.url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify(request(1, "ping")),
    });
    await asked.promise;
    at = performance.now();
    await server.shutdown();
    const took = performance.now() - at;
    const response = await waiting;
    assert.ok(took < unit * 20, `shutdown took ${took.toFixed(0)} ms`);
    assert.equal(response.status, 503);
    await response.body?.cancel();
  } finally {
    never.resolve(new Response("{}"));
    await auth.shutdown();
  }
});
