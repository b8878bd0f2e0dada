// How the conformance run starts its two npm packages: under Deno, from the repository's root,
// without the project's configuration, pinned by their own lock file (see run.ts).

/** The repository's root: where main.ts is, and the working directory of every process. */
export const ROOT = new URL("../../", import.meta.url);

/**
 * `deno run` flags for the npm packages: no deno.json (its import map and lock are serving's),
 * tests/conformance/deno.lock instead, and `--frozen`, so a version or hash that differs from
 * the lock fails the run instead of changing the lock.
 */
export const NPM_FLAGS = [
  "--no-config",
  "--lock=tests/conformance/deno.lock",
  "--frozen",
  "--no-prompt",
];
