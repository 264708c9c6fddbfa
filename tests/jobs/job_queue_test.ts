import assert from "node:assert/strict";
import {
  type JobContext,
  JobQueue,
  MAX_POINTS_PER_MESSAGE,
  QueueFullError,
} from "../../jobs/job_queue.ts";
import { type JobRecord, JobStateError, JobStore } from "../../jobs/job_store.ts";
import { ServerStats } from "../../jobs/server_stats.ts";
import { WsHub, type WsMessage } from "../../jobs/ws_hub.ts";
import { runOptimization } from "../../optimizer/run_optimization.ts";
import { expandGrid } from "../../optimizer/grid.ts";
import { sliceBars } from "../../engine/bars.ts";
import { loadGoog } from "../_fixtures/goog.ts";
import { openClient, serveHub } from "./_ws_fixture.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
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
  // The hub's own all-jobs throttle is off: this test watches what the queue publishes.
  const hub = new WsHub({ allJobsProgressMs: 0 });
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

Deno.test("JobQueue.submit() holds maxQueued for a burst of submits arriving together", async () => {
  const store = await JobStore.open(":memory:");
  const queue = new JobQueue(store, new WsHub(), {
    concurrency: 1,
    maxQueued: 4,
    runners: { backtest: async (ctx) => (await abortable(10_000, ctx.signal), { result: 1 }) },
  });
  await queue.submit("backtest", {}); // runs, so the queue below starts empty
  await sleep(10);
  // All twelve pass the length check before any KV write finishes unless in-flight submits
  // count against the limit.
  const outcomes = await Promise.allSettled(
    Array.from({ length: 12 }, () => queue.submit("backtest", {})),
  );
  const accepted = outcomes.filter((o) => o.status === "fulfilled").length;
  const full =
    outcomes.filter((o) => o.status === "rejected" && o.reason instanceof QueueFullError).length;
  assert.equal(accepted, 4);
  assert.equal(full, 8);
  assert.equal(queue.queuedCount, 4);
  await queue.close();
  store.close();
});

/** The `points` of a job's `optimization_progress` messages, in the order they arrived. */
function pointsOf(messages: WsMessage[], jobId: string): unknown[][] {
  return messages
    .filter((m) => m.type === "optimization_progress" && m.job_id === jobId)
    .map((m) => (m.data.points as unknown[] | undefined) ?? []);
}

Deno.test("JobQueue sends every reported point exactly once across throttled progress messages", async () => {
  const store = await JobStore.open(":memory:");
  // A buffer no loaded machine fills: dropping for slow clients is the hub's policy, tested
  // in ws_hub_test.ts; here every message must arrive.
  const hub = new WsHub({ bufferBytes: 1 << 30 });
  const { server, url } = serveHub(hub);
  const client = await openClient(`${url}/all`);
  const N = 6000;
  const queue = new JobQueue(store, hub, {
    progressIntervalMs: 250,
    runners: {
      optimization: async (ctx) => {
        // 3,000 reports of one point each (most are throttled away), then one report of
        // 2,500 points (more than a message holds), a stall, and the last 500 one by one
        // right before the job completes (no interval passes: they go out at the end).
        let i = 0;
        for (; i < 3000; i++) ctx.progress({ progress: (i + 1) / N, points: [{ i }] });
        const burst = Array.from({ length: 2500 }, (_, k) => ({ i: i + k }));
        i += burst.length;
        ctx.progress({ progress: i / N, points: burst });
        await sleep(300);
        for (; i < N; i++) ctx.progress({ progress: (i + 1) / N - 1e-9, points: [{ i }] });
        return { result: null };
      },
    },
  });
  const job = await queue.submit("optimization", {});
  assert.equal(await finalStatus(store, job.id), "completed");
  for (let k = 0; k < 1000 && !client.messages.some((m) => m.type === "complete"); k++) {
    await sleep(10);
  }
  const batches = pointsOf(client.messages, job.id);
  const seen = batches.flat().map((p) => (p as { i: number }).i);
  // Every point, once, in the order reported (a naive reference: 0..N-1).
  assert.deepEqual(seen, Array.from({ length: N }, (_, k) => k));
  // Batched: far fewer messages than reports, none over the per-message bound.
  assert.ok(batches.length < 200, `${batches.length} progress messages`);
  assert.ok(batches.every((b) => b.length <= MAX_POINTS_PER_MESSAGE));
  // The complete message comes after the last point.
  const ms = client.messages.filter((m) => m.job_id === job.id);
  const lastPoints = ms.findLastIndex((m) => ((m.data.points as unknown[]) ?? []).length > 0);
  assert.ok(lastPoints < ms.findIndex((m) => m.type === "complete"));
  client.ws.close();
  await client.closed;
  await queue.close();
  await server.shutdown();
  store.close();
});

Deno.test("An optimization job's progress messages together carry every combination once", async () => {
  const store = await JobStore.open(":memory:");
  // A buffer no loaded machine fills: dropping for slow clients is the hub's policy, tested
  // in ws_hub_test.ts; here every message must arrive.
  const hub = new WsHub({ bufferBytes: 1 << 30 });
  const { server, url } = serveHub(hub);
  const client = await openClient(`${url}/all`);
  const bars = sliceBars(loadGoog(), 0, 400);
  // 8,000 combinations in chunks of 64: each chunk is under 1 %, so reports get throttled.
  const grid = {
    params: { fast: { min: 1, max: 100, step: 1 }, slow: { min: 101, max: 180, step: 1 } },
  };
  let reports = 0;
  const queue = new JobQueue(store, hub, {
    runners: {
      // As routes/optimization_routes.ts forwards progress.
      optimization: async (ctx) => {
        const result = await runOptimization(
          { bars, strategy: { family: "sma_cross" }, grid, backend: "cpu", workers: 2 },
          {
            // As the server runs it: in a worker pool, chunk by chunk.
            poolMinBarEvaluations: 0,
            signal: ctx.signal,
            onProgress: (p) => {
              reports++;
              ctx.progress({ progress: p.done / p.total, done: p.done, points: p.points });
            },
          },
        );
        return { result: { total: result.total } };
      },
    },
  });
  const job = await queue.submit("optimization", {});
  assert.equal(await finalStatus(store, job.id, 30_000), "completed");
  for (let k = 0; k < 1000 && !client.messages.some((m) => m.type === "complete"); k++) {
    await sleep(10);
  }
  const batches = pointsOf(client.messages, job.id);
  // Throttling did merge reports (else this test would prove nothing).
  assert.ok(batches.length < reports, `${batches.length} messages for ${reports} reports`);
  const seen = batches.flat()
    .map((p) => JSON.stringify((p as { params: unknown }).params));
  // Independent reference: the grid expanded by hand, in grid order.
  const want: string[] = [];
  for (let fast = 1; fast <= 100; fast++) {
    for (let slow = 101; slow <= 180; slow++) want.push(JSON.stringify({ fast, slow }));
  }
  assert.equal(expandGrid(grid).length, want.length);
  assert.equal(seen.length, want.length);
  assert.deepEqual([...seen].sort(), [...want].sort());
  client.ws.close();
  await client.closed;
  await queue.close();
  await server.shutdown();
  store.close();
});

/** The real hub, noting the queue's counters at the moment each final message goes out. */
class WatchingHub extends WsHub {
  seen: { type: string; running: number; stats: Record<string, unknown> }[] = [];
  queue: JobQueue | null = null;
  serverStats: ServerStats | null = null;
  override publish(msg: WsMessage, light?: WsMessage, text?: string): void {
    if (msg.type === "complete" || msg.type === "error") {
      this.seen.push({
        type: msg.type,
        running: this.queue!.runningCount,
        stats: { ...this.serverStats!.throughput() },
      });
    }
    super.publish(msg, light, text);
  }
}

Deno.test("JobQueue counts a job ended (completed, cancelled, failed) in its stats before announcing it", async () => {
  const store = await JobStore.open(":memory:");
  const hub = new WatchingHub();
  const stats = new ServerStats();
  const queue = new JobQueue(store, hub, {
    concurrency: 1,
    stats,
    runners: {
      optimization: async (ctx) => {
        const r = ctx.request as { ms: number; fail?: boolean };
        await abortable(r.ms, ctx.signal);
        if (r.fail) throw new Error("boom");
        return { result: 1, bars: 100 };
      },
    },
  });
  hub.queue = queue;
  hub.serverStats = stats;
  const done = await queue.submit("optimization", { ms: 10 });
  assert.equal(await finalStatus(store, done.id), "completed");
  const long = await queue.submit("optimization", { ms: 10_000 });
  await sleep(30);
  assert.equal(queue.runningCount, 1);
  assert.equal((await queue.cancel(long.id)).status, "cancelled");
  const failing = await queue.submit("optimization", { ms: 5, fail: true });
  assert.equal(await finalStatus(store, failing.id), "failed");
  const queued = await queue.submit("optimization", { ms: 10_000 });
  const waiting = await queue.submit("optimization", { ms: 10 });
  assert.equal((await queue.cancel(waiting.id)).status, "cancelled");
  await queue.cancel(queued.id);
  // The moment each final message went out, the job no longer counted as running and the
  // counters already included it.
  const at = hub.seen.map((s) => ({
    type: s.type,
    running: s.running,
    completed: s.stats.optimizations_completed,
    cancelled: s.stats.optimizations_cancelled,
    failed: s.stats.optimizations_failed,
  }));
  assert.deepEqual(at, [
    { type: "complete", running: 0, completed: 1, cancelled: 0, failed: 0 },
    { type: "error", running: 0, completed: 1, cancelled: 1, failed: 0 },
    { type: "error", running: 0, completed: 1, cancelled: 1, failed: 1 },
    // `waiting` is cancelled while queued (and `queued` runs): one running.
    { type: "error", running: 1, completed: 1, cancelled: 2, failed: 1 },
    { type: "error", running: 0, completed: 1, cancelled: 3, failed: 1 },
  ]);
  const t = stats.throughput();
  assert.equal(t.jobs_cancelled, 3);
  assert.equal(t.jobs_failed, 1);
  assert.equal(t.backtests_completed + t.backtests_cancelled + t.backtests_failed, 0);
  assert.equal(t.bars_processed, 100);
  assert.equal(queue.runningCount, 0);
  assert.deepEqual(store.counts(), {
    queued: 0,
    running: 0,
    completed: 1,
    failed: 1,
    cancelled: 3,
  });
  await queue.close();
  store.close();
});
