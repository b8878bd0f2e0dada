import assert from "node:assert/strict";
import { z } from "zod";
import { defineTool } from "tooldrop";
import { call, jsonLines, listTools } from "./requests.ts";
import { exchange, toolSet } from "./wire.ts";
import { FIXTURE_TOOLS, ROOT } from "./spawn.ts";

const failure = (id: number, text: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    result: { content: [{ type: "text", text }], isError: true },
  });
const success = (id: number, text: string) =>
  JSON.stringify({
    jsonrpc: "2.0",
    id,
    result: { content: [{ type: "text", text }] },
  });

Deno.test("a tool without input refuses an unknown key, naming it, as its listed additionalProperties: false says", async () => {
  const tools = toolSet({
    now: defineTool({ description: "No arguments.", run: () => "t" }),
  });
  const out = await exchange(
    jsonLines(
      listTools(1),
      call(2, "now", {}),
      call(3, "now"),
      call(4, "now", { x: 1 }),
      call(5, "now", { random_string: "", b: null }),
    ),
    { tools },
  );
  assert.deepEqual(JSON.parse(out[0]!).result.tools[0].inputSchema, {
    type: "object",
    properties: {},
    additionalProperties: false,
  });
  assert.deepEqual(out.slice(1), [
    success(2, "t"),
    success(3, "t"),
    failure(
      4,
      'Invalid arguments for tool "now": unexpected field "x"; it takes no arguments: send {}',
    ),
    failure(
      5,
      'Invalid arguments for tool "now": unexpected fields "random_string", "b"; it takes no arguments: send {}',
    ),
  ]);
});

Deno.test("for every kind of input object, an unknown key is refused exactly when the listing says additionalProperties: false", async () => {
  const seen = defineTool({
    description: "Returns the keys it got.",
    input: z.object({ a: z.string() }),
    run: (args) => Object.keys(args).join(","),
  });
  const tools = toolSet({
    none: defineTool({ description: "None.", run: () => "none" }),
    strip: seen,
    strict: { ...seen, input: z.strictObject({ a: z.string() }) },
    loose: { ...seen, input: z.looseObject({ a: z.string() }) },
    nested: defineTool({
      description: "Nested.",
      input: z.object({ inner: z.strictObject({ b: z.number() }) }),
      run: () => "nested",
    }),
  });
  const names = ["none", "strip", "strict", "loose"];
  const out = await exchange(
    jsonLines(
      listTools(1),
      ...names.map((name, i) =>
        call(2 + i, name, name === "none" ? { x: 1 } : { a: "v", x: 1 })
      ),
      call(9, "nested", { inner: { b: 1, c: 2 } }),
    ),
    { tools },
  );
  const listed = new Map<string, Record<string, unknown>>(
    JSON.parse(out[0]!).result.tools.map((
      tool: { name: string; inputSchema: Record<string, unknown> },
    ) => [tool.name, tool.inputSchema]),
  );
  assert.deepEqual(
    names.map((name) => listed.get(name)!.additionalProperties),
    [false, undefined, false, {}],
  );
  assert.deepEqual(out.slice(1), [
    failure(
      2,
      'Invalid arguments for tool "none": unexpected field "x"; it takes no arguments: send {}',
    ),
    success(3, "a"), // z.object drops the key: listed without additionalProperties
    failure(4, 'Invalid arguments for tool "strict": unexpected field "x"'),
    success(5, "a,x"), // z.looseObject passes it on: additionalProperties: {}
    failure(
      9,
      'Invalid arguments for tool "nested": unexpected field "c" in inner',
    ),
  ]);
  assert.equal(
    (listed.get("nested")!.properties as Record<
      string,
      { additionalProperties?: unknown }
    >)
      .inner!.additionalProperties,
    false,
  );
});

Deno.test("an invalid-arguments message is bounded: 5 unknown keys named, 30 characters of each, 10 problems", async () => {
  const tools = toolSet({
    none: defineTool({ description: "None.", run: () => "none" }),
    list: defineTool({
      description: "A list of numbers.",
      input: z.object({ n: z.array(z.number()) }),
      run: () => "list",
    }),
  });
  const keys = Object.fromEntries(
    Array.from({ length: 1000 }, (_, i) => [`${"k".repeat(1000)}${i}`, i]),
  );
  const out = await exchange(
    jsonLines(
      call(1, "none", keys),
      call(2, "list", { n: Array.from({ length: 10_000 }, () => "x") }),
    ),
    { tools },
  );
  const k30 = `"${"k".repeat(30)}…"`;
  assert.deepEqual(out, [
    failure(
      1,
      `Invalid arguments for tool "none": unexpected fields ${
        Array(5).fill(k30).join(", ")
      } and 995 more; it takes no arguments: send {}`,
    ),
    failure(
      2,
      `Invalid arguments for tool "list": ${
        Array.from(
          { length: 10 },
          (_, i) => `n[${i}]: expected number, received string`,
        ).join("; ")
      }; and 9990 more`,
    ),
  ]);
});

Deno.test("call refuses an unknown key for a folder tool without input (get_cwd), in its worker", async () => {
  const run = (args: string) =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        `${ROOT}/main.ts`,
        "call",
        "get_cwd",
        args,
        "--tools",
        FIXTURE_TOOLS,
      ],
      cwd: ROOT,
      stdin: "null",
    }).output();
  const [refused, accepted] = await Promise.all([run('{"x":1}'), run("{}")]);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  assert.deepEqual(
    [refused.code, decode(refused.stdout), decode(refused.stderr)],
    [
      1,
      "",
      'Invalid arguments for tool "get_cwd": unexpected field "x"; it takes no arguments: send {}\n',
    ],
  );
  assert.deepEqual([accepted.code, decode(accepted.stdout)], [0, `${ROOT}\n`]);
});
