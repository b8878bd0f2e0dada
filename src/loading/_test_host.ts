/**
 * @module
 * What the test helpers (`callTool`, `getPrompt`, `readResource`) share when they run a file as
 * served: a host of workers for its folder, and the checks that this test process can give the
 * worker what it needs.
 */

import {
  BASE_PERMISSIONS,
  heldPermissions,
  missingPermissions,
  type ToolPermissions,
  unionPermissions,
  workerPermissions,
} from "../tool/permissions.ts";
import type { WorkerHost } from "./worker/host.ts";
import type { Logger, LogLevel } from "../util/log.ts";

/**
 * Runs `call` with a host of workers for the files in `dir` and the logger of a test's call
 * (stderr, at `logLevel`); the file's console output shows (at info), as it does under `call`
 * and `dev`. Every worker is terminated before this settles.
 */
export async function withTestHost<T>(
  dir: URL,
  logLevel: LogLevel | undefined,
  call: (host: WorkerHost, log: Logger) => Promise<T>,
): Promise<T> {
  const [{ stderrLogger }, { WorkerHost }] = await Promise.all([
    import("../server/invoke.ts"),
    import("./worker/host.ts"),
  ]);
  const log = stderrLogger(logLevel);
  const host = new WorkerHost({
    toolsDir: dir,
    log,
    logLevel: logLevel ?? "info",
    idleMs: 0,
  });
  try {
    return await call(host, log);
  } finally {
    host.close();
  }
}

/**
 * Throws, after `prefix`, saying what to do, where this process cannot give the worker of a file
 * in `dir` that declares `permissions` what it needs: a permission this process lacks, or read
 * access to tooldrop's own modules.
 */
export function checkWorkerGrants(
  prefix: string,
  permissions: ToolPermissions | undefined,
  dir: URL,
): void {
  const folder = decodeURIComponent(dir.pathname).replace(/(.)\/$/, "$1");
  const missing = missingPermissions(
    unionPermissions([{ read: [folder] }, permissions]),
  );
  if (missing.length > 0) {
    throw new Error(
      `${prefix}its worker needs ${
        missing.join(" ")
      }, which this test process was not granted; run the tests with \`deno task test\` (--allow-all), or grant at least that`,
    );
  }
  // A worker reads the modules it starts from only where it may read: under the working
  // directory (when this process holds it) or in the tool's folder.
  const granted = workerPermissions(
    permissions,
    folder,
    heldPermissions(BASE_PERMISSIONS),
  ).read;
  const entry = new URL("./worker/entry.ts", import.meta.url);
  if (entry.protocol === "file:" && !mayRead(granted, entry)) {
    throw new Error(
      `${prefix}its worker may not read tooldrop's ${
        decodeURIComponent(new URL("..", import.meta.url).pathname)
      }, which is outside the working directory and the tool's folder; run the tests from the project's folder with read access to it (\`deno task test\` grants all)`,
    );
  }
}

/** Whether a worker granted `grant` of read access may read the file at `url`. */
function mayRead(
  grant: Deno.PermissionOptionsObject["read"],
  url: URL,
): boolean {
  if (grant === true || grant === "inherit") return true;
  if (!Array.isArray(grant)) return false;
  const path = decodeURIComponent(url.pathname);
  return grant.some((item) => {
    let folder = item instanceof URL ? decodeURIComponent(item.pathname) : item;
    if (!folder.startsWith("/")) {
      try {
        const cwd = new URL(`file://${Deno.cwd()}/`);
        folder = decodeURIComponent(new URL(folder, cwd).pathname);
      } catch {
        return false; // this process may not read the working directory
      }
    }
    const base = folder.replace(/\/$/, "");
    return path === base || path.startsWith(`${base}/`);
  });
}
