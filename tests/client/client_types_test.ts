/**
 * Compile-time guarantees of the typed client, checked by `deno test`'s type check: a route,
 * body or message the server does not have is a type error (each `@ts-expect-error` below
 * fails the check if the line ever becomes valid), so the page and the tests that call through
 * the client break at `deno check` when the server changes.
 */
import assert from "node:assert/strict";
import type { WagyuClient, WatchMessage } from "../../client/mod.ts";

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
  assert.equal(
    progressOf({ type: "progress", job_id: "j", data: { status: "running", progress: 0.5 } }),
    0.5,
  );
  assert.equal(
    progressOf({ type: "error", job_id: "j", data: { status: "failed", error: "x" } }),
    null,
  );
});
