/**
 * @module
 * What the conformance runner's two ways of starting a server (the bridge, and `serve --http`)
 * share: a free port, whether a URL answers, and copying a process's output to its log.
 */

/** A port no one listens on now (the OS picks it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Whether `url` answers 2xx within a second. */
export async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Appends everything `stream` carries to `file`. */
export async function appendAll(
  stream: ReadableStream<Uint8Array>,
  file: Deno.FsFile,
): Promise<void> {
  for await (let chunk of stream) {
    while (chunk.length > 0) chunk = chunk.subarray(await file.write(chunk));
  }
}
