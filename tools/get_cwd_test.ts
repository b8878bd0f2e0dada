import assert from "node:assert/strict";
import { callTool, toolFile } from "tooldrop";
import definition from "./get_cwd.ts";

// The tool as the server runs it: its file in a worker with only the permissions it declares,
// so a test fails when the tool uses one it did not declare. `deno task test` runs this file.
const tool = toolFile(definition, new URL("./get_cwd.ts", import.meta.url));

Deno.test("get_cwd answers with the working directory, where relative paths resolve", async () => {
  const result = await callTool(tool, {});
  assert.deepEqual(result, { content: [{ type: "text", text: Deno.cwd() }] });
});
