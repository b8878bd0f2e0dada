import assert from "node:assert/strict";
import {
  BASE_PERMISSIONS,
  createTool,
  missingPermissions,
  permissionFlags,
  permissionsProblem,
  RUNTIME_FLAGS,
  serverFlags,
  unionPermissions,
} from "../src/tool/mod.ts";
import { START_FLAGS, tempDir } from "./spawn.ts";
import { LIBC_PATHS } from "../src/util/stdio_fds.ts";

Deno.test("deno task start runs with exactly the base permission set, FFI to libc and the runtime flags", () => {
  assert.deepEqual(
    [...START_FLAGS].slice(1).sort(),
    serverFlags([]).sort(),
  );
  assert.deepEqual(serverFlags([]), [
    ...RUNTIME_FLAGS,
    "--allow-read=.",
    "--allow-env=TOOLDROP_LOG",
    `--allow-ffi=${[...LIBC_PATHS].sort().join(",")}`,
  ]);
  // A compiled binary runs its tools in its main thread: no FFI there.
  assert.deepEqual(serverFlags([], {}, false), [
    ...RUNTIME_FLAGS,
    "--allow-read=.",
    "--allow-env=TOOLDROP_LOG",
  ]);
});

Deno.test("the union of tool permissions merges lists, lets true win, and keeps a fixed flag order", () => {
  const union = unionPermissions([
    BASE_PERMISSIONS,
    { net: ["b.example.com", "a.example.com"], env: ["TOKEN"] },
    { net: ["a.example.com"], run: ["git"] },
    { run: true },
    undefined,
  ]);
  assert.deepEqual(union, {
    read: ["."],
    env: ["TOKEN", "TOOLDROP_LOG"],
    net: ["a.example.com", "b.example.com"],
    run: true,
  });
  assert.deepEqual(permissionFlags(union), [
    "--allow-read=.",
    "--allow-net=a.example.com,b.example.com",
    "--allow-env=TOKEN,TOOLDROP_LOG",
    "--allow-run",
  ]);
});

Deno.test("a tool's permissions field is checked at load, with the fix in the message", () => {
  const tool = (permissions: unknown) =>
    createTool(
      { description: "d", run: () => "", permissions },
      "t",
      "tools/t.ts",
    );
  assert.deepEqual(tool({ net: ["api.example.com"] }).permissions, {
    net: ["api.example.com"],
  });
  assert.throws(
    () => tool({ network: true }),
    /Cannot load tool "tools\/t.ts": "permissions" has an unknown kind "network"; use read, write, net, env, run, sys, ffi/,
  );
  assert.throws(
    () => tool({ net: "x.com" }),
    /"permissions.net" must be true or a list/,
  );
  assert.throws(() => tool({ net: ["a.com,b.com"] }), /without commas/);
  assert.throws(() => tool([]), /"permissions" must be an object/);
  assert.equal(
    permissionsProblem({ read: true, sys: ["hostname"] }),
    undefined,
  );
});

Deno.test("missingPermissions names what this process was not granted", async () => {
  // The test process runs with --allow-all: nothing is missing here…
  assert.deepEqual(missingPermissions({ net: ["example.com"], run: true }), []);
  // …and a process with only the base set lacks what a tool asks for.
  const code = `
    import { missingPermissions } from "${
    new URL("../src/tool/permissions.ts", import.meta.url).href
  }";
    console.log(JSON.stringify(missingPermissions({ read: ["."], net: ["api.example.com"], env: ["TOOLDROP_LOG", "TOKEN"] })));
  `;
  await using dir = await tempDir({ "probe.ts": code });
  const { stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-read=.",
      "--allow-env=TOOLDROP_LOG",
      `${dir.path}/probe.ts`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), [
    "--allow-net=api.example.com",
    "--allow-env=TOKEN",
  ]);
});
