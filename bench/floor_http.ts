/**
 * @module
 * The floor for the HTTP benchmark: the least any MCP Streamable HTTP server must do. `Deno.serve`
 * on the port given as its argument; each POST body is parsed with JSON.parse and answered with a
 * reply of the right shape (`tools/call` of echo sends its `text` back as JSON; of progress, with
 * a `progressToken`, sends `count` progress events then the result as SSE, one event per chunk).
 * No validation, no headers checked, no tool dispatch. Run by bench/bench.ts.
 *
 * With `worker` as its second argument it is the floor of a server that isolates its tools: the
 * same, but each echo call's text crosses to a Worker (bench/floor_worker.ts) and its result comes
 * back from it, the calls that arrive in one turn of the event loop in one message each way, as
 * tooldrop sends them. The crossing, on its own, is what this floor adds to the first.
 */

const encoder = new TextEncoder();
const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream" };

function result(id: unknown, text: string): string {
  return JSON.stringify({
    jsonrpc: "2.0",
    id,
    result: { content: [{ type: "text", text }] },
  });
}

/** Progress events, then the result, each enqueued on its own as a server sends them. */
function progressStream(id: unknown, token: unknown, count: number): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 1; i <= count; i++) {
        const note = JSON.stringify({
          jsonrpc: "2.0",
          method: "notifications/progress",
          params: { progressToken: token, progress: i, total: count },
        });
        controller.enqueue(encoder.encode(`event: message\ndata: ${note}\n\n`));
      }
      controller.enqueue(
        encoder.encode(`event: message\ndata: ${result(id, "done")}\n\n`),
      );
      controller.close();
    },
  });
  return new Response(body, { headers: SSE_HEADERS });
}

async function handle(request: Request): Promise<Response> {
  const message = await request.json();
  const params = message.params ?? {};
  if (params.name === "progress" && params._meta?.progressToken !== undefined) {
    return progressStream(
      message.id,
      params._meta.progressToken,
      Number(params.arguments?.count ?? 1),
    );
  }
  const text = params.arguments?.text ?? Deno.cwd();
  if (crossing) {
    return new Response(
      JSON.stringify({
        jsonrpc: "2.0",
        id: message.id,
        result: await crossing.call(text),
      }),
      { headers: JSON_HEADERS },
    );
  }
  return new Response(result(message.id, text), { headers: JSON_HEADERS });
}

/** Echo calls sent to a worker: those of one turn leave in one message at its end. */
class Crossing {
  #worker = new Worker(new URL("./floor_worker.ts", import.meta.url), {
    type: "module",
  });
  #waiting = new Map<number, (result: unknown) => void>();
  #queue: unknown[] = [];
  #nextId = 1;

  constructor() {
    this.#worker.onmessage = (event: MessageEvent<unknown[]>) => {
      const results = event.data;
      for (let i = 0; i + 1 < results.length; i += 2) {
        const id = results[i] as number;
        this.#waiting.get(id)?.(results[i + 1]);
        this.#waiting.delete(id);
      }
    };
  }

  call(text: unknown): Promise<unknown> {
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<unknown>();
    this.#waiting.set(id, resolve);
    if (this.#queue.push(id, text) === 2) {
      setImmediate(() => {
        const calls = this.#queue;
        this.#queue = [];
        this.#worker.postMessage(calls);
      });
    }
    return promise;
  }
}

const port = Number(Deno.args[0] ?? 8000);
const crossing = Deno.args[1] === "worker" ? new Crossing() : undefined;
Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handle);
