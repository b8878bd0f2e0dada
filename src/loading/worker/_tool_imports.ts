/**
 * @module
 * The tool files of one worker, imported as they are needed: a tool's file at its first call,
 * the rest in the background a few at a time, so that a call waits for its own file and not for
 * the other 999 of its group. Each file is imported once: a call joins an import under way.
 * Once every file is in, `report` says what each held, as `loaded` carries it.
 * (Over 300 lines: the order and bounds of a worker's imports — the called file first, the rest
 * in the background, each timed — are one state machine.)
 */

import type { LoadedTool, ToolFile } from "./protocol.ts";
import {
  type ImportOutcome,
  importProblem,
  importTool,
} from "../import_tool.ts";
import { permissionsKey, unionPermissions } from "../../tool/permissions.ts";
import { createTool } from "../../tool/toolset.ts";
import {
  duplicateNameError,
  type Tool,
  type ToolDescriptor,
} from "../../tool/served.ts";
import { servedPrompt, servedResource } from "../../tool/served_kinds.ts";
import { describeThrown } from "../../util/describe.ts";
import { after } from "./_turns.ts";

/**
 * Background imports in flight at once. Deno prepares one worker's dynamic imports one after
 * another, so a call's import waits behind those already asked for: a few, never hundreds.
 * Measured with 1,000 files, a call 300 ms after the worker's start waited ~7 ms with 1 in
 * flight, ~9 ms with 2, ~11 ms with 4, ~16 ms with 8, and the whole folder took 2–2.5 s either
 * way; 2, so that one file with a long top-level await does not hold back all the others.
 */
export const BACKGROUND_IMPORTS = 2;

/**
 * What one file held: a tool file its tool; a prompt or resource file the runnables it registers
 * (`prompt:<name>` and `complete:prompt:<name>`, …) and its listing.
 */
interface Held {
  readonly tools: readonly Tool[];
  readonly kind?: Exclude<LoadedTool, { error: string } | { name: string }>;
}

/** One file: its import, started at most once, and what it held once that settled. */
interface Slot {
  readonly file: ToolFile;
  /** What it held, or the error that names the file. */
  loading: Promise<Held | string> | undefined;
  outcome: Held | string | undefined;
}

/** The tool files of one worker; see the module docs. */
export class ToolImports {
  readonly #slots: Slot[];
  readonly #byStem = new Map<string, Slot>();
  readonly #bySource = new Map<string, Slot>();
  /** A tool's name → its file, as the server's thread told (a tool may set its own name). */
  readonly #told = new Map<string, Slot>();
  /** The tools imported so far, by name. */
  readonly #byName = new Map<string, Tool>();
  readonly #timeoutMs: number;
  /** What the group's files declare (`permissionsKey`); unset: anything (the probe). */
  readonly #declared: string | undefined;
  #all: Promise<void> | undefined;
  /** True once every file has settled. */
  #complete = false;
  /** Imports calls wait for, under way: the background starts none meanwhile. */
  #urgent = 0;
  /** Resolved when the last of those has settled. */
  #calm: PromiseWithResolvers<void> | undefined;

  /**
   * `timeoutMs`: how long each file may take to import. `failed`: why none can be (the worker
   * could not start); each file's error then says so. `declared`: the permissions (as
   * `permissionsKey` writes them) the worker was started with for its files: a file that
   * declares others is refused (see `listedWith`).
   */
  constructor(
    files: readonly ToolFile[],
    timeoutMs: number,
    options: { failed?: string | undefined; declared?: string | undefined } =
      {},
  ) {
    const { failed } = options;
    this.#timeoutMs = timeoutMs;
    this.#declared = options.declared;
    this.#slots = files.map((file) => {
      const error = failed === undefined
        ? undefined
        : `Cannot load ${file.kind ?? "tool"} "${file.source}": ${failed}`;
      const slot: Slot = {
        file,
        loading: error === undefined ? undefined : Promise.resolve(error),
        outcome: error,
      };
      // A prompt's or resource's runnables are never called by its stem.
      if (!file.kind && !this.#byStem.has(file.stem)) {
        this.#byStem.set(file.stem, slot);
      }
      this.#bySource.set(file.source, slot);
      return slot;
    });
  }

  /** The tool named `name` when its file is imported already: the calls' fast path. */
  get(name: string): Tool | undefined {
    return this.#byName.get(name);
  }

  /** Takes `name, source, …` pairs: the tool named `name` is in the file `source`. */
  locate(pairs: readonly unknown[]): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const slot = this.#bySource.get(pairs[i + 1] as string);
      const name = pairs[i];
      if (!slot || typeof name !== "string") continue;
      this.#told.set(name, slot);
      const tool = toolIn(slot.outcome, name);
      if (tool) this.#byName.set(name, tool);
    }
  }

  /**
   * The tool named `name`, once its file is imported (its import started now when it was not):
   * the file the server's thread named for it, else the one of that stem; failing those, once
   * every file is in, the first that defines it. The error naming the file when the named file
   * failed; undefined when no file defines it. At once when every file is in; never rejects.
   */
  find(
    name: string,
  ): Tool | string | undefined | Promise<Tool | string | undefined> {
    if (!this.#complete) return this.#find(name);
    const told = this.#told.get(name)?.outcome;
    if (typeof told === "string") return told;
    return this.#first(name);
  }

  async #find(name: string): Promise<Tool | string | undefined> {
    const told = this.#told.get(name);
    for (const slot of [told, this.#byStem.get(name)]) {
      if (!slot) continue;
      const outcome = await this.#urgently(slot);
      const tool = toolIn(outcome, name);
      if (tool) return tool;
      if (slot === told && typeof outcome === "string") return outcome;
    }
    await this.importAll(Infinity);
    return this.#first(name);
  }

  /** The tool of the first file that defines `name`, among those imported. */
  #first(name: string): Tool | undefined {
    for (const { outcome } of this.#slots) {
      const tool = toolIn(outcome, name);
      if (tool) return tool;
    }
    return undefined;
  }

  /**
   * Imports every file not imported yet, `lanes` at a time, each lane giving the event loop a
   * turn between two files (a call that came meanwhile starts its own import first). Resolves
   * once every file has settled; called again, joins the first.
   */
  importAll(lanes: number): Promise<void> {
    return this.#all ??= (async () => {
      let next = 0;
      using turns = new LoopTurns();
      const lane = async () => {
        while (next < this.#slots.length) {
          // A call's import first: each import takes its turn in the worker's module loader.
          while (this.#calm) await this.#calm.promise;
          const slot = this.#slots[next++];
          if (!slot || slot.loading) continue;
          await this.#import(slot);
          await turns.next();
        }
      };
      const count = Math.max(1, Math.min(lanes, this.#slots.length));
      await Promise.all(Array.from({ length: count }, lane));
      // Those a call started, still under way.
      await Promise.all(this.#slots.map((slot) => slot.loading));
      this.#complete = true;
    })();
  }

  /**
   * What each file held, in their order, once `importAll` has settled: its tool (and its
   * `tools/list` entry with `describe`), or the error that names it. A tool whose name an
   * earlier file's tool has is a duplicate.
   */
  report(describe: boolean): LoadedTool[] {
    const byName = new Map<string, Tool>();
    return this.#slots.map(({ file, outcome }) => {
      const { source } = file;
      if (typeof outcome !== "object") {
        return {
          source,
          error: outcome ?? `Cannot load tool "${source}": it was not imported`,
        };
      }
      if (outcome.kind) {
        return kindReport(outcome.kind, outcome.tools[0]!, byName);
      }
      const tool = outcome.tools[0]!;
      const other = byName.get(tool.name);
      if (other) return { source, error: duplicateNameError(tool, other) };
      let descriptor: ToolDescriptor | undefined;
      try {
        // What tools/list would send: JSON, so that fields a message cannot clone are dropped
        // as the reply would drop them.
        if (describe) descriptor = JSON.parse(JSON.stringify(tool.descriptor));
      } catch (error) {
        return {
          source,
          error:
            `Cannot load tool "${source}": its tools/list entry cannot be written as JSON: ${
              describeThrown(error)
            }`,
        };
      }
      byName.set(tool.name, tool);
      return {
        source,
        name: tool.name,
        permissions: tool.permissions && unionPermissions([tool.permissions]),
        timeoutMs: tool.timeoutMs,
        ...(descriptor ? { descriptor } : {}),
      };
    });
  }

  /** The slot's import, for a call: the background waits until it has settled. */
  async #urgently(slot: Slot): Promise<Held | string> {
    if (slot.outcome !== undefined) return slot.outcome;
    this.#urgent++;
    this.#calm ??= Promise.withResolvers();
    try {
      return await this.#import(slot);
    } finally {
      if (--this.#urgent === 0) {
        this.#calm?.resolve();
        this.#calm = undefined;
      }
    }
  }

  /** The slot's import, started unless it was. */
  #import(slot: Slot): Promise<Held | string> {
    return slot.loading ??= importTool(slot.file.url, this.#timeoutMs, after)
      .then(
        async (outcome) => {
          const checked = listedWith(
            slot.file,
            await checkedFile(slot.file, outcome),
            this.#declared,
          );
          slot.outcome = checked;
          if (typeof checked === "object") {
            for (const tool of checked.tools) {
              if (
                !this.#byName.has(tool.name) ||
                this.#told.get(tool.name) === slot
              ) this.#byName.set(tool.name, tool);
            }
          }
          return checked;
        },
      );
  }
}

/**
 * Turns of the event loop, each a message this thread posts itself: a message the server's
 * thread sent meanwhile (a call) is handled before the turn ends. Not `setImmediate` or a 0 ms
 * timer: with those between imports, Deno 2.9.6 left a call's message waiting 20–115 ms behind
 * the imports (measured), ~2 ms with these.
 */
class LoopTurns implements Disposable {
  readonly #channel = new MessageChannel();
  readonly #waiting: Array<() => void> = [];

  constructor() {
    const port = this.#channel.port2;
    port.addEventListener("message", () => this.#waiting.shift()?.());
    port.start();
  }

  /** Resolves once the event loop has had a turn. */
  next(): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiting.push(resolve);
    this.#channel.port1.postMessage(null);
    return promise;
  }

  [Symbol.dispose](): void {
    this.#channel.port1.close();
    this.#channel.port2.close();
  }
}

/**
 * What `loaded` says of a prompt or resource file: its listing as JSON carries it, or the error
 * naming the file when another file has its name (its first runnable's key) or the listing
 * cannot be written as JSON.
 */
function kindReport(
  kind: NonNullable<Held["kind"]>,
  first: Tool,
  byName: Map<string, Tool>,
): LoadedTool {
  const { source } = kind;
  const other = byName.get(first.name);
  if (other) {
    return {
      source,
      error: `Cannot load ${kind.kind} "${source}": the name "${
        first.name.slice(first.name.indexOf(":") + 1)
      }" is already used by "${other.source}"; rename one of them or set "name"`,
    };
  }
  byName.set(first.name, first);
  const { permissions } = kind.listing;
  try {
    return JSON.parse(JSON.stringify({
      ...kind,
      listing: {
        ...kind.listing,
        permissions: permissions && unionPermissions([permissions]),
      },
    }));
  } catch (error) {
    return {
      source,
      error:
        `Cannot load ${kind.kind} "${source}": its list entry cannot be written as JSON: ${
          describeThrown(error)
        }`,
    };
  }
}

/** The runnable named `name` in what a file held, if it holds one. */
function toolIn(
  outcome: Held | string | undefined,
  name: string,
): Tool | undefined {
  if (typeof outcome !== "object") return undefined;
  for (const tool of outcome.tools) if (tool.name === name) return tool;
  return undefined;
}

/**
 * `held`, unless a runnable in it declares other permissions than `declared`, those the worker
 * was started with for the file (its group's): then the error that names it. The server groups
 * a file by what its listing says it declares, and a worker imports the file as it is at its
 * first call: a file saved since it was listed, or an entry of tools/.listing.json edited by
 * hand, would otherwise run with permissions it does not declare (another tool's).
 */
function listedWith(
  file: ToolFile,
  held: Held | string,
  declared: string | undefined,
): Held | string {
  if (typeof held === "string" || declared === undefined) return held;
  for (const runnable of held.tools) {
    const own = permissionsKey(runnable.permissions);
    if (own === declared) continue;
    const kind = file.kind ?? "tool";
    return `Cannot load ${kind} "${file.source}": it declares the permissions ${own}, but the server listed it with ${declared}, so its calls are refused (the file changed after the server listed it, or the ${kind}s' .listing.json was edited): restart the server to list it again, and delete .listing.json if the file did not change`;
  }
  return held;
}

/** What a file's import gave (see `Held`), or the error that names the file. */
async function checkedFile(
  file: ToolFile,
  outcome: ImportOutcome,
): Promise<Held | string> {
  const prefix = `Cannot load ${file.kind ?? "tool"} "${file.source}": `;
  if (!("module" in outcome)) return prefix + importProblem(outcome);
  try {
    const definition = (outcome.module as { default?: unknown }).default;
    if (file.kind === "prompt") {
      // Imported only by a worker that serves a prompt: a tool's worker starts without them.
      const { createPrompt } = await import("../../tool/prompt_check.ts");
      const checked = createPrompt(definition, file.stem, file.source);
      const served = servedPrompt(checked);
      return {
        tools: [served.get, served.complete],
        kind: { source: file.source, kind: "prompt", listing: checked.listing },
      };
    }
    if (file.kind === "resource") {
      const { createResource } = await import("../../tool/resource_check.ts");
      const checked = createResource(definition, file.stem, file.source);
      const served = servedResource(checked);
      return {
        tools: [
          served.read,
          served.complete,
          ...served.subscribe ? [served.subscribe] : [],
        ],
        kind: {
          source: file.source,
          kind: "resource",
          listing: checked.listing,
        },
      };
    }
    return { tools: [createTool(definition, file.stem, file.source)] };
  } catch (error) {
    return checkProblem(prefix, error);
  }
}

/** createTool's own message, or one naming the file for what reading the export threw. */
function checkProblem(prefix: string, error: unknown): string {
  try {
    if (error instanceof Error && error.message.startsWith(prefix)) {
      return error.message;
    }
  } catch {
    // a value that throws when inspected: described below
  }
  return `${prefix}reading its default export failed: ${describeThrown(error)}`;
}
