/**
 * @module
 * The key Claude Code files a folder's local-scope servers under in ~/.claude.json
 * (`projects[<key>].mcpServers`): the folder with symbolic links resolved, or the root of the
 * git repository it is in, and for a linked worktree the root of its main repository.
 */

import { basename, dirname, join, resolve } from "node:path";

/**
 * The `projects` key Claude Code uses for `dir`, as `claude mcp add --scope local` (2.1.328)
 * writes it when started there: measured, not documented. From /repo/sub it writes /repo; from
 * a worktree of /repo, /repo; through a symbolic link, the real path.
 */
export function claudeProjectKey(dir: string): string {
  const real = Deno.realPathSync(dir);
  for (let folder = real;; folder = dirname(folder)) {
    const git = join(folder, ".git");
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.statSync(git);
    } catch {
      // not here: look in the folder above
    }
    if (info?.isDirectory) return folder;
    if (info?.isFile) return worktreeMain(folder, git) ?? folder;
    if (dirname(folder) === folder) return real;
  }
}

/**
 * For a linked worktree (`.git` is a file `gitdir: <repo>/.git/worktrees/<name>`, whose
 * `commondir` names `<repo>/.git`), the main repository's folder; undefined for anything else
 * (a submodule, a file that does not read so).
 */
function worktreeMain(folder: string, gitFile: string): string | undefined {
  try {
    const line = Deno.readTextFileSync(gitFile).trim();
    if (!line.startsWith("gitdir:")) return undefined;
    const gitDir = resolve(folder, line.slice("gitdir:".length).trim());
    const common = resolve(
      gitDir,
      Deno.readTextFileSync(join(gitDir, "commondir")).trim(),
    );
    if (dirname(gitDir) !== join(common, "worktrees")) return undefined;
    return basename(common) === ".git" ? dirname(common) : undefined;
  } catch {
    return undefined;
  }
}
