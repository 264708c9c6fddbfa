import assert from "node:assert/strict";
import { ApiClientError, createClient, type WatchMessage } from "../../client/mod.ts";
import { type RunningServer, startServer } from "../../main.ts";
import type { ServerOptionsInput } from "../../routes/server_options.ts";
import { barsToRows } from "../../engine/bars.ts";
import { loadBars } from "../../market/load_bars.ts";

const GOOG = decodeURIComponent(new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname);

/** A real server on 127.0.0.1, port 0, with an in-memory KV store. */
async function serve(opts: ServerOptionsInput = {}): Promise<RunningServer> {
  return await startServer({
    port: 0,
    hostname: "127.0.0.1",
    kvPath: ":memory:",
    datasetsDir: await Deno.makeTempDir({ prefix: "wagyu_client_ds_" }),
    ...opts,
  });
}

async function googRows(n: number): Promise<number[][]> {
  const { bars } = await loadBars(GOOG);
  return barsToRows(bars).slice(0, n);
}

/** Spends `ms` per bar and flips position often, so a job runs a while and closes many trades. */
function slowFlipper(ms: number): string {
  return `export default class SlowFlipper {
  OnData(data) {
    const end = Date.now() + ${ms};
    while (Date.now() < end) { /* busy */ }
    return data.close[data.length - 1] > data.open[data.length - 1] ? 1 : -1;
  }
}`;
}

async function collect(it: AsyncIterable<WatchMessage>): Promise<WatchMessage[]> {
  const out: WatchMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

async function rejectsWith(p: Promise<unknown>, status: number, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ApiClientError, `expected ApiClientError, got ${err}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code);
    return true;
  });
}

Deno.test("createClient() calls every REST endpoint of a real server with typed answers", async () => {
  const srv = await serve({ workers: 1 });
  const api = createClient(srv.url + "/");
  try {
    const rows = await googRows(400);
    const health = await api.health();
    assert.equal(health.status, "ok");
    assert.equal(health.workers, 1);
    const doc = await api.openapi() as { paths: Record<string, unknown> };
    assert.ok("/api/backtest/start" in doc.paths);
    const { templates } = await api.strategies();
    const sma = templates.find((t) => t.id === "sma_cross");
    assert.ok(sma && sma.source.includes("OnData"));

    const good = await api.compile(sma.source);
    assert.equal(good.ok, true);
    const bad = await api.compile("export default class { OnData( {");
    assert.equal(bad.ok, false);
    assert.ok(bad.diagnostics.length > 0);

    const req = {
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      params: { fast: 5, slow: 20 },
    };
    const executed = await api.execute(req);
    assert.equal(executed.bars.count, 400);
    assert.equal(executed.equity.length, 400);
    assert.deepEqual(executed.params.fast, 5);

    // The same request as a job gives the same result (async path vs sync path).
    const started = await api.startBacktest(req);
    assert.match(started.job_id, /\S/);
    let status = await api.backtestStatus(started.job_id, { result: false });
    for (let i = 0; i < 600 && status.status !== "completed"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = await api.backtestStatus(started.job_id, { result: false });
    }
    assert.equal(status.status, "completed");
    assert.equal(status.result, undefined);
    const withResult = await api.backtestStatus(started.job_id);
    assert.deepEqual(withResult.result, executed);
    assert.deepEqual(await api.backtestResult(started.job_id), executed);
    // The HTML report of the finished job, served by the server from its stored request.
    const html = await api.backtestReport(started.job_id);
    assert.ok(html.startsWith("<!doctype html>"));
    assert.ok(html.includes(`WagYu backtest ${started.job_id}`));
    const data = JSON.parse(html.match(/id="report-data">([^<]*)<\/script>/)![1]);
    assert.deepEqual(data.equity.at(-1), [
      executed.equity.at(-1)!.time,
      executed.equity.at(-1)!.equity,
    ]);
    await rejectsWith(api.backtestReport("no-such-job"), 404, "job_not_found");

    const list = await api.listBacktests({ status: "completed", limit: 10 });
    assert.ok(list.jobs.some((j) => j.job_id === started.job_id));
    const none = await api.listBacktests({ status: "failed" });
    assert.ok(!none.jobs.some((j) => j.job_id === started.job_id));

    // Cancel a job while it waits behind a slow one on the only worker.
    const blocker = await api.startBacktest({
      strategy: { code: slowFlipper(2) },
      data: { bars: rows },
    });
    const queued = await api.startBacktest(req);
    const cancelled = await api.cancelBacktest(queued.job_id);
    assert.equal(cancelled.status, "cancelled");
    await rejectsWith(api.cancelBacktest(queued.job_id), 409, "job_not_cancellable");
    await rejectsWith(api.backtestResult(queued.job_id), 409, "job_not_completed");
    await rejectsWith(api.backtestReport(queued.job_id), 409, "job_not_completed");
    await api.cancelBacktest(blocker.job_id);

    // Optimization: start, watch to the end, status, result; cancel a second one.
    const opt = await api.startOptimization({
      ...req,
      grid: { params: { fast: { values: [5, 10] }, slow: { values: [20, 30] } } },
      objective: "totalReturn",
      backend: "cpu",
    });
    const optMessages = await collect(api.watch(opt.job_id));
    assert.equal(optMessages.at(-1)!.type, "complete");
    const optStatus = await api.optimizationStatus(opt.job_id);
    assert.equal(optStatus.status, "completed");
    const optResult = await api.optimizationResult(opt.job_id);
    assert.equal(optResult.total, 4);
    assert.deepEqual(optStatus.result, optResult);
    const opt2 = await api.startOptimization({
      strategy: { code: slowFlipper(5) },
      data: { bars: rows },
      grid: { params: { x: { values: [1, 2, 3] } } },
    });
    const optCancelled = await api.cancelOptimization(opt2.job_id);
    assert.equal(optCancelled.status, "cancelled");

    // Datasets: upload a CSV (validated on the server), then find it in the list.
    const csv = "Date,Open,High,Low,Close,Volume\n" +
      rows.slice(0, 30).map((r) =>
        `${new Date(r[0]).toISOString().slice(0, 10)},${r.slice(1).join(",")}`
      ).join("\n") + "\n";
    const up = await api.uploadDataset("client_test.csv", csv);
    assert.equal(up.bars, 30);
    assert.equal(up.start, rows[0][0]);
    const { datasets } = await api.datasets();
    assert.ok(datasets.some((d) => d.name === "client_test.csv"), JSON.stringify(datasets));
    await rejectsWith(
      api.uploadDataset(
        "broken.csv",
        "Date,Open,High,Low,Close,Volume\n2020-01-01,1,2,0.5,abc,5\n",
      ),
      400,
      "invalid_data",
    );

    const stats = await api.stats();
    assert.ok(stats.workers.total === 1);
    assert.ok(stats.jobs.completed >= 2, JSON.stringify(stats.jobs));

    // Error answers become ApiClientError with the server's code.
    await rejectsWith(api.backtestStatus("no-such-job"), 404, "job_not_found");
    await rejectsWith(
      api.execute({ strategy: { template: "sma_cross" }, data: { bars: [[1, 2]] } }),
      400,
      "invalid_request",
    );
  } finally {
    await srv.shutdown();
  }
});

Deno.test("createClient() sends the API token; without it mutating calls get 401", async () => {
  const srv = await serve({ apiToken: "s3cret" });
  try {
    const rows = await googRows(60);
    const anon = createClient(srv.url);
    assert.equal((await anon.health()).status, "ok"); // reads stay open
    await rejectsWith(
      anon.compile("export default class { OnData() { return 0; } }"),
      401,
      "unauthorized",
    );
    const authed = createClient(srv.url, { token: "s3cret" });
    const r = await authed.execute({ strategy: { template: "rsi" }, data: { bars: rows } });
    assert.equal(r.bars.count, 60);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("client.watch() yields snapshot, progress and trades up to complete with the result", async () => {
  const srv = await serve({ workers: 1, progressIntervalMs: 20 });
  const api = createClient(srv.url);
  try {
    const rows = await googRows(300);
    const { job_id } = await api.startBacktest({
      strategy: { code: slowFlipper(1) },
      data: { bars: rows },
    });
    const messages = await collect(api.watch(job_id));
    assert.equal(messages[0].type, "snapshot");
    const last = messages.at(-1)!;
    assert.equal(last.type, "complete");
    const result = await api.backtestResult(job_id);
    assert.ok(last.type === "complete" && last.data.result);
    assert.deepEqual(last.data.result, result);
    const progress = messages.filter((m) => m.type === "progress").map((m) => m.data.progress);
    assert.ok(progress.length >= 5, `only ${progress.length} progress messages`);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1]);
    const batches = messages.flatMap((m) => m.type === "trade" ? [m.data] : []);
    const closed = result.trades.filter((t) => t.exitTime !== null);
    assert.ok(closed.length > 10);
    assert.deepEqual(batches.flatMap((b) => b.trades), closed);
    assert.equal(batches.at(-1)!.total, closed.length);
    assert.ok(batches.every((b) => !b.replayed));
    // A late watcher of the finished job gets its snapshot and the terminal message.
    const late = await collect(api.watch(job_id));
    assert.deepEqual(late.map((m) => m.type), ["snapshot", "complete"]);
    await rejectsWith(collect(api.watch("no-such-job")), 404, "job_not_found");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("client.watch() reconnects after the server drops the socket and catches up from the snapshot", async () => {
  const srv = await serve({ workers: 1, progressIntervalMs: 20 });
  const api = createClient(srv.url);
  try {
    const rows = await googRows(400);
    const { job_id } = await api.startBacktest({
      strategy: { code: slowFlipper(3) },
      data: { bars: rows },
    });
    const messages: WatchMessage[] = [];
    let dropped = false;
    for await (const m of api.watch(job_id, { backoffMs: 150 })) {
      messages.push(m);
      if (!dropped && m.type === "trade" && m.data.total >= 3) {
        // Server-side close of every socket, mid-job (as a restart of the proxy would).
        srv.wagyu.services.hub.closeAll();
        dropped = true;
      }
    }
    assert.ok(dropped, "the job ended before the drop");
    const snapshots = messages.filter((m) => m.type === "snapshot");
    assert.equal(snapshots.length, 2, "one snapshot per connection");
    const second = snapshots[1];
    // Normally still running; on a loaded machine the job may have ended in the meantime,
    // and the missed trades then come from the result (checked the same way below).
    assert.ok(second.type === "snapshot" && ["running", "completed"].includes(second.data.status!));
    assert.equal(messages.at(-1)!.type, "complete");
    // Every closed trade arrives exactly once and in order, some replayed from the snapshot.
    const result = await api.backtestResult(job_id);
    const closed = result.trades.filter((t) => t.exitTime !== null);
    const batches = messages.flatMap((m) => m.type === "trade" ? [m.data] : []);
    assert.deepEqual(batches.flatMap((b) => b.trades), closed);
    // Each batch's total counts the trades up to and including it.
    let count = 0;
    for (const b of batches) assert.equal(b.total, count += b.trades.length);
    assert.ok(batches.some((b) => b.replayed), "no trade was caught up from the snapshot");
    // Progress after the reconnect resumes from where the snapshot says, not from 0.
    const i2 = messages.indexOf(second);
    const before = messages.slice(0, i2).filter((m) => m.type === "progress").at(-1);
    assert.ok(before && second.data.progress! >= before.data.progress);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("client.watch() fetches a result the complete message only links to", async () => {
  // Results over wsResultMaxBytes are not embedded: `complete` carries result_url instead.
  const srv = await serve({ limits: { wsResultMaxBytes: 100 } });
  const api = createClient(srv.url);
  try {
    const rows = await googRows(200);
    const { job_id } = await api.startBacktest({
      strategy: { template: "rsi" },
      data: { bars: rows },
    });
    const raw = await collect(api.watch(job_id, { fetchResult: false }));
    const rawEnd = raw.at(-1)!;
    assert.ok(rawEnd.type === "complete");
    assert.equal(rawEnd.data.result, undefined);
    assert.equal(rawEnd.data.result_url, `/api/backtest/${job_id}/result`);
    const end = (await collect(api.watch(job_id))).at(-1)!;
    assert.ok(end.type === "complete");
    assert.deepEqual(end.data.result, await api.backtestResult(job_id));
  } finally {
    await srv.shutdown();
  }
});

Deno.test("client.watchAll() streams every job's messages until aborted", async () => {
  const srv = await serve({ workers: 1 });
  const api = createClient(srv.url);
  try {
    const rows = await googRows(200);
    const abort = new AbortController();
    const seen: WatchMessage[] = [];
    const done = (async () => {
      for await (const m of api.watchAll({ signal: abort.signal })) {
        seen.push(m);
        if (m.type === "snapshot" && seen.length === 1) {
          // Subscribed: now start two jobs; stop once both completed.
          await api.startBacktest({ strategy: { template: "rsi" }, data: { bars: rows } });
          await api.startBacktest({ strategy: { template: "sma_cross" }, data: { bars: rows } });
        }
        if (seen.filter((x) => x.type === "complete").length === 2) abort.abort();
      }
    })();
    await done;
    assert.equal(seen[0].type, "snapshot");
    assert.equal(seen[0].job_id, "*");
    const completed = new Set(seen.filter((m) => m.type === "complete").map((m) => m.job_id));
    assert.equal(completed.size, 2);
    const { jobs } = await api.listBacktests({ status: "completed" });
    assert.deepEqual([...completed].sort(), jobs.map((j) => j.job_id).sort());
  } finally {
    await srv.shutdown();
  }
});

Deno.test("client.watchAll() reports its state and reconnects when the server drops every socket", async () => {
  const srv = await serve({ workers: 1 });
  const api = createClient(srv.url);
  try {
    const states: string[] = [];
    const abort = new AbortController();
    const seen: WatchMessage[] = [];
    for await (
      const m of api.watchAll({
        signal: abort.signal,
        retries: Infinity,
        backoffMs: 50,
        onState: (s) => states.push(s),
      })
    ) {
      seen.push(m);
      const snapshots = seen.filter((x) => x.type === "snapshot").length;
      // First connection: drop it from the server side (as a proxy restart would).
      if (snapshots === 1 && m.type === "snapshot") srv.wagyu.services.hub.closeAll();
      if (snapshots === 2) abort.abort();
    }
    assert.deepEqual(seen.map((m) => m.type), ["snapshot", "snapshot"]);
    // connecting → open, dropped → connecting → open, then closed when the loop ended.
    assert.deepEqual(states, ["connecting", "open", "connecting", "open", "closed"]);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("createClient() reports an unreachable server as ApiClientError status 0, code network", async () => {
  // A port nothing listens on: take a free one from the OS, then close it.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const api = createClient(`http://127.0.0.1:${port}`);
  await rejectsWith(api.health(), 0, "network");
  await rejectsWith(api.backtestStatus("x"), 0, "network");
});
