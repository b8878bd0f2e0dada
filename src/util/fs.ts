/**
 * @module
 * The two questions commands ask of a path before they use it.
 */

/** True when `path` is a file, or a link to one; false when it is missing or unreadable. */
export async function isFile(path: string | URL): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * True when something is at `path`, even a broken link (so that writing there would replace
 * it); false when nothing is. Throws when it cannot tell, such as without read permission.
 */
export async function pathTaken(path: string | URL): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
