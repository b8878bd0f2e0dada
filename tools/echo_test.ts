import assert from "node:assert/strict";
import { callTool, toolFile } from "tooldrop";
import definition from "./echo.ts";

// The tool as the server runs it: its file in a worker with only the permissions it declares,
// so a test fails when the tool uses one it did not declare. `deno task test` runs this file.
const tool = toolFile(definition, new URL("./echo.ts", import.meta.url));

Deno.test("echo returns the text unchanged, character for character", async () => {
  const text = 'héllo ✓ 😀 "quoted" \\ \u0000\n line two';
  const result = await callTool(tool, { text });
  assert.deepEqual(result, { content: [{ type: "text", text }] });
});

Deno.test("echo names a missing argument, as the model reads it", async () => {
  // @ts-expect-error: "text" is left out on purpose, as a client might
  const result = await callTool(tool, {});
  assert.deepEqual(result, {
    content: [{
      type: "text",
      text:
        'Invalid arguments for tool "echo": text: required (expected string)',
    }],
    isError: true,
  });
});
