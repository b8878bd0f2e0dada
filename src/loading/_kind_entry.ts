/**
 * @module
 * A prompt's or resource's listing-cache entry, checked as read from `.listing.json`: a
 * hand-edited or damaged cache must not break serving (such an entry is probed again).
 */

import type { PromptListing } from "../tool/prompt.ts";
import type { ResourceListing } from "../tool/resource.ts";
import { permissionsProblem } from "../tool/permissions.ts";
import { TOOL_NAME_PATTERN } from "../tool/served.ts";
import { isPlainObject } from "../util/is.ts";
import { isTimerMs } from "../util/timer.ts";

/** `value` as a prompt's entry when it is one, else undefined. */
export function promptEntry(
  value: Record<string, unknown>,
): (PromptListing & { hash: string }) | undefined {
  const { hash, name, descriptor, permissions, timeoutMs, completes } = value;
  if (
    typeof hash !== "string" || typeof name !== "string" ||
    !TOOL_NAME_PATTERN.test(name) || !isPlainObject(descriptor) ||
    descriptor.name !== name || typeof descriptor.description !== "string" ||
    !isTimerMs(timeoutMs) || !isStrings(completes) ||
    (permissions !== undefined && permissionsProblem(permissions))
  ) {
    return undefined;
  }
  return {
    hash,
    name,
    descriptor: descriptor as unknown as PromptListing["descriptor"],
    permissions: permissions as PromptListing["permissions"],
    timeoutMs: timeoutMs as number,
    completes,
  };
}

/** `value` as a resource's entry when it is one, else undefined. */
export function resourceEntry(
  value: Record<string, unknown>,
): (ResourceListing & { hash: string }) | undefined {
  const {
    hash,
    key,
    descriptor,
    permissions,
    timeoutMs,
    completes,
    watch,
    subscribes,
    cache,
  } = value;
  if (
    typeof hash !== "string" || typeof key !== "string" || key === "" ||
    !isPlainObject(descriptor) || typeof descriptor.name !== "string" ||
    (typeof descriptor.uri === "string") ===
      (typeof descriptor.uriTemplate === "string") ||
    !isTimerMs(timeoutMs) || !isStrings(completes) || !isStrings(watch) ||
    typeof subscribes !== "boolean" || !isPlainObject(cache) ||
    !Number.isSafeInteger(cache.ttlMs) || (cache.ttlMs as number) < 0 ||
    (cache.scope !== "public" && cache.scope !== "private") ||
    (permissions !== undefined && permissionsProblem(permissions))
  ) {
    return undefined;
  }
  return {
    hash,
    key,
    descriptor: descriptor as unknown as ResourceListing["descriptor"],
    permissions: permissions as ResourceListing["permissions"],
    timeoutMs: timeoutMs as number,
    completes,
    watch,
    subscribes,
    cache: { ttlMs: cache.ttlMs as number, scope: cache.scope },
  };
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) &&
    value.every((item) => typeof item === "string");
}
