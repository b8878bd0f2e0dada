/**
 * @module
 * The server layer: the MCP core that serves a tool set over any pair of byte streams — lines and
 * JSON-RPC, the dispatch table of methods, both protocol eras, subscriptions, the bounded call
 * runner with argument checks and result shaping, and the one writer — plus running a single
 * tool outside a server (`invokeTool`, `callDefinition`). It imports only `util/` and `tool/`:
 * loading tool files is `loading/`, and commands are `cli/`.
 */

export { serve, type ServeOptions } from "./serve.ts";
export type { ByteReader, ByteSource } from "./lines.ts";
export type { ByteSink, ByteWriter, TextSink } from "./writer.ts";
export type { ServerInfo } from "./protocol.ts";
export {
  callDefinition,
  type InvokeOptions,
  invokeTool,
  type Progress,
} from "./invoke.ts";
