/**
 * The WebSocket protocol itself (message keys, order, close codes, batching) is checked on raw
 * sockets, which `client.watch()` would normalize; the sockets' URLs come from the route types
 * and every REST call goes through the typed client.
 */
import assert from "node:assert/strict";
import type { WatchMessage } from "../../client/mod.ts";
import { collectWs, googRows, json, slowStrategy, startTestServer } from "./_test_server.ts";

Deno.test("/ws/backtest/{id} streams a job from snapshot through progress and trades to complete", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const rows = await googRows();
    // Occupy the only worker so the watched job is still queued when the client subscribes.
    const blocker = await srv.api.startBacktest({
      strategy: { code: slowStrategy(1) },
      data: { bars: rows.slice(0, 150) },
    });
    const { job_id: id } = await srv.api.startBacktest({
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      params: { fast: 5, slow: 15 },
    });
    const { messages, code } = await collectWs(srv.jobSocketUrl(id));
    assert.equal(code, 1000);
    assert.deepEqual(messages[0].type, "snapshot");
    assert.equal(messages[0].data.status, "queued");
    for (const m of messages) {
      assert.deepEqual(Object.keys(m).sort(), ["data", "job_id", "type"]);
      assert.equal(m.job_id, id);
    }
    const progress = messages.filter((m) => m.type === "progress" && m.data.status === "running");
    assert.ok(progress.length >= 20, `expected many progress messages, got ${progress.length}`);
    for (let i = 1; i < progress.length; i++) {
      assert.ok((progress[i].data.progress as number) >= (progress[i - 1].data.progress as number));
    }
    assert.ok(progress.some((m) => typeof m.data.equity === "number"));
    const complete = messages.at(-1)!;
    assert.equal(complete.type, "complete");
    const result = await srv.api.backtestResult(id);
    assert.deepEqual(complete.data.result, result);
    // Every closed trade was announced, in order.
    const trades = messages.filter((m) => m.type === "trade").flatMap((m) =>
      m.data.trades as unknown[]
    );
    // Batched with progress: far fewer trade messages than trades.
    assert.ok(messages.filter((m) => m.type === "trade").length <= progress.length);
    const closed = result.trades.filter((t) => t.exitTime !== null);
    assert.deepEqual(trades, closed);
    // The last progress message carries the final equity of the run.
    assert.equal(progress.at(-1)!.data.progress, 1);
    // The blocker has usually finished by now (then the cancel is refused with a 409).
    await srv.api.cancelBacktest(blocker.job_id).catch(() => {});
  } finally {
    await srv.shutdown();
  }
});

Deno.test("/ws/backtest/{id} of a finished job sends snapshot and the terminal message, then closes", async () => {
  const srv = await startTestServer();
  try {
    const { job_id: id } = await srv.api.startBacktest({
      strategy: { template: "rsi" },
      data: { bars: await googRows(300) },
    });
    await collectWs(srv.jobSocketUrl(id)); // wait for it to finish
    const late = await collectWs(srv.jobSocketUrl(id));
    assert.equal(late.code, 1000);
    assert.deepEqual(late.messages.map((m) => m.type), ["snapshot", "complete"]);
    assert.equal(late.messages[0].data.status, "completed");
    const result = await srv.api.backtestResult(id);
    assert.deepEqual(late.messages[1].data.result, result);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("/ws/backtest/{id} sends error when the job is cancelled, and 404/426 on bad requests", async () => {
  const srv = await startTestServer();
  try {
    const { job_id: id } = await srv.api.startBacktest({
      strategy: { code: slowStrategy(20) },
      data: { bars: await googRows(500) },
    });
    const watch = collectWs(srv.jobSocketUrl(id));
    await new Promise((r) => setTimeout(r, 300));
    await srv.api.cancelBacktest(id);
    const { messages, code } = await watch;
    assert.equal(code, 1000);
    const last = messages.at(-1)!;
    assert.equal(last.type, "error");
    assert.equal(last.data.status, "cancelled");
    assert.equal(typeof last.data.error, "string");
    // Plain GETs without the upgrade on purpose: what a non-WebSocket client is answered.
    const unknown = await json(await srv.get("/ws/backtest/0000000000000000a"));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "job_not_found");
    const noUpgrade = await json(await srv.get(`/ws/backtest/${id}`));
    assert.equal(noUpgrade.status, 426);
    assert.equal(noUpgrade.body.error.code, "upgrade_required");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("/ws/backtests sends a snapshot of active jobs, then every job's messages", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const api = srv.api;
    const rows = await googRows(400);
    const a = await api.startBacktest({
      strategy: { code: slowStrategy(2) },
      data: { bars: rows },
    });
    // watchAll() passes the all-jobs stream through as the server sends it.
    const messages: WatchMessage[] = [];
    const stop = new AbortController();
    let subscribed!: () => void;
    const ready = new Promise<void>((r) => subscribed = r);
    const following = (async () => {
      const done = new Set<string>();
      for await (const m of api.watchAll({ signal: stop.signal })) {
        messages.push(m);
        if (m.type === "snapshot") subscribed();
        // a failed job ends too (the assertions below then say which)
        if (m.type === "complete" || m.type === "error") done.add(m.job_id);
        if (done.size === 2) stop.abort();
      }
    })();
    await ready;
    const b = await api.startBacktest({
      strategy: { template: "ema_cross" },
      data: { bars: rows },
    });
    await following;
    const first = messages[0];
    assert.equal(first.type, "snapshot");
    assert.equal(first.job_id, "*");
    const snapJobs = first.type === "snapshot" ? first.data.jobs! : [];
    assert.deepEqual(snapJobs.map((j) => j.job_id), [a.job_id]);
    for (const id of [a.job_id, b.job_id]) {
      assert.ok(messages.some((m) => m.job_id === id && m.type === "progress"));
      assert.ok(messages.some((m) => m.job_id === id && m.type === "complete"));
    }
    // b was announced as queued before it ran.
    const bFirst = messages.find((m) => m.job_id === b.job_id)!;
    assert.equal((bFirst.data as { status?: string }).status, "queued");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("50 concurrent WebSocket subscribers of one job all receive complete", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const rows = await googRows();
    const { job_id: id } = await srv.api.startBacktest({
      strategy: { code: slowStrategy(1) },
      data: { bars: rows.slice(0, 400) },
    });
    const clients = Array.from({ length: 50 }, () => collectWs(srv.jobSocketUrl(id)));
    const all = await Promise.all(clients);
    const result = await srv.api.backtestResult(id);
    for (const { messages, code } of all) {
      assert.equal(code, 1000);
      const last = messages.at(-1)!;
      assert.equal(last.type, "complete");
      assert.deepEqual(last.data.result, result);
    }
  } finally {
    await srv.shutdown();
  }
});

Deno.test("complete and status carry result_url instead of a result over their limits", async () => {
  const srv = await startTestServer({
    limits: { wsResultMaxBytes: 2000, statusResultMaxBytes: 2000 },
  });
  try {
    const { job_id: id } = await srv.api.startBacktest({
      strategy: { template: "sma_cross" },
      data: { bars: await googRows(300) },
    });
    const live = await collectWs(srv.jobSocketUrl(id));
    const late = await collectWs(srv.jobSocketUrl(id));
    for (const { messages } of [live, late]) {
      const complete = messages.at(-1)!;
      assert.equal(complete.type, "complete");
      assert.equal(complete.data.result, undefined);
      assert.equal(complete.data.result_url, `/api/backtest/${id}/result`);
    }
    const result = await srv.api.backtestResult(id); // a 2xx answer, else it throws
    assert.equal(result.bars.count, 300);
    // The status answer links a large result instead of embedding it.
    const status = await srv.api.backtestStatus(id);
    assert.equal(status.status, "completed");
    assert.equal(status.result, undefined);
    assert.equal(status.result_url, `/api/backtest/${id}/result`);
  } finally {
    await srv.shutdown();
  }
});
