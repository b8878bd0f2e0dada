/**
 * Session 25's adversarial pass on the newest paths: the listing cache (tools/.listing.json) a
 * server reads at start, the protocol streams moved off fd 0 and fd 1 and read and written on
 * their own threads, and the line bound at the real process's edge.
 */

import assert from "node:assert/strict";
import { call, initialize, listTools, ping } from "../requests.ts";
import { FIXTURE_TOOLS, ServerProcess, tempDir } from "../spawn.ts";
import { isolatedArgs } from "./_isolation_tools.ts";
import { LISTING_FILE, writeListing } from "../../src/loading/listing.ts";
import { Logger } from "../../src/util/log.ts";
import { LineSplitter } from "../../src/server/_line_splitter.ts";

const quiet = () => new Logger({ level: "error", write: () => {} });
const dirUrl = (path: string) => new URL(`file://${path}/`);
const LIMIT_MS = 20_000;

/** A tool that says what it can read of the environment variable TD25_SECRET. */
const PEEKER = (permissions: string) => `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Reads TD25_SECRET.",
  input: z.object({}),
  ${permissions}
  run: () => {
    try {
      return "read:" + (Deno.env.get("TD25_SECRET") ?? "unset");
    } catch (error) {
      return "refused:" + (error as Error).name;
    }
  },
});
`;

/** The text of a call's reply. */
function textOf(reply: Record<string, unknown>): string {
  const result = reply.result as { content?: Array<{ text?: string }> };
  return (result?.content ?? []).map((block) => block.text ?? "").join("");
}

Deno.test({
  name:
    "a listing cache entry that claims a permission its file does not declare grants nothing: the call is refused as without the cache",
  // Found in session 25: a worker did not check that the file it imports declares the
  // permissions of the group the cache put it in; a hand-edited .listing.json granted a tool
  // what another tool declared. The worker now refuses such a file (`listedWith`).
  fn: async () => {
    await using dir = await tempDir({
      "holder.ts": PEEKER(`permissions: { env: ["TD25_SECRET"] },`),
      "peeker.ts": PEEKER(""),
    });
    await writeListing(dirUrl(dir.path), { log: quiet() });
    const path = `${dir.path}/${LISTING_FILE}`;
    const honest = JSON.parse(await Deno.readTextFile(path));
    const run = async () => {
      const server = new ServerProcess(
        isolatedArgs(dir.path, [{ env: ["TD25_SECRET"] }]),
        { env: { TD25_SECRET: "s3cret" } },
      );
      try {
        await server.send(initialize(1), call(2, "peeker"), call(3, "holder"));
        const peeker = textOf(await server.reply(2));
        const holder = textOf(await server.reply(3));
        await server.closeStdin();
        assert.equal((await server.exit(LIMIT_MS)).code, 0);
        return { peeker, holder, stderr: server.stderr.text };
      } finally {
        try {
          server.child.kill("SIGKILL");
        } catch {
          // exited
        }
      }
    };
    const reference = await run();
    assert.equal(reference.holder, "read:s3cret");
    assert.doesNotMatch(reference.peeker, /s3cret/);
    // The entry lies: same hash (the file is unchanged), a permission the file never declared.
    honest.tools["peeker.ts"].permissions = { env: ["TD25_SECRET"] };
    await Deno.writeTextFile(path, JSON.stringify(honest, null, 2));
    const lied = await run();
    assert.equal(lied.holder, "read:s3cret");
    assert.doesNotMatch(
      lied.peeker,
      /s3cret/,
      `a hand-edited cache granted peeker.ts env access it does not declare: ${lied.peeker}`,
    );
    assert.equal(
      lied.peeker,
      `Cannot load tool "${dir.path}/peeker.ts": it declares the permissions {}, but the server listed it with {"env":["TD25_SECRET"]}, so its calls are refused (the file changed after the server listed it, or the tools' .listing.json was edited): restart the server to list it again, and delete .listing.json if the file did not change`,
    );
  },
});

Deno.test({
  name:
    "a tool file saved after the server listed it, now declaring less, is not run with what it declared before",
  // Found in session 25: the same missing check, from the other side: a worker imports a file
  // at its first call, as it is then, into the group its listing (probed at start) named.
  fn: async () => {
    await using dir = await tempDir({
      "peeker.ts": PEEKER(`permissions: { env: ["TD25_SECRET"] },`),
    });
    const server = new ServerProcess(
      [
        ...isolatedArgs(dir.path, [{ env: ["TD25_SECRET"] }]),
        "--log-level",
        "debug",
      ],
      { env: { TD25_SECRET: "s3cret" } },
    );
    try {
      await server.send(initialize(1), listTools(2));
      await server.reply(2);
      // Listed (probed) with its declaration; saved again before its first call, declaring nothing.
      await Deno.writeTextFile(`${dir.path}/peeker.ts`, PEEKER(""));
      await server.send(call(3, "peeker"));
      const text = textOf(await server.reply(3));
      await server.closeStdin();
      assert.equal((await server.exit(LIMIT_MS)).code, 0);
      assert.doesNotMatch(
        text,
        /s3cret/,
        `the saved file, which declares no env access, read the variable: ${text}`,
      );
      assert.match(
        text,
        /it declares the permissions \{\}, but the server listed it with \{"env":\["TD25_SECRET"\]\}/,
      );
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  },
});

Deno.test({
  name:
    "a helper outside the tools folder that a tool imports is part of its cache key: editing it lists the tool anew",
  // Found in session 25: sourceInput (src/loading/_source_hash.ts) followed only imports inside
  // the tools folder, so a change to `../shared/text.ts` left the cache entry current and
  // tools/list served the old description. It follows every relative import now.
  fn: async () => {
    await using root = await tempDir({
      "shared/text.ts": 'export const DESCRIPTION = "First words.";\n',
    });
    const shared = { read: [`${root.path}/shared`] };
    const tools = `${root.path}/tools`;
    await Deno.mkdir(tools);
    // The worker may read the helper's folder: the tool declares it.
    await Deno.writeTextFile(
      `${tools}/worded.ts`,
      `
import { z } from "zod";
import { defineTool } from "tooldrop";
import { DESCRIPTION } from "../shared/text.ts";
export default defineTool({
  description: DESCRIPTION,
  input: z.object({}),
  permissions: ${JSON.stringify(shared)},
  run: () => DESCRIPTION,
});
`,
    );
    await writeListing(dirUrl(tools), { log: quiet() });
    await Deno.writeTextFile(
      `${root.path}/shared/text.ts`,
      'export const DESCRIPTION = "Second words.";\n',
    );
    const args = isolatedArgs(tools, [shared]);
    const server = new ServerProcess(args);
    try {
      await server.send(initialize(1), listTools(2), call(3, "worded"));
      const list = await server.reply(2) as {
        result: { tools: Array<{ description: string }> };
      };
      const ran = textOf(await server.reply(3));
      await server.closeStdin();
      assert.equal((await server.exit(LIMIT_MS)).code, 0);
      assert.equal(ran, "Second words.");
      assert.deepEqual(
        list.result.tools.map((tool) => tool.description),
        ["Second words."],
        "tools/list served the cache's description of a file whose helper changed",
      );
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  },
});

/** A tool whose description is `words`. */
const WORDED = (words: string) => `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({ description: ${
  JSON.stringify(words)
}, input: z.object({}), run: () => "ok" });
`;

Deno.test({
  name:
    "a cache entry whose hash is another version's is not served because the folder's digest matches the files",
  // Found in session 25: currentKeys (src/loading/listing.ts) took each entry's own hash as the
  // file's key when the folder digest matched, and that digest covered the files, not the
  // entries' hashes: an entry of another version of its file was served. It covers both now.
  fn: async () => {
    await using dir = await tempDir({ "worded.ts": WORDED("Version one.") });
    const url = dirUrl(dir.path);
    const path = `${dir.path}/${LISTING_FILE}`;
    await writeListing(url, { log: quiet() });
    const first = JSON.parse(await Deno.readTextFile(path));
    await Deno.writeTextFile(`${dir.path}/worded.ts`, WORDED("Version two."));
    await writeListing(url, { log: quiet() });
    const second = JSON.parse(await Deno.readTextFile(path));
    assert.equal(typeof second.folder, "string");
    assert.notEqual(
      first.tools["worded.ts"].hash,
      second.tools["worded.ts"].hash,
    );
    // An old entry back under the current folder digest (a merge that took one line from each).
    second.tools["worded.ts"] = first.tools["worded.ts"];
    await Deno.writeTextFile(path, JSON.stringify(second, null, 2));
    const server = new ServerProcess(isolatedArgs(dir.path, []));
    try {
      await server.send(initialize(1), listTools(2));
      const list = await server.reply(2) as {
        result: { tools: Array<{ description: string }> };
      };
      await server.closeStdin();
      assert.equal((await server.exit(LIMIT_MS)).code, 0);
      assert.deepEqual(
        list.result.tools.map((tool) => tool.description),
        ["Version two."],
        "the folder digest vouched for an entry listed at another version of its file",
      );
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  },
});

/** What the splitter makes of `chunks`, fed in order, then the end: lines, and "(over N)". */
function splitAll(chunks: Uint8Array[], bound: number): string[] {
  const splitter = new LineSplitter(bound);
  const items = [
    ...chunks.flatMap((chunk) => splitter.push(chunk.slice())),
    ...splitter.end(),
  ];
  return items.map((item) =>
    typeof item === "string" ? item : `(over ${item.maxLineBytes})`
  );
}

Deno.test("the line splitter gives the same lines wherever the bytes are cut, in two chunks, three, or one byte each", () => {
  const bound = 12;
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [
    encoder.encode('\uFEFF{"a":1}\r\n'), // a byte order mark, CRLF
    encoder.encode("\n \t\r\n"), // blank, whitespace only
    encoder.encode("\u00e9\u{1F600}\r\n"), // two and four bytes
    new Uint8Array([0x41, 0xff, 0xe2, 0x82, 0x0a]), // invalid: a lone 0xff, a cut character
    encoder.encode("x".repeat(bound) + "\n"), // exactly the bound
    encoder.encode("y".repeat(bound) + "\r\n"), // the bound, then CRLF
    encoder.encode("z".repeat(bound + 1) + "\n"), // one over
    encoder.encode("w".repeat(3 * bound) + "\r\n"), // far over, with its \r
    encoder.encode("\r\n\r\nafter\n"),
    encoder.encode("\u00e9".repeat(bound / 2) + "\n"), // the bound in two-byte characters
    encoder.encode("\u00e9".repeat(bound / 2) + "!\n"), // one byte over
    encoder.encode("last"),
  ];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const whole = splitAll([bytes], bound);
  assert.deepEqual(whole, [
    '{"a":1}',
    "\u00e9\u{1F600}",
    "A\uFFFD\uFFFD",
    "x".repeat(bound),
    "y".repeat(bound),
    `(over ${bound})`,
    `(over ${bound})`,
    "after",
    "\u00e9".repeat(bound / 2),
    `(over ${bound})`,
    "last",
  ]);
  const n = bytes.length;
  for (let i = 0; i <= n; i++) {
    assert.deepEqual(
      splitAll([bytes.subarray(0, i), bytes.subarray(i)], bound),
      whole,
      `cut at ${i}`,
    );
    for (let j = i; j <= n; j++) {
      const got = splitAll(
        [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)],
        bound,
      );
      if (JSON.stringify(got) !== JSON.stringify(whole)) {
        assert.deepEqual(got, whole, `cut at ${i} and ${j}`);
      }
    }
  }
  assert.deepEqual(
    splitAll(Array.from(bytes, (byte) => new Uint8Array([byte])), bound),
    whole,
    "one byte a chunk",
  );
});

/** Spawns `true` `count` times: its children's SIGCHLD reach the server's process. */
const SPAWNER = `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  description: "Runs true, many times.",
  input: z.object({ count: z.number().describe("how many") }),
  permissions: { run: ["true"] },
  run: async ({ count }) => {
    for (let i = 0; i < count; i++) {
      await new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" }).output();
    }
    return "ran " + count;
  },
});
`;

Deno.test({
  name:
    "signals the server handles or ignores (SIGCHLD, SIGWINCH, SIGURG, SIGCONT), sent while its read waits on its thread, end nothing: the next request is answered",
  ignore: Deno.build.os === "windows",
  fn: async () => {
    await using dir = await tempDir({ "spawner.ts": SPAWNER });
    const server = new ServerProcess(
      isolatedArgs(dir.path, [{ run: ["true"] }]),
      { env: { TOOLDROP_LOG: "debug" } },
    );
    try {
      // Children first: the runtime then has a SIGCHLD handler of its own.
      await server.send(initialize(1), call(2, "spawner", { count: 20 }));
      assert.equal(textOf(await server.reply(2)), "ran 20");
      assert.doesNotMatch(server.stderr.text, /stay on fd 0 and fd 1/);
      const signals = ["SIGCHLD", "SIGWINCH", "SIGURG", "SIGCONT"] as const;
      for (let round = 0; round < 50; round++) {
        for (const signal of signals) server.child.kill(signal);
      }
      // Replies the children of a call make while the read waits.
      await server.send(call(3, "spawner", { count: 20 }));
      assert.equal(textOf(await server.reply(3)), "ran 20");
      for (let round = 0; round < 50; round++) {
        for (const signal of signals) server.child.kill(signal);
      }
      await server.send(ping(4));
      await server.reply(4);
      await server.closeStdin();
      assert.equal((await server.exit(LIMIT_MS)).code, 0);
      assert.doesNotMatch(
        server.stderr.text,
        /Uncaught|panicked|client closed/,
      );
    } finally {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  },
});

Deno.test("file names that read alike as URLs or text (a space and %20, a bare %, é composed and decomposed) each keep their own cache entry, served warm, each call running its own file", async () => {
  const names = ["a b.ts", "a%20b.ts", "100%.ts", "\u00e9.ts", "e\u0301.ts"];
  const files = Object.fromEntries(names.map((file, i) => [
    file,
    `
import { z } from "zod";
import { defineTool } from "tooldrop";
export default defineTool({
  name: "t${i}",
  description: "Says its file.",
  input: z.object({}),
  run: () => ${JSON.stringify(file)},
});
`,
  ]));
  await using dir = await tempDir(files);
  await writeListing(dirUrl(dir.path), { log: quiet() });
  const cache = JSON.parse(
    await Deno.readTextFile(`${dir.path}/${LISTING_FILE}`),
  );
  assert.deepEqual(Object.keys(cache.tools).sort(), [...names].sort());
  assert.equal(typeof cache.folder, "string");
  const server = new ServerProcess([
    ...isolatedArgs(dir.path, []),
    "--log-level",
    "debug",
  ]);
  try {
    await server.send(
      initialize(1),
      listTools(2),
      ...names.map((_, i) => call(10 + i, `t${i}`)),
    );
    const list = await server.reply(2) as {
      result: { tools: Array<{ name: string }> };
    };
    assert.deepEqual(
      list.result.tools.map((tool) => tool.name).sort(),
      names.map((_, i) => `t${i}`),
    );
    for (const [i, file] of names.entries()) {
      assert.equal(textOf(await server.reply(10 + i)), file, `t${i}`);
    }
    await server.closeStdin();
    assert.equal((await server.exit(LIMIT_MS)).code, 0);
    assert.doesNotMatch(server.stderr.text, /not in \.listing\.json/);
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // exited
    }
  }
});

Deno.test("through the moved streams, lines of exactly --max-line-bytes (CRLF and é included) are served and one byte more is refused and skipped, the whole input in one write", async () => {
  const bound = 64;
  const encoder = new TextEncoder();
  /** A ping whose id pads it to `bytes` bytes (é counts two). */
  const padded = (id: string, bytes: number) => {
    const line = JSON.stringify(ping(id));
    const pad = bytes - encoder.encode(line).length;
    return JSON.stringify(
      ping(id + "\u00e9".repeat(pad >> 1) + "x".repeat(pad & 1)),
    );
  };
  const exact = padded("a", bound);
  const over = padded("b", bound + 1);
  const crlf = padded("c", bound);
  assert.deepEqual(
    [exact, over, crlf].map((line) => encoder.encode(line).length),
    [bound, bound + 1, bound],
  );
  const server = new ServerProcess([
    ...isolatedArgs(FIXTURE_TOOLS, []),
    "--max-line-bytes",
    String(bound),
    "--log-level",
    "debug",
  ]);
  try {
    await server.send(
      `${exact}\n${over}\n${crlf}\r\n${JSON.stringify(ping("d"))}`,
    );
    await server.reply("d");
    await server.closeStdin();
    assert.equal((await server.exit(LIMIT_MS)).code, 0);
    assert.doesNotMatch(server.stderr.text, /stay on fd 0 and fd 1/);
    const id = (line: string) => JSON.parse(line).id;
    assert.deepEqual(server.stdout.lines, [
      `{"jsonrpc":"2.0","id":${JSON.stringify(id(exact))},"result":{}}`,
      `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: line longer than ${bound} bytes (--max-line-bytes); skipped"}}`,
      `{"jsonrpc":"2.0","id":${JSON.stringify(id(crlf))},"result":{}}`,
      `{"jsonrpc":"2.0","id":"d","result":{}}`,
    ]);
  } finally {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // exited
    }
  }
});
