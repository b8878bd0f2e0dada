/**
 * @module
 * Many async sources as one stream of "something happened": what the watchers of several folders
 * or files need, where only the fact of a change matters and a burst while the consumer is busy
 * is one change.
 */

/**
 * Yields once after any of `sources` yields, however many values came while the consumer was
 * busy; ends when every source has ended, or when `signal` aborts. A source that throws ends
 * alone: `onError` is told (without it, the first error is thrown to the consumer).
 */
export async function* coalesce(
  sources: readonly AsyncIterable<unknown>[],
  options: {
    signal?: AbortSignal | undefined;
    onError?: ((error: unknown) => void) | undefined;
  } = {},
): AsyncGenerator<void> {
  let changed = false;
  let running = sources.length;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  for (const source of sources) {
    void (async () => {
      try {
        for await (const _ of source) {
          changed = true;
          wake?.();
        }
      } catch (error) {
        if (options.onError) options.onError(error);
        else failure ??= { error };
      } finally {
        running--;
        wake?.();
      }
    })();
  }
  while (!options.signal?.aborted) {
    if (failure) throw failure.error;
    if (changed) {
      changed = false;
      yield;
      continue;
    }
    if (running === 0) return;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
}
