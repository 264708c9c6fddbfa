import assert from "node:assert/strict";
import {
  code,
  compileState,
  compileStatus,
  jobs,
  selectedTemplate,
  templates,
} from "../../ui/app_state.ts";
import { applyMessage, strategyLabel, strategySpec } from "../../ui/job_tracker.ts";
import type { BacktestResult, OptimizationResult, TradeRecord } from "../../client/mod.ts";

function job(id: string) {
  return jobs.value.find((j) => j.id === id);
}

Deno.test("applyMessage() grows a live equity curve from progress messages, in time order", () => {
  jobs.value = [];
  applyMessage({
    type: "snapshot",
    job_id: "b1",
    data: {
      kind: "backtest",
      status: "running",
      progress: 0,
      trades: [],
    },
  });
  applyMessage({
    type: "progress",
    job_id: "b1",
    data: { status: "running", progress: 0.25, time: 1000, equity: 10_100 },
  });
  applyMessage({
    type: "progress",
    job_id: "b1",
    data: { status: "running", progress: 0.5, time: 2000, equity: 10_250 },
  });
  // a repeated (liveness) message at the same bar adds no point
  applyMessage({
    type: "progress",
    job_id: "b1",
    data: { status: "running", progress: 0.5, time: 2000, equity: 10_250 },
  });
  const j = job("b1")!;
  assert.equal(j.status, "running");
  assert.equal(j.progress, 0.5);
  assert.deepEqual(j.liveEquity, [{ time: 1000, equity: 10_100 }, { time: 2000, equity: 10_250 }]);
});

Deno.test("applyMessage() takes the result embedded in `complete`", () => {
  jobs.value = [];
  // only the fields the page reads; the real shape is checked by the e2e and client tests
  const result = {
    config: {},
    params: {},
    bars: { count: 2, start: 0, end: 1 },
    metrics: { sharpeRatio: 1 },
    trades: [],
    equity: [{ time: 0, equity: 1 }, { time: 1, equity: 2 }],
    orders: [],
    logs: [],
  } as unknown as BacktestResult;
  applyMessage({
    type: "complete",
    job_id: "b2",
    data: { status: "completed", progress: 1, summary: null, result },
  });
  assert.equal(job("b2")?.status, "completed");
  assert.equal(job("b2")?.progress, 1);
  assert.deepEqual(job("b2")?.result?.equity, result.equity);
  assert.deepEqual(job("b2")?.result?.metrics, { sharpeRatio: 1 });
});

Deno.test("applyMessage() appends the trades of `trade` messages, replayed ones included", () => {
  jobs.value = [];
  const trade = (n: number) =>
    ({ entryTime: n, exitTime: n + 1, pnl: n }) as unknown as TradeRecord;
  applyMessage({
    type: "snapshot",
    job_id: "b6",
    data: {
      kind: "backtest",
      status: "running",
      progress: 0,
      trades: [],
    },
  });
  applyMessage({ type: "trade", job_id: "b6", data: { trades: [trade(1), trade(2)], total: 2 } });
  applyMessage({
    type: "trade",
    job_id: "b6",
    data: { trades: [trade(3)], total: 3, replayed: true },
  });
  assert.deepEqual(job("b6")?.liveTrades.map((t) => t.entryTime), [1, 2, 3]);
});

Deno.test("applyMessage() marks failures and cancellations and strips terminal colour codes", () => {
  jobs.value = [];
  applyMessage({
    type: "error",
    job_id: "b4",
    data: { status: "failed", error: "\x1b[31mStrategyError\x1b[0m at bar 12" },
  });
  assert.equal(job("b4")?.status, "failed");
  assert.equal(job("b4")?.error, "StrategyError at bar 12");
  applyMessage({ type: "error", job_id: "b5", data: { status: "cancelled", error: "cancelled" } });
  assert.equal(job("b5")?.status, "cancelled");
  assert.deepEqual(job("b5")?.errorLogs, []);
  // A strategy failure brings the strategy's last console lines in its details.
  applyMessage({
    type: "error",
    job_id: "b7",
    data: {
      status: "failed",
      error: "OnData threw on bar 3",
      details: { code: "strategy_runtime_error", logs: ["init hello", "\x1b[32mgreen\x1b[0m"] },
    },
  });
  assert.deepEqual(job("b7")?.errorLogs, ["init hello", "green"]);
});

Deno.test("applyMessage() merges optimization points by combination (no duplicates)", () => {
  jobs.value = [];
  const pt = (fast: number, sharpe: number) => ({
    params: { fast, slow: 30 },
    metrics: {
      sharpe,
      maxDrawdown: -0.1,
      cagr: 0.05,
      totalReturn: 0.1,
      sortino: 1,
      calmar: 0.5,
      trades: 3,
      winRate: 0.5,
      profitFactor: 1.2,
      finalEquity: 11_000,
    },
  });
  applyMessage({
    type: "optimization_progress",
    job_id: "o1",
    data: { status: "running", progress: 0.5, done: 2, total: 4, points: [pt(5, 1), pt(10, 2)] },
  });
  applyMessage({
    type: "complete",
    job_id: "o1",
    data: {
      status: "completed",
      progress: 1,
      summary: null,
      result: {
        combos: [pt(5, 1), pt(10, 2), pt(15, 3), pt(20, 4)],
      } as unknown as OptimizationResult,
    },
  });
  const j = job("o1")!;
  assert.equal(j.kind, "optimization");
  assert.equal(j.status, "completed");
  assert.deepEqual(j.points.map((p) => [p.params.fast, p.sharpe]), [[5, 1], [10, 2], [15, 3], [
    20,
    4,
  ]]);
  assert.equal(j.result, null);
});

Deno.test("applyMessage() upserts every job of a /ws/backtests snapshot", () => {
  jobs.value = [];
  applyMessage({
    type: "snapshot",
    job_id: "*",
    data: {
      jobs: [
        { job_id: "q1", kind: "backtest", status: "queued", progress: 0 },
        { job_id: "r1", kind: "optimization", status: "running", progress: 0.4 },
      ],
    },
  });
  assert.equal(job("q1")?.status, "queued");
  assert.equal(job("r1")?.kind, "optimization");
  assert.equal(job("r1")?.progress, 0.4);
});

Deno.test("strategyLabel() names the template, marks edited code, and says custom otherwise", () => {
  const sma = "export default class SmaCross { OnData() { return 0; } }";
  templates.value = [{
    id: "sma_cross",
    name: "SMA cross",
    description: "",
    code: sma,
    params: {},
  }];
  selectedTemplate.value = "sma_cross";
  code.value = sma;
  assert.equal(strategyLabel(), "sma_cross");
  assert.deepEqual(strategySpec(), { template: "sma_cross" });
  code.value = sma.replace("return 0", "return 1");
  assert.equal(strategyLabel(), "sma_cross (edited)");
  assert.deepEqual(strategySpec(), { code: code.value });
  selectedTemplate.value = "";
  assert.equal(strategyLabel(), "custom");
});

Deno.test("compileStatus turns stale once the compiled code is edited, and back when restored", () => {
  code.value = "export default class A { OnData() { return 0; } }";
  compileState.value = { kind: "ok", message: "Compiled", source: code.value };
  assert.equal(compileStatus.value.message, "Compiled");
  code.value += "\n// edited";
  assert.deepEqual(compileStatus.value, { kind: "idle", message: "Edited since the last compile" });
  code.value = "export default class A { OnData() { return 0; } }";
  assert.equal(compileStatus.value.kind, "ok");
  // an error verdict goes stale the same way; a pending compile is shown as it is
  compileState.value = { kind: "error", message: "1 problem(s)", source: "broken" };
  assert.equal(compileStatus.value.kind, "idle");
  compileState.value = { kind: "pending", message: "Compiling…", source: "other" };
  assert.equal(compileStatus.value.kind, "pending");
});
