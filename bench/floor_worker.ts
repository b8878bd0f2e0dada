/**
 * @module
 * The worker of the "floor+worker" server (bench/floor_http.ts with `worker`): takes a batch of
 * echo calls as `[id, text, id, text, …]` and answers them in one message as `[id, result, …]`.
 * No validation, no tool module: only the thread crossing an isolated server cannot avoid.
 */

/** The worker's global scope, as far as this module uses it. */
interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<unknown[]>) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const calls = event.data;
  const results: unknown[] = [];
  for (let i = 0; i + 1 < calls.length; i += 2) {
    results.push(calls[i], { content: [{ type: "text", text: calls[i + 1] }] });
  }
  scope.postMessage(results);
};
