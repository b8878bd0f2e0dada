/**
 * @module
 * `list [--json]`: the tools and their arguments, then a section for prompts and one for
 * resources when there are any, for a person; or, with --json, the exact `tools/list` result
 * a client gets.
 */

import { type Io, print, shellWord, tooldropCommand } from "./io.ts";
import { folderLabel } from "../loading/tool_files.ts";
import type { CliOptions } from "./options.ts";
import { loadForCommand } from "./_load.ts";
import type { ToolDescriptor, ToolSet } from "../tool/served.ts";

/** `list [--json]`: the tools, with their arguments (or the exact `tools/list` result). */
export async function runList(io: Io, options: CliOptions): Promise<number> {
  const tools = await loadForCommand(io, options, "Cannot list the tools");
  if (!tools) return 1;
  if (options.json) {
    await print(io, `${tools.listJson}\n`);
    return 0;
  }
  const blocks = tools.tools.map((tool) => describe(tool.descriptor));
  await print(
    io,
    `${blocks.length > 0 ? blocks.join("\n") : noTools(io, options)}${
      kindSections(tools)
    }`,
  );
  return 0;
}

/** A section for the prompts and one for the resources, each when there are any. */
function kindSections(set: ToolSet): string {
  let text = "";
  const { prompts } = set.prompts;
  if (prompts.length > 0) {
    text += "\nPrompts:\n";
    for (const { descriptor } of prompts) {
      const args = descriptor.arguments ?? [];
      text += `${descriptor.name}${
        descriptor.title ? ` (${descriptor.title})` : ""
      }\n${indented(descriptor.description)}  arguments: ${
        args.length === 0
          ? "none"
          : args.map((a) => `${a.name}${a.required ? " (required)" : ""}`)
            .join(", ")
      }\n`;
    }
  }
  const { resources } = set.resources;
  if (resources.length > 0) {
    text += "\nResources:\n";
    for (const { descriptor } of resources) {
      const address = "uri" in descriptor
        ? descriptor.uri
        : descriptor.uriTemplate;
      text += `${address}  ${descriptor.name}${
        descriptor.mimeType ? ` (${descriptor.mimeType})` : ""
      }\n${indented(descriptor.description ?? "")}`;
    }
  }
  return text;
}

/** Each line of `text`, indented by two spaces; "" for no text. */
function indented(text: string): string {
  return text === ""
    ? ""
    : text.split("\n").map((line) => `  ${line}\n`).join("");
}

/** What `list` prints for an empty tool set: where to add one, and the command that writes it. */
function noTools(io: Io, options: CliOptions): string {
  if (io.manifest) {
    return "No tools: this binary was built with none (add tool files to tools/ and compile it again)\n";
  }
  const folder = folderLabel(io.toolsDir);
  const tools = options.toolsDir === undefined
    ? ""
    : ` --tools ${shellWord(options.toolsDir)}`;
  return io.entry
    ? `No tools: add a file to ${folder} (\`${
      tooldropCommand(io)
    } new <name>${tools}\` writes one)\n`
    : `No tools: add a file to ${folder}\n`;
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
