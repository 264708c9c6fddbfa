import assert from "node:assert/strict";
import type { WatchMessage } from "../../client/mod.ts";
import {
  failure,
  googRows,
  json,
  slowStrategy,
  startTestServer,
  waitForJob,
} from "./_test_server.ts";

Deno.test("An optimization job finds the combination that separate executes rank best", async () => {
  const srv = await startTestServer();
  try {
    const api = srv.api;
    const rows = await googRows(600);
    const grid = { params: { fast: { values: [5, 10] }, slow: { values: [20, 40] } } };
    // Listen on the all-jobs stream before starting, so no message can be missed.
    const messages: WatchMessage[] = [];
    const stop = new AbortController();
    let subscribed!: () => void;
    const ready = new Promise<void>((r) => subscribed = r);
    let jobId: string | null = null;
    const following = (async () => {
      for await (const m of api.watchAll({ signal: stop.signal })) {
        messages.push(m);
        if (m.type === "snapshot") subscribed();
        if ((m.type === "complete" || m.type === "error") && m.job_id === jobId) stop.abort();
      }
    })();
    await ready;
    const start = await api.rpc.api.optimization.start.$post({
      json: {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid,
        objective: "totalReturn",
        backend: "cpu",
      },
    });
    const started = await start.json();
    assert.equal(start.status, 202, JSON.stringify(started));
    assert.ok("job_id" in started);
    const id = started.job_id;
    jobId = id;
    // it may have ended before its id came back
    if (messages.some((m) => m.job_id === id && (m.type === "complete" || m.type === "error"))) {
      stop.abort();
    }
    const timeout = setTimeout(() => stop.abort(), 30_000);
    await following;
    clearTimeout(timeout);
    assert.equal(messages.filter((m) => m.job_id === id).at(-1)!.type, "complete");
    assert.ok(messages.some((m) => m.type === "optimization_progress" && m.job_id === id));
    const status = await api.optimizationStatus(id);
    assert.equal(status.status, "completed");
    const result = status.result!;
    assert.equal(result.total, 4);
    // Independent reference: run each combination through /api/strategy/execute.
    let bestReturn = -Infinity;
    let bestParams: unknown = null;
    for (const fast of [5, 10]) {
      for (const slow of [20, 40]) {
        const r = await api.execute({
          strategy: { template: "sma_cross" },
          data: { bars: rows },
          params: { fast, slow },
        });
        if (r.metrics.totalReturn! > bestReturn) {
          bestReturn = r.metrics.totalReturn!;
          bestParams = { fast, slow };
        }
      }
    }
    assert.deepEqual(result.best!.params, bestParams);
    assert.ok(Math.abs(result.best!.metrics.totalReturn! - bestReturn) < 1e-9);
    assert.deepEqual(await api.optimizationResult(id), result);
    // A backtest id is not an optimization and vice versa.
    assert.equal((await failure(api.backtestStatus(id))).status, 404);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/optimization/start answers 400, 413 naming maxGridSize, and cancel works", async () => {
  const srv = await startTestServer({ limits: { maxGridSize: 10 } });
  try {
    const api = srv.api;
    const rows = await googRows(300);
    const big = await failure(api.startOptimization({
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      grid: {
        params: { fast: { min: 1, max: 10, step: 1 }, slow: { min: 20, max: 30, step: 1 } },
      },
    }));
    assert.equal(big.status, 413);
    assert.equal((big.details as { limit: string }).limit, "maxGridSize");
    // An axis without max/step and an unknown objective do not type-check: raw POSTs on purpose.
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
    const slowRes = await api.rpc.api.optimization.start.$post({
      json: {
        strategy: { code: slowStrategy(20) },
        data: { bars: rows },
        grid: { params: { x: { values: [1, 2] } } },
        backend: "workers",
      },
    });
    assert.equal(slowRes.status, 202);
    const slow = await slowRes.json();
    assert.ok("job_id" in slow);
    await new Promise((r) => setTimeout(r, 200));
    const cRes = await api.rpc.api.optimization[":id"].cancel.$post({ param: { id: slow.job_id } });
    assert.equal(cRes.status, 200);
    const c = await cRes.json();
    assert.ok("status" in c);
    assert.equal(c.status, "cancelled");
    const end = await waitForJob(srv, slow.job_id, "optimization");
    assert.equal(end.status, "cancelled");
    assert.equal((await failure(api.optimizationResult(slow.job_id))).status, 409);
    assert.equal((await failure(api.optimizationStatus("0000000000000000a"))).status, 404);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("An optimization whose strategy is a memory bomb fails saying so, and the server carries on", async () => {
  const srv = await startTestServer();
  try {
    const start = await srv.api.startOptimization({
      strategy: {
        code: `export default class Bomb {
          params = { n: 1 };
          OnData() { const a = []; for (;;) a.push(new Array(1e6).fill(Math.random())); }
        }`,
      },
      data: { bars: await googRows(100) },
      grid: { params: { n: { min: 1, max: 2, step: 1 } } },
    });
    const end = await waitForJob(srv, start.job_id, "optimization", 60_000);
    assert.equal(end.status, "failed");
    assert.match(end.error!, /ran out of memory/);
    assert.equal(end.error_details?.code, "strategy_memory_error");
    // Still serving: a backtest runs to the end.
    const after = await srv.api.execute({
      strategy: { template: "sma_cross" },
      data: { bars: await googRows(100) },
    });
    assert.equal(after.bars.count, 100);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/optimization/start refuses at once what the job would fail on later", async () => {
  const srv = await startTestServer();
  try {
    const rows = await googRows(100);
    const start = (body: Record<string, unknown>) =>
      srv.post("/api/optimization/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
        grid: { params: { fast: { values: [5, 10] }, slow: { values: [20, 30] } } },
        ...body,
      }).then(json);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ grid: { params: { fast: { values: [5] } }, constraints: ["fast <<< slow"] } }, /parse/],
      [
        { grid: { params: { fast: { values: [5] } }, constraints: ["fast < nope"] } },
        /unknown parameter "nope"/,
      ],
      [{ filters: ["trades >>= x"] }, /filter/i],
      [{ grid: { params: { nope: { values: [1, 2] } } } }, /has no parameter "nope"/],
      [{ grid: { params: { fast: { values: [0, -1] } } } }, /"fast" must be >= /],
      [{ grid: { params: { fast: { min: 2, max: 5, step: 1.5 } } } }, /must be an integer/],
      [{ params: { zz: 3 } }, /has no parameter "zz"/],
      [{
        grid: { params: { fast: { min: 1, max: 10_000_000, step: 1 } } },
        search: { kind: "random", samples: 5 },
      }, /more than 5000000/],
    ];
    for (const [body, message] of cases) {
      const r = await start(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.message, message, JSON.stringify(body));
    }
    // Twenty 5M-value axes: counted, not built, and refused by the grid limit.
    const axes = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`p${i}`, { min: 0, max: 4_999_999, step: 1 }]),
    );
    const huge = await start({ strategy: { code: slowStrategy(0) }, grid: { params: axes } });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.details.limit, "maxGridSize");
    // Still accepted: a valid grid of the same template.
    assert.equal((await start({})).status, 202);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("An optimization whose strategy throws fails with the strategy's error, not an internal one", async () => {
  const srv = await startTestServer();
  try {
    const start = await srv.api.startOptimization({
      strategy: {
        code: `export default class Boom {
          params = { n: 1 };
          OnData(_d, ctx) { if (ctx.barIndex === 3) throw new Error("boom at three"); return 0; }
        }`,
      },
      data: { bars: await googRows(50) },
      grid: { params: { n: { values: [1, 2] } } },
      backend: "workers",
    });
    const end = await waitForJob(srv, start.job_id, "optimization", 60_000);
    assert.equal(end.status, "failed");
    assert.match(end.error!, /boom at three/);
    assert.doesNotMatch(end.error!, /Internal error/);
    assert.equal(end.error_details?.code, "strategy_runtime_error");
    assert.equal(end.error_details?.kind, "runtime");
    assert.equal(end.error_details?.bar, 3);
  } finally {
    await srv.shutdown();
  }
});
