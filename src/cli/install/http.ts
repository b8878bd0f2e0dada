/**
 * @module
 * `install --http URL`: registers a running `serve --http` in a client's configuration, by
 * the same file rules as a command (idempotent, comments kept, `--force` to replace another
 * server's entry, the difference printed), with the entry's headers shown but never a secret.
 */

import { dirname } from "node:path";
import type { Io } from "../io.ts";
import { tooldropCommand } from "../io.ts";
import type { CliOptions } from "../options.ts";
import {
  CLIENTS,
  type ConfigTarget,
  targetFlags,
  targetPlace,
} from "./clients.ts";
import { type ConfigFile, sameJson, setEntry } from "./config_file.ts";
import {
  checkedUrl,
  entryHeaders,
  headerDifference,
  headerWarnings,
  httpEntry,
  readHttpEntry,
  shownHeader,
} from "./http_entry.ts";

/**
 * Writes the HTTP entry for `options.http` into `found.target`; resolves to the exit code.
 * `found.ours`: the entry there now starts this server over stdio, and may be replaced.
 */
export async function installHttp(
  io: Io,
  options: CliOptions,
  found: { target: ConfigTarget; config: ConfigFile; ours: boolean },
): Promise<number> {
  const { target, config } = found;
  const fail = (message: string, code = 2) => {
    io.stderr(`${message}\n`);
    return code;
  };
  if (options.http === undefined) {
    return fail(
      "--header goes with --http URL: the headers a client sends to a server it reaches over HTTP",
    );
  }
  if (options.env.length > 0) {
    return fail(
      "--env sets the variables of a server the client starts; a server reached over HTTP runs on its own, so give them to `serve --http` where it runs",
    );
  }
  let url: string;
  let entry: Record<string, unknown>;
  let warning: string | undefined;
  try {
    ({ url, warning } = checkedUrl(options.http));
    const headers = entryHeaders(target.client, options.headers ?? []);
    entry = httpEntry(target.client, url, headers);
  } catch (error) {
    return fail((error as Error).message);
  }
  const headers = readHttpEntry(entry)!.headers;
  if (warning) io.stderr(`${warning}\n`);
  if (target.scope === "project") {
    for (const line of headerWarnings(target.client, target.path, headers)) {
      io.stderr(`${line}\n`);
    }
  }
  const place = `${
    targetPlace(target)
  } (${target.label}, ${target.scope} scope)`;
  const existing = config.servers?.[target.name];
  if (existing !== undefined && sameJson(existing, entry)) {
    io.stderr(
      `"${target.name}" is already registered in ${place}; nothing to change\n`,
    );
    return 0;
  }
  const before = readHttpEntry(existing);
  const ours = found.ours || before?.url === url;
  if (existing !== undefined && !ours && !options.force) {
    return fail(
      `${
        targetPlace(target)
      } already has a different server named "${target.name}":\n  ${
        JSON.stringify(existing)
      }\nUse --force to replace it, or --name to register this one under another name.`,
      1,
    );
  }
  const edited = setEntry(config.text, [...target.at, target.name], entry);
  await Deno.mkdir(dirname(target.path), { recursive: true });
  await Deno.writeTextFile(target.path, edited);
  const shown = Object.entries(headers).map(([name, value]) =>
    `\n  header ${shownHeader(name, value)}`
  ).join("");
  const changes = existing === undefined || !ours
    ? []
    : before === undefined
    ? ["- the command it started, now reached over HTTP instead"]
    : headerDifference(before.headers, headers).map((line) =>
      line.replace(/^([-+]) /, "$1 header ")
    );
  io.stderr(
    `${
      existing === undefined ? "Registered" : "Updated"
    } "${target.name}" in ${place}: the server at ${url}, over HTTP${shown}${
      changes.map((line) => `\n  ${line}`).join("")
    }
${CLIENTS[target.client].next(target.scope)} Start it with \`${
      tooldropCommand(io)
    } serve --http …\` where it runs; \`${tooldropCommand(io)} doctor${
      targetFlags(target, options)
    }\` checks that it answers.
`,
  );
  return 0;
}
