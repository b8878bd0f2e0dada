/**
 * @module
 * The tool commands of the CLI: `list` (the tools and their arguments), `call` (run one tool
 * from the shell) and `new` (scaffold a tool file and its test).
 */

import { type Io, print } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { invokeTool } from "../server/invoke.ts";
import { loadTools } from "../loading/load.ts";
import { Logger } from "../util/log.ts";
import { pathTaken } from "../util/fs.ts";
import { MANIFEST_FILE, writeManifest } from "../loading/manifest.ts";
import { DEFAULT_SERVER_INFO } from "../server/protocol.ts";
import type { ContentBlock } from "../tool/tool.ts";
import {
  MAX_QUALIFIED_NAME,
  qualifiedName,
  qualifiedNameFits,
  TOOL_NAME_PATTERN,
  type ToolDescriptor,
  type ToolSet,
} from "../tool/toolset.ts";

/** Exit code for a command line that cannot be carried out as written. */
const USAGE_ERROR = 2;

/** `list [--json]`: the tools, with their arguments (or the exact `tools/list` result). */
export async function runList(io: Io, options: CliOptions): Promise<number> {
  const tools = await load(io, options);
  if (!tools) return 1;
  if (options.json) {
    await print(io, `${tools.listJson}\n`);
    return 0;
  }
  const blocks = tools.tools.map((tool) => describe(tool.descriptor));
  await print(
    io,
    blocks.length > 0
      ? `${blocks.join("\n")}`
      : "No tools: add a file to tools/ (`tooldrop new <name>` writes one)\n",
  );
  return 0;
}

/** `call <tool> [json]`: runs one tool; prints its result; exit 1 when it is an error. */
export async function runCall(io: Io, options: CliOptions): Promise<number> {
  const [name, json, extra] = options.positionals;
  if (name === undefined || extra !== undefined) {
    io.stderr(
      `Usage: tooldrop call <tool> ['{"argument": "value"}']\n`,
    );
    return USAGE_ERROR;
  }
  let args: unknown = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch {
      args = undefined;
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      io.stderr(
        `The arguments must be one JSON object, like '{"text": "hello"}'; got ${json}\n`,
      );
      return USAGE_ERROR;
    }
  }
  const tools = await load(io, options);
  if (!tools) return 1;
  if (!tools.get(name)) {
    io.stderr(
      `There is no tool "${name}"; the tools are: ${
        tools.tools.map((t) => t.name).join(", ") || "(none)"
      }\n`,
    );
    return USAGE_ERROR;
  }
  const result = await invokeTool(tools, name, args, {
    log: logger(io, options),
    signal: io.signal,
    onProgress: ({ progress, total, message }) =>
      io.stderr(
        `progress ${progress}${total === undefined ? "" : `/${total}`}${
          message ? ` ${message}` : ""
        }\n`,
      ),
  });
  if (options.json) {
    await print(io, `${JSON.stringify(result)}\n`);
  } else {
    const text = result.content.map(blockText).join("");
    if (result.isError) io.stderr(text);
    else await print(io, text);
  }
  return result.isError ? 1 : 0;
}

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

async function load(io: Io, options: CliOptions): Promise<ToolSet | undefined> {
  return await loadTools({
    toolsDir: io.toolsDir,
    manifest: io.manifest,
    serverName: options.name ?? DEFAULT_SERVER_INFO.name,
    log: logger(io, options),
  });
}

/** Warnings and errors only, unless asked: a command's output is its result. */
function logger(io: Io, options: CliOptions): Logger {
  return new Logger({ level: options.logLevel ?? "warning", write: io.stderr });
}

function describe(tool: ToolDescriptor): string {
  const lines = [
    `${tool.name}${tool.title ? ` (${tool.title})` : ""}`,
    ...tool.description.split("\n").map((line) => `  ${line}`),
  ];
  const schema = tool.inputSchema as {
    properties?: Record<string, { type?: unknown; description?: string }>;
    required?: string[];
  };
  const properties = Object.entries(schema.properties ?? {});
  if (properties.length === 0) lines.push("  arguments: none");
  else {
    lines.push("  arguments:");
    for (const [key, property] of properties) {
      const type = Array.isArray(property.type)
        ? property.type.join(" | ")
        : typeof property.type === "string"
        ? property.type
        : "any";
      const required = schema.required?.includes(key) ? ", required" : "";
      lines.push(
        `    ${key} (${type}${required})${
          property.description ? `  ${property.description}` : ""
        }`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function blockText(block: ContentBlock): string {
  if (block.type === "text") {
    return block.text.endsWith("\n") ? block.text : `${block.text}\n`;
  }
  return `${JSON.stringify(block)}\n`;
}

function toolTemplate(name: string): string {
  return `import { z } from "zod";
import { defineTool } from "tooldrop";

// The ${name} tool. Say what it does, when to use it and an example in the description: the
// model reads it to decide when to call the tool. \`deno task dev\` reloads this file on save.
export default defineTool({
  description:
    'Greets someone by name. Example: {"name": "Ada"}',
  input: z.object({
    name: z.string().min(1).describe("Who to greet"),
  }),
  annotations: { readOnlyHint: true },
  run: ({ name }) => \`Hello, \${name}!\`,
});
`;
}

function testTemplate(name: string): string {
  return `import assert from "node:assert/strict";
import { callTool } from "tooldrop";
import tool from "./${name}.ts";

Deno.test("${name} answers with a greeting", async () => {
  const result = await callTool(tool, { name: "Ada" });
  assert.deepEqual(result.content, [{ type: "text", text: "Hello, Ada!" }]);
});

Deno.test("${name} names a missing argument", async () => {
  const result = await callTool(tool, {});
  assert.equal(result.isError, true);
  assert.match(JSON.stringify(result.content), /name/);
});
`;
}
