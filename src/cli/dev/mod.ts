/**
 * @module
 * `deno task dev`: a supervisor between the client and a server child (`serve --dev-child`).
 * The child reloads tool files, and the tools a changed helper touches, itself; the supervisor
 * restarts it when the server's own code changes (src/, main.ts, deno.json, code outside
 * tools/) or when the child asks to be restarted (a tool needs permissions it was not granted).
 * The client keeps its session across restarts: the supervisor replays its `initialize` (and
 * log level) to the new child, sends requests that were still waiting again — except tool
 * calls, which it answers with an error saying to call again — and tells the client the tool
 * list may have changed. It also keeps tools/_manifest.ts and the listing cache current, and
 * type-checks saved tools in the background, printing their errors on stderr.
 *
 * The parts: supervisor.ts runs the child and passes lines, replay.ts is what it remembers of
 * the client's session (pure), watch.ts decides which changes restart and which renew,
 * typecheck.ts runs `deno check` after a save (check_scope.ts: on which tools; type_errors.ts:
 * what it said, cut short).
 */

import type { Io } from "../io.ts";
import type { CliOptions } from "../options.ts";
import { serverLogger } from "../logger.ts";
import { Supervisor } from "./supervisor.ts";

/** Runs the dev supervisor until stdin ends or a signal; resolves to the exit code. */
export async function runDev(io: Io, options: CliOptions): Promise<number> {
  const log = serverLogger(io, options);
  if (!io.entry) {
    log.error(
      "`dev` runs from source: use `deno task dev` in the project, not the compiled binary",
    );
    return 2;
  }
  if (io.stdinIsTerminal) {
    io.stderr(
      "tooldrop dev: serves tools/ over MCP on stdin/stdout, reloading tools as you save them and\nrestarting when server code changes. An AI client runs this (`deno task tooldrop install`\nregisters the server); there is nothing to type here. Ctrl+C ends it.\n",
    );
  }
  return await new Supervisor(io, options, log, io.entry).run();
}
