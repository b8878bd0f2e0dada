/**
 * @module
 * JSON-RPC 2.0: parse one line into a request, notification, response or invalid message; the
 * error codes; `JsonRpcError`; and the reply lines, built as strings without extra copies.
 */

import { isPlainObject } from "../util/is.ts";

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
  if (!isPlainObject(value)) {
    const what = Array.isArray(value)
      ? "batches (JSON arrays) are not supported; send each message on its own (a line on stdio, a POST over HTTP)"
      : `expected a JSON object, got ${value === null ? "null" : typeof value}`;
    return invalid(
      null,
      new JsonRpcError(INVALID_REQUEST, `Invalid request: ${what}`),
    );
  }
  const message = value as Record<string, unknown>;
  return classify(
    hasUnsafeInteger(message) ? keepRawIntegers(line, message) : message,
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
    !isPlainObject(params)
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

/** A key under which ids compare equal exactly when they are the same number or string. */
export function idKey(id: RequestId): string | number | bigint {
  if (typeof id !== "object") return id;
  try {
    return BigInt(id.rawJSON); // "9007199254740993"
  } catch {
    return BigInt(Number(id.rawJSON)); // "1e20": an integer, written with an exponent
  }
}

function isUnsafeInteger(value: unknown): boolean {
  return typeof value === "number" && Number.isInteger(value) &&
    !Number.isSafeInteger(value);
}

/** Where a number's source text matters: the id, a cancelled request's id, a progress token. */
const RAW_PATHS = ["id", "params.requestId", "params._meta.progressToken"];

function hasUnsafeInteger(message: Record<string, unknown>): boolean {
  const params = message.params as Record<string, unknown> | undefined;
  if (isUnsafeInteger(message.id)) return true;
  if (typeof params !== "object" || params === null) return false;
  const meta = params._meta as Record<string, unknown> | undefined;
  return isUnsafeInteger(params.requestId) ||
    (typeof meta === "object" && meta !== null &&
      isUnsafeInteger(meta.progressToken));
}

/**
 * Puts back the source text of an id, a cancelled `requestId` or a `progressToken` that is an
 * integer beyond 2^53, so the reply echoes it digit for digit. Only such rare lines pay for it.
 */
function keepRawIntegers(
  line: string,
  message: Record<string, unknown>,
): Record<string, unknown> {
  for (const [path, source] of numberSources(line)) {
    const keys = path.split(".");
    const last = keys.pop()!;
    let holder: unknown = message;
    for (const key of keys) holder = (holder as Record<string, unknown>)[key];
    const target = holder as Record<string, unknown>;
    if (isUnsafeInteger(target[last])) {
      target[last] = SOURCE_JSON.rawJSON(source);
    }
  }
  return message;
}

/**
 * The source text of the numbers at {@link RAW_PATHS} in a line that is valid JSON. A scan, not a
 * reviver: it does not recurse, so a line nested thousands deep costs no stack (a reviver overflows).
 */
function numberSources(line: string): Map<string, string> {
  const found = new Map<string, string>();
  /** The key being read or last read in each open object; null for an array. */
  const keys: Array<string | null> = [];
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 0x7b /* { */) {
      keys.push("");
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      keys.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) keys.pop();
    else if (c === 0x2c /* , */) expectKey = keys.at(-1) !== null;
    else if (c === 0x22 /* " */) {
      let end = i + 1;
      while (line.charCodeAt(end) !== 0x22) {
        end += line.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      }
      if (expectKey) {
        const raw = line.slice(i + 1, end);
        keys[keys.length - 1] = raw.includes("\\")
          ? JSON.parse(line.slice(i, end + 1))
          : raw;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < line.length && /[0-9eE.+-]/.test(line[end]!)) end++;
      if (keys.length <= 3) {
        const path = keys.join(".");
        if (RAW_PATHS.includes(path)) found.set(path, line.slice(i, end));
      }
      i = end - 1;
    }
  }
  return found;
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

/** `params[key]` when it is a string; throws -32602 saying it must be one. */
export function stringParam(params: Params | undefined, key: string): string {
  const value = params?.[key];
  if (typeof value !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "${key}" must be a string`,
    );
  }
  return value;
}
