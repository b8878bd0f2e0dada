/**
 * @module
 * Turns whatever a tool's `run` returned into a valid `CallToolResult`, and builds the error
 * results the model sees. A malformed content block becomes a clear error, never a bad reply.
 */

import { describeIssues } from "./arguments.ts";
import type {
  CallToolResult,
  ContentBlock,
  OutputSchema,
} from "../tool/tool.ts";
import { ToolError } from "../tool/tool.ts";
import { isPlainObject } from "../util/is.ts";

const BLOCK_TYPES = new Set([
  "text",
  "image",
  "audio",
  "resource_link",
  "resource",
]);

/** A result with one text block. */
export function textResult(text: string): CallToolResult {
  return { content: [{ type: "text", text }] };
}

/** A failed result: one text block telling the model what went wrong, and `isError: true`. */
export function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/**
 * Normalizes a tool's return value.
 *
 * - a string becomes one text block; `undefined` and `null` an empty result;
 * - a content block or an array of them is the content;
 * - an object with a `content` array is taken as a whole result;
 * - anything else (numbers, plain objects, other arrays) is sent as JSON text.
 *
 * With an `output` schema the value (or a whole result's `structuredContent`) must match it; it
 * is sent as `structuredContent` with its JSON as text for clients that read only text.
 * Throws `ToolError` when a content block is malformed or the output does not match.
 */
export function toCallToolResult(
  value: unknown,
  output?: OutputSchema,
): CallToolResult {
  if (output) return toStructuredResult(value, output);
  if (typeof value === "string") {
    return { content: [{ type: "text", text: value }] };
  }
  if (value === undefined || value === null) return { content: [] };
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every(looksLikeBlock)) {
      return { content: value.map(checkBlock) };
    }
    return textResult(toJsonText(value));
  }
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (looksLikeBlock(record)) return { content: [checkBlock(record)] };
    if (Array.isArray(record.content)) return checkWholeResult(record);
  }
  return textResult(toJsonText(value));
}

function toStructuredResult(
  value: unknown,
  output: OutputSchema,
): CallToolResult {
  const whole = isPlainObject(value) && Array.isArray(value.content)
    ? checkWholeResult(value)
    : undefined;
  if (whole?.isError) return whole;
  const parsed = output.safeParse(whole ? whole.structuredContent : value);
  if (!parsed.success) {
    throw new ToolError(
      `Tool returned a result that does not match its output schema: ${
        describeIssues(parsed.error.issues)
      }`,
    );
  }
  const structuredContent = parsed.data as Record<string, unknown>;
  if (whole) return { ...whole, structuredContent };
  return {
    content: [{ type: "text", text: toJsonText(structuredContent) }],
    structuredContent,
  };
}

function looksLikeBlock(value: unknown): boolean {
  return typeof value === "object" && value !== null &&
    BLOCK_TYPES.has((value as { type?: unknown }).type as string);
}

function checkWholeResult(record: Record<string, unknown>): CallToolResult {
  const content = (record.content as unknown[]).map((block) => {
    if (!looksLikeBlock(block)) {
      throw new ToolError(
        `Tool returned an invalid result: every item of "content" needs a "type" of ${
          [...BLOCK_TYPES].join(", ")
        }`,
      );
    }
    return checkBlock(block);
  });
  const result: CallToolResult = { content };
  const { structuredContent, isError, _meta } = record;
  if (structuredContent !== undefined) {
    if (!isPlainObject(structuredContent)) {
      throw new ToolError(
        `Tool returned an invalid result: "structuredContent" must be an object`,
      );
    }
    result.structuredContent = structuredContent;
  }
  if (isError === true) result.isError = true;
  if (isPlainObject(_meta)) result._meta = _meta;
  return result;
}

/** Checks the fields a block of its type must have; throws `ToolError` naming what is missing. */
function checkBlock(value: unknown): ContentBlock {
  const block = value as Record<string, unknown>;
  const type = block.type as string;
  const need = (fields: string[]) => {
    const missing = fields.filter((field) => typeof block[field] !== "string");
    if (missing.length > 0) {
      throw new ToolError(
        `Tool returned an invalid "${type}" content block: ${
          missing.map((f) => `"${f}"`).join(" and ")
        } must be ${missing.length > 1 ? "strings" : "a string"}`,
      );
    }
  };
  switch (type) {
    case "text":
      need(["text"]);
      break;
    case "image":
    case "audio":
      need(["data", "mimeType"]);
      break;
    case "resource_link":
      need(["uri", "name"]);
      break;
    case "resource": {
      const resource = block.resource as Record<string, unknown> | undefined;
      if (
        !isPlainObject(resource) || typeof resource.uri !== "string" ||
        (typeof resource.text !== "string" && typeof resource.blob !== "string")
      ) {
        throw new ToolError(
          `Tool returned an invalid "resource" content block: "resource" needs a "uri" and a "text" or "blob" string`,
        );
      }
      break;
    }
  }
  return block as unknown as ContentBlock;
}

function toJsonText(value: unknown): string {
  try {
    const text = JSON.stringify(
      value,
      (_key, v) => typeof v === "bigint" ? v.toString() : v,
    );
    if (text !== undefined) return text;
  } catch (error) {
    throw new ToolError(
      `Tool returned a value that cannot be sent as JSON: ${String(error)}`,
    );
  }
  return String(value);
}
