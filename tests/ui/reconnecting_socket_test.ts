import assert from "node:assert/strict";
import { backoffDelay, ReconnectingSocket, type WsMessage } from "../../ui/reconnecting_socket.ts";

/** A real WebSocket server on loopback that drops the first `dropFirst` connections. */
function wsServer(dropFirst: number) {
  let connections = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    const n = ++connections;
    socket.onopen = () => {
      socket.send("not json"); // dropped by the client
      socket.send(JSON.stringify({ type: "snapshot", job_id: "j1", data: { connection: n } }));
      if (n <= dropFirst) socket.close(1011, "server restarting");
    };
    return response;
  });
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    connections: () => connections,
    close: () => server.shutdown(),
  };
}

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error("timed out"));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

Deno.test("ReconnectingSocket reconnects after drops and gets a fresh snapshot each time", async () => {
  const srv = wsServer(2);
  const got: WsMessage[] = [];
  const states: string[] = [];
  const sock = new ReconnectingSocket("/ws/backtests", (m) => got.push(m), {
    base: srv.base,
    minDelayMs: 20,
    maxDelayMs: 100,
    onState: (s) => states.push(s),
  });
  try {
    await waitFor(() => got.length === 3);
    assert.deepEqual(got.map((m) => m.data?.connection), [1, 2, 3]);
    assert.equal(srv.connections(), 3);
    assert.equal(states.filter((s) => s === "open").length, 3);
  } finally {
    sock.close();
    await srv.close();
  }
  assert.equal(states.at(-1), "closed");
});

Deno.test("ReconnectingSocket stops retrying once isDone() is true or close() was called", async () => {
  const srv = wsServer(100);
  let got = 0;
  const sock = new ReconnectingSocket("/ws/backtest/j1", () => got++, {
    base: srv.base,
    minDelayMs: 20,
    isDone: () => got >= 1, // e.g. the job's terminal message arrived
  });
  try {
    await waitFor(() => got === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(srv.connections(), 1);
  } finally {
    sock.close();
    await srv.close();
  }
});

Deno.test("backoffDelay() grows exponentially, is capped, and never drops below min/2", () => {
  for (let attempt = 0; attempt < 40; attempt++) {
    for (let k = 0; k < 50; k++) {
      const d = backoffDelay(attempt, 500, 10_000);
      assert.ok(d >= 250, `attempt ${attempt}: ${d}`);
      assert.ok(d <= Math.min(10_000, 500 * 2 ** attempt), `attempt ${attempt}: ${d}`);
    }
  }
});

Deno.test("ReconnectingSocket.close() while still connecting closes cleanly once open", async () => {
  const codes: number[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onclose = (e) => codes.push(e.code);
    return response;
  });
  const got: WsMessage[] = [];
  const sock = new ReconnectingSocket("/ws/backtests", (m) => got.push(m), {
    base: `http://127.0.0.1:${server.addr.port}`,
    minDelayMs: 20,
  });
  sock.close(); // before the handshake finished
  try {
    await waitFor(() => codes.length === 1);
    assert.deepEqual(codes, [1000]);
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(codes.length, 1, "it must not reconnect after close()");
  } finally {
    await server.shutdown();
  }
});
