/**
 * The dev supervisor's memory of the client's session, line by line: what it passes to the
 * server child, what it answers itself, what it replays to a restarted child and which of the
 * child's replies it swallows.
 */

import assert from "node:assert/strict";
import { SessionReplay } from "../src/cli/dev/replay.ts";

const INITIALIZE =
  `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`;
const INITIALIZED = `{"jsonrpc":"2.0","method":"notifications/initialized"}`;
const SET_LEVEL =
  `{"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"debug"}}`;
const LIST = `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`;
const CALL =
  `{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"slow","arguments":{}}}`;
const PING = `{"jsonrpc":"2.0","id":4,"method":"ping"}`;
const LIST_CHANGED =
  `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`;

/** A session that went through the handshake and set its log level, all answered. */
function handshaken(): SessionReplay {
  const session = new SessionReplay();
  for (const line of [INITIALIZE, INITIALIZED, SET_LEVEL]) {
    assert.deepEqual(session.fromClient(line), { child: [line], client: [] });
  }
  for (const id of [1, 2]) {
    const reply = `{"jsonrpc":"2.0","id":${id},"result":{}}`;
    assert.deepEqual(session.fromChild(reply), [reply]);
  }
  return session;
}

Deno.test("replay: a fresh session replays nothing and announces no change", () => {
  const session = new SessionReplay();
  assert.deepEqual(session.replay(), []);
  assert.deepEqual(session.restarted(), []);
  assert.deepEqual(session.restart("x changed"), { child: [], client: [] });
  assert.deepEqual(session.answerAll("the server stopped"), []);
});

Deno.test("replay: the handshake and log level are replayed under fresh replay ids, each time", () => {
  const session = handshaken();
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:1","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
    INITIALIZED,
    `{"jsonrpc":"2.0","id":"tooldrop-dev:2","method":"logging/setLevel","params":{"level":"debug"}}`,
  ]);
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:3","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
    INITIALIZED,
    `{"jsonrpc":"2.0","id":"tooldrop-dev:4","method":"logging/setLevel","params":{"level":"debug"}}`,
  ]);
});

Deno.test("replay: the last initialize and log level are the ones replayed; a request without params gets {}", () => {
  const session = new SessionReplay();
  session.fromClient(`{"jsonrpc":"2.0","id":1,"method":"initialize"}`);
  session.fromClient(SET_LEVEL);
  session.fromClient(
    `{"jsonrpc":"2.0","id":5,"method":"logging/setLevel","params":{"level":"error"}}`,
  );
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:1","method":"initialize","params":{}}`,
    `{"jsonrpc":"2.0","id":"tooldrop-dev:2","method":"logging/setLevel","params":{"level":"error"}}`,
  ]);
});

Deno.test("replay: the child's replies to replayed requests are swallowed; its other lines pass", () => {
  const session = handshaken();
  assert.deepEqual(
    session.fromChild(
      `{"jsonrpc":"2.0","id":"tooldrop-dev:1","result":{"protocolVersion":"2025-06-18"}}`,
    ),
    [],
  );
  assert.deepEqual(
    session.fromChild(
      `{"jsonrpc":"2.0","id":"tooldrop-dev:2","error":{"code":-32603,"message":"x"}}`,
    ),
    [],
  );
  for (
    const line of [
      LIST_CHANGED,
      `{"jsonrpc":"2.0","id":9,"result":{}}`,
      `{"jsonrpc":"2.0","id":"x-tooldrop-dev:1","result":{}}`,
      `not json`,
    ]
  ) assert.deepEqual(session.fromChild(line), [line]);
});

Deno.test("replay: at a restart, lost tool calls are answered and other waiting requests asked again", () => {
  const session = handshaken();
  for (const line of [LIST, CALL, PING]) session.fromClient(line);
  assert.deepEqual(session.restart("src/server/protocol.ts changed"), {
    client: [
      `{"jsonrpc":"2.0","id":"c","result":{"content":[{"type":"text","text":"The call did not finish: src/server/protocol.ts changed. The server restarts itself in development; call the tool again."}],"isError":true}}`,
    ],
    child: [LIST, PING],
  });
  assert.deepEqual(session.restarted(), [LIST_CHANGED]);
  // Asked again, the requests still wait until the new child answers them.
  session.fromChild(`{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}`);
  assert.deepEqual(session.restart("again"), { client: [], child: [PING] });
});

Deno.test("replay: requests that come while the old child ends are the new child's: passed on once, not answered or asked again", () => {
  const session = handshaken();
  for (const line of [LIST, CALL]) session.fromClient(line);
  session.restarting();
  const echo =
    `{"jsonrpc":"2.0","id":"e","method":"tools/call","params":{"name":"echo","arguments":{}}}`;
  for (const line of [echo, PING]) {
    assert.deepEqual(session.fromClient(line), { child: [line], client: [] });
  }
  assert.deepEqual(session.restart("x changed"), {
    client: [
      `{"jsonrpc":"2.0","id":"c","result":{"content":[{"type":"text","text":"The call did not finish: x changed. The server restarts itself in development; call the tool again."}],"isError":true}}`,
    ],
    child: [LIST],
  });
  // At the next restart they went to the child that ends: lost or asked again like the rest.
  session.restarting();
  assert.deepEqual(session.restart("y changed"), {
    client: [
      `{"jsonrpc":"2.0","id":"e","result":{"content":[{"type":"text","text":"The call did not finish: y changed. The server restarts itself in development; call the tool again."}],"isError":true}}`,
    ],
    child: [LIST, PING],
  });
});

Deno.test("replay: an initialize a restart caught unanswered is sent again under its own id, once, and its reply passes", () => {
  const session = new SessionReplay();
  session.fromClient(INITIALIZE);
  session.restarting();
  // Not among the requests asked again: the replay carries it, ahead of the rest.
  assert.deepEqual(session.restart("x changed"), { client: [], child: [] });
  assert.deepEqual(session.restarted(), []);
  assert.deepEqual(session.replay(), [INITIALIZE]);
  // Caught again by the next restart before the new child answered: sent again, still once.
  session.restarting();
  assert.deepEqual(session.restart("y changed"), { client: [], child: [] });
  assert.deepEqual(session.replay(), [INITIALIZE]);
  const reply =
    `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}`;
  assert.deepEqual(session.fromChild(reply), [reply]);
  assert.deepEqual(session.answerAll("the server stopped"), []);
  // Answered now: later restarts replay it under a replay id, whose reply is swallowed.
  session.restart("z changed");
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:1","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
  ]);
  assert.deepEqual(
    session.fromChild(
      `{"jsonrpc":"2.0","id":"tooldrop-dev:1","result":{"protocolVersion":"2025-06-18"}}`,
    ),
    [],
  );
});

Deno.test("replay: an unanswered initialize that a later one superseded is answered at a restart; the later one is sent again", () => {
  const session = new SessionReplay();
  const later = INITIALIZE.replace(`"id":1,`, `"id":7,`);
  session.fromClient(INITIALIZE);
  session.fromClient(later);
  assert.deepEqual(session.restart("x changed"), {
    client: [
      `{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"Internal error: x changed"}}`,
    ],
    child: [],
  });
  assert.deepEqual(session.replay(), [later]);
  assert.deepEqual(session.answerAll("the server stopped"), [
    `{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"Internal error: the server stopped"}}`,
  ]);
});

Deno.test("replay: an initialize that comes while the old child ends is the new child's: its own line is not sent twice", () => {
  const session = new SessionReplay();
  session.restarting();
  assert.deepEqual(session.fromClient(INITIALIZE), {
    child: [INITIALIZE],
    client: [],
  });
  assert.deepEqual(session.restart("x changed"), { client: [], child: [] });
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:1","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
  ]);
  const reply =
    `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}}`;
  assert.deepEqual(session.fromChild(reply), [reply]);
  assert.deepEqual(session.answerAll("the server stopped"), []);
});

Deno.test("replay: a waiting request that reuses an answered initialize's id does not make the replay send the initialize as it was", () => {
  const session = handshaken();
  const ping = `{"jsonrpc":"2.0","id":1,"method":"ping"}`;
  session.fromClient(ping);
  assert.deepEqual(session.restart("x changed"), { client: [], child: [ping] });
  assert.deepEqual(session.replay(), [
    `{"jsonrpc":"2.0","id":"tooldrop-dev:1","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`,
    INITIALIZED,
    `{"jsonrpc":"2.0","id":"tooldrop-dev:2","method":"logging/setLevel","params":{"level":"debug"}}`,
  ]);
});

Deno.test("replay: a cancelled request and one the child answered with an error no longer wait", () => {
  const session = handshaken();
  session.fromClient(CALL);
  session.fromClient(LIST);
  session.fromClient(PING);
  const cancel =
    `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c"}}`;
  assert.deepEqual(session.fromClient(cancel), { child: [cancel], client: [] });
  const error =
    `{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"Method not found"}}`;
  assert.deepEqual(session.fromChild(error), [error]);
  assert.deepEqual(session.restart("x changed"), { client: [], child: [PING] });
});

Deno.test("replay: while no server runs, requests are answered at once and notifications passed on", () => {
  const session = handshaken();
  const down = "the server is not running: the server exited (code 1)";
  assert.deepEqual(session.fromClient(PING, down), {
    child: [],
    client: [
      `{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"Internal error: the server is not running: the server exited (code 1)"}}`,
    ],
  });
  assert.deepEqual(session.fromClient(CALL, down), {
    child: [],
    client: [
      `{"jsonrpc":"2.0","id":"c","result":{"content":[{"type":"text","text":"The call did not finish: the server is not running: the server exited (code 1). The server restarts itself in development; call the tool again."}],"isError":true}}`,
    ],
  });
  assert.deepEqual(session.fromClient(INITIALIZED, down), {
    child: [INITIALIZED],
    client: [],
  });
  assert.deepEqual(session.answerAll("the server stopped"), []);
});

Deno.test("replay: answerAll answers every waiting request once, in the order they came", () => {
  const session = handshaken();
  for (const line of [CALL, PING]) session.fromClient(line);
  assert.deepEqual(session.answerAll("the server stopped"), [
    `{"jsonrpc":"2.0","id":"c","result":{"content":[{"type":"text","text":"The call did not finish: the server stopped. The server restarts itself in development; call the tool again."}],"isError":true}}`,
    `{"jsonrpc":"2.0","id":4,"error":{"code":-32603,"message":"Internal error: the server stopped"}}`,
  ]);
  assert.deepEqual(session.answerAll("the server stopped"), []);
});

Deno.test("replay: a request id too large for a number is tracked and answered exactly", () => {
  const session = new SessionReplay();
  const line = `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`;
  session.fromClient(line);
  assert.deepEqual(session.restart("x changed"), { client: [], child: [line] });
  assert.deepEqual(session.answerAll("the server stopped"), [
    `{"jsonrpc":"2.0","id":9007199254740993,"error":{"code":-32603,"message":"Internal error: the server stopped"}}`,
  ]);
});
