/** Paths to `file:` URLs without node:url: the same URLs as node:url makes, and back. */

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { filePath, fileUrl, folderUrl } from "../src/util/file_url.ts";

const PATHS = [
  "/tmp/a b/c",
  "/tmp/a+b@c,d;e=f$g&h",
  "/tmp/x%y/#q?z",
  "/tmp/ü/ñ",
  "/tmp/tab\tx",
  "/tmp/new\nline",
  "/tmp/back\\slash",
  "/",
];

Deno.test("fileUrl spells a path as node:url does, and filePath reads it back", () => {
  for (const path of PATHS) {
    assert.equal(fileUrl(path).href, pathToFileURL(path).href, path);
    assert.equal(filePath(fileUrl(path)), path);
  }
});

Deno.test("folderUrl resolves a relative folder against a base, and ends in a slash", () => {
  const cases: Array<[string, string]> = [
    ["tools", "/home/me/proj"],
    ["tools/", "/home/me/proj/"],
    ["../x/./y", "/home/me/proj"],
    ["/abs/t", "/home"],
    ["c:x", "/b"],
    ["a b/%41", "/base dir"],
  ];
  for (const [path, base] of cases) {
    assert.equal(
      folderUrl(path, base).href,
      pathToFileURL(`${resolve(base, path)}/`).href,
      `${path} against ${base}`,
    );
  }
});
