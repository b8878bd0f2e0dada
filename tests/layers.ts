/**
 * @module
 * The layout's rules (issue 13) as a checker: reads the imports and code of source text, with
 * comments, strings and regex bodies blanked first so JSDoc, help text and templates never
 * count, and names every file that breaks a rule, at its line. Used by tests/layers_test.ts.
 * Over 300 lines on purpose: a small lexer and the four rules, each short, read as one checker.
 *
 * Import lines rather than `deno info --json`: they cover every file (an orphan, a file only an
 * entry point reaches), work on in-memory fixtures, give line numbers, and need no resolution,
 * cache or network; the whole tree takes milliseconds. They found exactly `deno info`'s
 * dependencies for every module it reached when this was written. Dynamic imports of computed
 * specifiers (loading/ importing tool files) are not followed, by design.
 */

/** The layers of src/, lowest first: a file may import its own folder and those to its left. */
export const LAYERS = ["util", "tool", "server", "loading", "cli"] as const;
/** The public entry files: above loading/, below cli/; they may import each other, no layer imports them. */
export const ENTRY_FILES = ["src/mod.ts", "src/server.ts"];
/**
 * The main module of a tool worker: a process edge like main.ts, for its thread. It installs the
 * guards, hides `Deno.stdin` and patches `Deno.exit` there, and imports `src/mod.ts` (what tool
 * files import) so that a worker allowed to read only its tools folder can import them.
 */
export const WORKER_ENTRY = "src/loading/worker/entry.ts";
/** Files below the entry files that may still import them: only the worker entry. */
const ENTRY_IMPORTERS = [WORKER_ENTRY];
/**
 * Packages src/ may use, and where. Each is kept to the layers that need it: zod is the tool
 * contract's schema language; jsonc-parser edits client configuration, a command's job, and
 * stays off the lower layers that an embedder or the serve path loads; jose checks OAuth access
 * tokens in the HTTP transport, and nowhere else. Any other package (the SDK, express…) belongs
 * to tests and bench only. `node:` built-ins are part of the runtime
 * and allowed everywhere.
 */
export const PACKAGE_LAYERS: Record<string, readonly string[]> = {
  zod: ["tool/", "server/", "loading/", "cli/", "entry"],
  "jsonc-parser": ["cli/"],
  jose: ["server/http/"],
};
/**
 * Files outside src/ that src/ may import: none. Not even deno.json, for the version: a tool
 * module imports src/ through "tooldrop", and a worker may import a JSON file only where its
 * permissions let it read (src/server/protocol.ts writes the version out).
 */
const SRC_MAY_IMPORT: readonly string[] = [];
/**
 * What main.ts may import beside src/cli/: the binary's generated tool manifest, the guards, and
 * what moves the protocol streams off fd 0 and fd 1 (the process's descriptors are main.ts's to wire).
 */
const MAIN_MAY_IMPORT = [
  "tools/_manifest.ts",
  "src/util/guards.ts",
  "src/util/stdio_fds.ts",
];
/** The one writer of protocol lines and the one writer of command output. */
export const STDOUT_WRITERS = ["src/server/writer.ts", "src/cli/io.ts"];
/** The guard modules and who may import them (installing a guard is the process edges' job). */
export const GUARD_MODULES: Record<string, readonly string[]> = {
  "src/util/guards.ts": ["main.ts", WORKER_ENTRY],
  "src/util/_console.ts": ["main.ts", "src/util/guards.ts"],
};

/** One break of a rule, at a line of a file (paths are relative to the project, with `/`). */
export interface Violation {
  file: string;
  line: number;
  rule: "layers" | "tool imports" | "stdout" | "process edge";
  message: string;
  /** The offending import specifier or code. */
  text: string;
}

/** "<file>:<line>: <rule>: <message> (<offending import or code>)". */
export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line}: ${v.rule}: ${v.message} (${v.text})`;
}

/** A string literal found by {@link lex}, keyed by the offset of its opening quote. */
export interface Literal {
  value: string;
  /** A template literal with `${…}`: not a literal specifier. */
  expressions: boolean;
}

/** Source with comments, string contents and regex bodies blanked, lines and offsets kept. */
export interface Lexed {
  code: string;
  strings: Map<number, Literal>;
}

const REGEX_AFTER = new Set("(,=:[!&|?{};+-*%<>~^");
const REGEX_KEYWORDS = new Set(
  "return typeof instanceof in of new delete void throw case do else yield await"
    .split(" "),
);

/** Blanks comments, string contents and regex bodies (so only code is left) and records strings. */
export function lex(source: string): Lexed {
  const chars = source.split(""); // UTF-16 units, so offsets match the source
  const strings = new Map<number, Literal>();
  const blank = (at: number) => {
    if (chars[at] !== "\n" && chars[at] !== "\r") chars[at] = " ";
  };
  // Each open `${`: the brace depth it closes at, and the offset of its template's quote.
  const templates: Array<{ depth: number; start: number }> = [];
  let depth = 0;
  let i = 0;
  const template = (start: number) => {
    const literal = strings.get(start) ?? { value: "", expressions: false };
    strings.set(start, literal);
    for (; i < source.length && source[i] !== "`"; i++) {
      if (source[i] === "$" && source[i + 1] === "{") {
        literal.expressions = true;
        templates.push({ depth: depth++, start });
        i += 2;
        return;
      }
      if (source[i] === "\\") blank(i++);
      literal.value += source[i] ?? "";
      blank(i);
    }
    i++; // the closing quote
  };
  const regexAllowed = () => {
    let k = i - 1;
    while (k >= 0 && /\s/.test(chars[k]!)) k--;
    if (k < 0 || REGEX_AFTER.has(chars[k]!)) return true;
    const end = k + 1;
    while (k >= 0 && /[\w$]/.test(chars[k]!)) k--;
    return REGEX_KEYWORDS.has(chars.slice(k + 1, end).join(""));
  };
  while (i < source.length) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === "/" && next === "/") {
      for (; i < source.length && source[i] !== "\n"; i++) blank(i);
    } else if (ch === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      for (const stop = end < 0 ? source.length : end + 2; i < stop; i++) {
        blank(i);
      }
    } else if (ch === '"' || ch === "'") {
      const start = i++;
      let value = "";
      for (; i < source.length && source[i] !== ch && source[i] !== "\n"; i++) {
        if (source[i] === "\\") blank(i++);
        value += source[i] ?? "";
        blank(i);
      }
      if (source[i] === ch) i++;
      strings.set(start, { value, expressions: false });
    } else if (ch === "`") {
      template(i++);
    } else if (ch === "}" && templates.at(-1)?.depth === depth - 1) {
      const { start } = templates.pop()!;
      depth--;
      i++;
      template(start); // back inside the template that opened this `${`
    } else if (ch === "/" && regexAllowed()) {
      let inClass = false;
      for (i++; i < source.length && source[i] !== "\n"; i++) {
        if (source[i] === "\\") blank(i++);
        else if (source[i] === "[") inClass = true;
        else if (source[i] === "]") inClass = false;
        else if (source[i] === "/" && !inClass) break;
        blank(i);
      }
      i++; // the closing slash
    } else {
      if (ch === "{") depth++;
      if (ch === "}") depth--;
      i++;
    }
  }
  return { code: chars.join(""), strings };
}

/** The 1-based line of an offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (
    let k = text.indexOf("\n");
    k >= 0 && k < offset;
    k = text.indexOf("\n", k + 1)
  ) line++;
  return line;
}

/** An import found in source text. */
export interface ImportRef {
  specifier: string;
  line: number;
}

const IMPORT_PATTERNS = [
  /(?<![\w$.])(?:import|export)\b[^;"'`]*?\bfrom\s*(["'])/g, // import … from "x", export … from "x"
  /(?<![\w$.])import\s*(["'])/g, // import "x"
  /(?<![\w$.])import\s*\(\s*(["'`])/g, // import("x"), typeof import("x")
];

/** Every import of a literal specifier: static, re-export, side-effect and dynamic, types too. */
export function importsOf(source: string | Lexed): ImportRef[] {
  const { code, strings } = typeof source === "string" ? lex(source) : source;
  const found: Array<ImportRef & { at: number }> = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      const at = match.index + match[0].length - 1;
      const literal = strings.get(at);
      if (!literal || literal.expressions) continue;
      found.push({ specifier: literal.value, line: lineAt(code, at), at });
    }
  }
  return found.sort((a, b) => a.at - b.at).map(({ specifier, line }) => ({
    specifier,
    line,
  }));
}

/** What a specifier names: a project file, a package, a built-in, or something else. */
export type Target =
  | { kind: "file"; path: string }
  | { kind: "package"; name: string; direct: boolean }
  | { kind: "node" }
  | { kind: "other" };

/** The package name in an `npm:` specifier: `npm:@a/b@1/x` is `@a/b`. */
function packageName(spec: string): string {
  const parts = spec.replace(/^npm:\/?/, "").split("/");
  const name = parts[0]!.startsWith("@")
    ? `${parts[0]}/${parts[1] ?? ""}`
    : parts[0]!;
  return name.replace(/(.)@.*$/, "$1");
}

/** Resolves `spec` imported by `from` (both relative to the project root) through `imports`. */
export function resolveImport(
  spec: string,
  from: string,
  imports: Record<string, string>,
): Target {
  if (/^\.{0,2}\//.test(spec)) {
    return {
      kind: "file",
      path: decodeURIComponent(
        new URL(spec, `file:///${from}`).pathname.slice(1),
      ),
    };
  }
  if (spec.startsWith("node:")) return { kind: "node" };
  if (spec.startsWith("npm:")) {
    return { kind: "package", name: packageName(spec), direct: true };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec)) return { kind: "other" };
  const key = spec in imports ? spec : Object.keys(imports)
    .filter((k) => k.endsWith("/") && spec.startsWith(k))
    .sort((a, b) => b.length - a.length)[0];
  const bareName = packageName(spec);
  if (key === undefined) {
    // Deno maps `name/sub` when `name` is mapped to a package.
    const mapped = imports[bareName];
    return mapped?.startsWith("npm:")
      ? { kind: "package", name: packageName(mapped), direct: false }
      : { kind: "other" };
  }
  const target = imports[key]! + spec.slice(key.length);
  return target.startsWith("npm:")
    ? { kind: "package", name: packageName(target), direct: false }
    : resolveImport(target, "deno.json", {});
}

/** Where a file sits: a layer (its index), an entry file, main.ts, or outside the layers. */
function placeOf(file: string): { layer: number; name: string } | undefined {
  if (file === "main.ts") return { layer: LAYERS.length + 1, name: "main.ts" };
  if (ENTRY_FILES.includes(file)) return { layer: 3.5, name: "entry" };
  const folder = file.match(/^src\/([^/]+)\//)?.[1];
  const layer = LAYERS.indexOf(folder as typeof LAYERS[number]);
  return layer < 0 ? undefined : { layer, name: `${folder}/` };
}

/** Why `from`, a file at `place`, may not import `target`; undefined when it may. */
function layerBreak(
  place: { layer: number; name: string },
  target: Target,
  from: string,
): string | undefined {
  if (place.name === "main.ts") {
    const ok = target.kind === "file" &&
      (target.path.startsWith("src/cli/") ||
        MAIN_MAY_IMPORT.includes(target.path));
    return ok ? undefined : "main.ts may import only src/cli/";
  }
  if (target.kind === "node") return undefined;
  if (target.kind === "other") return "not a project file, package or node:";
  if (target.kind === "package") {
    const where = PACKAGE_LAYERS[target.name];
    if (target.direct) return "a direct npm: specifier; use deno.json's name";
    if (!where) return `package "${target.name}" is for tests and bench only`;
    // A layer (`server/`) or a folder inside one (`server/http/`).
    if (
      where.includes(place.name) ||
      where.some((folder) => from.startsWith(`src/${folder}`))
    ) return undefined;
    return `package "${target.name}" is only for ${where.join(", ")}`;
  }
  const to = placeOf(target.path);
  if (target.path === "main.ts") return "src/ imports main.ts";
  if (!target.path.startsWith("src/")) {
    if (SRC_MAY_IMPORT.includes(target.path)) return undefined;
    return `src/ imports ${target.path.replace(/\/.*/, "/")} outside src/`;
  }
  if (to?.name === "entry" && place.name !== "entry") {
    if (ENTRY_IMPORTERS.includes(from)) return undefined;
    return `${place.name} imports the public entry ${target.path}`;
  }
  if (to && to.layer > place.layer) {
    return `${place.name} imports ${to.name}, a layer above it`;
  }
  return undefined;
}

/** Why `file` may not import `target`, a `_`-prefixed (private) file of another folder. */
function privateBreak(file: string, target: Target): string | undefined {
  if (target.kind !== "file" || !target.path.startsWith("src/")) {
    return undefined;
  }
  const name = target.path.slice(target.path.lastIndexOf("/") + 1);
  const folder = (path: string) => path.slice(0, path.lastIndexOf("/") + 1);
  if (!name.startsWith("_") || folder(target.path) === folder(file)) {
    return undefined;
  }
  return `imports ${target.path}, private to ${folder(target.path)}`;
}

/** Rule 1: the layer order, which packages each layer may use, and private files. */
export function checkLayers(
  files: ReadonlyMap<string, string>,
  imports: Record<string, string>,
): Violation[] {
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const place = placeOf(file);
    if (!place) {
      const message = "not in a layer folder of src/ nor an entry file";
      const text = JSON.stringify(file);
      out.push({ file, line: 1, rule: "layers", message, text });
      continue;
    }
    for (const { specifier, line } of importsOf(source)) {
      const target = resolveImport(specifier, file, imports);
      const message = layerBreak(place, target, file) ??
        privateBreak(file, target);
      if (!message) continue;
      const text = JSON.stringify(specifier);
      out.push({ file, line, rule: "layers", message, text });
    }
  }
  return out;
}

/** Rule 2's break that no valid tool has, the one the project's own tools/ is held to. */
export const REACHES_INTO_SRC = 'reaches into tooldrop\'s src/; use "tooldrop"';

/** Why a tool file in `folder` may not import `spec`; undefined when it may. */
function toolBreak(spec: string, target: Target, folder: string) {
  if (
    target.kind === "file" && target.path.startsWith("src/") &&
    !ENTRY_FILES.includes(target.path)
  ) return REACHES_INTO_SRC;
  if (spec === "tooldrop" || packageName(spec) === "zod") return undefined;
  if (target.kind === "node" || target.kind === "package") return undefined;
  if (target.kind === "other") {
    return "not tooldrop, zod, npm:, node:, a mapped name or a helper";
  }
  // A name mapped in deno.json, or a helper in the folder.
  const bare = !/^[./]|^[a-z][a-z0-9+.-]*:/i.test(spec);
  if (bare || target.path.startsWith(folder)) return undefined;
  return "leaves its tools folder";
}

/** Rule 2: what the script files under `toolsDir` (relative to the project root) may import. */
export function checkToolImports(
  files: ReadonlyMap<string, string>,
  toolsDir: string,
  imports: Record<string, string>,
): Violation[] {
  const folder = toolsDir.replace(/\/?$/, "/");
  const out: Violation[] = [];
  for (const [file, source] of files) {
    for (const { specifier, line } of importsOf(source)) {
      const target = resolveImport(specifier, file, imports);
      const message = toolBreak(specifier, target, folder);
      if (!message) continue;
      const text = JSON.stringify(specifier);
      out.push({ file, line, rule: "tool imports", message, text });
    }
  }
  return out;
}

/** Patterns of code (comments and strings blanked) that break rules 3 and 4, with who may. */
const CODE_RULES: Array<{
  rule: Violation["rule"];
  pattern: RegExp;
  message: string;
  allowed: readonly string[];
}> = [
  {
    rule: "stdout",
    pattern: /\bDeno\s*\.\s*stdout\b/g,
    message: "only main.ts touches Deno.stdout",
    allowed: ["main.ts", WORKER_ENTRY],
  },
  {
    rule: "stdout", // Node's global, not a local `process` (a child process)
    pattern:
      /\bglobalThis\s*\.\s*process\s*\.\s*stdout\b|(?<![\w$.])process\s*\.\s*stdout\b/g,
    message: "touches Node's process.stdout",
    allowed: [],
  },
  {
    rule: "stdout", // `x.stdout.write(…)`, `writeTo(io.stdout, …)`, `pipeTo(stdout)`, `writeSync(1, …)`
    pattern: new RegExp(
      String.raw`(?<![\w$])stdout\s*\.\s*(?:write|writeSync|getWriter)\b` +
        String
          .raw`|\b(?:write|writeSync|writev|writevSync|writeAll|writeTo|pipeTo)\s*\(` +
        String.raw`\s*(?:1\s*[,)]|(?:[\w$]+\s*\.\s*)*stdout\b)`,
      "g",
    ),
    message: "writes to stdout outside the writer and print",
    allowed: STDOUT_WRITERS,
  },
  {
    rule: "process edge", // `Deno.exit(…)`, `const { exit } = Deno`
    pattern:
      /\bDeno\s*\.\s*(?:stdin|args|exit)\b|\{[^{}]*\b(?:stdin|args|exit)\b[^{}]*\}\s*=\s*Deno\b/g,
    message: "only main.ts touches Deno.stdin, Deno.args and Deno.exit",
    allowed: ["main.ts", WORKER_ENTRY],
  },
  {
    rule: "process edge", // `Object.defineProperty(Deno, …)`, `console.log = …`, `globalThis.x = …`, not `x: Deno.T = …`
    pattern: new RegExp(
      String
        .raw`\b(?:Object\s*\.\s*(?:defineProperty|defineProperties|assign|setPrototypeOf)` +
        String
          .raw`|Reflect\s*\.\s*(?:set|defineProperty))\s*\(\s*(?:globalThis\s*\.\s*)?` +
        String.raw`(?:Deno|globalThis|console|process)\b` +
        String
          .raw`|(?<![\w$.]|:\s*)(?:globalThis|Deno|console)(?:\s*\.\s*[\w$]+|\s*\[[^\]]*\])+` +
        String.raw`\s*[-+*/]?=(?![=>])`,
      "g",
    ),
    message: "redefines a global: only main.ts installs the guards",
    allowed: ["main.ts", WORKER_ENTRY, ...Object.keys(GUARD_MODULES)],
  },
];

/** Rules 3 and 4: stdout writes, and the process edge (stdin, args, exit, the global guards). */
export function checkProcessEdge(
  files: ReadonlyMap<string, string>,
  imports: Record<string, string>,
): Violation[] {
  const out: Violation[] = [];
  for (const [file, source] of files) {
    const lexed = lex(source);
    const { code, strings } = lexed;
    const found: Violation[] = [];
    const add = (
      at: number,
      rule: Violation["rule"],
      message: string,
      text: string,
    ) => found.push({ file, line: lineAt(code, at), rule, message, text });
    const localProcess = /\b(?:const|let|var)\s+process\b/.test(code);
    for (const { rule, pattern, message, allowed } of CODE_RULES) {
      if (allowed.includes(file)) continue;
      for (const match of code.matchAll(pattern)) {
        if (localProcess && match[0].startsWith("process")) continue;
        add(match.index, rule, message, match[0].replace(/\s+/g, " "));
      }
    }
    for (const [at, { value }] of strings) {
      if (!/^(?:\/dev\/stdout|\/dev\/fd\/1|CONOUT\$)$/.test(value)) continue;
      if (STDOUT_WRITERS.includes(file)) continue;
      add(at, "stdout", "opens stdout by path", JSON.stringify(value));
    }
    // `import { stdout } from "node:process"`
    for (const match of code.matchAll(/\{([^{}]*)\}\s*from\s*["']/g)) {
      const at = match.index + match[0].length - 1;
      const spec = strings.get(at)?.value ?? "";
      if (!/^(?:node:)?process$/.test(spec)) continue;
      if (!/\bstdout\b/.test(match[1]!)) continue;
      add(at, "stdout", "imports Node's stdout", JSON.stringify(spec));
    }
    for (const { specifier, line } of importsOf(lexed)) {
      const target = resolveImport(specifier, file, imports);
      const importers = target.kind === "file" && GUARD_MODULES[target.path];
      if (!importers || importers.includes(file)) continue;
      const message = "only main.ts installs the global guards";
      const text = JSON.stringify(specifier);
      found.push({ file, line, rule: "process edge", message, text });
    }
    // One break per line and rule (the first pattern, the most specific, names it), by line.
    const seen = new Set<string>();
    out.push(
      ...found.sort((a, b) => a.line - b.line).filter((v) =>
        !seen.has(`${v.line} ${v.rule}`) && seen.add(`${v.line} ${v.rule}`)
      ),
    );
  }
  return out;
}

const SCRIPT = /\.(?:[mc]?[jt]sx?)$/;

/** The script files under `dir` (relative to `root`), sorted, as paths relative to `root`. */
export async function readScripts(
  root: string,
  dir: string,
  skip: (name: string) => boolean = () => false,
): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string) => {
    const entries = await Array.fromAsync(Deno.readDir(`${root}/${rel}`));
    for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = `${rel}/${entry.name}`;
      if (/^\.|^node_modules$/.test(entry.name) || skip(entry.name)) continue;
      if (entry.isDirectory) await walk(path);
      else if (SCRIPT.test(entry.name)) {
        files.set(path, await Deno.readTextFile(`${root}/${path}`));
      }
    }
  };
  await walk(dir);
  return files;
}
