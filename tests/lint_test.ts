import assert from "node:assert/strict";
import { z } from "zod";
import { checkModules } from "../src/loading/discover.ts";
import { defineTool } from "tooldrop";

const tool = (definition: object) => ({ default: definition });

Deno.test("a tool name that overflows mcp__<server>__<name> past 64 characters stops the server", () => {
  const name = "a".repeat(50); // mcp__tooldrop__ is 15 characters: 65 in all
  const { tools, errors } = checkModules([[
    "long.ts",
    tool({ name, description: "d", run: () => "" }),
  ]]);
  assert.deepEqual(tools, []);
  assert.equal(
    errors[0],
    `Cannot load tool "tools/long.ts": Claude Code calls it "mcp__tooldrop__${name}", 65 characters, over the API's limit of 64; shorten the tool's name to at most 49 characters (or the server's)`,
  );
  const shorter = checkModules([[
    "long.ts",
    tool({ name, description: "d", run: () => "" }),
  ]], {
    serverName: "td",
  });
  assert.deepEqual(shorter.errors, []);
});

Deno.test("a description over 2 KB is a warning, not an error", () => {
  const { tools, warnings } = checkModules([[
    "big.ts",
    tool({ description: "x".repeat(2100), run: () => "" }),
  ]]);
  assert.equal(tools.length, 1);
  assert.deepEqual(warnings, [
    `In tool "tools/big.ts": the description is 2100 bytes; Claude Code cuts it at 2048, so keep what matters first or shorten it`,
  ]);
});

Deno.test("the 2 KB limit counts UTF-8 bytes, not characters", () => {
  const lint = (description: string) =>
    checkModules([["wide.ts", tool({ description, run: () => "" })]]).warnings;
  // 700 two-byte characters: 1,400 bytes, under the limit though 3 × 700 is over it.
  assert.deepEqual(lint("é".repeat(700)), []);
  assert.deepEqual(lint("é".repeat(1100)), [
    `In tool "tools/wide.ts": the description is 2200 bytes; Claude Code cuts it at 2048, so keep what matters first or shorten it`,
  ]);
  // 512 four-byte characters (1,024 UTF-16 units): 2,048 bytes, at the limit.
  assert.deepEqual(lint("😀".repeat(512)), []);
  assert.equal(lint("😀".repeat(513)).length, 1);
});

Deno.test('a "$ref" that is only text, in a description, is no reference', () => {
  const { warnings, errors } = checkModules([[
    "text.ts",
    tool(defineTool({
      description: 'Mentions "$ref" and {"$ref": "#/x"} in its text',
      input: z.object({ a: z.string().describe('a "$ref"') }),
      run: () => "",
    })),
  ]]);
  assert.deepEqual({ warnings, errors }, { warnings: [], errors: [] });
});

Deno.test("arguments without a description are a warning naming them", () => {
  const { warnings } = checkModules([[
    "bare.ts",
    tool(defineTool({
      description: "d",
      input: z.object({
        a: z.string(),
        b: z.number(),
        c: z.string().describe("C"),
      }),
      run: () => "",
    })),
  ]]);
  assert.deepEqual(warnings, [
    `In tool "tools/bare.ts": "a", "b" have no description; add .describe("…") so the model knows what to pass`,
  ]);
});

Deno.test("a $ref that points nowhere stops the server; a resolvable one is a warning", () => {
  const dangling = z.object({ a: z.string().describe("A") }).meta({
    properties: { b: { $ref: "#/$defs/missing" } },
  });
  const broken = checkModules([[
    "ref.ts",
    tool({ description: "d", input: dangling, run: () => "" }),
  ]]);
  assert.match(
    broken.errors[0]!,
    /Cannot load tool "tools\/ref.ts": its inputSchema has a "\$ref" that points nowhere \("#\/\$defs\/missing"\)/,
  );

  interface Node {
    name: string;
    children: Node[];
  }
  const node: z.ZodType<Node> = z.object({
    name: z.string(),
    get children() {
      return z.array(node);
    },
  });
  const recursive = z.object({ tree: node.describe("A tree") });
  const fine = checkModules([[
    "tree.ts",
    tool({ description: "d", input: recursive, run: () => "" }),
  ]]);
  assert.deepEqual(fine.errors, []);
  assert.match(
    fine.warnings.join("\n"),
    /its inputSchema uses "\$ref", which some clients cannot resolve/,
  );
});

Deno.test("two tools with the same name are an error naming both files", () => {
  const { tools, errors } = checkModules([
    ["a.ts", tool({ name: "same", description: "d", run: () => "" })],
    ["b.ts", tool({ name: "same", description: "d", run: () => "" })],
  ]);
  assert.equal(tools.length, 1);
  assert.deepEqual(errors, [
    `Cannot load tool "tools/b.ts": the name "same" is already used by "tools/a.ts"; rename one of them or set "name"`,
  ]);
});
