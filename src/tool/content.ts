/**
 * @module
 * The MCP content a tool returns: the five kinds of content block, a whole `tools/call` result,
 * and `ToolReturn`, the union of what `run` may return without an `output` schema.
 */

/** Who a content block is for and how much it matters. */
export interface ContentAnnotations {
  /** Who should see the block. */
  audience?: ReadonlyArray<"user" | "assistant">;
  /** From 0 (optional) to 1 (required). */
  priority?: number;
  /** When the content last changed, as an ISO 8601 date-time. */
  lastModified?: string;
}

/** The fields every content block may carry besides its own. */
export interface ContentBlockBase {
  /** Who the block is for and how much it matters. */
  annotations?: ContentAnnotations;
  /** Extra data for the client, passed through unchanged. */
  _meta?: Record<string, unknown>;
}

/** Text for the model to read. */
export interface TextContent extends ContentBlockBase {
  /** The block's kind. */
  type: "text";
  /** The text. */
  text: string;
}

/** An image, such as a screenshot or a chart. */
export interface ImageContent extends ContentBlockBase {
  /** The block's kind. */
  type: "image";
  /** Base64-encoded image data. */
  data: string;
  /** Its media type, e.g. `image/png`. */
  mimeType: string;
}

/** A sound clip. */
export interface AudioContent extends ContentBlockBase {
  /** The block's kind. */
  type: "audio";
  /** Base64-encoded audio data. */
  data: string;
  /** Its media type, e.g. `audio/wav`. */
  mimeType: string;
}

/** A link to a resource the client may fetch. */
export interface ResourceLink extends ContentBlockBase {
  /** The block's kind. */
  type: "resource_link";
  /** Where the resource is. */
  uri: string;
  /** Its name, e.g. a file name. */
  name: string;
  /** A human-friendly name for client UIs. */
  title?: string;
  /** What it is. */
  description?: string;
  /** Its media type. */
  mimeType?: string;
  /** Its size in bytes. */
  size?: number;
}

/** The contents of a resource: text, or base64-encoded bytes. */
export type ResourceContents =
  | {
    /** Where the resource is. */
    uri: string;
    /** Its media type. */
    mimeType?: string;
    /** Its contents as text. */
    text: string;
    /** Extra data for the client. */
    _meta?: Record<string, unknown>;
  }
  | {
    /** Where the resource is. */
    uri: string;
    /** Its media type. */
    mimeType?: string;
    /** Its contents, base64-encoded. */
    blob: string;
    /** Extra data for the client. */
    _meta?: Record<string, unknown>;
  };

/** A resource sent inline with the result. */
export interface EmbeddedResource extends ContentBlockBase {
  /** The block's kind. */
  type: "resource";
  /** The resource itself. */
  resource: ResourceContents;
}

/** One block of a tool result. */
export type ContentBlock =
  | TextContent
  | ImageContent
  | AudioContent
  | ResourceLink
  | EmbeddedResource;

/** A complete `tools/call` result. */
export interface CallToolResult {
  /** What the model reads. */
  content: readonly ContentBlock[];
  /** The structured result, when the tool declares an `output` schema. */
  structuredContent?: Record<string, unknown>;
  /** True when the call failed; `content` then says why. */
  isError?: boolean;
  /** Extra data for the client. */
  _meta?: Record<string, unknown>;
}

/**
 * What `run` may return without an `output` schema: a string (one text block), a content block,
 * an array of them, or a whole {@link CallToolResult}; a number or boolean is sent as its JSON
 * text, and nothing (`undefined`, `null`) as an empty result. Other objects are type errors: a
 * block or result with a mistake in it would otherwise reach the model as JSON text. For data,
 * declare `output` (or return `JSON.stringify(data)`).
 */
export type ToolReturn =
  | string
  | ContentBlock
  | readonly ContentBlock[]
  | CallToolResult
  | number
  | boolean
  | null
  | undefined
  | void;
