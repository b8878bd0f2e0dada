/**
 * End-to-end, legacy era, with the official SDK client (v1) against `deno task start` serving a
 * folder of tools, prompts and resources (issue 16, item 8): prompts, resources, completions,
 * a resource subscription, and a tool's elicitation and sampling answered by the client's own
 * handlers.
 */

import assert from "node:assert/strict";
import {
  Client,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
  StdioClientTransport,
} from "./sdk.ts";
import { serverArgs, tempDir } from "./spawn.ts";

const FILES = {
  "tools/ask.ts": `
    import { z } from "zod";
    import { defineTool } from "tooldrop";
    export default defineTool({
      description: "Asks the user for a name, then the model for a greeting.",
      run: async (_args, ctx) => {
        const answer = await ctx.elicit({
          message: "Your name?",
          schema: z.object({ name: z.string() }),
        });
        if (answer.action !== "accept") return answer.action;
        const reply = await ctx.sample({
          messages: [{ role: "user", content: { type: "text", text: "Greet " + answer.content.name } }],
          maxTokens: 20,
        });
        return reply.content.type === "text" ? reply.content.text : "?";
      },
    });
  `,
  "prompts/greet.ts": `
    import { z } from "zod";
    import { definePrompt } from "tooldrop";
    export default definePrompt({
      description: "Greets someone.",
      args: z.object({ name: z.string().describe("Who") }),
      complete: { name: (v) => ["ada", "alan"].filter((n) => n.startsWith(v)) },
      get: ({ name }) => "Say hi to " + name,
    });
  `,
  "resources/note.ts": `
    import { defineResource } from "tooldrop";
    export default defineResource({
      uriTemplate: "notes://{name}",
      description: "A note.",
      mimeType: "text/plain",
      read: ({ name }) => name === "todo" ? "milk" : undefined,
      subscribe: (_params, ctx) => {
        const timer = setTimeout(() => ctx.changed(), 30);
        ctx.signal.addEventListener("abort", () => clearTimeout(timer));
      },
    });
  `,
  "resources/logo.ts": `
    import { defineResource } from "tooldrop";
    export default defineResource({
      uri: "img://logo",
      description: "Bytes.",
      mimeType: "image/png",
      read: () => new Uint8Array([137, 80, 78, 71]),
    });
  `,
};

Deno.test("the SDK client lists and gets prompts, reads and subscribes to resources, completes, and answers a tool's elicitation and sampling", async () => {
  await using dir = await tempDir(FILES);
  const client = new Client(
    { name: "tooldrop-kinds", version: "1.0.0" },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  client.setRequestHandler(ElicitRequestSchema, () => ({
    action: "accept",
    content: { name: "Ada" },
  }));
  client.setRequestHandler(
    CreateMessageRequestSchema,
    (
      request: { params: { messages: Array<{ content: { text: string } }> } },
    ) => ({
      role: "assistant",
      content: {
        type: "text",
        text: `Hello! (${request.params.messages[0]!.content.text})`,
      },
      model: "test-model",
    }),
  );
  const updated = Promise.withResolvers<string>();
  client.setNotificationHandler(
    ResourceUpdatedNotificationSchema,
    (n: { params: { uri: string } }) => updated.resolve(n.params.uri),
  );
  await client.connect(
    new StdioClientTransport({
      command: Deno.execPath(),
      // Read access to the whole folder, as install grants the prompts and resources folders.
      args: serverArgs(`${dir.path}/tools`).map((arg) =>
        arg.startsWith("--allow-read=") ? `${arg},${dir.path}` : arg
      ),
      env: Deno.env.toObject(),
      stderr: "pipe",
    }),
  );
  try {
    assert.deepEqual(client.getServerCapabilities(), {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      completions: {},
      logging: {},
    });
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts.map((p: { name: string }) => p.name), ["greet"]);
    const got = await client.getPrompt({
      name: "greet",
      arguments: { name: "Ada" },
    });
    assert.deepEqual(got.messages, [{
      role: "user",
      content: { type: "text", text: "Say hi to Ada" },
    }]);
    const completed = await client.complete({
      ref: { type: "ref/prompt", name: "greet" },
      argument: { name: "name", value: "a" },
    });
    assert.deepEqual(completed.completion.values, ["ada", "alan"]);

    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r: { uri: string }) => r.uri), [
      "img://logo",
    ]);
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(
      resourceTemplates.map((t: { uriTemplate: string }) => t.uriTemplate),
      ["notes://{name}"],
    );
    const note = await client.readResource({ uri: "notes://todo" });
    assert.deepEqual(note.contents, [{
      uri: "notes://todo",
      mimeType: "text/plain",
      text: "milk",
    }]);
    const logo = await client.readResource({ uri: "img://logo" });
    assert.deepEqual(logo.contents, [{
      uri: "img://logo",
      mimeType: "image/png",
      blob: "iVBORw==",
    }]);
    await assert.rejects(
      client.readResource({ uri: "notes://nothing" }),
      /Resource not found/,
    );
    await client.subscribeResource({ uri: "notes://todo" });
    assert.equal(await updated.promise, "notes://todo");
    await client.unsubscribeResource({ uri: "notes://todo" });

    const asked = await client.callTool({ name: "ask", arguments: {} });
    assert.deepEqual(asked.content, [{
      type: "text",
      text: "Hello! (Greet Ada)",
    }]);
  } finally {
    await client.close();
  }
});
