/**
 * OAuth resource-server mode with opaque tokens (issue 17, item 2): token introspection (RFC
 * 7662) against an authorization server played by this test — its metadata, an introspection
 * endpoint that checks this server's Basic credentials and answers per token, and a JWKS for
 * the JWTs that still take the keys' path. Asserted at the wire: what the endpoint receives,
 * what a client gets, how many calls the cache saves, and that no token or secret is logged.
 */

import assert from "node:assert/strict";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { OAuthResource } from "../src/server/http/oauth.ts";
import type { IntrospectionOptions } from "../src/server/http/introspect.ts";
import { parseArgs } from "../src/cli/options.ts";
import { runCli } from "../src/cli/mod.ts";
import { fakeIo, memoryLog } from "./wire.ts";
import { call, modern } from "./requests.ts";
import { modernHeaders, start } from "./http_client.ts";

const RESOURCE = "https://tools.example.com/mcp";
const CLIENT_ID = "tool drop";
const SECRET = "s3:cr/et+Secret";
/** RFC 6749, section 2.3.1: each form-urlencoded, then Basic. */
const BASIC = `Basic ${btoa("tool+drop:s3%3Acr%2Fet%2BSecret")}`;
const ECHO = modern(call(1, "echo", { text: "hi" }));
const CHALLENGE =
  `Bearer resource_metadata="https://tools.example.com/.well-known/oauth-protected-resource/mcp"`;
const INVALID =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Unauthorized: the access token is not valid for this server"}}`;
const UNAVAILABLE =
  `{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Service Unavailable: the access token cannot be checked now (the authorization server's keys or introspection could not be had); try again shortly"}}`;

type Answer = Record<string, unknown> | (() => Response | Promise<Response>);

/**
 * An authorization server: metadata (RFC 8414) naming its JWKS and introspection endpoint, and
 * the endpoint, which refuses wrong credentials 401 and answers each token as `answers` says
 * (`active: false` for one it does not know).
 */
async function authServer(
  answers: (issuer: string) => Record<string, Answer>,
  options: { introspection?: boolean } = {},
) {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...await exportJWK(publicKey), kid: "k1", alg: "ES256" };
  const calls: Array<{ token: string; headers: Headers; body: string }> = [];
  let gate: Promise<void> = Promise.resolve();
  let issuer = "";
  let table: Record<string, Answer> = {};
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request): Promise<Response> => {
      const path = new URL(request.url).pathname;
      if (path === "/.well-known/oauth-authorization-server") {
        return Response.json({
          issuer,
          jwks_uri: `${issuer}/jwks.json`,
          ...(options.introspection === false
            ? {}
            : { introspection_endpoint: `${issuer}/introspect` }),
        });
      }
      if (path === "/jwks.json") return Response.json({ keys: [jwk] });
      if (path !== "/introspect" || request.method !== "POST") {
        return new Response("not found", { status: 404 });
      }
      const body = await request.text();
      const token = new URLSearchParams(body).get("token") ?? "";
      calls.push({ token, headers: request.headers, body });
      await gate;
      if (request.headers.get("authorization") !== BASIC) {
        return Response.json({ error: "invalid_client" }, { status: 401 });
      }
      const answer = table[token] ?? { active: false };
      return typeof answer === "function" ? answer() : Response.json(answer);
    },
  );
  issuer = `http://127.0.0.1:${server.addr.port}`;
  table = answers(issuer);
  return {
    issuer,
    calls,
    /** Holds every introspection reply until the returned function is called. */
    hold(): () => void {
      const { promise, resolve } = Promise.withResolvers<void>();
      gate = promise;
      return () => resolve();
    },
    jwt: (claims: Record<string, unknown> = {}) =>
      new SignJWT({ scope: "tools", sub: "jay", ...claims })
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer(issuer)
        .setAudience(RESOURCE)
        .setExpirationTime("5m")
        .sign(privateKey),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** The answers of an authorization server that knows a few tokens. */
function known(issuer: string): Record<string, Answer> {
  const now = Math.floor(Date.now() / 1000);
  const good = {
    active: true,
    iss: issuer,
    aud: RESOURCE,
    exp: now + 300,
    scope: "tools read",
    sub: "ada",
    client_id: "app",
  };
  return {
    "opaque-ada": good,
    "opaque-bare": { active: true, aud: RESOURCE, scope: "tools" },
    "opaque-many": { ...good, aud: ["https://other.example/api", RESOURCE] },
    "opaque-gone": { active: false },
    "opaque-other": { ...good, aud: "https://other.example/mcp" },
    "opaque-noaud": { ...good, aud: undefined },
    "opaque-evil": { ...good, iss: "https://evil.example" },
    "opaque-old": { ...good, exp: now - 10 },
    "opaque-narrow": { ...good, scope: "read" },
    "opaque-string": { ...good, active: "true" },
    "opaque-strexp": { ...good, exp: String(now + 300) },
  };
}

function introspection(
  extra: Partial<IntrospectionOptions> = {},
): IntrospectionOptions {
  return { clientId: CLIENT_ID, clientSecret: SECRET, ...extra };
}

const send = (server: { url: string }, token: string) =>
  fetch(server.url, {
    method: "POST",
    headers: {
      ...modernHeaders("tools/call", "echo"),
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify(ECHO),
  });

Deno.test("an active opaque token is introspected with this server's Basic credentials and served", async () => {
  await using auth = await authServer(known);
  const { log, lines } = memoryLog();
  await using server = start({
    log,
    oauth: {
      issuer: auth.issuer,
      resource: RESOURCE,
      scopes: ["tools"],
      introspection: introspection(),
    },
  });
  const served = await send(server, "opaque-ada");
  assert.equal(served.status, 200);
  assert.equal((await served.json()).result.content[0].text, "echo: hi");
  assert.equal(auth.calls.length, 1);
  const [asked] = auth.calls;
  assert.equal(asked!.body, "token=opaque-ada&token_type_hint=access_token");
  assert.equal(
    asked!.headers.get("content-type"),
    "application/x-www-form-urlencoded",
  );
  assert.equal(asked!.headers.get("authorization"), BASIC);
  assert.equal(asked!.headers.get("accept"), "application/json");
  assert.ok(lines.every((line) => !line.includes(SECRET)), lines.join(""));
});

Deno.test("introspection refuses inactive, foreign, audience-less, expired and string-typed tokens 401, and a narrow one 403", async () => {
  await using auth = await authServer(known);
  const { log, lines } = memoryLog();
  await using server = start({
    log,
    oauth: {
      issuer: auth.issuer,
      resource: RESOURCE,
      scopes: ["tools"],
      introspection: introspection(),
    },
  });
  for (
    const token of [
      "opaque-gone",
      "opaque-unknown",
      "opaque-other",
      "opaque-noaud",
      "opaque-evil",
      "opaque-old",
      "opaque-string",
      "opaque-strexp",
    ]
  ) {
    const refused = await send(server, token);
    assert.equal(refused.status, 401, token);
    assert.equal(
      refused.headers.get("www-authenticate"),
      `${CHALLENGE}, error="invalid_token"`,
      token,
    );
    assert.equal(await refused.text(), INVALID, token);
  }
  const narrow = await send(server, "opaque-narrow");
  assert.equal(narrow.status, 403);
  assert.equal(
    narrow.headers.get("www-authenticate"),
    `${CHALLENGE}, error="insufficient_scope", scope="tools"`,
  );
  await narrow.body?.cancel();
  // An audience list that names this resource is enough; no iss or exp is enough too.
  for (const token of ["opaque-many", "opaque-bare"]) {
    const served = await send(server, token);
    assert.equal(served.status, 200, token);
    await served.body?.cancel();
  }
  // Each token was asked about once; the logs say why, never which token.
  assert.equal(auth.calls.length, 11);
  const text = lines.join("");
  assert.match(text, /introspection: its audience is not https:\/\/tools/);
  assert.match(text, /introspection: its introspection names no audience/);
  assert.match(text, /introspection: it has expired/);
  assert.match(text, /introspection: its exp is not a number/);
  assert.match(
    text,
    /introspection: the authorization server says it is not active/,
  );
  assert.ok(!/opaque-|s3:cr/.test(text), text);
});

Deno.test("introspection answers are cached: one call for many requests, a refusal too, and concurrent first requests share one", async () => {
  await using auth = await authServer(known);
  await using server = start({
    oauth: {
      issuer: auth.issuer,
      resource: RESOURCE,
      introspection: introspection(),
    },
  });
  const count = (token: string) =>
    auth.calls.filter((call) => call.token === token).length;
  for (let i = 0; i < 5; i++) {
    const served = await send(server, "opaque-ada");
    assert.equal(served.status, 200);
    await served.body?.cancel();
  }
  assert.equal(count("opaque-ada"), 1);
  for (let i = 0; i < 5; i++) {
    const refused = await send(server, "opaque-gone");
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
  }
  assert.equal(count("opaque-gone"), 1);
  // Two first checks at once (both past the cache before the endpoint answers): one call.
  const oauth = new OAuthResource({
    issuer: auth.issuer,
    resource: RESOURCE,
    introspection: introspection(),
  });
  const headers = new Headers({ authorization: "Bearer opaque-many" });
  const release = auth.hold();
  const both = Promise.all([oauth.check(headers), oauth.check(headers)]);
  while (count("opaque-many") === 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  release();
  assert.deepEqual(await both, ["ok", "ok"]);
  assert.equal(count("opaque-many"), 1);
});

Deno.test("an introspection endpoint that refuses the client secret makes the server answer 503, with Retry-After, logged without the secret", async () => {
  await using auth = await authServer(known);
  const { log, lines } = memoryLog("warning");
  await using server = start({
    log,
    oauth: {
      issuer: auth.issuer,
      resource: RESOURCE,
      introspection: introspection({ clientSecret: "wrong-secret" }),
    },
  });
  const refused = await send(server, "opaque-ada");
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.equal(refused.headers.get("www-authenticate"), null);
  assert.equal(await refused.text(), UNAVAILABLE);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    / warning Cannot introspect an access token: it refused this server's client credentials \(401\); check the client id and secret; answering 503 for 5 s\n$/,
  );
  // Meanwhile another token is answered 503 at once, not one more call each.
  const next = await send(server, "opaque-many");
  assert.equal(next.status, 503);
  await next.body?.cancel();
  assert.equal(auth.calls.length, 1);
  assert.ok(!lines.join("").includes("wrong-secret"));
  assert.ok(!lines.join("").includes("opaque-"));
});

Deno.test("an introspection endpoint that fails, answers non-JSON or sends a huge reply is 503, and the reply is not read whole", async () => {
  const HUGE = 10 * 1024 * 1024;
  let pulled = 0;
  const failing = (issuer: string): Record<string, Answer> => ({
    ...known(issuer),
    "opaque-500": () => new Response("oops", { status: 500 }),
    "opaque-html": () => new Response("<html>busy</html>"),
    "opaque-list": () => Response.json([{ active: true }]),
    "opaque-huge": () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (pulled >= HUGE) return controller.close();
            const chunk = new Uint8Array(64 * 1024).fill(0x20);
            pulled += chunk.byteLength;
            controller.enqueue(chunk);
          },
        }),
        { headers: { "content-type": "application/json" } },
      ),
    "opaque-declared": () =>
      new Response(new Uint8Array(HUGE).fill(0x20), {
        headers: { "content-type": "application/json" },
      }),
  });
  await using auth = await authServer(failing);
  const cases: Array<[string, RegExp]> = [
    ["opaque-500", /it answered 500;/],
    ["opaque-html", /its reply is not JSON;/],
    ["opaque-list", /its reply is not a JSON object;/],
    ["opaque-huge", /its reply is over 65536 bytes;/],
    ["opaque-declared", /its reply is over 65536 bytes;/],
  ];
  for (const [token, why] of cases) {
    // A server each: after a failure, the next 5 s answer 503 without asking.
    const { log, lines } = memoryLog("warning");
    await using server = start({
      log,
      oauth: {
        issuer: auth.issuer,
        resource: RESOURCE,
        introspection: introspection(),
      },
    });
    const response = await send(server, token);
    assert.equal(response.status, 503, token);
    assert.equal(await response.text(), UNAVAILABLE);
    assert.equal(lines.length, 1, token);
    assert.match(lines[0]!, why);
  }
  // The reader stopped past 64 KiB: what was sent is what socket buffers took, not 10 MB.
  assert.ok(pulled < HUGE, `${pulled} bytes pulled`);
});

Deno.test("a JWT still takes the JWKS path unless --oauth-introspect names the endpoint; then every token is introspected", async () => {
  const jwts: Record<string, Answer> = {};
  await using auth = await authServer(() => jwts);
  const jwt = await auth.jwt();
  const discovered = new OAuthResource({
    issuer: auth.issuer,
    resource: RESOURCE,
    introspection: introspection(),
  });
  const principals: string[] = [];
  const headers = new Headers({ authorization: `Bearer ${jwt}` });
  assert.equal(
    await discovered.check(headers, undefined, (who) => principals.push(who)),
    "ok",
  );
  assert.equal(auth.calls.length, 0);
  // Named explicitly, the endpoint is the authority: the same JWT, now revoked there, is refused.
  jwts[jwt] = { active: false };
  const explicit = new OAuthResource({
    issuer: auth.issuer,
    resource: RESOURCE,
    introspection: introspection({ endpoint: `${auth.issuer}/introspect` }),
  });
  assert.equal(await explicit.check(headers), "invalid");
  assert.equal(auth.calls.length, 1);
  assert.equal(auth.calls[0]!.token, jwt);
  // The principal is issuer and subject on both paths.
  jwts["opaque-jay"] = { active: true, aud: RESOURCE, sub: "jay" };
  assert.equal(
    await explicit.check(
      new Headers({ authorization: "Bearer opaque-jay" }),
      undefined,
      (who) => principals.push(who),
    ),
    "ok",
  );
  assert.deepEqual(principals, [`${auth.issuer} jay`, `${auth.issuer} jay`]);
});

Deno.test("without client credentials an opaque token is invalid as before; with them but no introspection_endpoint, 503 and a warning that says what to give", async () => {
  await using auth = await authServer(known, { introspection: false });
  const plain = new OAuthResource({ issuer: auth.issuer, resource: RESOURCE });
  const bearer = new Headers({ authorization: "Bearer opaque-ada" });
  assert.equal(await plain.check(bearer), "invalid");
  const warnings: string[] = [];
  const missing = new OAuthResource(
    { issuer: auth.issuer, resource: RESOURCE, introspection: introspection() },
    (message) => warnings.push(message),
  );
  assert.equal(await missing.check(bearer), "unavailable");
  assert.deepEqual(warnings, [
    `Cannot introspect an access token: the metadata of issuer ${auth.issuer} names no introspection_endpoint; give it with --oauth-introspect; answering 503 for 5 s`,
  ]);
  assert.equal(auth.calls.length, 0);
});

Deno.test("parseArgs: the introspection options need each other and --oauth-issuer; the secret only by variable", () => {
  const oauth = [
    "serve",
    "--http",
    ":0",
    "--oauth-issuer",
    "https://auth.example.com",
    "--oauth-resource",
    RESOURCE,
  ];
  const parsed = parseArgs([
    ...oauth,
    "--oauth-client-id",
    "tooldrop",
    "--oauth-client-secret-env",
    "AS_SECRET",
    "--oauth-introspect",
    "https://auth.example.com/introspect",
  ]);
  assert.equal(parsed.oauthClientId, "tooldrop");
  assert.equal(parsed.oauthClientSecretEnv, "AS_SECRET");
  assert.equal(parsed.oauthIntrospect, "https://auth.example.com/introspect");
  assert.throws(
    () => parseArgs([...oauth, "--oauth-client-id", "tooldrop"]),
    /^Error: Token introspection needs both --oauth-client-id ID and --oauth-client-secret-env NAME/,
  );
  assert.throws(
    () => parseArgs([...oauth, "--oauth-client-secret-env", "AS_SECRET"]),
    /^Error: Token introspection needs both/,
  );
  assert.throws(
    () =>
      parseArgs([
        ...oauth,
        "--oauth-introspect",
        "https://auth.example.com/introspect",
      ]),
    /^Error: Token introspection needs both/,
  );
  assert.throws(
    () =>
      parseArgs([
        "serve",
        "--http",
        ":0",
        "--oauth-client-id",
        "x",
        "--oauth-client-secret-env",
        "S",
      ]),
    /^Error: Option --oauth-client-id needs --oauth-issuer/,
  );
  assert.throws(
    () => parseArgs([...oauth, "--oauth-client-secret-env", "s3cret value!"]),
    /^Error: The variable name "s3cret value!" \(--oauth-client-secret-env\) must be letters, digits and "_", not starting with a digit; the secret itself goes in that variable, never on the command line$/,
  );
  assert.throws(
    () => parseArgs([...oauth, "--oauth-introspect", "ftp://x/introspect"]),
    /^Error: Option --oauth-introspect takes an http\(s\) URL/,
  );
  assert.throws(
    () => parseArgs(["serve", "--oauth-client-id", "x"]),
    /^Error: Option --oauth-client-id needs serve --http \(or compile --http\)$/,
  );
});

/** `serve --http` with introspection by `clientId`, the secret in AS_SECRET. */
const cli = (issuer = "https://auth.example.com", clientId = "tooldrop") => [
  "serve",
  "--http",
  ":0",
  "--oauth-issuer",
  issuer,
  "--oauth-resource",
  RESOURCE,
  "--oauth-client-id",
  clientId,
  "--oauth-client-secret-env",
  "AS_SECRET",
];

Deno.test("serve --http refuses to start (exit 2) when the client secret's variable is unset, empty or padded", async () => {
  const cases: Array<[Record<string, string>, string]> = [
    [
      {},
      "Cannot read the OAuth client secret: the environment variable AS_SECRET (--oauth-client-secret-env) is not set; set it to this server's client secret at the authorization server\n",
    ],
    [
      { AS_SECRET: "" },
      "Cannot use the OAuth client secret in the environment variable AS_SECRET (--oauth-client-secret-env): it is empty\n",
    ],
    [
      { AS_SECRET: "padded-secret\n" },
      "Cannot use the OAuth client secret in the environment variable AS_SECRET (--oauth-client-secret-env): it is padded with white space\n",
    ],
  ];
  for (const [env, message] of cases) {
    const { io, out, errors } = fakeIo(cli(), env);
    assert.equal(await runCli(io), 2);
    assert.equal(out.text, "");
    assert.equal(errors.join(""), message);
  }
});

Deno.test("serve --http with introspection serves an opaque token with the secret from the variable, and logs neither", async () => {
  await using auth = await authServer(known);
  const stop = new AbortController();
  const { promise: url, resolve } = Promise.withResolvers<string>();
  const errors: string[] = [];
  const args = [...cli(auth.issuer, CLIENT_ID), "--log-level", "debug"];
  const { io } = fakeIo(args, { AS_SECRET: SECRET }, {
    signal: stop.signal,
    stderr: (text) => {
      errors.push(text);
      const found = / at (http:\/\/\S+\/mcp)/.exec(text);
      if (found) resolve(found[1]!);
    },
  });
  const exited = runCli(io);
  const endpoint = { url: await url };
  const served = await send(endpoint, "opaque-ada");
  assert.equal(served.status, 200);
  await served.body?.cancel();
  const refused = await send(endpoint, "opaque-gone");
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
  stop.abort();
  assert.equal(await exited, 0);
  assert.equal(auth.calls[0]!.headers.get("authorization"), BASIC);
  const log = errors.join("");
  assert.match(
    log,
    new RegExp(
      `\\(requests need an access token of ${auth.issuer}; opaque ones introspected\\)\\n`,
    ),
  );
  assert.ok(!log.includes(SECRET), log);
  assert.ok(!log.includes("opaque-"), log);
});
