/**
 * Compile-time guarantees of the typed client, checked by `deno test`'s type check: a route,
 * body or message the server does not have is a type error (each `@ts-expect-error` below
 * fails the check if the line ever becomes valid), so the page and the tests that call through
 * the client break at `deno check` when the server changes.
 */
import assert from "node:assert/strict";
import type { WagyuClient, WatchMessage } from "../../client/mod.ts";
import type { JobContext } from "../../jobs/job_queue.ts";
import type { WsMessage } from "../../jobs/ws_messages.ts";

/** Never called: only type-checked. */
function typeErrors(api: WagyuClient, m: WatchMessage): void {
  // @ts-expect-error: no such route
  void api.rpc.api.backtest.launch.$post({ json: {} });
  // @ts-expect-error: the strategy spec is { template } or { code }
  void api.startBacktest({ strategy: { tmpl: "sma_cross" }, data: { dataset: "x.csv" } });
  void api.startOptimization({
    strategy: { template: "sma_cross" },
    data: { dataset: "x.csv" },
    grid: { params: { fast: { values: [5, 10] } } },
    // @ts-expect-error: not an objective of the request schema
    objective: "luck",
  });
  // @ts-expect-error: GET /api/backtests has no `sort` query
  void api.listBacktests({ sort: "asc" });
  // @ts-expect-error: the WebSocket route takes a job id
  void api.rpc.ws.backtest.$url();
  if (m.type === "error") {
    // @ts-expect-error: an error message carries no progress
    void m.data.progress;
    // @ts-expect-error: the reason is `error`, not `message`
    void m.data.message;
  }
}

/**
 * Never called: a wrong field read on any watched message is a type error, because the
 * payloads are the server's own types (jobs/ws_messages.ts), with no index signature.
 */
function payloadTypeErrors(m: WatchMessage): void {
  switch (m.type) {
    case "snapshot":
      // @ts-expect-error: the count of closed trades is `trades_total`
      void m.data.tradesTotal;
      if (m.data.jobs) {
        // @ts-expect-error: an all-jobs snapshot lists jobs, it has no trades of its own
        void m.data.trades;
        // @ts-expect-error: a listed job's equity is null before its first report
        void m.data.jobs[0].equity.toFixed();
      } else {
        // @ts-expect-error: a one-job snapshot's status may be "unknown", not only a JobStatus
        const s: "queued" | "running" | "completed" | "failed" | "cancelled" = m.data.status;
        void s;
      }
      break;
    case "progress":
      // @ts-expect-error: backtest progress carries no scatter points
      void m.data.points;
      // @ts-expect-error: the bar index is `index`
      void m.data.bar;
      // @ts-expect-error: equity is absent before the first report
      void m.data.equity.toFixed();
      break;
    case "optimization_progress":
      // @ts-expect-error: optimizations report no equity
      void m.data.equity;
      // @ts-expect-error: combinations finished are `done`
      void m.data.completed;
      // @ts-expect-error: no best combination before the first one finishes
      void m.data.best.params;
      break;
    case "trade":
      // @ts-expect-error: trades come batched in `trades`, never one `trade`
      void m.data.trade;
      // @ts-expect-error: `total` counts the trades closed so far
      void m.data.count;
      break;
    case "complete":
      // @ts-expect-error: the result is `result` (or `result_url`)
      void m.data.results;
      // @ts-expect-error: a complete message's status is always "completed"
      m.data.status = "failed";
      break;
    case "error":
      // @ts-expect-error: an error message has no result
      void m.data.result;
      break;
  }
}

/** Never called: what the server publishes is checked against the same contract. */
function publisherTypeErrors(ctx: JobContext): WsMessage[] {
  // @ts-expect-error: a runner cannot report a progress field the message contract lacks
  ctx.progress({ progress: 0.5, barIndex: 3 });
  return [
    // @ts-expect-error: a trade message needs the running `total`
    { type: "trade", job_id: "j", data: { trades: [] } },
    // @ts-expect-error: `error` is the reason's field
    { type: "error", job_id: "j", data: { status: "failed", reason: "x" } },
    // @ts-expect-error: a one-job snapshot always lists its last trades
    { type: "snapshot", job_id: "j", data: { kind: "backtest", status: "queued", progress: 0 } },
  ];
}

/** The fields that do exist read with their types (at run time below). */
function describe(m: WatchMessage): string {
  switch (m.type) {
    case "snapshot":
      return m.data.jobs
        ? `jobs ${m.data.jobs.map((j) => `${j.job_id}:${j.status}`).join(",")}`
        : `${m.data.kind} ${m.data.status} ${m.data.trades.length}/${m.data.trades_total ?? 0}`;
    case "progress":
      return `bar ${m.data.index ?? "-"} of ${m.data.total ?? "-"} equity ${m.data.equity ?? "-"}`;
    case "optimization_progress":
      return `${m.data.done ?? 0}/${m.data.total ?? 0} points ${m.data.points?.length ?? 0}`;
    case "trade":
      return `${m.data.trades.length} of ${m.data.total}${m.data.replayed ? " replayed" : ""}`;
    case "complete":
      return m.data.result_url ?? (m.data.result ? "embedded" : "none");
    case "error":
      return m.data.error;
  }
}

/** Message types narrow on `type`. */
function progressOf(m: WatchMessage): number | null {
  if (m.type === "progress") return m.data.progress;
  if (m.type === "complete") return m.data.progress;
  return null;
}

Deno.test("The typed client's route, body and message types reject what the server does not have", () => {
  // The checks above are compile-time; at run time the helpers are plain functions.
  assert.equal(typeof typeErrors, "function");
  assert.equal(typeof payloadTypeErrors, "function");
  assert.equal(typeof publisherTypeErrors, "function");
  assert.equal(
    progressOf({ type: "progress", job_id: "j", data: { status: "running", progress: 0.5 } }),
    0.5,
  );
  assert.equal(
    progressOf({ type: "error", job_id: "j", data: { status: "failed", error: "x" } }),
    null,
  );
});

Deno.test("Watched messages read through the shared payload types", () => {
  assert.equal(
    describe({
      type: "snapshot",
      job_id: "*",
      data: { jobs: [{ job_id: "a", kind: "backtest", status: "running", progress: 0.5 }] },
    }),
    "jobs a:running",
  );
  assert.equal(
    describe({
      type: "snapshot",
      job_id: "a",
      data: { kind: "backtest", status: "unknown", progress: 0, trades: [] },
    }),
    "backtest unknown 0/0",
  );
  assert.equal(
    describe({
      type: "progress",
      job_id: "a",
      data: { status: "running", progress: 0.1, index: 9, total: 100, equity: 10_100 },
    }),
    "bar 9 of 100 equity 10100",
  );
  assert.equal(
    describe({
      type: "optimization_progress",
      job_id: "o",
      data: { status: "running", progress: 0.25, done: 1, total: 4 },
    }),
    "1/4 points 0",
  );
  assert.equal(
    describe({ type: "trade", job_id: "a", data: { trades: [], total: 7, replayed: true } }),
    "0 of 7 replayed",
  );
  assert.equal(
    describe({
      type: "complete",
      job_id: "a",
      data: { status: "completed", progress: 1, summary: null, result_url: "/r" },
    }),
    "/r",
  );
  assert.equal(
    describe({ type: "error", job_id: "a", data: { status: "cancelled", error: "stop" } }),
    "stop",
  );
});
