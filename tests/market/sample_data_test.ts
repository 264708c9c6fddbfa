import assert from "node:assert/strict";
import { validateBars } from "../../engine/bars.ts";
import { loadBars } from "../../market/load_bars.ts";
import { SAMPLE_SPECS, sampleCsv } from "../../market/generate_samples.ts";
import { generateBars, mulberry32, writeCsv } from "../../market/sample_data.ts";
import { readCsv } from "../../market/parse_csv.ts";

/** mulberry32 written again with BigInt arithmetic mod 2^32 (no Math.imul, no >>> tricks). */
function mulberry32BigInt(seed: number): () => number {
  const M = 1n << 32n;
  const mul = (a: bigint, b: bigint) => (a * b) % M;
  let a = BigInt(seed) % M;
  return () => {
    a = (a + 0x6d2b79f5n) % M;
    let t = a;
    t = mul(t ^ (t >> 15n), t | 1n);
    t = (t ^ ((t + mul(t ^ (t >> 7n), t | 61n)) % M)) % M;
    return Number((t ^ (t >> 14n)) % M) / 4294967296;
  };
}

Deno.test("mulberry32() matches an independent BigInt implementation", () => {
  for (const seed of [1, 42, 20230701, 4294967295]) {
    const a = mulberry32(seed), b = mulberry32BigInt(seed);
    for (let i = 0; i < 2000; i++) assert.equal(a(), b(), `seed ${seed} step ${i}`);
  }
});

Deno.test("generateBars() is deterministic per seed and valid OHLCV", () => {
  const a = generateBars(3000, { seed: 5, intervalMs: 3_600_000 });
  const b = generateBars(3000, { seed: 5, intervalMs: 3_600_000 });
  const c = generateBars(3000, { seed: 6, intervalMs: 3_600_000 });
  assert.deepEqual([...a.close], [...b.close]);
  assert.notDeepEqual([...a.close], [...c.close]);
  validateBars(a);
  assert.equal(a.timestamp[1] - a.timestamp[0], 3_600_000);
});

Deno.test("generateBars() skips weekends on a weekdays calendar", () => {
  const b = generateBars(100, { seed: 1, calendar: "weekdays", startTime: Date.UTC(2024, 0, 5) });
  for (const t of b.timestamp) {
    const dow = new Date(t).getUTCDay();
    assert.ok(dow !== 0 && dow !== 6, new Date(t).toISOString());
  }
  assert.equal(b.timestamp[1], Date.UTC(2024, 0, 8)); // Friday → Monday
});

Deno.test("generateBars() shows volatility clustering and the requested volatility", () => {
  const n = 20_000;
  const b = generateBars(n, { seed: 11, volatility: 0.3, drift: 0, decimals: null });
  const r = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) r[i - 1] = Math.log(b.close[i] / b.close[i - 1]);
  const mean = r.reduce((s, x) => s + x, 0) / r.length;
  const sq = r.map((x) => (x - mean) ** 2);
  const v = sq.reduce((s, x) => s + x, 0) / sq.length;
  const annual = Math.sqrt(v * 365.25);
  assert.ok(annual > 0.24 && annual < 0.36, `annual vol ${annual}`);
  // Lag-1 autocorrelation of squared returns: ~0 for plain GBM, clearly > 0 with GARCH.
  const m = v;
  let num = 0, den = 0;
  for (let i = 1; i < sq.length; i++) num += (sq[i] - m) * (sq[i - 1] - m);
  for (let i = 0; i < sq.length; i++) den += (sq[i] - m) ** 2;
  assert.ok(num / den > 0.05, `acf ${num / den}`);
});

Deno.test("writeCsv() output reads back to the same bars", () => {
  const bars = generateBars(500, { seed: 2, intervalMs: 900_000 });
  const back = readCsv(writeCsv(bars), "w.csv").bars;
  assert.deepEqual([...back.timestamp], [...bars.timestamp]);
  assert.deepEqual([...back.close], [...bars.close]);
  const ms = readCsv(writeCsv(bars, { time: "ms" }), "w.csv").bars;
  assert.deepEqual([...ms.high], [...bars.high]);
});

Deno.test("data/sample files are exactly what generate_samples.ts writes, and load cleanly", async () => {
  for (const spec of SAMPLE_SPECS) {
    const path = new URL(`../../data/sample/${spec.file}`, import.meta.url).pathname;
    const onDisk = await Deno.readTextFile(path);
    assert.equal(
      onDisk,
      sampleCsv(spec),
      `${spec.file} differs: run deno run -A market/generate_samples.ts`,
    );
    const { bars, quality } = await loadBars(path);
    assert.equal(bars.length, spec.n);
    assert.equal(quality.gaps.count, 0);
    assert.deepEqual(quality.warnings, []);
  }
});
