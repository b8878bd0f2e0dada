/**
 * @module
 * The log level of a command that serves (`serve`, `dev`): `--log-level`, else the
 * `TOOLDROP_LOG` variable (the way to set it from a client's configuration), else info.
 */

import type { Io } from "./io.ts";
import type { CliOptions } from "./options.ts";
import { isLogLevel, LOG_LEVELS, Logger } from "../util/log.ts";

/** The variable that sets the log level of a server a client starts. */
export const LOG_VARIABLE = "TOOLDROP_LOG";

/** The serving logger, on stderr; warns once about a `TOOLDROP_LOG` it does not know. */
export function serverLogger(io: Io, options: CliOptions): Logger {
  const envLevel = io.env(LOG_VARIABLE);
  const log = new Logger({
    level: options.logLevel ?? (isLogLevel(envLevel) ? envLevel : "info"),
    write: io.stderr,
  });
  if (envLevel !== undefined && !isLogLevel(envLevel) && !options.logLevel) {
    log.warn(
      `Ignoring ${LOG_VARIABLE}="${envLevel}": use one of ${
        LOG_LEVELS.join(", ")
      }`,
    );
  }
  return log;
}
