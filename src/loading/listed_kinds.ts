/**
 * @module
 * Prompts and resources from the listing cache of their folder, as ./listing.ts lists tools:
 * loaded only when such a folder exists, so that a server of tools alone never loads it.
 */

import type { Tool } from "../tool/served.ts";
import {
  listedPrompt,
  listedResource,
  type ServedPrompt,
  type ServedResource,
} from "../tool/served_kinds.ts";
import type { PromptListing } from "../tool/prompt.ts";
import type { ResourceListing } from "../tool/resource.ts";
import type { ToolFile } from "./worker/protocol.ts";
import { toolFileUrl } from "./import_tool.ts";
import { folderLabel, scanToolFiles, toolStem } from "./tool_files.ts";
import { type ListOptions, listToolFiles } from "./listing.ts";

/** What a folder of each kind serves, one per file. */
export interface KindServed {
  prompt: ServedPrompt;
  resource: ServedResource;
}

/**
 * The prompts or resources of `dir` (by `kind`) as loading them would give, from the cache where
 * its entries are current, else from a probe worker; no module is imported in this thread.
 * `attach` gives each runnable (a get and a completer, a read and a completer) the runner of its
 * calls in the worker that imports `file`.
 */
export async function loadListedKind<K extends "prompt" | "resource">(
  dir: URL,
  kind: K,
  options: Pick<ListOptions, "label" | "log" | "loadTimeoutMs" | "probe"> & {
    attach: (runnable: Tool, file: ToolFile) => Tool;
  },
): Promise<
  { served: KindServed[K][]; errors: string[]; warnings: string[] }
> {
  const label = options.label ?? folderLabel(dir);
  const { files, warnings } = await scanToolFiles(dir, label);
  const { listed } = await listToolFiles(dir, files, {
    ...options,
    label,
    kind,
  });
  const served: KindServed[K][] = [];
  const errors: string[] = [];
  for (const { file, entry, error } of listed) {
    if (error !== undefined) errors.push(error);
    if (!entry) continue;
    try {
      served.push(servedEntry(dir, kind, file, entry, label, options.attach));
    } catch (error) {
      errors.push(error instanceof Error ? error.message : String(error));
    }
  }
  return { served, errors, warnings };
}

/**
 * What file `file` of `dir` serves, from its listing `entry`, each runnable given the runner of
 * its calls by `attach`; throws for a listing it cannot serve (a bad template).
 */
export function servedEntry<K extends "prompt" | "resource">(
  dir: URL,
  kind: K,
  file: string,
  entry: PromptListing | ResourceListing,
  label: string,
  attach: (runnable: Tool, file: ToolFile) => Tool,
): KindServed[K] {
  const source = `${label}${file}`;
  const toolFile: ToolFile = {
    url: toolFileUrl(dir, file).href,
    source,
    stem: toolStem(file),
    kind,
  };
  const attachTo = (runnable: Tool) => attach(runnable, toolFile);
  return (kind === "prompt"
    ? listedPrompt(entry as PromptListing, source, attachTo)
    : listedResource(entry as ResourceListing, source, attachTo)) as KindServed[
      K
    ];
}
