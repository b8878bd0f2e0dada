/**
 * @module
 * The loading layer: the only code that imports tool files. It finds them in a folder (or in the
 * generated manifest of a compiled binary), imports each within a time limit, checks and lints
 * it into a `ToolSet` with every error naming the file, and reloads them on change. It imports
 * `util/`, `tool/` and `server/`; commands (`cli/`) and the public entry files sit above it.
 * Serving imports these files lazily, one by one, so that the handshake never waits for them.
 */

export {
  checkModules,
  type LoadOptions,
  type LoadResult,
  loadToolDir,
} from "./discover.ts";
export {
  declaredPermissions,
  loadTools,
  type LoadToolsOptions,
  warnMissingPermissions,
} from "./load.ts";
export {
  checkManifest,
  MANIFEST_FILE,
  renderManifest,
  type ToolManifest,
  writeManifest,
} from "./manifest.ts";
export {
  type ReloaderOptions,
  RESTART_EXIT_CODE,
  ToolReloader,
} from "./reload.ts";
export { folderLabel, isToolFile } from "./tool_files.ts";
export { folderPath, type WatchOptions, watchPaths } from "./watch.ts";
