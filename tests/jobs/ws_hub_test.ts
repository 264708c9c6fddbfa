import assert from "node:assert/strict";
import { WsHub, type WsMessage } from "../../jobs/ws_hub.ts";
import { openClient, RawWsClient, serveHub } from "./_ws_fixture.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await sleep(5);
  }
}

Deno.test("WsHub.publish() reaches the job's subscribers and all-jobs subscribers only", async () => {
  const hub = new WsHub();
  const { server, url } = serveHub(
    hub,
    (id) => [{ type: "snapshot", job_id: id ?? "*", data: {} }],
  );
  const a = await openClient(`${url}/job/x`);
  const b = await openClient(`${url}/job/y`);
  const all = await openClient(`${url}/all`);
  await until(() =>
    a.messages.length === 1 && b.messages.length === 1 && all.messages.length === 1
  );
  hub.publish({ type: "progress", job_id: "x", data: { progress: 0.5 } });
  hub.publish({ type: "progress", job_id: "z", data: { progress: 0.1 } });
  await until(() => all.messages.length === 3 && a.messages.length === 2);
  await sleep(30);
  assert.deepEqual(a.messages.map((m) => m.job_id), ["x", "x"]);
  assert.deepEqual(b.messages.map((m) => m.type), ["snapshot"]);
  assert.deepEqual(all.messages.map((m) => m.job_id), ["*", "x", "z"]);
  assert.deepEqual(a.messages[1], { type: "progress", job_id: "x", data: { progress: 0.5 } });
  // endJob closes x's socket cleanly after the terminal message.
  hub.publish({ type: "complete", job_id: "x", data: { result: { ok: 1 } } });
  hub.endJob("x");
  assert.equal(await a.closed, 1000);
  assert.equal(a.messages.at(-1)!.type, "complete");
  b.ws.close();
  all.ws.close();
  await b.closed;
  await all.closed;
  await until(() => hub.stats().clients === 0);
  await server.shutdown();
});

Deno.test("WsHub throttles a job's progress to all-jobs subscribers but never a status change or the end", async () => {
  const hub = new WsHub({ allJobsProgressMs: 60_000 });
  const { server, url } = serveHub(
    hub,
    (id) => [{ type: "snapshot", job_id: id ?? "*", data: {} }],
  );
  const one = await openClient(`${url}/job/x`);
  const all = await openClient(`${url}/all`);
  await until(() => one.messages.length === 1 && all.messages.length === 1);
  hub.publish({ type: "progress", job_id: "x", data: { status: "queued", progress: 0 } });
  hub.publish({ type: "progress", job_id: "x", data: { status: "running", progress: 0 } });
  for (let i = 1; i <= 98; i++) {
    hub.publish({ type: "progress", job_id: "x", data: { status: "running", progress: i / 100 } });
  }
  hub.publish({ type: "progress", job_id: "x", data: { status: "running", progress: 1 } });
  hub.publish({ type: "complete", job_id: "x", data: { status: "completed" } });
  await until(() => one.messages.at(-1)?.type === "complete" && all.messages.length >= 5);
  await sleep(30);
  // The job's own subscriber gets every message; all-jobs subscribers the status changes,
  // the final progress and the end.
  assert.equal(one.messages.length, 1 + 101 + 1);
  assert.deepEqual(
    all.messages.slice(1).map((m) => [m.type, m.data.status, m.data.progress]),
    [
      ["progress", "queued", 0],
      ["progress", "running", 0],
      ["progress", "running", 1],
      ["complete", "completed", undefined],
    ],
  );
  one.ws.close();
  all.ws.close();
  await one.closed;
  await all.closed;
  await until(() => hub.stats().clients === 0);
  await server.shutdown();
});

Deno.test("WsHub drops progress for a client that does not read but still sends it a light complete", async () => {
  let progress = 0;
  const hub = new WsHub({
    bufferBytes: 64 * 1024,
    snapshot: (id): WsMessage => ({ type: "snapshot", job_id: id ?? "*", data: { progress } }),
  });
  const { server } = serveHub(hub);
  const raw = await RawWsClient.connect(server.addr.port, "/job/j");
  await until(() => hub.subscriberCount("j") === 1);
  // 200 progress messages of 50 kB each: far more than the socket and kernel buffers hold.
  const pad = "p".repeat(50_000);
  for (let i = 0; i < 200; i++) {
    progress = i / 200;
    hub.publish({ type: "progress", job_id: "j", data: { progress, pad } });
    await sleep(1);
  }
  const dropped = hub.stats().dropped;
  assert.ok(dropped > 0, "a client that does not read must have messages dropped");
  // A terminal message is never dropped; it goes without the big result while behind.
  hub.publish(
    { type: "complete", job_id: "j", data: { result: { big: "r".repeat(200_000) } } },
    { type: "complete", job_id: "j", data: { result_url: "/api/backtest/j/result" } },
  );
  // Now the client reads everything: it gets some progress, then the terminal message.
  const seen = await raw.readUntil((m) => m.type === "complete");
  const complete = seen.at(-1)!;
  assert.equal(complete.data.result_url, "/api/backtest/j/result");
  assert.equal(complete.data.result, undefined);
  const progressSeen = seen.filter((m) => m.type === "progress").length;
  assert.equal(progressSeen + dropped, 200);
  raw.close();
  hub.closeAll();
  await server.shutdown();
});

Deno.test("WsHub sends a resync snapshot before the next live message once a slow client catches up", async () => {
  let progress = 0;
  const hub = new WsHub({
    bufferBytes: 64 * 1024,
    snapshot: (id): WsMessage => ({ type: "snapshot", job_id: id ?? "*", data: { progress } }),
  });
  const { server } = serveHub(hub);
  const raw = await RawWsClient.connect(server.addr.port, "/job/k");
  await until(() => hub.subscriberCount("k") === 1);
  const pad = "p".repeat(50_000);
  for (let i = 0; i < 200; i++) {
    progress = i;
    hub.publish({ type: "progress", job_id: "k", data: { progress, pad } });
    await sleep(1);
  }
  assert.ok(hub.stats().dropped > 0);
  // Read what was delivered (all progress messages up to the buffer cut-off).
  const reader = (async () => {
    const got: WsMessage[] = [];
    while (true) {
      const f = await raw.next();
      if (f === null) return got;
      if (f.opcode === 1) {
        const m = JSON.parse(new TextDecoder().decode(f.payload));
        got.push(m);
        if (m.type === "progress" && m.data.progress === 999) return got;
      }
    }
  })();
  // Give the reader time to drain the server's buffer, then publish one more.
  await sleep(300);
  progress = 999;
  hub.publish({ type: "progress", job_id: "k", data: { progress } });
  const got = await reader;
  const last = got.at(-1)!;
  const before = got.at(-2)!;
  assert.equal(last.data.progress, 999);
  assert.equal(before.type, "snapshot");
  assert.equal(before.data.resync, true);
  assert.equal(before.data.progress, 999);
  assert.ok((before.data.dropped as number) > 0);
  assert.equal(hub.stats().resyncs, 1);
  raw.close();
  hub.closeAll();
  await server.shutdown();
});

Deno.test("A WebSocket that never answers pings is closed by the heartbeat", async () => {
  const hub = new WsHub();
  const { server } = serveHub(hub); // idleTimeout: 1 s
  const raw = await RawWsClient.connect(server.addr.port, "/all");
  await until(() => hub.stats().clients === 1);
  const t0 = Date.now();
  const opcodes: number[] = [];
  while (true) {
    const f = await raw.next();
    if (f === null) break;
    opcodes.push(f.opcode);
    if (f.opcode === 8) break;
  }
  assert.ok(opcodes.includes(9), `expected a ping frame, got opcodes ${opcodes}`);
  assert.ok(Date.now() - t0 < 5000);
  await until(() => hub.stats().clients === 0);
  raw.close();
  await server.shutdown();
});
