/**
 * @module
 * `new <name> [--template T]`: writes a tool file and its test into the tools folder, from
 * templates that pass their own test, and renews the manifest.
 */

import type { Io } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { MANIFEST_FILE, writeManifest } from "../loading/manifest.ts";
import { isToolFile } from "../loading/tool_files.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import { MAX_QUALIFIED_NAME, qualifiedName } from "../tool/served.ts";
import { pathTaken } from "../util/fs.ts";

/** The width `deno fmt` keeps code lines within. */
const MAX_LINE = 80;

/**
 * The templates of `new --template`: ./templates/<template>.txt and <template>_test.txt, with
 * `__name__` where the tool's name goes (tests/templates_test.ts checks what they write).
 */
export const TEMPLATES = ["files", "command", "sqlite", "http"] as const;

/** The line of a template's test that names the tool's file, laid out again for the name. */
const TEMPLATE_TOOL_LINE =
  'const tool = toolFile(definition, new URL("./__name__.ts", import.meta.url));';

/** `new <name>`: writes tools/<name>.ts and tools/<name>_test.ts, and renews the manifest. */
export async function runNew(io: Io, options: CliOptions): Promise<number> {
  const [name, extra] = options.positionals;
  if (name === undefined || extra !== undefined) {
    io.stderr(
      `Usage: tooldrop new <name> [--template ${
        TEMPLATES.join("|")
      }]   (letters, digits, _ and -)\n`,
    );
    return USAGE_ERROR;
  }
  if (!io.entry) {
    io.stderr(
      "`new` writes into the project's tools/ folder: run it from source (deno task tooldrop new <name>), not from the compiled binary\n",
    );
    return USAGE_ERROR;
  }
  const template = options.template;
  if (
    template !== undefined &&
    !(TEMPLATES as readonly string[]).includes(template)
  ) {
    io.stderr(
      `Unknown template "${template.slice(0, 30)}"; use one of ${
        TEMPLATES.join(", ")
      }, or no --template for a minimal tool\n`,
    );
    return USAGE_ERROR;
  }
  const problem = nameProblem(name, options.name ?? DEFAULT_SERVER_INFO.name);
  if (problem) {
    io.stderr(`${problem}\n`);
    return USAGE_ERROR;
  }
  const files = template === undefined
    ? minimal(name)
    : await fromTemplate(template, name);
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
  const next = template === undefined
    ? "write its description, input and run"
    : "read it and adjust the constants at its top. It declares permissions: a registered\nserver gets them when you run `deno task tooldrop install` again";
  io.stderr(
    `Created tools/${name}.ts and its test, tools/${name}_test.ts (and updated tools/${MANIFEST_FILE}).
Next: ${next}.
\`deno task dev\` serves it and reloads it on every save; \`deno task test\` runs its test.
`,
  );
  return 0;
}

/**
 * What is wrong with `name` as the name of a new tool served as `server`, or undefined: its
 * characters and length (clients call it mcp__<server>__<name>, 64 characters at most), and
 * names the loader skips (helpers start with "_", tests end in "_test").
 */
function nameProblem(name: string, server: string): string | undefined {
  const longest = MAX_QUALIFIED_NAME - qualifiedName(server, "").length;
  const quoted = JSON.stringify(name.slice(0, 70));
  if (longest < 1) {
    return `The server name "${server}" leaves no room for a tool name in ${
      qualifiedName(server, "<name>")
    } (${MAX_QUALIFIED_NAME} characters at most); pass a shorter --name`;
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    return `A tool name is 1 to ${longest} letters, digits, "_" or "-" (clients call it ${
      qualifiedName(server, "<name>")
    }, at most ${MAX_QUALIFIED_NAME} characters); ${quoted} is not`;
  }
  if (name.length > longest) {
    return `${quoted} is ${name.length} characters, over the ${longest} a tool name may have here: clients call it ${
      qualifiedName(server, "<name>")
    }, which the Claude API takes up to ${MAX_QUALIFIED_NAME} characters long; pick a shorter name`;
  }
  if (name.startsWith("_")) {
    return `${quoted} starts with "_": the loader skips tools/_*.ts, which are helpers for tools to import; pick a name without the "_"`;
  }
  if (!isToolFile(`${name}.ts`)) {
    return `${quoted} is the name of a test: the loader takes tools/*_test.ts (and test.ts) for tests, not tools; pick another name (new writes the tool's test itself, as tools/<name>_test.ts)`;
  }
  return undefined;
}

/** The minimal tool file and its test, for the tool `name`. */
function minimal(name: string): (readonly [string, string])[] {
  const [tool, test] = [toolTemplate(name), testTemplate(name)];
  return [[`${name}.ts`, tool], [`${name}_test.ts`, test]];
}

/** The tool file and its test from template `template`, for the tool `name`. */
async function fromTemplate(
  template: string,
  name: string,
): Promise<(readonly [string, string])[]> {
  const read = (file: string) =>
    Deno.readTextFile(new URL(`./templates/${file}.txt`, import.meta.url));
  const tool = await read(template);
  const test = (await read(`${template}_test`)).replace(
    TEMPLATE_TOOL_LINE,
    toolLine(name),
  );
  const named = (text: string) =>
    text.replaceAll("__name__", name).split("\n").map(importLine).join("\n");
  return [[`${name}.ts`, named(tool)], [`${name}_test.ts`, named(test)]];
}

/**
 * An import line as `deno fmt` lays it out: one longer than a line, with a default and named
 * imports, gets a line for each name (the http template's test imports its tool's HOSTS).
 */
function importLine(line: string): string {
  const parts = /^import (\w+), \{ (.+) \} from (".+");$/.exec(line);
  if (line.length <= MAX_LINE || !parts) return line;
  const names = parts[2]!.split(", ").map((part) => `  ${part},\n`).join("");
  return `import ${parts[1]}, {\n${names}} from ${parts[3]};`;
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
