import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { loadGoog } from "../gpu/_fixtures.ts";

const CLI = new URL("../../cli/optimize.ts", import.meta.url).pathname;
const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;

async function optimize(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("deno task optimize writes combos and best as JSON, matching the engine", async () => {
  const r = await optimize(
    GOOG,
    "ema_cross",
    "--grid",
    "fast=5:15:5",
    "--grid",
    "slow=20:40:10",
    "--constraint",
    "fast < slow",
    "--filter",
    "trades>=5",
    "--backend",
    "cpu",
    "--fee-taker",
    "0.001",
    "--json",
    "-",
  );
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.combos.length, 9);
  const S = (await import("../../examples/ema_cross.ts")).default;
  const bars = loadGoog();
  let best = -Infinity;
  for (const c of json.combos) {
    const m = runBacktest(bars, S, { params: c.params, config: { feeTaker: 0.001 } }).metrics;
    assert.equal(c.metrics.trades, m.numTrades);
    if ((m.numTrades as number) >= 5) best = Math.max(best, m.sharpeRatio as number);
  }
  assert.ok(Math.abs(json.best.metrics.sharpe - best) < 1e-9);
  assert.match(r.stderr, /Top \d+ by sharpe/);
});

Deno.test("deno task optimize runs a strategy file on the worker pool", async () => {
  const r = await optimize(
    GOOG,
    new URL("../../examples/rsi.ts", import.meta.url).pathname,
    "--grid",
    "period=10,14",
    "--backend",
    "auto",
    "--workers",
    "1",
    "--top",
    "2",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 combinations × 2148 bars on engine × 1 workers/);
});

Deno.test("deno task optimize names what is wrong on bad input", async () => {
  let r = await optimize(GOOG, "sma_cross");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Give at least one --grid/);
  r = await optimize(GOOG, "sma_cross", "--grid", "fast=1:5");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /three numbers/);
  r = await optimize(GOOG, "no_such_family", "--grid", "fast=1:5:1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /neither a family/);
  r = await optimize(
    GOOG,
    "sma_cross",
    "--grid",
    "fast=2:5:1",
    "--grid",
    "bogus=1:2:1",
    "--backend",
    "cpu",
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /SMA cross has no parameter "bogus"/);
  r = await optimize(GOOG, "sma_cross", "--grid", "fast=2:5:1", "--filter", "trades>>3");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Cannot parse filter "trades>>3"/);
  r = await optimize(GOOG, "sma_cross", "--grid", "fast=2:5:1", "--objective", "luck");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown objective "luck"/);
  r = await optimize("/nonexistent/x.csv", "sma_cross", "--grid", "fast=2:5:1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /x\.csv/);
});

Deno.test("deno task optimize --walk-forward writes windows and the stitched curve", async () => {
  const r = await optimize(
    GOOG,
    "sma_cross",
    "--grid",
    "fast=5:15:5",
    "--grid",
    "slow=30:50:20",
    "--walk-forward",
    "1000:500",
    "--backend",
    "cpu",
    "--json",
    "-",
  );
  assert.equal(r.code, 0, r.stderr);
  const wf = JSON.parse(r.stdout);
  // in-sample ends at 1000, 1500, 2000; the last window is cut at 2148 bars
  assert.deepEqual(wf.windows.map((w: { outOfSample: { end: number } }) => w.outOfSample.end), [
    1500,
    2000,
    2148,
  ]);
  assert.equal(wf.equity.length, 1 + 2148 - 1000);
  assert.match(r.stderr, /Stitched out-of-sample/);
  const bad = await optimize(GOOG, "sma_cross", "--grid", "fast=5:15:5", "--walk-forward", "10");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--walk-forward expects IN:OUT/);
});

async function optimizeEnv(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-webgpu", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const GRID = ["sma_cross", "--grid", "fast=5:15:5", "--grid", "slow=30:50:20", "--backend", "cpu"];

Deno.test("deno task optimize --quiet prints only the requested output", async () => {
  let r = await optimize(GOOG, ...GRID, "--quiet", "--json", "-");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(JSON.parse(r.stdout).combos.length, 6);
  // No other output asked for: the table alone, on stdout.
  r = await optimize(GOOG, ...GRID, "-q");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.doesNotMatch(r.stdout, /combinations ×|Top \d+/);
  assert.match(r.stdout, /^ *fast +slow +sharpe/);
  assert.equal(r.stdout.trim().split("\n").length, 1 + 6);
});

Deno.test("deno task optimize colours the table under FORCE_COLOR or --color=always only", async () => {
  let r = await optimizeEnv({ NO_COLOR: "", FORCE_COLOR: "" }, GOOG, ...GRID);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes("\x1b["), "piped output is plain");
  r = await optimizeEnv({ NO_COLOR: "1", FORCE_COLOR: "1" }, GOOG, ...GRID);
  assert.ok(!(r.stdout + r.stderr).includes("\x1b["), "NO_COLOR wins over FORCE_COLOR");
  r = await optimizeEnv({ NO_COLOR: "", FORCE_COLOR: "1" }, GOOG, ...GRID, "--json", "-");
  assert.equal(r.code, 0, r.stderr);
  // The table went to stderr (stdout is the JSON, which stays plain).
  assert.ok(!r.stdout.includes("\x1b["));
  const best = JSON.parse(r.stdout).best;
  assert.ok(r.stderr.includes(best.metrics.sharpe > 0 ? "\x1b[32m" : "\x1b[31m"), r.stderr);
  r = await optimizeEnv({ NO_COLOR: "1" }, GOOG, ...GRID, "--color=always");
  assert.ok(r.stdout.includes("\x1b[1m"), r.stdout);
});
