/**
 * @module
 * The floor for the HTTP benchmark: the least any MCP Streamable HTTP server must do. `Deno.serve`
 * on the port given as its argument; each POST body is parsed with JSON.parse and answered with a
 * reply of the right shape (`tools/call` of echo sends its `text` back as JSON; of progress, with
 * a `progressToken`, sends `count` progress events then the result as SSE, one event per chunk).
 * No validation, no headers checked, no tool dispatch. Run by bench/bench.ts.
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
  return new Response(
    result(message.id, params.arguments?.text ?? Deno.cwd()),
    { headers: JSON_HEADERS },
  );
}

const port = Number(Deno.args[0] ?? 8000);
Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handle);
