/**
 * @module
 * From a line to what answers it: a request goes to the handler of its method (methods.ts), or
 * waits for the tools; a notification likewise; a response to the session that asked; an
 * over-long or invalid line is answered with its error. Total: nothing a client sends throws.
 */

import type { Connection } from "./connection.ts";
import { readScope } from "./era.ts";
import {
  excerpt,
  idJson,
  JsonRpcError,
  type Message,
  METHOD_NOT_FOUND,
  parseMessage,
} from "./jsonrpc.ts";
import { overlongError, type ServedItem } from "./lines.ts";
import { NOTIFICATIONS, REQUESTS } from "./methods.ts";
import type { Request } from "./tool_gate.ts";

/** Handles one batch of lines, synchronously: kept out of the async read loop. */
export function handleBatch(c: Connection, batch: ServedItem[]): void {
  eachLine(c, batch, false);
}

/**
 * Handles lines that come while the server stops (see `LineReader.lateBatches`): their
 * notifications (cancellations) and responses; a request is too late to serve, and dropped.
 */
export function handleLateBatch(c: Connection, batch: ServedItem[]): void {
  eachLine(c, batch, true);
}

function eachLine(c: Connection, batch: ServedItem[], late: boolean): void {
  for (let i = 0; i < batch.length; i++) {
    try {
      handleLine(c, batch[i]!, late);
    } catch (error) {
      // Each step is meant to be total; should one still throw, the line is lost, not the server.
      c.log.error("Internal error while handling a line (skipped)", error);
    }
  }
}

/** Answers a request by its method's handler (-32601 for an unknown method). */
export function handleRequest(c: Connection, request: Request): void {
  const { id, method, params } = request;
  try {
    const scope = readScope(params, c.session.plainScope);
    const handler = REQUESTS.get(method);
    if (!handler) {
      throw new JsonRpcError(
        METHOD_NOT_FOUND,
        `Method not found: "${excerpt(method)}"`,
      );
    }
    handler(c, id, params, scope);
  } catch (error) {
    c.fail(id, error);
  }
}

/** One line; `late`: the server is stopping, so only notifications and responses count. */
function handleLine(c: Connection, item: ServedItem, late: boolean): void {
  if (typeof item !== "string") {
    if (late) return;
    if ("kind" in item) {
      if (!c.tools.hold(item)) handleRequest(c, item);
      return;
    }
    return c.fail(null, overlongError(item));
  }
  const message = parseMessage(item);
  switch (message.kind) {
    case "request":
      if (!late && !c.tools.hold(message)) handleRequest(c, message);
      return;
    case "notification":
      return handleNotification(c, message);
    case "response":
      if (
        !c.session.handleResponse(message.id, message.result, message.error)
      ) {
        c.log.debug(
          `Ignoring a response to id ${
            idJson(message.id)
          }: no request is waiting`,
        );
      }
      return;
    case "invalid":
      c.log.debug(`${message.error.message}: ${excerpt(item)}`);
      if (!late) c.fail(message.id, message.error);
      return;
  }
}

function handleNotification(
  c: Connection,
  { method, params }: Extract<Message, { kind: "notification" }>,
): void {
  const handler = NOTIFICATIONS.get(method);
  if (handler) handler(c, params);
  else c.log.debug(`Ignoring notification "${excerpt(method)}"`);
}
