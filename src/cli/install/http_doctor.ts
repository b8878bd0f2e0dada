/**
 * @module
 * `doctor` for an HTTP entry: talks to the registered URL as a client would, with the entry's
 * headers (variables expanded from this environment): `server/discover` of the 2026-07-28 era,
 * then `initialize` and `tools/list` of the legacy one, and what `/healthz` says is wrong; one
 * line per check, and for a failure what it was: refused connection, 401 (and the header it
 * lacked), 403, 404, a reply not MCP.
 * (Over 300 lines: each failure a client can meet has its own line here, and they read best
 * beside the exchange that meets them.)
 */

import { nameList } from "../../util/describe.ts";
import type { ConfigTarget } from "./clients.ts";
import { type HttpEntry, sentHeaders, shownHeader } from "./http_entry.ts";
import { longNamesProblem } from "../../tool/served.ts";

/** Milliseconds the server gets to answer each request (clients wait about 30 s at most). */
const ANSWER_TIMEOUT_MS = 15_000;
const MODERN = "2026-07-28";
const LEGACY = "2025-11-25";
const CLIENT_INFO = { name: "tooldrop-doctor", version: "1" };

type Say = (ok: boolean | "warn", text: string) => void;

/** What one POST got back: the reply, or why there is none. */
type Reply =
  | { status: number; headers: Headers; text: string; ms: number }
  | { problem: string };

/** Checks the server `entry` registers; resolves true when it answers as a client needs. */
export async function checkHttp(
  entry: HttpEntry,
  context: {
    target: ConfigTarget;
    env: (name: string) => string | undefined;
    say: Say;
  },
): Promise<boolean> {
  const { target, say } = context;
  const names = Object.entries(entry.headers);
  if (names.length > 0) {
    say(
      true,
      `it sends ${
        names.map(([name, value]) => shownHeader(name, value)).join(", ")
      }`,
    );
  }
  const sent = sentHeaders(entry.headers, context.env);
  for (const name of sent.unset) {
    say(
      "warn",
      `${name} is not set here, so this check leaves out the header that uses it; ${target.label} expands it from its own environment`,
    );
  }
  const ask = (body: Record<string, unknown>, more: Record<string, string>) =>
    post(entry.url, body, { ...sent.headers, ...more });
  const failed = (reply: Reply, what: string) => {
    say(false, problem(reply, what, entry, sent.headers));
    return false;
  };

  const discover = await ask(
    {
      jsonrpc: "2.0",
      id: 1,
      method: "server/discover",
      params: {
        _meta: {
          "io.modelcontextprotocol/protocolVersion": MODERN,
          "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    },
    { "mcp-protocol-version": MODERN, "mcp-method": "server/discover" },
  );
  if ("problem" in discover) return failed(discover, "server/discover");
  const found = message(discover);
  const code = (found?.error as { code?: unknown } | undefined)?.code;
  if (found?.result) {
    const result = found.result as Record<string, unknown>;
    const info = (result._meta as Record<string, unknown> | undefined)?.[
      "io.modelcontextprotocol/serverInfo"
    ] as { name?: string; version?: string } | undefined;
    const versions = Array.isArray(result.supportedVersions)
      ? result.supportedVersions.join(", ")
      : "?";
    say(
      true,
      `it answers server/discover in ${Math.round(discover.ms)} ms: ${
        info?.name ?? "?"
      } ${info?.version ?? ""}, protocols ${versions}`,
    );
  } else if (code === -32601 || code === -32022) {
    // A server of an earlier era: clients fall back to initialize, as below.
    say(
      "warn",
      "it does not answer server/discover (a server before the 2026-07-28 era); clients fall back to initialize",
    );
  } else {
    return failed(discover, "server/discover");
  }

  const base = { "mcp-protocol-version": LEGACY };
  const init = await ask({
    jsonrpc: "2.0",
    id: 2,
    method: "initialize",
    params: {
      protocolVersion: LEGACY,
      capabilities: {},
      clientInfo: CLIENT_INFO,
    },
  }, {});
  const opened = "problem" in init ? undefined : message(init)?.result as
    | Record<string, unknown>
    | undefined;
  if (!opened || "problem" in init) return failed(init, "initialize");
  const session = init.headers.get("mcp-session-id");
  const inSession = session ? { ...base, "mcp-session-id": session } : base;
  const info = opened.serverInfo as
    | { name?: string; version?: string }
    | undefined;
  say(
    true,
    `it answers initialize in ${Math.round(init.ms)} ms: ${info?.name ?? "?"} ${
      info?.version ?? ""
    }, protocol ${opened.protocolVersion}${session ? ", in a session" : ""}`,
  );
  try {
    await ask(
      { jsonrpc: "2.0", method: "notifications/initialized" },
      inSession,
    );
    const list = await ask(
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} },
      inSession,
    );
    const tools = "problem" in list
      ? undefined
      : (message(list)?.result as { tools?: Array<{ name: string }> })?.tools;
    if (!tools) return failed(list, "tools/list");
    const listed = tools.map((tool) => tool.name);
    say(
      true,
      `it lists ${listed.length} tool(s): ${nameList(listed) || "(none)"}`,
    );
    const long = longNamesProblem(target.name, listed);
    if (long) {
      say(false, long);
      return false;
    }
    // A running tooldrop says at /healthz what it knows is wrong while it serves.
    const health = await healthz(entry.url);
    if (health?.startsWith("ok; ")) {
      say("warn", `its /healthz says: ${health.slice(4)}`);
    }
    return true;
  } finally {
    if (session) await end(entry.url, { ...sent.headers, ...inSession });
  }
}

/** POSTs `body` with the headers a client sends; the whole reply, read within the timeout. */
async function post(
  url: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<Reply> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS);
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      text,
      ms: performance.now() - started,
    };
  } catch (error) {
    return {
      problem: abort.signal.aborted
        ? `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`
        : unreachable(error as Error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The text of `/healthz` beside `url` (its first 500 characters); undefined when none. */
async function healthz(url: string): Promise<string | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS);
  try {
    const response = await fetch(new URL("/healthz", url), {
      signal: abort.signal,
    });
    const text = (await response.text()).slice(0, 500);
    return response.ok ? text : undefined;
  } catch {
    return undefined; // not a tooldrop, or not reachable now: the checks above said so
  } finally {
    clearTimeout(timer);
  }
}

/** Ends the legacy session doctor opened, as a client does when it is done. */
async function end(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method: "DELETE",
      headers,
      signal: abort.signal,
    });
    await response.body?.cancel();
  } catch {
    // The session expires on its own when idle.
  } finally {
    clearTimeout(timer);
  }
}

/** Why fetch found no server, in a few words (its message names the whole URL again). */
function unreachable(error: Error): string {
  const text = `${error.message} ${String(error.cause ?? "")}`;
  if (/refused/i.test(text)) return "connection refused";
  if (/dns|lookup|resolve|not known/i.test(text)) {
    return "its host is not found";
  }
  if (/certificate|tls|ssl/i.test(text)) {
    return "its TLS certificate is refused";
  }
  return error.message.slice(0, 120);
}

/** The JSON-RPC message of a reply: its JSON body, or the last `data:` of its SSE body. */
function message(
  reply: { headers: Headers; text: string },
): Record<string, unknown> | undefined {
  const type = reply.headers.get("content-type") ?? "";
  const texts = /text\/event-stream/i.test(type)
    ? [...reply.text.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]!).reverse()
    : /application\/json/i.test(type)
    ? [reply.text]
    : [];
  for (const text of texts) {
    try {
      const parsed = JSON.parse(text);
      if (
        parsed?.jsonrpc === "2.0" && ("result" in parsed || "error" in parsed)
      ) {
        return parsed;
      }
    } catch {
      // not JSON: the next one, or none
    }
  }
  return undefined;
}

/** The one line that says why `what` failed, and what to do. */
function problem(
  reply: Reply,
  what: string,
  entry: HttpEntry,
  sent: Record<string, string>,
): string {
  if ("problem" in reply) {
    return `it cannot be reached at ${entry.url}: ${reply.problem}; is \`serve --http\` running there?`;
  }
  const { status } = reply;
  const path = new URL(entry.url).pathname;
  if (status === 401) {
    const challenge = reply.headers.get("www-authenticate");
    const given = Object.keys(entry.headers).some((name) =>
      name.toLowerCase() === "authorization"
    );
    const sentAuth = Object.keys(sent).some((name) =>
      name.toLowerCase() === "authorization"
    );
    return `it answered ${what} with 401 Unauthorized${
      challenge ? ` (WWW-Authenticate: ${challenge.slice(0, 60)})` : ""
    }: ${
      sentAuth
        ? "it refused the Authorization header sent (a wrong or expired token)"
        : given
        ? "the Authorization header was left out here, its variable unset"
        : "the entry sends no Authorization header; `install --http … --header 'Authorization: Bearer ${TOKEN}'` adds one"
    }`;
  }
  const error = message(reply)?.error as { message?: unknown } | undefined;
  const said = typeof error?.message === "string"
    ? `: ${error.message.slice(0, 100)}`
    : "";
  if (status === 403) {
    return `it answered ${what} with 403 Forbidden${said}; the server refuses a Host or Origin it does not serve: register the address it is served at`;
  }
  if (status === 404) {
    return `it answered ${what} with 404 Not Found at ${path}: no MCP endpoint there (\`serve --http\` serves /mcp)`;
  }
  if (status < 200 || status > 299) {
    return `it answered ${what} with ${status}${said}`;
  }
  const type = reply.headers.get("content-type") ?? "no content-type";
  return error
    ? `it answered ${what} with an error${said}`
    : `its answer to ${what} is not MCP (${type}: ${
      JSON.stringify(reply.text.slice(0, 40))
    })`;
}
