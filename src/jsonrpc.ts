/**
 * @module
 * JSON-RPC 2.0: parse one line into a request, notification, response or invalid message; the
 * error codes; `JsonRpcError`; and the reply lines, built as strings without extra copies.
 */

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;

/** An integer id beyond 2^53, kept as its source text so it is echoed exactly. */
export interface RawJson {
  readonly rawJSON: string;
}

/** A request id as it came in: strings and safe numbers as they are, huge integers raw. */
export type RequestId = string | number | RawJson;

/** The params object of a request or notification. */
export type Params = Record<string, unknown>;

/** One message, classified. */
export type Message =
  | {
    kind: "request";
    id: RequestId;
    method: string;
    params: Params | undefined;
  }
  | { kind: "notification"; method: string; params: Params | undefined }
  | { kind: "response"; id: RequestId; result: unknown; error: unknown }
  | { kind: "invalid"; id: RequestId | null; error: JsonRpcError };

/** The request was bad: carries the JSON-RPC error code, message and optional data. */
export class JsonRpcError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "JsonRpcError";
    this.code = code;
    this.data = data;
  }
}

/** JSON.parse source text access (ES2025+), which TypeScript's lib does not describe yet. */
interface JsonWithSource {
  parse(
    text: string,
    reviver: (
      this: Record<string, unknown>,
      key: string,
      value: unknown,
      context?: { source?: string },
    ) => unknown,
  ): unknown;
  rawJSON(text: string): RawJson;
  isRawJSON(value: unknown): boolean;
}
const SOURCE_JSON = JSON as unknown as JsonWithSource;

const EXCERPT_CHARS = 30;

/** Shortens text that is echoed into an error to a few characters. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Parses and classifies one line; never throws. */
export function parseMessage(line: string): Message {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return invalid(
      null,
      new JsonRpcError(PARSE_ERROR, "Parse error: line is not valid JSON", {
        line: excerpt(line),
      }),
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const what = Array.isArray(value)
      ? "batches (JSON arrays) are not supported; send one message per line"
      : `expected a JSON object, got ${value === null ? "null" : typeof value}`;
    return invalid(
      null,
      new JsonRpcError(INVALID_REQUEST, `Invalid request: ${what}`),
    );
  }
  const message = value as Record<string, unknown>;
  return classify(
    hasUnsafeInteger(message) ? reparseKeepingRawIntegers(line) : message,
  );
}

function classify(message: Record<string, unknown>): Message {
  const { id, method, params } = message;
  const hasId = id !== undefined;
  const idOk = isRequestId(id);
  const echoId = idOk ? id : null;
  if (message.jsonrpc !== "2.0") {
    return invalidRequest(echoId, `"jsonrpc" must be "2.0"`);
  }
  if (method === undefined) {
    if (idOk && ("result" in message || "error" in message)) {
      return {
        kind: "response",
        id,
        result: message.result,
        error: message.error,
      };
    }
    return invalidRequest(echoId, `missing "method"`);
  }
  if (typeof method !== "string") {
    return invalidRequest(echoId, `"method" must be a string`);
  }
  if (hasId && !idOk) {
    return invalidRequest(null, `"id" must be a string or a number`);
  }
  if (
    params !== undefined &&
    (typeof params !== "object" || params === null || Array.isArray(params))
  ) {
    return invalidRequest(echoId, `"params" must be an object`);
  }
  const p = params as Params | undefined;
  return idOk
    ? { kind: "request", id, method, params: p }
    : { kind: "notification", method, params: p };
}

function invalid(id: RequestId | null, error: JsonRpcError): Message {
  return { kind: "invalid", id, error };
}

function invalidRequest(id: RequestId | null, detail: string): Message {
  return invalid(
    id,
    new JsonRpcError(INVALID_REQUEST, `Invalid request: ${detail}`),
  );
}

/** True for a string, a finite number, or a raw huge integer. */
export function isRequestId(value: unknown): value is RequestId {
  return typeof value === "string" ||
    (typeof value === "number" && Number.isFinite(value)) ||
    isRawJson(value);
}

function isRawJson(value: unknown): value is RawJson {
  return typeof value === "object" && value !== null &&
    SOURCE_JSON.isRawJSON(value);
}

/** A key under which ids compare equal exactly when they are the same id on the wire. */
export function idKey(id: RequestId): string | number | bigint {
  return typeof id === "object" ? BigInt(id.rawJSON) : id;
}

function isUnsafeInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) &&
    !Number.isSafeInteger(value);
}

function hasUnsafeInteger(message: Record<string, unknown>): boolean {
  const params = message.params as Record<string, unknown> | undefined;
  return isUnsafeInteger(message.id) ||
    (typeof params === "object" && params !== null &&
      isUnsafeInteger(params.requestId));
}

/**
 * Re-reads a line whose id (or cancelled `requestId`) is an integer beyond 2^53 and keeps its
 * source text, so the reply echoes it digit for digit. Only such rare lines pay for the reviver.
 */
function reparseKeepingRawIntegers(line: string): Record<string, unknown> {
  const found: Array<[Record<string, unknown>, string, string]> = [];
  const root = SOURCE_JSON.parse(
    line,
    function (key, value, context) {
      if (
        (key === "id" || key === "requestId") && isUnsafeInteger(value) &&
        context?.source
      ) {
        found.push([this, key, context.source]);
      }
      return value;
    },
  ) as Record<string, unknown>;
  for (const [holder, key, source] of found) {
    if (holder === root || holder === root.params) {
      holder[key] = SOURCE_JSON.rawJSON(source);
    }
  }
  return root;
}

/** The JSON text of an id, as it goes back on the wire. */
export function idJson(id: RequestId | null): string {
  return typeof id === "string"
    ? JSON.stringify(id)
    : typeof id === "number"
    ? String(id)
    : id === null
    ? "null"
    : id.rawJSON;
}

/** A success reply line, `result` given as JSON text. */
export function resultLine(id: RequestId, resultJson: string): string {
  return `${resultHead(id)}${resultJson}}`;
}

/** A result reply line up to its result: the result's JSON and `}` complete it. */
export function resultHead(id: RequestId): string {
  return `{"jsonrpc":"2.0","id":${idJson(id)},"result":`;
}

/** An error reply line. */
export function errorLine(id: RequestId | null, error: JsonRpcError): string {
  const body: { code: number; message: string; data?: unknown } = {
    code: error.code,
    message: error.message,
  };
  if (error.data !== undefined) body.data = error.data;
  return `{"jsonrpc":"2.0","id":${idJson(id)},"error":${JSON.stringify(body)}}`;
}

/** A notification line. */
export function notificationLine(method: string, params: unknown): string {
  return `{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":${
    JSON.stringify(params)
  }}`;
}
