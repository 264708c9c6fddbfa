import assert from "node:assert/strict";
import type { WsMessage } from "../../jobs/ws_hub.ts";
import { collectWs, googRows, json, slowStrategy, startTestServer } from "./_test_server.ts";

Deno.test("/ws/backtest/{id} streams a job from snapshot through progress and trades to complete", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const rows = await googRows();
    // Occupy the only worker so the watched job is still queued when the client subscribes.
    const blocker = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: slowStrategy(1) },
        data: { bars: rows.slice(0, 150) },
      }),
    );
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        params: { fast: 5, slow: 15 },
      }),
    );
    const id = start.body.job_id;
    const { messages, code } = await collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
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
    const result = (await json(await srv.get(`/api/backtest/${id}/result`))).body;
    assert.deepEqual(complete.data.result, result);
    // Every closed trade was announced, in order.
    const trades = messages.filter((m) => m.type === "trade").flatMap((m) =>
      m.data.trades as unknown[]
    );
    // Batched with progress: far fewer trade messages than trades.
    assert.ok(messages.filter((m) => m.type === "trade").length <= progress.length);
    const closed = result.trades.filter((t: { exitTime: number | null }) => t.exitTime !== null);
    assert.deepEqual(trades, closed);
    // The last progress message carries the final equity of the run.
    assert.equal(progress.at(-1)!.data.progress, 1);
    await srv.post(`/api/backtest/${blocker.body.job_id}/cancel`, {});
  } finally {
    await srv.shutdown();
  }
});

Deno.test("/ws/backtest/{id} of a finished job sends snapshot and the terminal message, then closes", async () => {
  const srv = await startTestServer();
  try {
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "rsi" },
        data: { bars: await googRows(300) },
      }),
    );
    const id = start.body.job_id;
    await collectWs(`${srv.wsUrl}/ws/backtest/${id}`); // wait for it to finish
    const late = await collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
    assert.equal(late.code, 1000);
    assert.deepEqual(late.messages.map((m) => m.type), ["snapshot", "complete"]);
    assert.equal(late.messages[0].data.status, "completed");
    const result = (await json(await srv.get(`/api/backtest/${id}/result`))).body;
    assert.deepEqual(late.messages[1].data.result, result);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("/ws/backtest/{id} sends error when the job is cancelled, and 404/426 on bad requests", async () => {
  const srv = await startTestServer();
  try {
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: slowStrategy(20) },
        data: { bars: await googRows(500) },
      }),
    );
    const id = start.body.job_id;
    const watch = collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
    await new Promise((r) => setTimeout(r, 300));
    await srv.post(`/api/backtest/${id}/cancel`, {});
    const { messages, code } = await watch;
    assert.equal(code, 1000);
    const last = messages.at(-1)!;
    assert.equal(last.type, "error");
    assert.equal(last.data.status, "cancelled");
    assert.equal(typeof last.data.error, "string");
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
    const rows = await googRows(400);
    const a = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: slowStrategy(2) },
        data: { bars: rows },
      }),
    );
    const ws = new WebSocket(`${srv.wsUrl}/ws/backtests`);
    const messages: WsMessage[] = [];
    const closed = new Promise((r) => ws.onclose = r);
    const gotBoth = new Promise<void>((resolve) => {
      const done = new Set<string>();
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        messages.push(m);
        if (m.type === "complete") done.add(m.job_id);
        if (done.size === 2) resolve();
      };
    });
    await new Promise((r) => ws.onopen = r);
    const b = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "ema_cross" },
        data: { bars: rows },
      }),
    );
    await gotBoth;
    ws.close();
    await closed;
    assert.equal(messages[0].type, "snapshot");
    assert.equal(messages[0].job_id, "*");
    const snapJobs = messages[0].data.jobs as { job_id: string }[];
    assert.deepEqual(snapJobs.map((j) => j.job_id), [a.body.job_id]);
    for (const id of [a.body.job_id, b.body.job_id]) {
      assert.ok(messages.some((m) => m.job_id === id && m.type === "progress"));
      assert.ok(messages.some((m) => m.job_id === id && m.type === "complete"));
    }
    // b was announced as queued before it ran.
    const bFirst = messages.find((m) => m.job_id === b.body.job_id)!;
    assert.equal(bFirst.data.status, "queued");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("50 concurrent WebSocket subscribers of one job all receive complete", async () => {
  const srv = await startTestServer({ workers: 1 });
  try {
    const rows = await googRows();
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: slowStrategy(1) },
        data: { bars: rows.slice(0, 400) },
      }),
    );
    const id = start.body.job_id;
    const clients = Array.from({ length: 50 }, () => collectWs(`${srv.wsUrl}/ws/backtest/${id}`));
    const all = await Promise.all(clients);
    const result = (await json(await srv.get(`/api/backtest/${id}/result`))).body;
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
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "sma_cross" },
        data: { bars: await googRows(300) },
      }),
    );
    const id = start.body.job_id;
    const live = await collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
    const late = await collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
    for (const { messages } of [live, late]) {
      const complete = messages.at(-1)!;
      assert.equal(complete.type, "complete");
      assert.equal(complete.data.result, undefined);
      assert.equal(complete.data.result_url, `/api/backtest/${id}/result`);
    }
    const result = await json(await srv.get(`/api/backtest/${id}/result`));
    assert.equal(result.status, 200);
    assert.equal(result.body.bars.count, 300);
    // The status answer links a large result instead of embedding it.
    const status = await json(await srv.get(`/api/backtest/${id}/status`));
    assert.equal(status.body.status, "completed");
    assert.equal(status.body.result, undefined);
    assert.equal(status.body.result_url, `/api/backtest/${id}/result`);
  } finally {
    await srv.shutdown();
  }
});
