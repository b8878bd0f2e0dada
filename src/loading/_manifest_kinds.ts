/**
 * @module
 * The prompts and resources a compiled binary serves from its manifest (./manifest.ts): each
 * module checked as a worker checks a file's, and served in this thread, as the manifest's tools
 * are (the binary does not embed the worker yet).
 */

import {
  MANIFEST_FILE,
  type ManifestModules,
  type ToolManifest,
} from "./manifest.ts";
import { toolStem } from "./tool_files.ts";
import { describeThrown } from "../util/describe.ts";
import type { ServedPrompt, ServedResource } from "../tool/served_kinds.ts";

/**
 * The prompts and resources a manifest's modules define, checked as a worker checks a file's
 * (../tool/prompt_check.ts, ../tool/resource_check.ts) and served in this thread, as the
 * manifest's tools are; one error naming the file for each that is not one. Missing exports (a
 * manifest of tools alone) serve none.
 */
export async function manifestKinds(manifest: ToolManifest): Promise<{
  prompts: ServedPrompt[];
  resources: ServedResource[];
  errors: string[];
}> {
  const prompts: ServedPrompt[] = [];
  const resources: ServedResource[] = [];
  const errors: string[] = [];
  const promptModules = listed(manifest, "promptModules", errors);
  const resourceModules = listed(manifest, "resourceModules", errors);
  if (promptModules.length === 0 && resourceModules.length === 0) {
    return { prompts, resources, errors };
  }
  // Imported only for a manifest that lists some: a binary of tools alone never loads them.
  const [{ createPrompt }, { createResource }, served] = await Promise.all([
    import("../tool/prompt_check.ts"),
    import("../tool/resource_check.ts"),
    import("../tool/served_kinds.ts"),
  ]);
  const each = (
    modules: ManifestModules,
    kind: "prompt" | "resource",
    serve: (definition: unknown, stem: string, source: string) => void,
  ) => {
    for (const [file, module] of modules) {
      if (module instanceof Error) {
        errors.push(module.message);
        continue;
      }
      const source = `${kind}s/${file}`;
      try {
        serve(
          (module as { default?: unknown } | null)?.default,
          toolStem(file),
          source,
        );
      } catch (error) {
        errors.push(checkProblem(`Cannot load ${kind} "${source}": `, error));
      }
    }
  };
  each(promptModules, "prompt", (definition, stem, source) => {
    prompts.push(served.servedPrompt(createPrompt(definition, stem, source)));
  });
  each(resourceModules, "resource", (definition, stem, source) => {
    resources.push(
      served.servedResource(createResource(definition, stem, source)),
    );
  });
  return { prompts, resources, errors };
}

/** The message for what checking a definition threw: the check's own, or one naming the file. */
function checkProblem(prefix: string, error: unknown): string {
  try {
    if (error instanceof Error && error.message.startsWith(prefix)) {
      return error.message;
    }
    if (error instanceof Error && error.message.startsWith("Cannot serve ")) {
      return error.message; // a template servedResource cannot parse, naming the file
    }
  } catch {
    // a value that throws when inspected: described below
  }
  return `${prefix}reading its default export failed: ${describeThrown(error)}`;
}

/**
 * The `[fileName, module]` pairs of the export `name`: none when it is missing (a manifest of
 * tools alone); an error, and none, when a hand-edited manifest holds anything but such pairs.
 */
function listed(
  manifest: ToolManifest,
  name: "promptModules" | "resourceModules",
  errors: string[],
): ManifestModules {
  const modules: unknown = manifest[name];
  if (modules === undefined) return [];
  if (
    Array.isArray(modules) &&
    modules.every((pair) =>
      Array.isArray(pair) && pair.length === 2 && typeof pair[0] === "string"
    )
  ) return modules as ManifestModules;
  errors.push(
    `Cannot load tools/${MANIFEST_FILE}: its "${name}" is not a list of [file name, module] pairs; run \`deno task manifest\` to write it again`,
  );
  return [];
}
