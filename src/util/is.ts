/**
 * @module
 * Type guards for values from outside: a client's JSON, what a tool returned.
 */

/** An object that is neither null nor an array: what a JSON object parses to. */
export function isPlainObject(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A value with a callable `then`: what `await` would adopt. Reads `then` once; a getter that
 * throws throws here, so that the caller can treat it like what `await` would do.
 */
export function isThenable<T = unknown>(
  value: unknown,
): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
