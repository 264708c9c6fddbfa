import assert from "node:assert/strict";
import type { WsMessage } from "../../jobs/ws_hub.ts";
import { googRows, json, slowStrategy, startTestServer, waitForJob } from "./_test_server.ts";

Deno.test("An optimization job finds the combination that separate executes rank best", async () => {
  const srv = await startTestServer();
  try {
    const rows = await googRows(600);
    const grid = { params: { fast: { values: [5, 10] }, slow: { values: [20, 40] } } };
    // Listen on the all-jobs stream before starting, so no message can be missed.
    const ws = new WebSocket(`${srv.wsUrl}/ws/backtests`);
    const messages: WsMessage[] = [];
    ws.onmessage = (e) => messages.push(JSON.parse(e.data));
    const closed = new Promise((r) => ws.onclose = r);
    await new Promise((r) => ws.onopen = r);
    const start = await json(
      await srv.post("/api/optimization/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid,
        objective: "totalReturn",
        backend: "cpu",
      }),
    );
    assert.equal(start.status, 202, JSON.stringify(start.body));
    const id = start.body.job_id;
    for (
      let i = 0;
      i < 3000 && !messages.some((m) => m.type === "complete" && m.job_id === id);
      i++
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    ws.close();
    await closed;
    assert.equal(messages.filter((m) => m.job_id === id).at(-1)!.type, "complete");
    assert.ok(
      messages.some((m: WsMessage) => m.type === "optimization_progress" && m.job_id === id),
    );
    const status = await json(await srv.get(`/api/optimization/${id}/status`));
    assert.equal(status.body.status, "completed");
    const result = status.body.result;
    assert.equal(result.total, 4);
    // Independent reference: run each combination through /api/strategy/execute.
    let bestReturn = -Infinity;
    let bestParams: unknown = null;
    for (const fast of [5, 10]) {
      for (const slow of [20, 40]) {
        const r = await json(
          await srv.post("/api/strategy/execute", {
            strategy: { template: "sma_cross" },
            data: { bars: rows },
            params: { fast, slow },
          }),
        );
        if (r.body.metrics.totalReturn > bestReturn) {
          bestReturn = r.body.metrics.totalReturn;
          bestParams = { fast, slow };
        }
      }
    }
    assert.deepEqual(result.best.params, bestParams);
    assert.ok(Math.abs(result.best.metrics.totalReturn - bestReturn) < 1e-9);
    const res2 = await json(await srv.get(`/api/optimization/${id}/result`));
    assert.deepEqual(res2.body, result);
    // A backtest id is not an optimization and vice versa.
    assert.equal((await srv.get(`/api/backtest/${id}/status`)).status, 404);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/optimization/start answers 400, 413 naming maxGridSize, and cancel works", async () => {
  const srv = await startTestServer({ limits: { maxGridSize: 10 } });
  try {
    const rows = await googRows(300);
    const big = await json(
      await srv.post("/api/optimization/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid: {
          params: { fast: { min: 1, max: 10, step: 1 }, slow: { min: 20, max: 30, step: 1 } },
        },
      }),
    );
    assert.equal(big.status, 413);
    assert.equal(big.body.error.details.limit, "maxGridSize");
    const bad = await json(
      await srv.post("/api/optimization/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid: { params: { fast: { min: 1 } } },
      }),
    );
    assert.equal(bad.status, 400);
    const objective = await json(
      await srv.post("/api/optimization/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid: { params: { fast: { values: [5] } } },
        objective: "nonsense",
      }),
    );
    assert.equal(objective.status, 400);
    const slow = await json(
      await srv.post("/api/optimization/start", {
        strategy: { code: slowStrategy(20) },
        data: { bars: rows },
        grid: { params: { x: { values: [1, 2] } } },
        backend: "workers",
      }),
    );
    assert.equal(slow.status, 202);
    await new Promise((r) => setTimeout(r, 200));
    const c = await json(await srv.post(`/api/optimization/${slow.body.job_id}/cancel`, {}));
    assert.equal(c.status, 200);
    assert.equal(c.body.status, "cancelled");
    const end = await waitForJob(srv, slow.body.job_id, "optimization");
    assert.equal(end.status, "cancelled");
    assert.equal(
      (await json(await srv.get(`/api/optimization/${slow.body.job_id}/result`))).status,
      409,
    );
    assert.equal(
      (await json(await srv.get("/api/optimization/0000000000000000a/status"))).status,
      404,
    );
  } finally {
    await srv.shutdown();
  }
});
