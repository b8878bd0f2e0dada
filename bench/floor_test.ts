// The stdio floor with `worker`: every echo call crosses to its worker and is answered once, the
// other requests at once, and it ends after stdin's end once the worker has answered.
import assert from "node:assert/strict";

Deno.test("floor.ts worker answers each call through its worker, then exits at stdin's end", async () => {
  const root = new URL("../", import.meta.url);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--allow-read=${new URL("bench/floor_worker.ts", root).pathname}`,
      new URL("bench/floor.ts", root).pathname,
      "worker",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = [
    `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}`,
    ...Array.from(
      { length: 50 },
      (_, i) =>
        `{"jsonrpc":"2.0","id":${
          i + 1
        },"method":"tools/call","params":{"name":"echo","arguments":{"text":"t${i}"}}}`,
    ),
    `{"jsonrpc":"2.0","id":"list","method":"tools/list"}`,
  ];
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${lines.join("\n")}\n`));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const replies = new TextDecoder().decode(stdout).trim().split("\n").map((
    line,
  ) => JSON.parse(line));
  assert.equal(replies.length, 52);
  for (let i = 0; i < 50; i++) {
    const reply = replies.find((r) => r.id === i + 1);
    assert.deepEqual(reply?.result, {
      content: [{ type: "text", text: `t${i}` }],
    });
  }
  assert.ok(replies.some((r) => r.id === "list" && r.result.tools));
});
