/**
 * A small, bounded load run against the real server process (the harness of
 * bench/load_bench.ts with CI sizes): over capacity the server answers 429 (never a 5xx, never
 * a crash), every accepted job completes with the right result, every WebSocket subscriber
 * sees every job end, and the V8 heap after a full GC is back near its post-warm-up baseline
 * after a run of jobs. The figures of the full run are in docs/RELIABILITY.md.
 */
import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import SmaCross from "../../examples/sma_cross.ts";
import {
  formatLeak,
  formatLoad,
  JobWatcher,
  leakCheck,
  loadRequests,
  procMemory,
  runLoad,
  spawnLoadServer,
  syntheticRows,
} from "../../bench/load_bench.ts";
import { postJson } from "../server/_server_process.ts";

const BARS = 60;

/** The momentum strategy of `loadRequests`, written again here as the reference. */
function momentumReference(rows: number[][]): number {
  class Momentum {
    OnData(data: { length: number; close: ArrayLike<number> }) {
      const n = data.length;
      if (n < 6) return 0;
      return data.close[n - 1] > data.close[n - 6] ? 1 : -1;
    }
  }
  return runBacktest(barsFromRows(rows), Momentum).metrics.totalReturn as number;
}

Deno.test({
  name:
    "Server under load answers 429 over capacity, completes every accepted job and leaks no heap",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const t0 = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "wagyu_load_test_" });
  // Capacity small enough that 6 clients that never wait for their jobs overrun it.
  const server = await spawnLoadServer({ workers: 1, maxQueued: 4, maxExecutes: 1, dir });
  let exited = false;
  server.child.status.then(() => exited = true);
  try {
    const requests = loadRequests(BARS);
    const rows = syntheticRows(BARS);
    const expected = [
      runBacktest(barsFromRows(rows), SmaCross, { params: { fast: 5, slow: 20 } }).metrics
        .totalReturn as number,
      momentumReference(rows),
    ];
    const load = await runLoad({
      url: server.url,
      pid: server.child.pid,
      clients: 6,
      subscribers: 4,
      durationMs: 3_000,
      maxJobs: 14,
      executeEvery: 3,
      backoffMs: 100,
      drainMs: 40_000,
      requests,
    });
    console.log(formatLoad(load));
    assert.equal(exited, false, `the server exited: ${server.output.join("").slice(-2000)}`);
    assert.deepEqual(
      load.errors,
      [],
      `no 5xx, no network error, no failed job; server log: ${server.output.join("").slice(-3000)}`,
    );
    for (const status of Object.keys(load.requests.byStatus)) {
      assert.ok(["200", "202", "429"].includes(status), `unexpected status ${status}`);
    }
    assert.ok(load.rejected429.start > 0, "a full queue answers 429 to /api/backtest/start");
    // A burst of 12 at once on an idle server: every answer is 202 or 429 and every accepted job
    // completes. Submits still writing their KV record count against the queue limit, so at most
    // 4 queued plus 1 running are accepted: at least 7 answers are 429.
    const watcher = new JobWatcher(server.url);
    await watcher.opened();
    const burst = await Promise.all(
      Array.from(
        { length: 12 },
        () => postJson(`${server.url}/api/backtest/start`, requests[0].body),
      ),
    );
    const queued = (await (await fetch(`${server.url}/api/stats`)).json()).queue.length;
    const burst429 = burst.filter((r) => r.status === 429);
    for (const r of burst) assert.ok(r.status === 202 || r.status === 429, `burst ${r.status}`);
    for (const r of burst429) assert.equal(r.body.error.code, "queue_full");
    assert.ok(burst429.length >= 7, `burst of 12: only ${burst429.length} × 429 (queue max 4)`);
    const ends = await Promise.all(
      burst.filter((r) => r.status === 202).map((r) => watcher.wait(r.body.job_id)),
    );
    watcher.close();
    assert.ok(ends.every((e) => e.type === "complete" && e.summary?.totalReturn === expected[0]));
    console.log(
      `burst of 12: ${12 - burst429.length} × 202 (all completed), ${burst429.length} × 429; ` +
        `queue length right after: ${queued} (max 4)`,
    );
    assert.ok(load.jobs.accepted >= 4, `accepted ${load.jobs.accepted} jobs`);
    assert.deepEqual(load.jobs.unfinished, [], "every accepted job ended");
    assert.equal(load.jobs.completed, load.jobs.accepted);
    assert.equal(load.ws.minEndsSeen, load.jobs.accepted, "every subscriber saw every job end");
    assert.equal(load.ws.closedEarly, 0);
    // Identical requests give the result of the engine run here, whichever path ran them.
    for (const [i, values] of Object.entries(load.jobs.totalReturns)) {
      assert.deepEqual(values, [expected[Number(i)]], `job results of request ${i}`);
    }
    for (const [i, values] of Object.entries(load.executes.totalReturns)) {
      assert.deepEqual(values, [expected[Number(i)]], `execute results of request ${i}`);
    }
    const mem = procMemory(server.child.pid);
    assert.ok(mem !== null && mem.hwm >= mem.rss && mem.rss > 0);
    assert.ok(load.memory.serverHwm > 0 && load.memory.statsRssMax > 0);

    // Leak check: as many tiny jobs as fit in the remaining budget (at least 20).
    const budgetMs = Math.max(8_000, 28_000 - (performance.now() - t0));
    const leak = await leakCheck({
      url: server.url,
      warmupJobs: 20,
      jobs: Number(Deno.env.get("WAGYU_LOAD_TEST_JOBS") ?? 300),
      window: 2,
      body: requests[0].body,
      budgetMs,
    });
    console.log(formatLeak(leak));
    assert.equal(
      leak.failed,
      0,
      `${leak.failures.join("\n")}\nserver log: ${server.output.join("").slice(-3000)}`,
    );
    assert.ok(leak.jobs >= 20, `only ${leak.jobs} jobs ran in ${budgetMs} ms`);
    // 4 MB: a leak of 200 KB per job shows within 20 jobs; below that is GC noise.
    const heapGrowth = leak.after.heapUsed - leak.baseline.heapUsed;
    assert.ok(
      heapGrowth < 4 * 1024 * 1024,
      `heap grew ${(heapGrowth / 1048576).toFixed(1)} MB over ${leak.jobs} jobs`,
    );
    const rssGrowth = leak.after.rss - leak.baseline.rss;
    assert.ok(
      rssGrowth < 96 * 1024 * 1024,
      `RSS grew ${(rssGrowth / 1048576).toFixed(1)} MB over ${leak.jobs} jobs`,
    );
    const health = await fetch(`${server.url}/api/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    server.child.kill("SIGKILL");
    await server.child.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
