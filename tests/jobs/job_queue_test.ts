import assert from "node:assert/strict";
import { type JobContext, JobQueue, QueueFullError } from "../../jobs/job_queue.ts";
import { type JobRecord, JobStateError, JobStore } from "../../jobs/job_store.ts";
import { WsHub, type WsMessage } from "../../jobs/ws_hub.ts";
import { openClient, serveHub } from "./_ws_fixture.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

async function finalStatus(store: JobStore, id: string, ms = 5000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = (await store.get(id))!.status;
    if (s === "completed" || s === "failed" || s === "cancelled") return s;
    await sleep(5);
  }
  throw new Error(`job ${id} not final`);
}

Deno.test("JobQueue runs at most `concurrency` jobs at once and completes them all", async () => {
  const store = await JobStore.open(":memory:");
  let now = 0, peak = 0;
  const queue = new JobQueue(store, new WsHub(), {
    concurrency: 2,
    runners: {
      backtest: async (ctx: JobContext) => {
        peak = Math.max(peak, ++now);
        await abortable(30, ctx.signal);
        now--;
        return { result: { doubled: (ctx.request as { n: number }).n * 2 } };
      },
    },
  });
  const jobs: JobRecord[] = [];
  for (let n = 0; n < 6; n++) jobs.push(await queue.submit("backtest", { n }));
  for (const j of jobs) assert.equal(await finalStatus(store, j.id), "completed");
  assert.equal(peak, 2);
  for (let n = 0; n < 6; n++) {
    const rec = (await store.get(jobs[n].id))!;
    assert.deepEqual(JSON.parse((await store.getResultText(rec))!), { doubled: 2 * n });
    assert.equal(rec.attempts, 1);
    assert.ok(rec.startedAt! >= rec.createdAt && rec.finishedAt! >= rec.startedAt!);
  }
  await queue.close();
  store.close();
});

Deno.test("JobQueue.cancel() cancels a queued and a running job, and refuses a finished one", async () => {
  const store = await JobStore.open(":memory:");
  const queue = new JobQueue(store, new WsHub(), {
    concurrency: 1,
    runners: { backtest: async (ctx) => (await abortable(10_000, ctx.signal), { result: 1 }) },
  });
  const running = await queue.submit("backtest", {});
  const queued = await queue.submit("backtest", {});
  await sleep(20);
  assert.equal((await store.get(running.id))!.status, "running");
  const c1 = await queue.cancel(queued.id);
  assert.equal(c1.status, "cancelled");
  assert.equal(c1.error, "Cancelled while queued");
  const c2 = await queue.cancel(running.id);
  assert.equal(c2.status, "cancelled");
  assert.equal(c2.error, "Cancelled while running");
  await assert.rejects(() => queue.cancel(running.id), JobStateError);
  assert.deepEqual(store.counts(), {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 2,
  });
  await queue.close();
  store.close();
});

Deno.test("JobQueue sends progress every 1 % or 250 ms, not on every report", async () => {
  const store = await JobStore.open(":memory:");
  const hub = new WsHub();
  const { server, url } = serveHub(hub);
  const client = await openClient(`${url}/all`);
  let loopMs = 0;
  const queue = new JobQueue(store, hub, {
    progressIntervalMs: 250,
    runners: {
      backtest: async (ctx) => {
        // 10,000 reports of 0.01 % each, synchronously: about 100 messages must result.
        const t0 = performance.now();
        for (let i = 1; i <= 10_000; i++) ctx.progress({ progress: i / 10_000, equity: i });
        loopMs = performance.now() - t0;
        // Then a stall of 600 ms with one tiny step: the 250 ms rule must still speak.
        await sleep(600);
        ctx.progress({ progress: 1, equity: 0 });
        return { result: null };
      },
    },
  });
  const job = await queue.submit("backtest", {});
  assert.equal(await finalStatus(store, job.id), "completed");
  await sleep(50);
  const progress = client.messages.filter((m: WsMessage) =>
    m.type === "progress" && m.data.status === "running"
  );
  const values = progress.map((m) => m.data.progress as number);
  const distinct = values.filter((v, i) => i === 0 || v !== values[i - 1]);
  // Every whole percent is announced (float rounding may put it one report, 0.01 %, later)…
  const percents = new Set(
    distinct.filter((v) => Math.abs(v - Math.round(v * 100) / 100) <= 0.00015)
      .map((v) => Math.round(v * 100)),
  );
  assert.deepEqual([...percents].sort((a, b) => a - b), Array.from({ length: 101 }, (_, i) => i));
  // …and nothing else, except what the 250 ms rule adds if the loop itself took that long.
  assert.ok(
    distinct.length - 101 <= Math.floor(loopMs / 250),
    `${distinct.length} distinct values in a ${loopMs} ms loop`,
  );
  // During the stall the 250 ms rule repeats the last value (a slow machine fires less).
  const repeats = values.length - distinct.length;
  assert.ok(repeats >= 1 && repeats <= 4, `expected 1-4 liveness repeats, got ${repeats}`);
  assert.ok(client.messages.some((m) => m.type === "complete" && m.job_id === job.id));
  client.ws.close();
  await client.closed;
  await queue.close();
  await server.shutdown();
  store.close();
});

Deno.test("JobQueue.recover() re-queues jobs left queued or running, or fails them by policy", async () => {
  for (const policy of ["requeue", "fail"] as const) {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/q.kv`;
    const before = await JobStore.open(path);
    const a = await before.create("backtest", { n: 1 });
    const b = await before.create("backtest", { n: 2 });
    await before.transition(a.id, "running", { attempts: 1, startedAt: Date.now() });
    before.close(); // as if the process died here
    const store = await JobStore.open(path);
    const order: number[] = [];
    const queue = new JobQueue(store, new WsHub(), {
      concurrency: 1,
      runners: {
        backtest: (ctx) => {
          order.push((ctx.request as { n: number }).n);
          return Promise.resolve({ result: "ok" });
        },
      },
    });
    const rec = await queue.recover(policy);
    if (policy === "requeue") {
      assert.deepEqual(rec, { requeued: [a.id, b.id], failed: [] });
      assert.equal(await finalStatus(store, a.id), "completed");
      assert.equal(await finalStatus(store, b.id), "completed");
      assert.deepEqual(order, [1, 2]);
      const ra = (await store.get(a.id))!;
      assert.equal(ra.attempts, 2);
      assert.match(ra.notes[0], /Re-queued after a server restart/);
    } else {
      assert.deepEqual(rec, { requeued: [], failed: [a.id, b.id] });
      const ra = (await store.get(a.id))!;
      assert.equal(ra.status, "failed");
      assert.match(ra.error!, /restarted while this job was running.*WAGYU_RECOVERY=fail/);
      assert.match((await store.get(b.id))!.error!, /was queued/);
      assert.deepEqual(order, []);
    }
    await queue.close();
    store.close();
  }
});

Deno.test("JobQueue fails a job whose runner throws, with the described message", async () => {
  const store = await JobStore.open(":memory:");
  const queue = new JobQueue(store, new WsHub(), {
    runners: { backtest: () => Promise.reject(new Error("secret internals")) },
    describeError: (err) => `described: ${(err as Error).message.length} chars`,
  });
  const job = await queue.submit("backtest", {});
  assert.equal(await finalStatus(store, job.id), "failed");
  assert.equal((await store.get(job.id))!.error, "described: 16 chars");
  await queue.close();
  store.close();
});

Deno.test("JobQueue.submit() throws QueueFullError beyond maxQueued", async () => {
  const store = await JobStore.open(":memory:");
  const queue = new JobQueue(store, new WsHub(), {
    concurrency: 1,
    maxQueued: 2,
    runners: { backtest: async (ctx) => (await abortable(10_000, ctx.signal), { result: 1 }) },
  });
  await queue.submit("backtest", {}); // runs
  await sleep(10);
  await queue.submit("backtest", {});
  await queue.submit("backtest", {});
  await assert.rejects(() => queue.submit("backtest", {}), QueueFullError);
  assert.equal(queue.queuedCount, 2);
  await queue.close();
  store.close();
});
