import assert from "node:assert/strict";
import { TEMPLATES } from "../../examples/index.ts";
import type { BacktestRequest } from "../../client/mod.ts";
import { ERROR_LOG_CHARS } from "../../routes/backtest_input.ts";
import {
  collectWs,
  failure,
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
    const a = await srv.api.execute({ strategy: { template: "sma_cross" }, ...body });
    assert.equal(a.bars.count, 400);
    assert.equal(a.bars.start, rows[0][0]);
    assert.equal(a.bars.end, rows[399][0]);
    assert.deepEqual(a.params, { fast: 5, slow: 20 });
    assert.equal(a.config.cash, 5000);
    assert.equal(a.equity.length > 0, true);
    const b = await srv.api.execute({ strategy: { code: SMA_CODE }, ...body });
    assert.deepEqual(b, a);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/execute answers 400/404/413/422 with the error envelope", async () => {
  const srv = await startTestServer({ limits: { maxBars: 300, maxBodyBytes: 200_000 } });
  try {
    const rows = await googRows(100);
    // Bodies the typed client cannot send (they do not type-check): raw POSTs on purpose.
    const malformed: [string, unknown, number, string][] = [
      ["missing strategy", { data: { bars: rows } }, 400, "invalid_request"],
      ["malformed JSON", "{not json", 400, "http_error"],
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
    ];
    for (const [name, body, status, code] of malformed) {
      const r = await json(await srv.post("/api/strategy/execute", body));
      assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, name);
      assert.equal(typeof r.body.error.message, "string", name);
      assert.ok("details" in r.body.error, name);
    }
    // Well-formed requests the server refuses: through the typed client.
    const refused: [string, BacktestRequest, number, string][] = [
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
    for (const [name, req, status, code] of refused) {
      const err = await failure(srv.api.execute(req));
      assert.equal(err.status, status, `${name}: ${JSON.stringify(err.body)}`);
      assert.equal(err.code, code, name);
      assert.equal(typeof err.message, "string", name);
      assert.ok("details" in (err.body as { error: object }).error, name);
    }
    // A bad row is named with its index.
    const bad = rows.map((r) => [...r]);
    bad[7][2] = bad[7][3] / 2; // high below low
    const r = await failure(
      srv.api.execute({ strategy: { template: "sma_cross" }, data: { bars: bad } }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.code, "invalid_bars");
    assert.match(r.message, /Row 7/);
    assert.equal((r.details as { row: number }).row, 7);
    // Limits are named.
    const big = await failure(
      srv.api.execute({ strategy: { template: "sma_cross" }, data: { bars: await googRows(301) } }),
    );
    assert.equal(big.status, 413);
    assert.equal((big.details as { limit: string }).limit, "maxBars");
    assert.match(big.message, /maxBars=300/);
    const huge = await failure(
      srv.api.execute({ strategy: { code: "x".repeat(250_000) }, data: { bars: rows } }),
    );
    assert.equal(huge.status, 413);
    assert.equal((huge.details as { limit: string }).limit, "maxBodyBytes");
    // Compile errors carry line and column.
    const syn = await failure(
      srv.api.execute({
        strategy: { code: "export default class S {\n  OnData( { return 1 }\n}" },
        data: { bars: rows },
      }),
    );
    assert.equal((syn.details as { diagnostics: { line: number }[] }).diagnostics[0].line, 2);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/execute answers 429 naming maxConcurrentExecutes when at the limit", async () => {
  const srv = await startTestServer({ limits: { maxConcurrentExecutes: 1 } });
  try {
    const rows = await googRows(200);
    const first = srv.api.execute({ strategy: { code: slowStrategy(5) }, data: { bars: rows } });
    // Wait until the first one is running.
    for (let i = 0; i < 200; i++) {
      if ((await srv.api.stats()).executes.in_flight === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = await failure(
      srv.api.execute({ strategy: { template: "sma_cross" }, data: { bars: rows } }),
    );
    assert.equal(second.status, 429);
    assert.equal((second.details as { limit: string }).limit, "maxConcurrentExecutes");
    assert.equal((await first).bars.count, 200); // the first one answered 200
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/strategy/compile returns params, or diagnostics with line and column", async () => {
  const srv = await startTestServer();
  try {
    const ok = await srv.api.compile(SMA_CODE);
    assert.equal(ok.ok, true);
    assert.ok(ok.ok);
    assert.deepEqual(ok.params, { fast: 10, slow: 30 });
    // A program that does not compile is a 200 answer with diagnostics, not an error.
    const bad = await srv.api.compile(
      "export default class S {\n  OnData() {\n    return undefinedThing + ;\n  }\n}",
    );
    assert.equal(bad.ok, false);
    assert.equal(bad.diagnostics[0].line, 3);
    assert.equal(typeof bad.diagnostics[0].column, "number");
    const empty = await failure(srv.api.compile(""));
    assert.equal(empty.status, 400);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("GET /api/strategies lists every template with its source and params", async () => {
  const srv = await startTestServer();
  try {
    const { templates } = await srv.api.strategies();
    assert.deepEqual(templates.map((t) => t.id), TEMPLATES.map((t) => t.id));
    for (const t of templates) {
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
    const req: BacktestRequest = { strategy: { template: "sma_cross" }, data: { bars: rows } };
    // The raw typed RPC call, to see the status code as well as the typed body.
    const start = await srv.api.rpc.api.backtest.start.$post({ json: req });
    assert.equal(start.status, 202);
    const { job_id: id } = await start.json();
    // Raw socket: the close code is part of what this test checks.
    const ws = await collectWs(srv.jobSocketUrl(id));
    assert.equal(ws.code, 1000);
    assert.equal(ws.messages[0].type, "snapshot");
    const last = ws.messages.at(-1)!;
    assert.equal(last.type, "complete");
    const status = await srv.api.backtestStatus(id);
    assert.equal(status.status, "completed");
    assert.equal(status.progress, 1);
    const result = await srv.api.backtestResult(id);
    assert.deepEqual(status.result, result);
    assert.deepEqual(last.data.result, result);
    const direct = await srv.api.execute(req);
    assert.deepEqual(result, direct);
    assert.equal(status.summary!.trades, result.trades.length);
    const list = await srv.api.listBacktests({ status: "completed" });
    assert.deepEqual(list.jobs.map((j) => j.job_id), [id]);
    const none = await srv.api.listBacktests({ status: "failed" });
    assert.deepEqual(none.jobs, []);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("Backtest job endpoints answer 404, 409, 422 and 429 on their error paths", async () => {
  const srv = await startTestServer({ workers: 1, limits: { maxQueuedJobs: 1 } });
  try {
    const api = srv.api;
    const rows = await googRows(300);
    assert.equal((await failure(api.backtestStatus("0000000000000000a"))).status, 404);
    assert.equal((await failure(api.backtestResult("nope"))).status, 404);
    assert.equal((await failure(api.cancelBacktest("nope"))).status, 404);
    const syn = await failure(
      api.startBacktest({ strategy: { code: "export default class {" }, data: { bars: rows } }),
    );
    assert.equal(syn.status, 422);
    const slow = await api.startBacktest({
      strategy: { code: slowStrategy(20) },
      data: { bars: rows },
    });
    // Wait until it runs, so the next one waits in the queue.
    for (let i = 0; i < 200; i++) {
      const st = await api.backtestStatus(slow.job_id);
      if (st.status === "running") break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const queuedRes = await api.rpc.api.backtest.start.$post({
      json: { strategy: { template: "rsi" }, data: { bars: rows } },
    });
    assert.equal(queuedRes.status, 202);
    const queued = await queuedRes.json();
    const full = await failure(
      api.startBacktest({ strategy: { template: "rsi" }, data: { bars: rows } }),
    );
    assert.equal(full.status, 429);
    assert.equal((full.details as { limit: string }).limit, "maxQueuedJobs");
    // Result of a job that is not completed: 409.
    const early = await failure(api.backtestResult(queued.job_id));
    assert.equal(early.status, 409);
    // Cancel while queued, then while running.
    // Through the raw RPC call, so the HTTP status is checked exactly (200), not any 2xx.
    const c1Res = await api.rpc.api.backtest[":id"].cancel.$post({ param: { id: queued.job_id } });
    assert.equal(c1Res.status, 200);
    const c1 = await c1Res.json();
    assert.ok("status" in c1);
    assert.equal(c1.status, "cancelled");
    const c2 = await api.cancelBacktest(slow.job_id);
    assert.equal(c2.status, "cancelled");
    assert.match(c2.error!, /running/);
    // Cancelling again: 409.
    const again = await failure(api.cancelBacktest(slow.job_id));
    assert.equal(again.status, 409);
    assert.equal(again.code, "job_not_cancellable");
    const list = await api.listBacktests({ status: "cancelled", limit: 1 });
    assert.equal(list.jobs.length, 1);
    assert.equal(list.jobs[0].job_id, queued.job_id);
    const page2 = await api.listBacktests({
      status: "cancelled",
      limit: 1,
      cursor: list.next_cursor!,
    });
    assert.equal(page2.jobs[0].job_id, slow.job_id);
    // A status the query schema does not allow: raw GET on purpose.
    const badQuery = await json(await srv.get("/api/backtests?status=nonsense"));
    assert.equal(badQuery.status, 400);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("A backtest job whose strategy throws ends failed with the reason", async () => {
  const srv = await startTestServer();
  try {
    const start = await srv.api.startBacktest({
      strategy: {
        code:
          "export default class S { OnData(d) { if (d.length > 50) throw new Error('bad bar'); return 0; } }",
      },
      data: { bars: await googRows(100) },
    });
    const end = await waitForJob(srv, start.job_id);
    assert.equal(end.status, "failed");
    assert.match(end.error!, /bad bar/);
    assert.doesNotMatch(end.error!, /at .*\.ts:\d+/); // no stack trace
    assert.equal(end.error_details?.code, "strategy_runtime_error");
    assert.equal(end.error_details?.kind, "runtime");
    assert.deepEqual(end.error_details?.logs, []); // it printed nothing
  } finally {
    await srv.shutdown();
  }
});

Deno.test("A failed backtest job keeps the strategy's last console lines, bounded, over the API and the WebSocket", async () => {
  const srv = await startTestServer();
  try {
    // 400 lines of 100 characters: more than a failed job keeps (ERROR_LOG_CHARS).
    const start = await srv.api.startBacktest({
      strategy: {
        code: `export default class S {
          OnData(d) {
            if (d.length === 20) {
              for (let i = 0; i < 400; i++) console.log("line " + i + " " + "x".repeat(90));
              console.log("last words");
              throw new Error("gave up");
            }
            return 0;
          }
        }`,
      },
      data: { bars: await googRows(100) },
    });
    const end = await waitForJob(srv, start.job_id);
    assert.equal(end.status, "failed");
    const details = end.error_details!;
    assert.equal(details.code, "strategy_runtime_error");
    assert.equal(details.bar, 19);
    const logs = details.logs as string[];
    assert.match(logs.at(-1)!, /last words$/);
    assert.match(logs.at(-2)!, /line 399 x+$/);
    assert.match(logs[0], /^\[\d+ earlier lines not kept\]$/);
    const chars = logs.slice(1).reduce((a, l) => a + l.length, 0);
    assert.ok(chars <= ERROR_LOG_CHARS + 1, `${chars} characters kept`);
    assert.ok(chars > ERROR_LOG_CHARS / 2, `${chars} characters kept`);
    // A late WebSocket watcher gets the same details in the closing error message.
    const late = await collectWs(srv.jobSocketUrl(start.job_id));
    const last = late.messages.at(-1)!;
    assert.equal(last.type, "error");
    assert.deepEqual(last.data.details, details);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("Start routes refuse an exchange spec they can check offline (4xx), as execute does", async () => {
  const srv = await startTestServer();
  try {
    const data = { exchange: "binance", symbol: "BTC/USDT", timeframe: "1d" };
    const cases: [Record<string, unknown>, number, string, RegExp][] = [
      [{ ...data, exchange: "nosuchex" }, 400, "unknown_exchange", /Unknown exchange "nosuchex"/],
      [{ ...data, timeframe: "0m" }, 400, "unknown_timeframe", /Unknown timeframe "0m"/],
      [{ ...data, since: "garbage" }, 400, "invalid_request", /data\.since/],
      [
        { ...data, since: "2024-02-01", until: "2024-01-01" },
        400,
        "invalid_request",
        /must be before data\.until/,
      ],
    ];
    for (const [spec, status, code, message] of cases) {
      for (const path of ["/api/backtest/start", "/api/optimization/start"]) {
        const body = path.includes("optimization")
          ? { grid: { params: { fast: { values: [5, 10] } } } }
          : {};
        const r = await json(
          await srv.post(path, { strategy: { template: "sma_cross" }, data: spec, ...body }),
        );
        assert.equal(r.status, status, `${path} ${JSON.stringify(spec)}`);
        assert.equal(r.body.error.code, code);
        assert.match(r.body.error.message, message);
      }
    }
    // a dataset name of no data file is unknown, at start as at execute
    for (const path of ["/api/backtest/start", "/api/strategy/execute"]) {
      const r = await json(
        await srv.post(path, {
          strategy: { template: "sma_cross" },
          data: { dataset: "README.md" },
        }),
      );
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, "dataset_not_found");
    }
  } finally {
    await srv.shutdown();
  }
});

Deno.test("A JSON endpoint answers 415 naming the Content-Type for a body of another type", async () => {
  const srv = await startTestServer();
  try {
    const body = JSON.stringify({ code: "export default class S { OnData() { return 0; } }" });
    for (const type of ["text/plain", null]) {
      const res = await fetch(`${srv.url}/api/strategy/compile`, {
        method: "POST",
        body: type === null ? new Blob([body]) : body,
        headers: type === null ? {} : { "content-type": type },
      });
      const r = await json(res);
      assert.equal(r.status, 415, String(type));
      assert.equal(r.body.error.code, "unsupported_media_type");
      assert.match(r.body.error.message, /Content-Type: application\/json/);
    }
    // with a charset parameter it is JSON
    const ok = await fetch(`${srv.url}/api/strategy/compile`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await srv.shutdown();
  }
});
