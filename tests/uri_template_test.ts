/**
 * RFC 6570 level-1 templates (src/tool/uri_template.ts): parsing and every refusal with its
 * column, matching (anchored, percent-decoded, never a value that climbs out of a folder),
 * expansion, and matching time linear in the URI's length.
 */

import assert from "node:assert/strict";
import { parseTemplate, type UriTemplate } from "../src/tool/uri_template.ts";

function parsed(text: string): UriTemplate {
  const template = parseTemplate(text);
  if (typeof template === "string") throw new Error(template);
  return template;
}

Deno.test("parseTemplate lists the variables in order and keeps the text", () => {
  const template = parsed("notes://{dir}/{name}.md?v={version_2}");
  assert.equal(template.text, "notes://{dir}/{name}.md?v={version_2}");
  assert.deepEqual(template.variables, ["dir", "name", "version_2"]);
  assert.deepEqual(parsed("{x}").variables, ["x"]);
  assert.deepEqual(parsed("file:///a%20b/{name}").variables, ["name"]);
});

Deno.test("parseTemplate refuses all but level 1, naming the first offending column", () => {
  const refusals: Array<[string, string]> = [
    [
      "notes://{+path}",
      'column 9: "{+path}" uses the operator "+" (RFC 6570 level 2–4); only plain {name} variables are supported',
    ],
    [
      "notes://x{#frag}",
      'column 10: "{#frag}" uses the operator "#" (RFC 6570 level 2–4); only plain {name} variables are supported',
    ],
    [
      "search://{?q}",
      'column 10: "{?q}" uses the operator "?" (RFC 6570 level 2–4); only plain {name} variables are supported',
    ],
    [
      "a://{/p}",
      'column 5: "{/p}" uses the operator "/" (RFC 6570 level 2–4); only plain {name} variables are supported',
    ],
    [
      "a://{x,y}",
      'column 5: "{x,y}" lists several variables (level 3); give each its own {name}',
    ],
    [
      "a://{x:3}",
      'column 5: "{x:3}" has a modifier (level 4); only plain {name} variables are supported',
    ],
    [
      "a://{x*}",
      'column 5: "{x*}" has a modifier (level 4); only plain {name} variables are supported',
    ],
    [
      "a://{na-me}",
      'column 5: "{na-me}" is not a variable name of letters, digits and "_"',
    ],
    [
      "a://{na.me}",
      'column 5: "{na.me}" is not a variable name of letters, digits and "_"',
    ],
    ["a://{}", 'column 5: "{}" names no variable'],
    ["a://{a{b}}", 'column 7: "{" inside a variable; templates do not nest'],
    ["a://{name", 'column 5: "{" is not closed'],
    ["a://name}", 'column 9: "}" closes no "{"'],
    ["a://{a}/b}", 'column 10: "}" closes no "{"'],
    [
      "a://{a}/{a}",
      'column 9: "{a}" appears twice; each variable may appear once',
    ],
    [
      "a://{a}{b}",
      'column 8: "{b}" follows "{a}" with nothing between; put a literal such as "/" between them, so that a URI splits one way',
    ],
    ["a://x y/{a}", 'column 6: " " cannot appear in a URI; percent-encode it'],
    ['a://"{a}"', `column 5: "\\"" cannot appear in a URI; percent-encode it`],
    ["a://\n{a}", 'column 5: "\\n" cannot appear in a URI; percent-encode it'],
    ["a://<{a}>", 'column 5: "<" cannot appear in a URI; percent-encode it'],
    [
      "a://%zz/{a}",
      'column 5: "%" must start an escape of two hex digits, like %20',
    ],
    [
      "a://{a}%2",
      'column 8: "%" must start an escape of two hex digits, like %20',
    ],
    [
      "notes://readme",
      'it has no variable; a fixed address is a "uri", not a template',
    ],
    ["", 'it has no variable; a fixed address is a "uri", not a template'],
  ];
  for (const [text, problem] of refusals) {
    assert.equal(parseTemplate(text), problem, text);
  }
});

Deno.test("match anchors the whole URI and decodes each value", () => {
  const template = parsed("notes://{dir}/{name}.md");
  assert.deepEqual(template.match("notes://work/todo.md"), {
    dir: "work",
    name: "todo",
  });
  assert.deepEqual(template.match("notes://a%20b/caf%C3%A9.md"), {
    dir: "a b",
    name: "café",
  });
  // The first ".md" after the name ends it: a name may hold dots.
  assert.deepEqual(template.match("notes://w/v1.2.md"), {
    dir: "w",
    name: "v1.2",
  });
  // "...md" leaves ".." for the name: refused like any "..".
  assert.equal(template.match("notes://w/...md"), undefined);
});

Deno.test("match gives each variable its own key, whatever its name", () => {
  const params = parsed("a://{__proto__}/{constructor}").match("a://x/y");
  assert.deepEqual(Object.entries(params ?? {}), [
    ["__proto__", "x"],
    ["constructor", "y"],
  ]);
  assert.equal(Object.getPrototypeOf(params), Object.prototype);
});

Deno.test("match refuses URIs the template does not make", () => {
  const template = parsed("notes://{dir}/{name}.md");
  for (
    const uri of [
      "notes://work/todo.txt", // wrong suffix
      "Notes://work/todo.md", // literals are compared exactly
      "x-notes://work/todo.md",
      "notes://work/todo.md/", // trailing text
      "notes://work/todo.md?x=1",
      "notes:///todo.md", // an empty value
      "notes://work/.md",
      "notes://a/b/c.md", // "/" inside a value
      "notes://work?/todo.md", // "?" inside a value
      "notes://wo#rk/todo.md", // "#" inside a value
      "notes://work",
      "",
    ]
  ) {
    assert.equal(template.match(uri), undefined, uri);
  }
});

Deno.test("match refuses a value that would climb out of a folder, raw or percent-encoded", () => {
  const template = parsed("file:///notes/{name}");
  for (
    const uri of [
      "file:///notes/..",
      "file:///notes/.",
      "file:///notes/%2E%2E",
      "file:///notes/%2e%2e",
      "file:///notes/.%2E",
      "file:///notes/%2E",
      "file:///notes/..%2F..%2Fetc%2Fpasswd",
      "file:///notes/%2E%2E%2Fsecret",
      "file:///notes/a%2Fb",
      "file:///notes/%2F",
      "file:///notes/%2fetc",
      "file:///notes/..%5C..%5Cwindows",
      "file:///notes/a%5Cb",
      "file:///notes/a%00.md",
      "file:///notes/%00",
    ]
  ) {
    assert.equal(template.match(uri), undefined, uri);
  }
  // Dots that are not a whole "." or ".." segment name a file.
  assert.deepEqual(template.match("file:///notes/.hidden"), {
    name: ".hidden",
  });
  assert.deepEqual(template.match("file:///notes/..."), { name: "..." });
  assert.deepEqual(template.match("file:///notes/a..b"), { name: "a..b" });
});

Deno.test("match refuses a value whose percent-encoding does not decode", () => {
  const template = parsed("notes://{name}");
  for (
    const uri of [
      "notes://%zz",
      "notes://%",
      "notes://a%",
      "notes://a%2",
      "notes://%E9", // Latin-1, not UTF-8
      "notes://%C3", // a truncated UTF-8 sequence
      "notes://%ED%A0%80", // a UTF-16 surrogate encoded as UTF-8
    ]
  ) {
    assert.equal(template.match(uri), undefined, uri);
  }
  assert.deepEqual(template.match("notes://100%25"), { name: "100%" });
});

Deno.test("expand percent-encodes all but unreserved characters", () => {
  const template = parsed("notes://{dir}/{name}");
  assert.equal(
    template.expand({ dir: "a b", name: "x/y?z#w" }),
    "notes://a%20b/x%2Fy%3Fz%23w",
  );
  assert.equal(
    template.expand({ dir: "AZaz09-._~", name: "!'()*&=+$,;:@%" }),
    "notes://AZaz09-._~/%21%27%28%29%2A%26%3D%2B%24%2C%3B%3A%40%25",
  );
  assert.equal(
    template.expand({ dir: "café", name: "日本" }),
    "notes://caf%C3%A9/%E6%97%A5%E6%9C%AC",
  );
  // A missing variable expands to nothing (RFC 6570 §3.2.1); a lone surrogate to U+FFFD.
  assert.equal(template.expand({ dir: "d" }), "notes://d/");
  assert.equal(
    template.expand({ dir: "\ud800", name: "n" }),
    "notes://%EF%BF%BD/n",
  );
  // Only own keys count.
  assert.equal(
    template.expand(Object.create({ dir: "x", name: "y" })),
    "notes:///",
  );
});

Deno.test("expand and match agree: what one makes the other reads back", () => {
  const template = parsed("notes://{dir}/{name}.md");
  for (
    const params of [
      { dir: "a b", name: "café" },
      { dir: "100%", name: "x.md" },
      { dir: "?#[]", name: "~-_." },
    ]
  ) {
    assert.deepEqual(template.match(template.expand(params)), params);
  }
});

Deno.test("match takes time linear in the URI's length, however the template splits it", () => {
  // Dots everywhere, several variables split by "." and a "/" at the very end: a backtracking
  // regex takes seconds on 400 characters here (polynomial); this must cost about what one
  // pass over the URI does.
  const template = parsed("x://{a}.{b}.{c}.{d}end");
  const failing = `x://${"a.".repeat(100_000)}/end`;
  const passing = `x://${"a.".repeat(100_000)}end`;
  const reference = /^x:\/\/[^/?#]*end$/;
  const time = (run: () => unknown) => {
    const start = performance.now();
    for (let i = 0; i < 20; i++) run();
    return performance.now() - start;
  };
  time(() => template.match(failing)); // warm up both
  time(() => reference.test(failing));
  const matching = time(() => {
    template.match(failing);
    template.match(passing);
  });
  const scanning = time(() => {
    reference.test(failing);
    reference.test(passing);
  });
  assert.equal(template.match(failing), undefined);
  const { a, b, c, d } = template.match(passing) ?? {};
  assert.deepEqual([a, b, c], ["a", "a", "a"]);
  assert.ok(d === "a.".repeat(99_997), 'd is the rest up to "end"');
  assert.ok(
    matching < Math.max(scanning, 1) * 200,
    `matching took ${matching.toFixed(1)} ms, one scan ${
      scanning.toFixed(1)
    } ms`,
  );
});
