/**
 * @module
 * `new <name> [--template T]`: writes a tool file and its test into the tools folder, from
 * templates that pass their own test, and renews the manifest; `new --prompt <name>` and
 * `new --resource <name>` write a prompt or a resource and its test into their folder.
 * (Over 300 lines: the three kinds share the name checks and the line layout that keeps every
 * generated file `deno fmt`-clean at any name length; apart they would drift.)
 */

import { type Io, servedFolders, shellWord, tooldropCommand } from "./io.ts";
import { type CliOptions, USAGE_ERROR } from "./options.ts";
import { MANIFEST_FILE, writeManifest } from "../loading/manifest.ts";
import { folderLabel, isToolFile } from "../loading/tool_files.ts";
import { writeListing } from "../loading/listing.ts";
import { Logger } from "../util/log.ts";
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
      }]   (letters, digits, _ and -)\n       tooldrop new --prompt <name>, tooldrop new --resource <name>\n`,
    );
    return USAGE_ERROR;
  }
  if (!io.entry) {
    io.stderr(
      "`new` writes into the project's tools/ folder: run it from source (deno task tooldrop new <name>), not from the compiled binary\n",
    );
    return USAGE_ERROR;
  }
  if (options.kind) return await newKind(io, options, name, options.kind);
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
 * `new --prompt <name>`, `new --resource <name>`: writes the file and its test into the prompts or
 * resources folder (made when missing), from templates that pass their own test, and renews
 * the folder's listing cache; the hint says the command that shows what it gives.
 */
async function newKind(
  io: Io,
  options: CliOptions,
  name: string,
  kind: "prompt" | "resource",
): Promise<number> {
  if (options.template !== undefined) {
    io.stderr(
      `--template is for tools; new --${kind} writes one ${kind} to start from\n`,
    );
    return USAGE_ERROR;
  }
  const problem = nameProblem(name, "", kind);
  if (problem) {
    io.stderr(`${problem}\n`);
    return USAGE_ERROR;
  }
  const { promptsDir, resourcesDir } = servedFolders(io);
  const dir = kind === "prompt" ? promptsDir : resourcesDir;
  const folder = folderLabel(dir);
  const files = await fromTemplate(kind, name);
  for (const [file] of files) {
    if (await pathTaken(new URL(file, dir))) {
      io.stderr(`${folder}${file} already exists; pick another name\n`);
      return 1;
    }
  }
  const made = !await pathTaken(dir);
  await Deno.mkdir(dir, { recursive: true });
  for (const [file, text] of files) {
    await Deno.writeTextFile(new URL(file, dir), text, { createNew: true });
  }
  // A registered server lists it from the cache without a probe worker.
  await writeListing(dir, {
    log: new Logger({ level: "error", write: () => {} }),
    kind,
  });
  // The compiled binary serves what the manifest imports: prompts/ and resources/ too.
  if (await pathTaken(io.toolsDir)) await writeManifest(io.toolsDir);
  const folders = [
    options.toolsDir === undefined
      ? ""
      : ` --tools ${shellWord(options.toolsDir)}`,
    options[`${kind}sDir`] === undefined
      ? ""
      : ` --${kind}s ${shellWord(options[`${kind}sDir`]!)}`,
  ].join("");
  const shows = kind === "prompt"
    ? `prompt ${name} '{"code": "x = 1"}'${folders}\` shows what it gives`
    : `read docs://${name}/start${folders}\` shows what it reads`;
  io.stderr(
    `Created ${folder}${name}.ts and its test, ${folder}${name}_test.ts.
Next: write its description, ${
      kind === "prompt" ? "args and get" : "uriTemplate and read"
    }.
\`${tooldropCommand(io)} ${shows}; \`deno task test\` runs its test.
${
      made
        ? `${folder} is new: a server serves it from its next start (a registered one after \`${
          tooldropCommand(io)
        } install\` again).\n`
        : ""
    }`,
  );
  return 0;
}

/**
 * What is wrong with `name` as the name of a new tool served as `server` (or a prompt or a
 * resource), or undefined: its characters and length (clients call a tool
 * mcp__<server>__<name>, 64 characters at most; the loader takes 64 for the others), and names
 * the loader skips (helpers start with "_", tests end in "_test").
 */
function nameProblem(
  name: string,
  server: string,
  kind: "tool" | "prompt" | "resource" = "tool",
): string | undefined {
  const tool = kind === "tool";
  const longest = tool
    ? MAX_QUALIFIED_NAME - qualifiedName(server, "").length
    : MAX_QUALIFIED_NAME;
  const quoted = JSON.stringify(name.slice(0, 70));
  const folder = `${kind}s/`;
  if (longest < 1) {
    return `The server name "${server}" leaves no room for a tool name in ${
      qualifiedName(server, "<name>")
    } (${MAX_QUALIFIED_NAME} characters at most); pass a shorter --name`;
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name)) {
    return `A ${kind} name is 1 to ${longest} letters, digits, "_" or "-"${
      tool
        ? ` (clients call it ${
          qualifiedName(server, "<name>")
        }, at most ${MAX_QUALIFIED_NAME} characters)`
        : ""
    }; ${quoted} is not`;
  }
  if (name.length > longest) {
    return `${quoted} is ${name.length} characters, over the ${longest} a ${kind} name may have${
      tool
        ? ` here: clients call it ${
          qualifiedName(server, "<name>")
        }, which the Claude API takes up to ${MAX_QUALIFIED_NAME} characters long`
        : ""
    }; pick a shorter name`;
  }
  if (name.startsWith("_")) {
    return `${quoted} starts with "_": the loader skips ${folder}_*.ts, which are helpers for ${kind}s to import; pick a name without the "_"`;
  }
  if (!isToolFile(`${name}.ts`)) {
    return `${quoted} is the name of a test: the loader takes ${folder}*_test.ts (and test.ts) for tests, not ${kind}s; pick another name (new writes the ${kind}'s test itself, as ${folder}<name>_test.ts)`;
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
    text.replaceAll("__name__", name).split("\n").map(importLine).map(
      stringLine,
    ).join("\n");
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

/**
 * A line that ends in a string, as `deno fmt` lays it out when it is longer than a line: a
 * property (`message: "…",`) or a constant (`const URI = "…";`) gets its string on the next
 * line, indented; a call of one string (`const prompt = import.meta.resolve("…");`) gets it
 * on a line between the parentheses.
 */
function stringLine(line: string): string {
  if (line.length <= MAX_LINE) return line;
  const call = /^(\s*)(const \w+ = [\w.]+)\(("[^"]*")\);$/.exec(line);
  if (call) {
    const [, indent, head, string] = call;
    return `${indent}${head}(\n${indent}  ${string},\n${indent});`;
  }
  const parts = /^(\s*)((?:const \w+ =)|(?:\w+:)) ((?:"[^"]*"|'[^']*')[,;])$/
    .exec(line);
  return parts ? `${parts[1]}${parts[2]}\n${parts[1]}  ${parts[3]}` : line;
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
