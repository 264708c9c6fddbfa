/**
 * The page's actions (ui/strategy_session.ts, ui/job_tracker.ts) against a real server through
 * the typed client they share with scripts and the server tests, run under Deno: templates,
 * datasets and compile fill the page state, a started backtest is followed over its WebSocket
 * to a result equal to the server's, and an optimization's scatter points arrive.
 */
import assert from "node:assert/strict";
import { createClient } from "../../client/mod.ts";
import { startServer } from "../../main.ts";
import {
  code,
  compileState,
  compileStatus,
  datasets,
  jobs,
  paramRows,
  settings,
  templates,
} from "../../ui/app_state.ts";
import { startBacktest, startOptimization } from "../../ui/job_tracker.ts";
import { setPageClient } from "../../ui/page_client.ts";
import { compile, loadDatasets, loadTemplates } from "../../ui/strategy_session.ts";

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("The page's actions load, compile, backtest and optimize through the typed client", async () => {
  const srv = await startServer({
    port: 0,
    hostname: "127.0.0.1",
    kvPath: ":memory:",
    workers: 1,
    datasetsDir: await Deno.makeTempDir({ prefix: "wagyu_page_ds_" }),
  });
  const api = createClient(srv.url);
  setPageClient(api);
  try {
    jobs.value = [];
    await loadTemplates();
    const server = await api.strategies();
    assert.deepEqual(templates.value.map((t) => t.id), server.templates.map((t) => t.id));
    // the editor starts on sma_cross with its params in the table
    assert.equal(code.value, server.templates.find((t) => t.id === "sma_cross")!.source);
    assert.deepEqual(paramRows.value.map((r) => r.name).sort(), ["fast", "slow"]);

    await loadDatasets();
    const names = (await api.datasets()).datasets.map((d) => d.name);
    assert.deepEqual(datasets.value.map((d) => d.name), names);
    assert.equal(settings.value.dataset, names[0]);

    assert.equal(await compile(), true);
    assert.equal(compileState.value.kind, "ok");
    const compiled = code.value;
    code.value = compiled + "\n// an edit";
    assert.equal(compileStatus.value.message, "Edited since the last compile");
    code.value = compiled;
    code.value = "export default class S {\n  OnData( {\n}";
    assert.equal(await compile(), false);
    assert.equal(compileState.value.kind, "error");
    code.value = server.templates.find((t) => t.id === "sma_cross")!.source;

    // a backtest on the first shipped dataset, followed over /ws/backtest/{id}
    const id = await startBacktest({ fast: 5, slow: 20 });
    assert.ok(id, "startBacktest() failed");
    await until(() => jobs.value.find((j) => j.id === id)?.status === "completed", "the run");
    const run = jobs.value.find((j) => j.id === id)!;
    assert.equal(run.label, "sma_cross fast=5 slow=20");
    assert.deepEqual(run.result, await api.backtestResult(id));
    assert.equal(run.progress, 1);
    const closed = run.result!.trades.filter((t) => t.exitTime !== null);
    // trades streamed live are the result's closed trades (the page keeps the last 500)
    assert.deepEqual(run.liveTrades, closed.slice(-500));

    // a 2 × 2 grid: four scatter points, the job's total from the grid
    for (const r of paramRows.value) {
      r.sweep = true;
      r.min = r.name === "fast" ? 5 : 20;
      r.max = r.name === "fast" ? 10 : 30;
      r.step = r.name === "fast" ? 5 : 10;
    }
    paramRows.value = [...paramRows.value];
    settings.value = { ...settings.value, backend: "cpu", objective: "totalReturn" };
    const optId = await startOptimization();
    assert.ok(optId, "startOptimization() failed");
    await until(
      () => jobs.value.find((j) => j.id === optId)?.status === "completed",
      "the optimization",
    );
    const opt = jobs.value.find((j) => j.id === optId)!;
    assert.equal(opt.total, 4);
    const combos = (await api.optimizationResult(optId)).combos;
    assert.equal(opt.points.length, combos.length);
    assert.equal(combos.length, 4);
  } finally {
    await srv.shutdown();
  }
});
