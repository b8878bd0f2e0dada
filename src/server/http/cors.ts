/**
 * @module
 * CORS for `/mcp`, only when configured (`serve --http --cors-origin ORIGIN`): a browser page
 * from one of those origins may call the server and read `Mcp-Session-Id`; any other origin
 * gets no CORS headers at all (and the Origin check's 403 when it is not a local one).
 */

/** The methods a browser may use on `/mcp`. */
export const CORS_METHODS = "POST, GET, DELETE";
/** The request headers an MCP client sends, in both eras. */
export const CORS_HEADERS =
  "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";
/** A header a client mirrors a tool's argument in (`x-mcp-header`): `Mcp-Param-` and a token. */
const PARAM_HEADER = /^mcp-param-[!#$%&'*+.^_`|~0-9a-z-]+$/i;
/** How long a browser may cache a preflight's answer, in seconds. */
const PREFLIGHT_MAX_AGE = "600";

/** The origins CORS is configured for; see the module documentation. */
export class Cors {
  readonly #origins: ReadonlySet<string>;

  /** `origins`: serialized origins, as `parseOrigin` (src/cli/options.ts) returns them. */
  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
  }

  /** The request's `Origin` when it is one CORS is configured for, else undefined. */
  allowed(headers: Headers): string | undefined {
    const origin = headers.get("origin");
    return origin !== null && this.#origins.has(origin) ? origin : undefined;
  }

  /**
   * The answer to a preflight (`OPTIONS`) from `origin`, an allowed one. `requested`: its
   * `Access-Control-Request-Headers`, whose `Mcp-Param-*` headers (a tool's arguments mirrored
   * in headers, whose names change with the tools served) are allowed too.
   */
  preflight(origin: string, requested: string | null = null): Response {
    const params = (requested ?? "").split(",").map((name) => name.trim())
      .filter((name) => PARAM_HEADER.test(name));
    return new Response(null, {
      status: 204,
      headers: {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": CORS_METHODS,
        "access-control-allow-headers": params.length > 0
          ? `${CORS_HEADERS}, ${params.join(", ")}`
          : CORS_HEADERS,
        "access-control-max-age": PREFLIGHT_MAX_AGE,
        vary: "Origin",
      },
    });
  }

  /** Adds the CORS headers for `origin` (when allowed) to `response`, and `Vary: Origin`. */
  decorate(response: Response, origin: string | undefined): Response {
    const headers = response.headers;
    headers.append("vary", "Origin");
    if (origin !== undefined) {
      headers.set("access-control-allow-origin", origin);
      headers.set("access-control-expose-headers", "Mcp-Session-Id");
    }
    return response;
  }
}
