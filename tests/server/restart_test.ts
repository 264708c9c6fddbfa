/**
 * The server as a real process: SIGKILL it with jobs in every state, start it again on the
 * same KV file, and check that nothing is lost.
 */
import assert from "node:assert/strict";
import { json, slowStrategy } from "../routes/_test_server.ts";
import { kill9, postJson, type ServerProcess, spawnServer } from "./_server_process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Proc = ServerProcess;
const post = postJson;

async function status(base: string, id: string) {
  return (await json(await fetch(`${base}/api/backtest/${id}/status?result=false`))).body;
}

async function waitStatus(base: string, id: string, want: string[], ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const s = await status(base, id);
    if (want.includes(s.status)) return s;
    await sleep(50);
  }
  throw new Error(`Job ${id} never reached ${want}`);
}

Deno.test("A SIGKILLed server restarts with every job kept: results served, unfinished jobs re-run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wagyu_restart_" });
  const kvPath = `${dir}/jobs.kv`;
  const bars = { dataset: "SAMPLE_USD_1d.csv" };
  const a = await spawnServer(kvPath);
  let b: Proc | null = null;
  let c: Proc | null = null;
  try {
    // completed
    const done = await post(`${a.url}/api/backtest/start`, {
      strategy: { template: "sma_cross" },
      data: bars,
    });
    await waitStatus(a.url, done.body.job_id, ["completed"]);
    const doneResult = await (await fetch(`${a.url}/api/backtest/${done.body.job_id}/result`))
      .text();
    // failed
    const failed = await post(`${a.url}/api/backtest/start`, {
      strategy: {
        code:
          "export default class S { OnData(d) { if (d.length > 9) throw new Error('nope'); return 0; } }",
      },
      data: bars,
    });
    const failedBefore = await waitStatus(a.url, failed.body.job_id, ["failed"]);
    // running (slow), then a cancelled and a queued one behind it
    const running = await post(`${a.url}/api/backtest/start`, {
      strategy: { code: slowStrategy(10) },
      data: {
        bars: Array.from(
          { length: 200 },
          (_, i) => [i * 86_400_000, 10, 11, 9, 10 + (i % 3) / 10, 5],
        ),
      },
    });
    await waitStatus(a.url, running.body.job_id, ["running"]);
    const cancelled = await post(`${a.url}/api/backtest/start`, {
      strategy: { template: "rsi" },
      data: bars,
    });
    await post(`${a.url}/api/backtest/${cancelled.body.job_id}/cancel`, {});
    const queued = await post(`${a.url}/api/backtest/start`, {
      strategy: { template: "ema_cross" },
      data: bars,
    });
    assert.equal((await status(a.url, queued.body.job_id)).status, "queued");
    assert.equal((await status(a.url, running.body.job_id)).status, "running");
    await kill9(a);

    b = await spawnServer(kvPath);
    // Finished jobs are as they were.
    const doneAfter = await (await fetch(`${b.url}/api/backtest/${done.body.job_id}/result`))
      .text();
    assert.equal(doneAfter, doneResult);
    const failedAfter = await status(b.url, failed.body.job_id);
    assert.equal(failedAfter.status, "failed");
    assert.equal(failedAfter.error, failedBefore.error);
    assert.equal((await status(b.url, cancelled.body.job_id)).status, "cancelled");
    // Unfinished jobs were re-queued and now complete.
    const r = await waitStatus(b.url, running.body.job_id, ["completed", "failed"]);
    assert.equal(r.status, "completed");
    assert.equal(r.attempts, 2);
    assert.match(r.notes[0], /Re-queued after a server restart/);
    const q = await waitStatus(b.url, queued.body.job_id, ["completed", "failed"]);
    assert.equal(q.status, "completed");
    // The re-run gives the same result as running it fresh.
    const qResult =
      (await json(await fetch(`${b.url}/api/backtest/${queued.body.job_id}/result`))).body;
    const fresh = await post(`${b.url}/api/strategy/execute`, {
      strategy: { template: "ema_cross" },
      data: bars,
    });
    assert.deepEqual(qResult, fresh.body);
    const list = (await json(await fetch(`${b.url}/api/backtests?limit=100`))).body;
    assert.equal(list.jobs.length, 5);

    // With WAGYU_RECOVERY=fail, a job interrupted by a kill ends failed with the reason.
    const again = await post(`${b.url}/api/backtest/start`, {
      strategy: { code: slowStrategy(10) },
      data: { bars: Array.from({ length: 200 }, (_, i) => [i * 86_400_000, 10, 11, 9, 10, 5]) },
    });
    await waitStatus(b.url, again.body.job_id, ["running"]);
    await kill9(b);
    b = null;
    c = await spawnServer(kvPath, { env: { WAGYU_RECOVERY: "fail" } });
    const f = await status(c.url, again.body.job_id);
    assert.equal(f.status, "failed");
    assert.match(f.error, /restarted while this job was running/);
    const stats = (await json(await fetch(`${c.url}/api/stats`))).body;
    assert.deepEqual(stats.jobs, { queued: 0, running: 0, completed: 3, failed: 2, cancelled: 1 });
  } finally {
    for (const p of [a, b, c]) {
      if (!p) continue;
      try {
        p.child.kill("SIGKILL");
      } catch { /* already dead */ }
      await p.child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
});
