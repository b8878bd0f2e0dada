/**
 * @module
 * `new <name>`: writes a tool file and its test into the tools folder, from templates that
 * pass their own test, and renews the manifest.
 */

import type { Io } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { MANIFEST_FILE, writeManifest } from "../loading/manifest.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import {
  MAX_QUALIFIED_NAME,
  qualifiedName,
  qualifiedNameFits,
  TOOL_NAME_PATTERN,
} from "../tool/served.ts";
import { pathTaken } from "../util/fs.ts";

/** The width `deno fmt` keeps code lines within. */
const MAX_LINE = 80;

/** `new <name>`: writes tools/<name>.ts and tools/<name>_test.ts, and renews the manifest. */
export async function runNew(io: Io, options: CliOptions): Promise<number> {
  const [name, extra] = options.positionals;
  if (name === undefined || extra !== undefined) {
    io.stderr("Usage: tooldrop new <name>   (letters, digits, _ and -)\n");
    return USAGE_ERROR;
  }
  if (!io.entry) {
    io.stderr(
      "`new` writes into the project's tools/ folder: run it from source (deno task tooldrop new <name>), not from the compiled binary\n",
    );
    return USAGE_ERROR;
  }
  const server = options.name ?? DEFAULT_SERVER_INFO.name;
  if (!TOOL_NAME_PATTERN.test(name)) {
    io.stderr(
      `A tool name is 1 to 64 letters, digits, "_" or "-"; "${name}" is not\n`,
    );
    return USAGE_ERROR;
  }
  if (!qualifiedNameFits(server, name)) {
    io.stderr(
      `"${name}" is too long: clients call it ${
        qualifiedName(server, name)
      }, over the ${MAX_QUALIFIED_NAME} characters the Claude API accepts\n`,
    );
    return USAGE_ERROR;
  }
  const files = [
    [`${name}.ts`, toolTemplate(name)],
    [`${name}_test.ts`, testTemplate(name)],
  ] as const;
  for (const [file] of files) {
    if (await pathTaken(new URL(file, io.toolsDir))) {
      io.stderr(`tools/${file} already exists; pick another name\n`);
      return 1;
    }
  }
  for (const [file, text] of files) {
    await Deno.writeTextFile(new URL(file, io.toolsDir), text, {
      createNew: true,
    });
  }
  await writeManifest(io.toolsDir);
  io.stderr(
    `Created tools/${name}.ts and its test, tools/${name}_test.ts (and updated tools/${MANIFEST_FILE}).
Next: write its description, input and run; \`deno task dev\` serves it and reloads it on every
save; \`deno task test\` runs its test.
`,
  );
  return 0;
}

function toolTemplate(name: string): string {
  return `import { z } from "zod";
import { defineTool } from "tooldrop";

// The ${name} tool. Say what it does, when to use it and an example in the description: the
// model reads it to decide when to call the tool. \`deno task dev\` reloads this file on save.
export default defineTool({
  description: 'Greets someone by name. Example: {"name": "Ada"}',
  input: z.object({
    name: z.string().min(1).describe("Who to greet"),
  }),
  annotations: { readOnlyHint: true },
  run: ({ name }) => \`Hello, \${name}!\`,
});
`;
}

function testTemplate(name: string): string {
  const refusal = property(
    "      ",
    "text",
    `'Invalid arguments for tool "${name}": name: required (expected string)'`,
  );
  return `import assert from "node:assert/strict";
import { callTool, toolFile } from "tooldrop";
import definition from "./${name}.ts";

// The tool as the server runs it: its file in a worker with only the permissions it declares,
// so a test fails when the tool uses one it did not declare. \`deno task test\` runs this file.
${toolLine(name)}

Deno.test("${name} answers with a greeting", async () => {
  const result = await callTool(tool, { name: "Ada" });
  assert.deepEqual(result, {
    content: [{ type: "text", text: "Hello, Ada!" }],
  });
});

Deno.test("${name} names a missing argument, as the model reads it", async () => {
  // @ts-expect-error: "name" is left out on purpose, as a client might
  const result = await callTool(tool, {});
  assert.deepEqual(result, {
    content: [{
      type: "text",
${refusal}
    }],
    isError: true,
  });
});
`;
}

/** The test's `toolFile` line, laid out as `deno fmt` lays it out for a name this long. */
function toolLine(name: string): string {
  const url = `new URL("./${name}.ts", import.meta.url)`;
  const line = `const tool = toolFile(definition, ${url});`;
  if (line.length <= MAX_LINE) return line;
  if (`  ${url},`.length <= MAX_LINE) {
    return `const tool = toolFile(\n  definition,\n  ${url},\n);`;
  }
  return `const tool = toolFile(
  definition,
  new URL(
    "./${name}.ts",
    import.meta.url,
  ),
);`;
}

/** `key: value,` at `indent`; the value on a line of its own where `deno fmt` puts it. */
function property(indent: string, key: string, value: string): string {
  const line = `${indent}${key}: ${value},`;
  return line.length <= MAX_LINE
    ? line
    : `${indent}${key}:\n${indent}  ${value},`;
}
