/**
 * @module
 * Least-privilege Deno permissions: the base set every tooldrop server runs with (read the
 * working directory tree, the one environment variable it reads) plus what its tools declare,
 * as the flags `deno run` and `deno compile` take.
 */

import { LIBC_PATHS } from "../util/stdio_fds.ts";
import { isPlainObject } from "../util/is.ts";

/** One kind of Deno permission a tool may ask for, as in `--allow-<kind>`. */
export type PermissionKind =
  | "read"
  | "write"
  | "net"
  | "env"
  | "run"
  | "sys"
  | "ffi";

/** The Deno permissions a tool may ask for, beyond the base set, in flag order. */
export const PERMISSION_KINDS: readonly PermissionKind[] = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "sys",
  "ffi",
];

/**
 * Extra Deno permissions a tool needs: `true` for all of a kind, or the paths, hosts, variable
 * names or commands it is limited to (as `--allow-<kind>=<list>` takes them).
 *
 * @example
 * ```ts
 * import type { ToolPermissions } from "tooldrop";
 *
 * const permissions: ToolPermissions = { net: ["api.github.com"], env: ["GITHUB_TOKEN"] };
 * ```
 */
export type ToolPermissions = { [K in PermissionKind]?: true | string[] };

/** Every server may read its working directory tree and its log-level variable; nothing else. */
export const BASE_PERMISSIONS: ToolPermissions = {
  read: ["."],
  env: ["TOOLDROP_LOG"],
};

/**
 * What a server holds beyond the base set for a moment, and never grants a tool: FFI to libc, to
 * take the protocol streams out of fd 0 and fd 1 (src/util/stdio_fds.ts), given up as soon as
 * they are moved, before any tool file is evaluated. Not in an HTTP binary (nothing to move), nor
 * in a binary whose tools declare FFI of their own.
 */
export const STDIO_PERMISSIONS: ToolPermissions = {
  ffi: [...LIBC_PATHS].sort(), // as the union of permissions sorts them
};

/**
 * Flags every server runs with besides permissions. V8's flags hold for every isolate of the
 * process, the tools' workers too: a young generation capped at 2 MiB per semi-space keeps each
 * isolate's peak small. With the tools in workers it beat the old `--initial-old-space-size=64`
 * (chosen when tools ran in the server's thread) on both counts, in 4 interleaved sessions of
 * the benchmark: pipelined 68–77k calls/s against 53–67k, peak RSS 109–112 MiB against 130–136,
 * cold start and big echoes alike. Old space then fills with short-lived objects promoted out of
 * that small young generation; growing it by half instead of the default factor before the next
 * full collection cut peak RSS under load by ~12 MiB (HTTP at 64 clients: 127 → 113 MiB; 40,000
 * pipelined stdio calls: 121 → 108) at no measurable cost in CPU, in interleaved rounds. And the
 * young generation starts at its 2 MiB rather than growing there from 1: start-up scavenged half
 * as often, and spawn → `tools/list` reply took 130 ms instead of 140 (21 interleaved rounds), at
 * the same RSS.
 */
export const RUNTIME_FLAGS = [
  "--no-prompt",
  "--v8-flags=--max-semi-space-size=2,--min-semi-space-size=2,--heap-growing-percent=50",
] as const;

/**
 * A permission set as one string, the same for the same grants in any order (lists sorted,
 * repeats and empty lists dropped): tools whose keys are equal share a worker.
 */
export function permissionsKey(
  permissions: ToolPermissions | undefined,
): string {
  const canonical: ToolPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const grant = permissions?.[kind];
    if (grant === true) canonical[kind] = true;
    else if (grant && grant.length > 0) {
      canonical[kind] = [...new Set(grant)].sort();
    }
  }
  return JSON.stringify(canonical);
}

/**
 * The Deno permissions of a tool worker (`new Worker(url, { deno: { permissions } })`): `base`
 * (the base set, or the part of it this process holds: a worker cannot exceed its parent), read
 * access to `toolsDir` (to import the tool and its helpers) and exactly what its tools
 * `declared`; every other kind is denied. `import` (remote modules, `jsr:`) is inherited: it
 * loads code only, and a tool that imports `jsr:@std/path` loads in this thread too.
 */
export function workerPermissions(
  declared: ToolPermissions | undefined,
  toolsDir: string,
  base: ToolPermissions = BASE_PERMISSIONS,
): Deno.PermissionOptionsObject {
  const set = unionPermissions([base, { read: [toolsDir] }, declared]);
  const options: Deno.PermissionOptionsObject = { import: "inherit" };
  for (const kind of PERMISSION_KINDS) {
    const grant = set[kind];
    options[kind] = grant === true || (grant && grant.length > 0)
      ? grant
      : false;
  }
  return options;
}

/** Checks a tool's `permissions` field; returns what is wrong, or undefined when it is fine. */
export function permissionsProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) {
    return `"permissions" must be an object like { net: ["api.example.com"] }`;
  }
  for (const [kind, grant] of Object.entries(value)) {
    if (!(PERMISSION_KINDS as readonly string[]).includes(kind)) {
      return `"permissions" has an unknown kind "${kind}"; use ${
        PERMISSION_KINDS.join(", ")
      }`;
    }
    if (grant === true) continue;
    if (
      !Array.isArray(grant) ||
      !grant.every((item) =>
        typeof item === "string" && item !== "" && !item.includes(",")
      )
    ) {
      return `"permissions.${kind}" must be true or a list of names without commas, like ["example.com"]`;
    }
  }
  return undefined;
}

/** The union of permission sets: `true` wins over lists; lists are merged and sorted. */
export function unionPermissions(
  sets: Iterable<ToolPermissions | undefined>,
): ToolPermissions {
  const union: ToolPermissions = {};
  for (const set of sets) {
    if (!set) continue;
    for (const kind of PERMISSION_KINDS) {
      const grant = set[kind];
      const held = union[kind];
      if (grant === undefined || held === true) continue;
      if (grant === true) {
        union[kind] = true;
        continue;
      }
      union[kind] = [...new Set([...(held ?? []), ...grant])].sort();
    }
  }
  return union;
}

/** The `--allow-*` flags for a permission set, in a fixed order. */
export function permissionFlags(permissions: ToolPermissions): string[] {
  const flags: string[] = [];
  for (const kind of PERMISSION_KINDS) {
    const grant = permissions[kind];
    if (grant === true) flags.push(`--allow-${kind}`);
    else if (grant && grant.length > 0) {
      flags.push(`--allow-${kind}=${grant.join(",")}`);
    }
  }
  return flags;
}

/**
 * The flags a server runs or is compiled with: the runtime flags, then the base set plus the
 * permissions its tools declare plus `extra` (what running from source needs besides), merged;
 * plus STDIO_PERMISSIONS unless `stdio` is false (a binary that moves no stream).
 */
export function serverFlags(
  declared: Iterable<ToolPermissions | undefined>,
  extra: ToolPermissions = {},
  stdio = true,
): string[] {
  const union = unionPermissions([
    BASE_PERMISSIONS,
    ...(stdio ? [STDIO_PERMISSIONS] : []),
    extra,
    ...declared,
  ]);
  return [...RUNTIME_FLAGS, ...permissionFlags(union)];
}

/** The part of `permissions` this process was granted (Deno.permissions.querySync). */
export function heldPermissions(permissions: ToolPermissions): ToolPermissions {
  const held: ToolPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const grant = permissions[kind];
    if (grant === true) {
      if (granted({ name: kind } as Deno.PermissionDescriptor)) {
        held[kind] = true;
      }
    } else if (grant) {
      const items = grant.filter((item) => granted(descriptor(kind, item)));
      if (items.length > 0) held[kind] = items;
    }
  }
  return held;
}

/**
 * The flags of `permissions` this process was not granted (Deno.permissions.querySync), e.g.
 * `--allow-net=api.example.com`; empty when it has them all.
 */
export function missingPermissions(permissions: ToolPermissions): string[] {
  const missing: ToolPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const grant = permissions[kind];
    if (grant === undefined) continue;
    if (grant === true) {
      if (!granted({ name: kind } as Deno.PermissionDescriptor)) {
        missing[kind] = true;
      }
      continue;
    }
    const lacking = grant.filter((item) => !granted(descriptor(kind, item)));
    if (lacking.length > 0) missing[kind] = lacking;
  }
  return permissionFlags(missing);
}

function descriptor(
  kind: PermissionKind,
  item: string,
): Deno.PermissionDescriptor {
  switch (kind) {
    case "read":
    case "write":
    case "ffi":
      return { name: kind, path: item };
    case "net":
      return { name: kind, host: item };
    case "env":
      return { name: kind, variable: item };
    case "run":
      return { name: kind, command: item };
    case "sys":
      return {
        name: kind,
        kind: item as NonNullable<Deno.SysPermissionDescriptor["kind"]>,
      };
  }
}

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false; // a malformed host or path: not something this process holds
  }
}
