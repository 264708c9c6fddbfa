/**
 * Metrics speed on a 1,000,000-bar equity curve: `computeMetrics` (every result metric, alpha
 * and beta included) against a hand-written single-pass loop computing only Sharpe and max
 * drawdown, and the VaR / CVaR / tail-ratio selection against a full sort, all in this run.
 * Times are CPU milliseconds (best of several runs).
 *
 * Run: `deno run -A bench/metrics_bench.ts` (or `deno task bench metrics`).
 *
 * @module
 */
import process from "node:process";
import { computeMetrics } from "../engine/trade_stats.ts";
import { inferAnnualization } from "../engine/annualization.ts";
import {
  conditionalValueAtRisk,
  rollSharpeRatio,
  simpleReturns,
  tailRatio,
  tailRiskStats,
  valueAtRisk,
} from "../engine/metrics.ts";

const N = 1_000_000;
let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const equity = new Float64Array(N);
const bench = new Float64Array(N - 1);
let e = 10_000;
for (let i = 0; i < N; i++) {
  e *= 1 + (rnd() - 0.499) * 0.02;
  equity[i] = e;
  if (i > 0) bench[i - 1] = (rnd() - 0.5) * 0.02;
}
const timestamps = Float64Array.from({ length: N }, (_, i) => 1.7e12 + i * 60_000);

/**
 * Best of `runs` CPU times (user + system of this process, in ms): on a shared machine the
 * wall clock mostly measures the other processes.
 */
function best(runs: number, fn: () => unknown): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t0);
    min = Math.min(min, (d.user + d.system) / 1000);
  }
  return min;
}

function plainLoop(eq: Float64Array): number {
  let s = 0;
  let ss = 0;
  let peak = eq[0];
  let mdd = 0;
  for (let i = 1; i < eq.length; i++) {
    const r = eq[i] / eq[i - 1] - 1;
    s += r;
    ss += r * r;
    if (eq[i] > peak) peak = eq[i];
    const dd = eq[i] / peak - 1;
    if (dd < mdd) mdd = dd;
  }
  const n = eq.length - 1;
  const mean = s / n;
  return mean / Math.sqrt((ss - n * mean * mean) / (n - 1)) * Math.sqrt(252) + mdd;
}

const tMetrics = best(
  5,
  () => computeMetrics(equity, [], { annualization: 252, benchmark: bench }),
);
// A strategy's curve: flat (return exactly 0) on half the bars, in runs of 20, like the SMA
// cross of bench/engine_bench.ts; many equal values are the hard case for selection.
const flatEquity = new Float64Array(N);
flatEquity[0] = 10_000;
for (let i = 1; i < N; i++) {
  flatEquity[i] = flatEquity[i - 1] * (Math.floor(i / 20) % 2 === 0 ? 1 : 1 + (rnd() - 0.5) * 0.02);
}
const tMetricsFlat = best(
  5,
  () => computeMetrics(flatEquity, [], { annualization: 252, benchmark: bench }),
);
const tPlain = best(5, () => plainLoop(equity));
const r = simpleReturns(equity);
const tSelect = best(5, () => {
  valueAtRisk(r);
  conditionalValueAtRisk(r);
  tailRatio(r);
});
const tTail = best(5, () => tailRiskStats(r));
const rFlat = simpleReturns(flatEquity);
const tTailFlat = best(5, () => tailRiskStats(rFlat));
const tSort = best(5, () => r.slice().sort());
const tInfer = best(5, () => inferAnnualization(timestamps));
const r100k = r.subarray(0, 100_000);
const tRoll = best(3, () => rollSharpeRatio(r100k, { window: 252 }));

console.log(
  `load average ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")} (CPU ms, best of 5)`,
);
console.log(`computeMetrics, 1M bars (all 28 keys, alpha/beta): ${tMetrics.toFixed(1)} ms`);
console.log(`computeMetrics, 1M bars, flat half the time:       ${tMetricsFlat.toFixed(1)} ms`);
console.log(`plain loop, 1M bars (Sharpe + max drawdown only):  ${tPlain.toFixed(1)} ms`);
console.log(`  ratio computeMetrics / plain loop: ${(tMetrics / tPlain).toFixed(1)}×`);
console.log(`VaR + CVaR + tail ratio by selection, 1M: ${tSelect.toFixed(1)} ms`);
console.log(`tailRiskStats (the three at once), 1M:     ${tTail.toFixed(1)} ms`);
console.log(`tailRiskStats, 1M, flat half the time:    ${tTailFlat.toFixed(1)} ms`);
console.log(`one full sort of 1M returns:              ${tSort.toFixed(1)} ms`);
console.log(`inferAnnualization, 1M timestamps: ${tInfer.toFixed(1)} ms`);
console.log(`rollSharpeRatio, 100k returns, window 252: ${tRoll.toFixed(1)} ms`);
