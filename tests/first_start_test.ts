import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { ROOT } from "./spawn.ts";

/**
 * The npm packages serving needs (zod), the install command's JSONC editor, and the JWT checks
 * of `serve --http --oauth-issuer` (jose: 50 KB, no dependencies, loaded only in that mode).
 */
const SERVING_PACKAGES = ["jose", "jsonc-parser", "zod"];

// Deno installs every npm package of the lock file a command runs with, so a first start on a
// fresh cache downloads all of deno.lock: test and bench dependencies live in tests/deno.lock.
Deno.test("deno.lock, which `deno task start` installs from, holds only what serving needs", async () => {
  const lock = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.lock`)) as {
    npm?: Record<string, unknown>;
  };
  const packages = Object.keys(lock.npm ?? {}).map((key) =>
    key.slice(0, key.indexOf("@", 1))
  );
  assert.deepEqual(packages.sort(), SERVING_PACKAGES);
});

Deno.test("the import map names only tooldrop itself and serving's packages", () => {
  const npm = Object.values(denoJson.imports)
    .filter((target) => target.startsWith("npm:"))
    .map((target) => target.slice(4, target.indexOf("@", 5)));
  assert.deepEqual(npm.sort(), SERVING_PACKAGES);
});

Deno.test("the tasks that load test dependencies use tests/deno.lock", () => {
  assert.match(denoJson.tasks.test, /--lock=tests\/deno\.lock/);
  assert.match(denoJson.tasks.check, /deno check --lock=tests\/deno\.lock/);
});
