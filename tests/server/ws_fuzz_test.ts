/**
 * Hostile-input tests of the WebSocket endpoints (issue 8): malformed frames (binary
 * garbage, invalid JSON, huge text), unknown and malformed job ids, and 1,000
 * subscribe/unsubscribe cycles on /ws/backtests. Afterwards the server must be healthy, hold
 * no leaked subscribers, and still stream a normal job to completion over a WebSocket.
 */
import assert from "node:assert/strict";
import type { WsMessage } from "../../jobs/ws_hub.ts";
import { collectWs, googRows, json, startTestServer } from "../routes/_test_server.ts";

/** Seeded PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Resolves with `p`, or rejects after `ms` (so a hang fails the test instead of stalling it). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Opens a socket and resolves once it is open (rejects if it errors or closes first). */
function open(url: string): Promise<{ ws: WebSocket; first: Promise<WsMessage> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const first = new Promise<WsMessage>((res) => {
      ws.addEventListener("message", (e) => res(JSON.parse(e.data as string)), { once: true });
    });
    ws.onopen = () => resolve({ ws, first });
    ws.onerror = () => reject(new Error(`could not open ${url}`));
  });
}

function closed(ws: WebSocket): Promise<CloseEvent> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(new CloseEvent("close"));
  return new Promise((res) => ws.addEventListener("close", (e) => res(e), { once: true }));
}

async function health(url: string): Promise<void> {
  const res = await fetch(url + "/api/health", { signal: AbortSignal.timeout(5_000) });
  assert.equal(res.status, 200);
  await res.body?.cancel();
}

async function wsClients(url: string): Promise<number> {
  const res = await fetch(url + "/api/stats", { signal: AbortSignal.timeout(5_000) });
  const body = await res.json();
  return body.websockets.clients as number;
}

Deno.test("WebSocket endpoints survive malformed frames, unknown ids and 1,000 open/close cycles", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const r = rng(0x5eed);
    const baseline = await wsClients(srv.url);

    // 1. Malformed frames on /ws/backtests: the server ignores client data; the socket may
    // stay open or be closed, but the server must not fail.
    {
      const { ws, first } = await within(open(`${srv.wsUrl}/ws/backtests`), 5_000, "open");
      assert.equal((await within(first, 5_000, "snapshot")).type, "snapshot");
      for (let i = 0; i < 50; i++) {
        ws.send(Uint8Array.from({ length: 1 + Math.floor(r() * 4096) }, () => r() * 256));
        ws.send(["{", "[1,", "\u0000", '{"type":"subscribe","job_id":', "null"][i % 5]);
        ws.send(JSON.stringify({ type: "subscribe", job_id: "x".repeat(i * 10) }));
      }
      ws.send("y".repeat(4 * 1024 * 1024)); // 4 MiB text frame
      ws.send(new Uint8Array(4 * 1024 * 1024)); // 4 MiB binary frame
      await health(srv.url);
      ws.close();
      await within(closed(ws), 5_000, "close after garbage");
    }

    // 2. Unknown and malformed job ids on /ws/backtest/{id}: the upgrade is refused (404)
    // and the client sees the connection fail, promptly.
    const badIds = ["nope", crypto.randomUUID(), "..", "%00", "a".repeat(1000), "%E2%98%83"];
    for (const id of badIds) {
      const ws = new WebSocket(`${srv.wsUrl}/ws/backtest/${id}`);
      const opened = await within(
        new Promise<boolean>((res) => {
          ws.onopen = () => res(true);
          ws.onerror = () => res(false);
        }),
        5_000,
        `unknown id ${id.slice(0, 20)}`,
      );
      assert.equal(opened, false, `unknown job id ${id.slice(0, 20)} must not open a socket`);
      // Plain HTTP on the same path answers 404 with the error envelope.
      const res = await fetch(`${srv.url}/ws/backtest/${id}`, {
        headers: { upgrade: "websocket" },
        signal: AbortSignal.timeout(5_000),
      });
      assert.ok(res.status === 404 || res.status === 400, `status ${res.status}`);
      const body = await res.json();
      assert.equal(typeof body.error.code, "string");
    }
    // Without an Upgrade header: 426 with the envelope, not a 5xx.
    const plain = await json(await srv.get("/ws/backtests"));
    assert.equal(plain.status, 426);
    assert.equal(plain.body.error.code, "upgrade_required");

    // 3. 1,000 subscribe/unsubscribe cycles, 50 at a time; some close before the snapshot
    // arrives, some after.
    const t0 = performance.now();
    for (let batch = 0; batch < 20; batch++) {
      await within(
        Promise.all(Array.from({ length: 50 }, async (_, k) => {
          const { ws, first } = await open(`${srv.wsUrl}/ws/backtests`);
          if (k % 2 === 0) await first;
          ws.close();
          await closed(ws);
        })),
        10_000,
        `cycle batch ${batch}`,
      );
    }
    const cyclesMs = performance.now() - t0;
    console.log(`ws fuzz: 1000 open/close cycles on /ws/backtests in ${cyclesMs.toFixed(0)} ms`);
    await health(srv.url);
    // Every closed subscriber was dropped by the hub (no leak); closes are processed
    // asynchronously on the server, so allow a moment.
    const end = Date.now() + 5_000;
    let clients = await wsClients(srv.url);
    while (clients !== baseline && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 50));
      clients = await wsClients(srv.url);
    }
    assert.equal(clients, baseline, "hub subscriber count back to baseline");

    // 4. A normal job still completes and is seen over both WebSocket endpoints.
    const all = await open(`${srv.wsUrl}/ws/backtests`);
    const allMessages: WsMessage[] = [];
    all.ws.onmessage = (e) => allMessages.push(JSON.parse(e.data as string));
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "sma_cross" },
        data: { bars: await googRows(300) },
        params: { fast: 5, slow: 15 },
      }),
    );
    assert.equal(start.status, 202);
    const id = start.body.job_id as string;
    const { messages } = await within(
      collectWs(`${srv.wsUrl}/ws/backtest/${id}`, (m) => m.type === "complete"),
      15_000,
      "job stream",
    );
    const last = messages.at(-1)!;
    assert.equal(last.type, "complete");
    assert.equal(last.job_id, id);
    const result = (await json(await srv.get(`/api/backtest/${id}/result`))).body;
    assert.equal(typeof result.metrics, "object");
    const waitEnd = Date.now() + 5_000;
    while (!allMessages.some((m) => m.job_id === id && m.type === "complete")) {
      assert.ok(Date.now() < waitEnd, "/ws/backtests saw the job complete");
      await new Promise((res) => setTimeout(res, 20));
    }
    all.ws.close();
    await closed(all.ws);
  } finally {
    await srv.shutdown();
  }
});
