import assert from "node:assert/strict";
import { Hono } from "hono";
import { errorResponse } from "../../routes/api_error.ts";
import { googRows, json, startTestServer, waitForJob } from "./_test_server.ts";

Deno.test("GET /api/stats counts jobs by status, queue, workers, memory and throughput", async () => {
  const srv = await startTestServer({ workers: 2 });
  try {
    const rows = await googRows(500);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await srv.api.startBacktest({
        strategy: { template: "sma_cross" },
        data: { bars: rows },
      });
      ids.push(r.job_id);
    }
    for (const id of ids) await waitForJob(srv, id);
    const res = await srv.api.rpc.api.stats.$get();
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.deepEqual(body.jobs, { queued: 0, running: 0, completed: 3, failed: 0, cancelled: 0 });
    assert.equal(body.queue.length, 0);
    assert.deepEqual(body.workers, { busy: 0, total: 2 });
    assert.equal(body.backtests_completed, 3);
    assert.equal(body.bars_processed, 1500);
    assert.ok(body.bars_per_second !== null && body.bars_per_second > 0);
    assert.ok(body.memory.rss > 0 && body.memory.heap_used > 0);
    assert.ok(body.uptime_s > 0);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("GET /api/health answers ok after a KV round trip", async () => {
  const srv = await startTestServer();
  try {
    const res = await srv.api.rpc.api.health.$get();
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, "ok");
    assert.equal(typeof body.kv.latency_ms, "number");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("GET /api/openapi.json is generated from the request schemas", async () => {
  const srv = await startTestServer({ limits: { maxBars: 1234 } });
  try {
    const res = await srv.api.rpc.api["openapi.json"].$get();
    assert.equal(res.status, 200);
    // deno-lint-ignore no-explicit-any
    const body: any = await res.json();
    assert.equal(body.openapi, "3.1.0");
    for (
      const p of [
        "/api/strategy/compile",
        "/api/strategy/execute",
        "/api/backtest/start",
        "/api/backtest/{id}/status",
        "/api/optimization/start",
        "/api/backtests",
        "/api/datasets",
      ]
    ) assert.ok(body.paths[p], p);
    const exec = body.paths["/api/strategy/execute"].post;
    const req = exec.requestBody.content["application/json"].schema;
    assert.deepEqual(req.required.sort(), ["data", "strategy"]);
    assert.deepEqual(Object.keys(req.properties.config.properties).sort(), [
      "annualization",
      "cash",
      "closeAtEnd",
      "feeFixed",
      "feeMaker",
      "feeTaker",
      "fillOn",
      "leverage",
      "maintenanceMargin",
      "mode",
      "sizing",
      "slippageBps",
      "wholeUnits",
    ]);
    assert.deepEqual(req.properties.config.properties.mode.enum, ["long_only", "long_short"]);
    assert.ok(exec.responses["422"] && exec.responses["429"]);
    assert.match(body.info.description, /maxBars=1234/);
    assert.deepEqual(
      body.components.schemas.WsMessage.properties.type.enum,
      ["progress", "complete", "error", "optimization_progress", "trade", "snapshot"],
    );
  } finally {
    await srv.shutdown();
  }
});

Deno.test("Unknown API routes answer 404 with the error envelope", async () => {
  const srv = await startTestServer();
  try {
    // A route that does not exist cannot be called through the typed client: raw GET.
    const r = await json(await srv.get("/api/nothing/here"));
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, "not_found");
  } finally {
    await srv.shutdown();
  }
});

Deno.test("errorResponse() turns an unexpected error into a 500 with an id and no stack", async () => {
  const app = new Hono();
  app.onError(errorResponse);
  app.get("/boom", () => {
    throw new Error("secret detail at /work/main/x.ts:12");
  });
  const logged: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => logged.push(a.join(" "));
  try {
    const res = await app.request("/boom");
    const body = await res.json();
    assert.equal(res.status, 500);
    assert.equal(body.error.code, "internal_error");
    assert.match(body.error.details.id, /^[0-9a-f-]{36}$/);
    assert.doesNotMatch(JSON.stringify(body), /secret|x\.ts/);
    // The log has the id and the stack.
    assert.equal(logged.length, 1);
    assert.ok(logged[0].includes(body.error.details.id));
    assert.match(logged[0], /secret detail/);
  } finally {
    console.error = orig;
  }
});
