/**
 * @module
 * The fields of a 2026-07-28 retry (multi round-trip requests): `requestState` and
 * `inputResponses`, read and checked the same way for every request that may ask the client
 * for input.
 */

import { INVALID_PARAMS, JsonRpcError, type Params } from "./jsonrpc.ts";
import type { RequestScope } from "./era.ts";
import { isPlainObject } from "../util/is.ts";

/** A retry's state and the client's answers. */
export interface Retry {
  readonly state: string;
  readonly responses: Record<string, unknown> | undefined;
}

/**
 * The retry `params` carry, or undefined for a first request. Throws -32602 for a malformed one,
 * and for a state in a legacy request: running the request again would repeat what it did
 * before it asked, and leave the call that asked waiting.
 */
export function readRetry(
  params: Params | undefined,
  scope: RequestScope,
): Retry | undefined {
  const state = params?.requestState;
  if (state === undefined) return undefined;
  if (!scope.modern) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "requestState" is the 2026-07-28 era's; retry with the _meta of the first request (its protocol version)`,
    );
  }
  if (typeof state !== "string") {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "requestState" must be a string`,
    );
  }
  const responses = params?.inputResponses;
  if (responses !== undefined && !isPlainObject(responses)) {
    throw new JsonRpcError(
      INVALID_PARAMS,
      `Invalid params: "inputResponses" must be an object`,
    );
  }
  return { state, responses };
}
