/**
 * @module
 * What a tool may ask the client besides its roots: the user, through a form or a page
 * (`ctx.elicit`), and the client's model (`ctx.sample`). Shared by every context a tool runs
 * in (the server's thread, a tool worker): each gives a way to send one request to the client
 * and what the client declared; this module builds the request, refuses what the client cannot
 * do, and checks the answer. zod is imported when a form is built: the server's thread, which
 * runs no tool, never loads it.
 */

import { type InputSchema, ToolError } from "./tool.ts";
import { isPlainObject } from "../util/is.ts";

/** The client that called a tool. */
export interface ClientInfo {
  /** Its name, when it gave one. */
  readonly name: string | undefined;
  /** Its version, when it gave one. */
  readonly version: string | undefined;
  /** What it declared it can do (`roots`, `sampling`, `elicitation`, …), as it sent them. */
  readonly capabilities: Readonly<Record<string, unknown>>;
}

/** A form for the user: `schema` a `z.object` of strings, numbers, booleans and string enums. */
export interface ElicitForm<Form extends InputSchema> {
  /** What to ask, shown above the form. */
  message: string;
  /** The form's fields; the answer is checked against it. */
  schema: Form;
}

/** A page for the user to open, for what must not pass through the client (a sign-in, a key). */
export interface ElicitUrl {
  /** Why the page is to be opened. */
  message: string;
  /** The page, `https://` (or `http://localhost`). */
  url: string;
}

/** The user's answer: the form's values on `accept` (none for a page), or no. */
export type ElicitResult<Content> =
  | (Content extends undefined ? { action: "accept" }
    : { action: "accept"; content: Content })
  | { action: "decline" }
  | { action: "cancel" };

/** A piece of a message to or from the client's model. */
export type SamplingContent =
  | { type: "text"; text: string }
  | { type: "image"; data: string; mimeType: string }
  | { type: "audio"; data: string; mimeType: string };

/** One message of a sampling request. */
export interface SamplingMessage {
  /** Who says it. */
  role: "user" | "assistant";
  /** What is said. */
  content: SamplingContent | SamplingContent[];
}

/** What `ctx.sample` asks the client's model (`sampling/createMessage`). */
export interface SampleRequest {
  /** The conversation: a string is one user message. */
  messages: string | SamplingMessage[];
  /** The most tokens the model may answer with. */
  maxTokens: number;
  /** Instructions for the model; the client may change or drop them. */
  systemPrompt?: string;
  /** How random the answer may be, as the model takes it. */
  temperature?: number;
  /** Text at which the model stops. */
  stopSequences?: string[];
  /** Which model the client should prefer; it chooses. */
  modelPreferences?: {
    hints?: Array<{ name?: string }>;
    costPriority?: number;
    speedPriority?: number;
    intelligencePriority?: number;
  };
}

/** The model's answer. */
export interface SampleResult {
  /** Who says it: the model answers as `assistant`. */
  role: "user" | "assistant";
  /** The answer. */
  content: SamplingContent | SamplingContent[];
  /** The model that answered. */
  model: string;
  /** Why it stopped: `endTurn`, `stopSequence`, `maxTokens`, or the client's own reason. */
  stopReason?: string;
}

/** Sends one request to the client; resolves to its result. */
export type AskClient = (
  method: string,
  params: Record<string, unknown>,
) => Promise<unknown>;

/** Form fields a client renders: JSON Schema keywords kept in `requestedSchema`. */
const FIELD_KEYWORDS = new Set([
  "type",
  "title",
  "description",
  "default",
  "minLength",
  "maxLength",
  "format",
  "minimum",
  "maximum",
  "enum",
  "enumNames",
  "oneOf",
  "items",
  "minItems",
  "maxItems",
]);
const PRIMITIVES = new Set(["string", "number", "integer", "boolean"]);

/** `ctx.elicit` for a tool whose client is `client` and whose requests go by `ask`. */
export async function elicit(
  ask: AskClient,
  client: ClientInfo,
  request: ElicitForm<InputSchema> | ElicitUrl,
): Promise<{ action: string; content?: unknown }> {
  if (!isPlainObject(request) || typeof request.message !== "string") {
    throw new TypeError(
      "ctx.elicit takes { message, schema } (a form) or { message, url } (a page)",
    );
  }
  const modes = client.capabilities.elicitation;
  const named = isPlainObject(modes) && ("form" in modes || "url" in modes);
  if ("url" in request) {
    if (!isPlainObject(modes) || !isPlainObject(modes.url)) {
      throw missing(client, "elicitation.url", "open a page");
    }
    const url = parseUrl(request.url);
    const answer = await ask("elicitation/create", {
      mode: "url",
      message: request.message,
      url,
      elicitationId: crypto.randomUUID(),
    });
    return readAction(answer, undefined);
  }
  // An empty `elicitation: {}` (2025-06-18) is forms only.
  if (!isPlainObject(modes) || (named && !isPlainObject(modes.form))) {
    throw missing(client, "elicitation", "show a form");
  }
  const schema = (request as ElicitForm<InputSchema>).schema;
  const answer = await ask("elicitation/create", {
    message: request.message,
    requestedSchema: await formSchema(schema),
  });
  return readAction(answer, schema);
}

/** `ctx.sample` for a tool whose client is `client` and whose requests go by `ask`. */
export async function sample(
  ask: AskClient,
  client: ClientInfo,
  request: SampleRequest,
): Promise<SampleResult> {
  if (!isPlainObject(request)) {
    throw new TypeError("ctx.sample takes { messages, maxTokens, … }");
  }
  if (!isPlainObject(client.capabilities.sampling)) {
    throw missing(client, "sampling", "answer with its model");
  }
  const { messages, maxTokens, ...rest } = request;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new TypeError("ctx.sample: maxTokens must be a positive integer");
  }
  const answer = await ask("sampling/createMessage", {
    ...rest,
    maxTokens,
    messages: typeof messages === "string"
      ? [{ role: "user", content: { type: "text", text: messages } }]
      : messages,
  });
  if (
    !isPlainObject(answer) || typeof answer.model !== "string" ||
    (answer.role !== "assistant" && answer.role !== "user") ||
    !(isPlainObject(answer.content) || Array.isArray(answer.content))
  ) {
    throw new ToolError(
      "The client's sampling/createMessage result is not a message (role, content, model)",
    );
  }
  return answer as unknown as SampleResult;
}

/** The JSON Schema of a form: an object of primitive fields, as elicitation allows. */
export async function formSchema(
  schema: InputSchema,
): Promise<Record<string, unknown>> {
  const { z } = await import("zod");
  if (!(schema instanceof z.ZodObject)) {
    throw new TypeError("ctx.elicit: schema must be a z.object({...})");
  }
  const json = z.toJSONSchema(schema, { io: "input" }) as {
    properties?: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  const properties: Record<string, Record<string, unknown>> = {};
  for (const [name, field] of Object.entries(json.properties ?? {})) {
    // A multi-select: items an enum, or titled choices (anyOf of { const, title }).
    const enumArray = field.type === "array" && isPlainObject(field.items) &&
      (Array.isArray(field.items.enum) || Array.isArray(field.items.anyOf));
    if (!PRIMITIVES.has(field.type as string) && !enumArray) {
      throw new TypeError(
        `ctx.elicit: field "${name}" must be a string, number, boolean or enum (a form holds no nested objects or free lists)`,
      );
    }
    properties[name] = Object.fromEntries(
      Object.entries(field).filter(([key]) => FIELD_KEYWORDS.has(key)),
    );
  }
  return {
    type: "object",
    properties,
    ...(json.required?.length ? { required: json.required } : {}),
  };
}

function readAction(
  answer: unknown,
  schema: InputSchema | undefined,
): { action: string; content?: unknown } {
  const action = isPlainObject(answer) ? answer.action : undefined;
  if (action === "decline" || action === "cancel") return { action };
  if (action !== "accept") {
    throw new ToolError(
      `The client's elicitation answer has no action "accept", "decline" or "cancel"`,
    );
  }
  if (!schema) return { action };
  const checked = schema.safeParse((answer as { content?: unknown }).content);
  if (!checked.success) {
    throw new ToolError(
      `The user's answer does not fit the form: ${
        checked.error.issues.map((issue) =>
          `${issue.path.join(".") || "(form)"}: ${issue.message}`
        ).join("; ")
      }`,
    );
  }
  return { action, content: checked.data };
}

function parseUrl(url: unknown): string {
  try {
    const parsed = new URL(String(url));
    if (
      parsed.protocol === "https:" ||
      (parsed.protocol === "http:" &&
        ["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname))
    ) return parsed.href;
  } catch {
    // refused below
  }
  throw new TypeError(
    `ctx.elicit: url must be an https:// URL (or http://localhost), not ${
      JSON.stringify(String(url)).slice(0, 100)
    }`,
  );
}

function missing(client: ClientInfo, capability: string, what: string) {
  const who = client.name ? `The client "${client.name}"` : "The client";
  return new ToolError(
    `${who} did not declare the "${capability}" capability, so it cannot ${what}; check ctx.client.capabilities and fall back`,
  );
}
