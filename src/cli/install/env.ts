/**
 * @module
 * The variables an entry sets for the server (`install --env`): a value written into the file,
 * or a reference to the client's own variable in the client's syntax, so no secret lands in a
 * file that is committed; how install and doctor show them without ever showing a value; and
 * what the client passes, for doctor to start the server the same way.
 */

import { type ClientName, CLIENTS, type ConfigTarget } from "./clients.ts";
import type { EnvOption } from "../options.ts";
import { isPlainObject } from "../../util/is.ts";
import type { ToolPermissions } from "../../tool/permissions.ts";

/** The `env` object of an entry. */
export type EntryEnv = Record<string, string>;

/**
 * The env the entry gets: the `--env` options when there are any; else the env of the entry
 * this server already has there (so registering again, after a tool declared a permission,
 * keeps the variables it was given). Throws a message when a client cannot forward a variable.
 */
export function entryEnv(
  target: ConfigTarget,
  given: readonly EnvOption[],
  kept: unknown,
): EntryEnv {
  if (given.length === 0) return keptEnv(kept);
  const forward = CLIENTS[target.client].forward;
  const env: EntryEnv = {};
  for (const { name, value } of given) {
    if (value !== undefined) {
      env[name] = value;
    } else if (forward) {
      env[name] = forward(name);
    } else {
      // Copying this shell's value instead would write a secret the user did not type, and one
      // that may differ from what they expect the client to have: they give it, knowingly.
      throw new Error(
        `${target.label} does not expand variables in its configuration, so it cannot pass ${name} from its own environment: give the value, --env ${name}=…, which is written into ${target.path} (your user configuration)`,
      );
    }
  }
  return env;
}

/** The string-valued variables of an entry's `env`, or none. */
export function keptEnv(entry: unknown): EntryEnv {
  const env = isPlainObject(entry)
    ? (entry as { env?: unknown }).env
    : undefined;
  if (!isPlainObject(env)) return {};
  return Object.fromEntries(
    Object.entries(env as Record<string, unknown>).filter((
      [, value],
    ) => typeof value === "string"),
  ) as EntryEnv;
}

/** True when `value` is the client's reference to its own variable `name`. */
export function forwards(
  client: ClientName,
  name: string,
  value: string,
): boolean {
  return CLIENTS[client].forward?.(name) === value;
}

/**
 * One variable as install and doctor show it: a reference as written (`API_TOKEN=${API_TOKEN}`),
 * never a value (`API_TOKEN (a value, not shown)`).
 */
export function shownEnv(
  client: ClientName,
  name: string,
  value: string,
): string {
  return forwards(client, name, value)
    ? `${name}=${value}`
    : `${name} (a value, not shown)`;
}

/**
 * The one-line warnings for what `--env` writes: a value in a project's file (usually
 * committed); a forwarded variable unset in this shell; a variable no tool declares, which a
 * tool would be refused. `declared` is the union of the tools' permissions.
 */
export function envWarnings(
  target: ConfigTarget,
  given: readonly EnvOption[],
  options: {
    declared: ToolPermissions;
    isSet: (name: string) => boolean;
  },
): string[] {
  const warnings: string[] = [];
  const label = target.label;
  for (const { name, value } of given) {
    const literal = value !== undefined &&
      !forwards(target.client, name, value);
    if (literal && target.scope === "project") {
      warnings.push(
        `Warning: the value of ${name} is written into ${target.path}, a project file that is usually committed; \`--env ${name}\` without a value has ${label} pass its own ${name} instead`,
      );
    }
    if (value === undefined && !options.isSet(name)) {
      warnings.push(
        `Note: ${name} is not set in this shell; ${label} passes the ${name} of its own environment, so set it where ${label} starts`,
      );
    }
    const env = options.declared.env;
    if (env !== true && !(env ?? []).includes(name)) {
      warnings.push(
        `Warning: no tool declares env: ["${name}"], so a tool that reads ${name} is refused; add it to that tool's permissions, then run install again`,
      );
    }
  }
  return warnings;
}

/** The variables added (+), removed (-) and changed (a value, or to or from a reference). */
export function envDifference(
  client: ClientName,
  before: EntryEnv,
  after: EntryEnv,
): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(before)) {
    if (after[name] !== value) {
      lines.push(`- env ${shownEnv(client, name, value)}`);
    }
  }
  for (const [name, value] of Object.entries(after)) {
    if (before[name] === value) continue;
    const old = before[name];
    lines.push(
      old !== undefined && !forwards(client, name, old) &&
        !forwards(client, name, value)
        ? `+ env ${name} (a new value, not shown)`
        : `+ env ${shownEnv(client, name, value)}`,
    );
  }
  return lines;
}

/**
 * The env the client passes the server for `env`: each reference in the client's syntax
 * replaced by the variable as `lookup` finds it (doctor's environment standing in for the
 * client's); `unset` names those it does not find, which are left out.
 */
export function clientEnv(
  client: ClientName,
  env: EntryEnv,
  lookup: (name: string) => string | undefined,
): { env: EntryEnv; unset: string[] } {
  const unset = new Set<string>();
  const passed: EntryEnv = {};
  for (const [name, value] of Object.entries(env)) {
    let missing = false;
    const find = (variable: string, fallback: string | undefined) => {
      const found = lookup(variable) ?? fallback;
      if (found === undefined) {
        unset.add(variable);
        missing = true;
      }
      return found ?? "";
    };
    const expanded = client === "claude-code"
      ? value.replace(
        /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
        (_, variable: string, fallback: string | undefined) =>
          find(variable, fallback),
      )
      : client === "claude-desktop"
      ? value
      : value.replace(
        /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g,
        (_, variable: string) => find(variable, undefined),
      );
    if (!missing) passed[name] = expanded;
  }
  return { env: passed, unset: [...unset] };
}
