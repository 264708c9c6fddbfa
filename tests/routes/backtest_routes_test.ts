import assert from "node:assert/strict";
import { TEMPLATES } from "../../examples/index.ts";
import {
  collectWs,
  googRows,
  json,
  slowStrategy,
  startTestServer,
  waitForJob,
} from "./_test_server.ts";

const SMA_CODE = await Deno.readTextFile(new URL("../../examples/sma_cross.ts", import.meta.url));

Deno.test("POST /api/strategy/execute runs a template on inline bars and equals the same code sent as source", async () => {
  const srv = await startTestServer();
  try {
    const rows = await googRows(400);
    const body = { data: { bars: rows }, params: { fast: 5, slow: 20 }, config: { cash: 5000 } };
    const a = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        ...body,
      }),
    );
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.body.bars.count, 400);
    assert.equal(a.body.bars.start, rows[0][0]);
    assert.equal(a.body.bars.end, rows[399][0]);
    assert.deepEqual(a.body.params, { fast: 5, slow: 20 });
    assert.equal(a.body.config.cash, 5000);
    assert.equal(a.body.equity.length > 0, true);
    const b = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { code: SMA_CODE },
        ...body,
      }),
    );
    assert.equal(b.status, 200);
    assert.deepEqual(b.body, a.body);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/execute answers 400/404/413/422 with the error envelope", async () => {
  const srv = await startTestServer({ limits: { maxBars: 300, maxBodyBytes: 200_000 } });
  try {
    const rows = await googRows(100);
    const cases: [string, unknown, number, string][] = [
      ["missing strategy", { data: { bars: rows } }, 400, "invalid_request"],
      ["malformed JSON", "{not json", 400, "http_error"],
      [
        "bad sizing",
        {
          strategy: { template: "sma_cross" },
          data: { bars: rows },
          config: { sizing: "fraction:-1" },
        },
        400,
        "invalid_config",
      ],
      [
        "unknown config key",
        {
          strategy: { template: "sma_cross" },
          data: { bars: rows },
          config: { cassh: 1 },
        },
        400,
        "invalid_request",
      ],
      [
        "unknown template",
        { strategy: { template: "nope" }, data: { bars: rows } },
        404,
        "template_not_found",
      ],
      [
        "unknown dataset",
        { strategy: { template: "sma_cross" }, data: { dataset: "nope.csv" } },
        404,
        "dataset_not_found",
      ],
      [
        "traversal",
        { strategy: { template: "sma_cross" }, data: { dataset: "../../etc/passwd" } },
        400,
        "invalid_request",
      ],
      [
        "syntax error",
        {
          strategy: { code: "export default class S {\n  OnData( { return 1 }\n}" },
          data: { bars: rows },
        },
        422,
        "strategy_compile_error",
      ],
      [
        "runtime error",
        {
          strategy: {
            code:
              "export default class S { OnData(d) { if (d.length > 5) throw new Error('boom'); return 0; } }",
          },
          data: { bars: rows },
        },
        422,
        "strategy_runtime_error",
      ],
    ];
    for (const [name, body, status, code] of cases) {
      const r = await json(await srv.post("/api/strategy/execute", body));
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, name);
      assert.equal(typeof r.body.error.message, "string", name);
      assert.ok("details" in r.body.error, name);
    }
    // A bad row is named with its index.
    const bad = rows.map((r) => [...r]);
    bad[7][2] = bad[7][3] / 2; // high below low
    const r = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { bars: bad },
      }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, "invalid_bars");
    assert.match(r.body.error.message, /Row 7/);
    assert.equal(r.body.error.details.row, 7);
    // Limits are named.
    const big = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { bars: await googRows(301) },
      }),
    );
    assert.equal(big.status, 413);
    assert.equal(big.body.error.details.limit, "maxBars");
    assert.match(big.body.error.message, /maxBars=300/);
    const huge = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { code: "x".repeat(250_000) },
        data: { bars: rows },
      }),
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error.details.limit, "maxBodyBytes");
    // Compile errors carry line and column.
    const syn = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { code: "export default class S {\n  OnData( { return 1 }\n}" },
        data: { bars: rows },
      }),
    );
    assert.equal(syn.body.error.details.diagnostics[0].line, 2);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/execute answers 429 naming maxConcurrentExecutes when at the limit", async () => {
  const srv = await startTestServer({ limits: { maxConcurrentExecutes: 1 } });
  try {
    const rows = await googRows(200);
    const first = srv.post("/api/strategy/execute", {
      strategy: { code: slowStrategy(5) },
      data: { bars: rows },
    });
    // Wait until the first one is running.
    for (let i = 0; i < 200; i++) {
      const st = await json(await srv.get("/api/stats"));
      if (st.body.executes.in_flight === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
      }),
    );
    assert.equal(second.status, 429);
    assert.equal(second.body.error.details.limit, "maxConcurrentExecutes");
    assert.equal((await first).status, 200);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/compile returns params, or diagnostics with line and column", async () => {
  const srv = await startTestServer();
  try {
    const ok = await json(await srv.post("/api/strategy/compile", { code: SMA_CODE }));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.ok, true);
    assert.deepEqual(ok.body.params, { fast: 10, slow: 30 });
    const bad = await json(
      await srv.post("/api/strategy/compile", {
        code: "export default class S {\n  OnData() {\n    return undefinedThing + ;\n  }\n}",
      }),
    );
    assert.equal(bad.status, 200);
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.diagnostics[0].line, 3);
    assert.equal(typeof bad.body.diagnostics[0].column, "number");
    const empty = await json(await srv.post("/api/strategy/compile", { code: "" }));
    assert.equal(empty.status, 400);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("GET /api/strategies lists every template with its source and params", async () => {
  const srv = await startTestServer();
  try {
    const { status, body } = await json(await srv.get("/api/strategies"));
    assert.equal(status, 200);
    assert.deepEqual(body.templates.map((t: { id: string }) => t.id), TEMPLATES.map((t) => t.id));
    for (const t of body.templates) {
      const expected = TEMPLATES.find((x) => x.id === t.id)!;
      assert.deepEqual(t.params, expected.params);
      assert.equal(
        t.source,
        await Deno.readTextFile(new URL(`../../${expected.file}`, import.meta.url)),
      );
    }
  } finally {
    await srv.shutdown();
  }
});

Deno.test("A backtest job runs to completed: status, result, list and WebSocket agree", async () => {
  const srv = await startTestServer();
  try {
    const rows = await googRows(600);
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
      }),
    );
    assert.equal(start.status, 202);
    const id = start.body.job_id;
    const ws = await collectWs(`${srv.wsUrl}/ws/backtest/${id}`);
    assert.equal(ws.code, 1000);
    assert.equal(ws.messages[0].type, "snapshot");
    const last = ws.messages.at(-1)!;
    assert.equal(last.type, "complete");
    const status = await json(await srv.get(`/api/backtest/${id}/status`));
    assert.equal(status.body.status, "completed");
    assert.equal(status.body.progress, 1);
    const result = await json(await srv.get(`/api/backtest/${id}/result`));
    assert.deepEqual(status.body.result, result.body);
    assert.deepEqual(last.data.result, result.body);
    const direct = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { bars: rows },
      }),
    );
    assert.deepEqual(result.body, direct.body);
    assert.equal(status.body.summary.trades, result.body.trades.length);
    const list = await json(await srv.get("/api/backtests?status=completed"));
    assert.deepEqual(list.body.jobs.map((j: { job_id: string }) => j.job_id), [id]);
    const none = await json(await srv.get("/api/backtests?status=failed"));
    assert.deepEqual(none.body.jobs, []);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("Backtest job endpoints answer 404, 409, 422 and 429 on their error paths", async () => {
  const srv = await startTestServer({ workers: 1, limits: { maxQueuedJobs: 1 } });
  try {
    const rows = await googRows(300);
    assert.equal((await json(await srv.get("/api/backtest/0000000000000000a/status"))).status, 404);
    assert.equal((await json(await srv.get("/api/backtest/nope/result"))).status, 404);
    assert.equal((await json(await srv.post("/api/backtest/nope/cancel", {}))).status, 404);
    const syn = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: "export default class {" },
        data: { bars: rows },
      }),
    );
    assert.equal(syn.status, 422);
    const slow = await json(
      await srv.post("/api/backtest/start", {
        strategy: { code: slowStrategy(20) },
        data: { bars: rows },
      }),
    );
    // Wait until it runs, so the next one waits in the queue.
    for (let i = 0; i < 200; i++) {
      const st = await json(await srv.get(`/api/backtest/${slow.body.job_id}/status`));
      if (st.body.status === "running") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const queued = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "rsi" },
        data: { bars: rows },
      }),
    );
    assert.equal(queued.status, 202);
    const full = await json(
      await srv.post("/api/backtest/start", {
        strategy: { template: "rsi" },
        data: { bars: rows },
      }),
    );
    assert.equal(full.status, 429);
    assert.equal(full.body.error.details.limit, "maxQueuedJobs");
    // Result of a job that is not completed: 409.
    const early = await json(await srv.get(`/api/backtest/${queued.body.job_id}/result`));
    assert.equal(early.status, 409);
    // Cancel while queued, then while running.
    const c1 = await json(await srv.post(`/api/backtest/${queued.body.job_id}/cancel`, {}));
    assert.equal(c1.status, 200);
    assert.equal(c1.body.status, "cancelled");
    const c2 = await json(await srv.post(`/api/backtest/${slow.body.job_id}/cancel`, {}));
    assert.equal(c2.status, 200);
    assert.equal(c2.body.status, "cancelled");
    assert.match(c2.body.error, /running/);
    // Cancelling again: 409.
    const again = await json(await srv.post(`/api/backtest/${slow.body.job_id}/cancel`, {}));
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "job_not_cancellable");
    const list = await json(await srv.get("/api/backtests?status=cancelled&limit=1"));
    assert.equal(list.body.jobs.length, 1);
    assert.equal(list.body.jobs[0].job_id, queued.body.job_id);
    const page2 = await json(
      await srv.get(`/api/backtests?status=cancelled&limit=1&cursor=${list.body.next_cursor}`),
    );
    assert.equal(page2.body.jobs[0].job_id, slow.body.job_id);
    const badQuery = await json(await srv.get("/api/backtests?status=nonsense"));
    assert.equal(badQuery.status, 400);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("A backtest job whose strategy throws ends failed with the reason", async () => {
  const srv = await startTestServer();
  try {
    const start = await json(
      await srv.post("/api/backtest/start", {
        strategy: {
          code:
            "export default class S { OnData(d) { if (d.length > 50) throw new Error('bad bar'); return 0; } }",
        },
        data: { bars: await googRows(100) },
      }),
    );
    const end = await waitForJob(srv, start.body.job_id);
    assert.equal(end.status, "failed");
    assert.match(end.error, /bad bar/);
    assert.doesNotMatch(end.error, /at .*\.ts:\d+/); // no stack trace
  } finally {
    await srv.shutdown();
  }
});
