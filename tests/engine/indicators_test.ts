import assert from "node:assert/strict";
import {
  Atr,
  atr,
  Bollinger,
  bollinger,
  Ema,
  ema,
  Highest,
  highest,
  Lowest,
  lowest,
  Macd,
  macd,
  Rsi,
  rsi,
  Sma,
  sma,
  Stdev,
  stdev,
} from "../../engine/indicators.ts";

// ---- helpers: a seeded generator and naive reference implementations ------------------------

/** mulberry32: small seeded PRNG so every run sees the same "random" bars. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Ohlc {
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
}

function randomBars(n: number, seed: number, start = 100): Ohlc {
  const r = rng(seed);
  const high = new Float64Array(n), low = new Float64Array(n), close = new Float64Array(n);
  let c = start;
  for (let i = 0; i < n; i++) {
    const o = c;
    c = Math.max(0.01, c * (1 + (r() - 0.5) * 0.04));
    high[i] = Math.max(o, c) * (1 + r() * 0.01);
    low[i] = Math.min(o, c) * (1 - r() * 0.01);
    close[i] = c;
  }
  return { high, low, close };
}

function naiveSma(x: ArrayLike<number>, p: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < x.length; t++) {
    if (t < p - 1) {
      out.push(NaN);
      continue;
    }
    let s = 0;
    for (let i = t - p + 1; i <= t; i++) s += x[i];
    out.push(s / p);
  }
  return out;
}

function naiveStdev(x: ArrayLike<number>, p: number): number[] {
  const m = naiveSma(x, p);
  return m.map((mean, t) => {
    if (Number.isNaN(mean)) return NaN;
    let v = 0;
    for (let i = t - p + 1; i <= t; i++) v += (x[i] - mean) ** 2;
    return Math.sqrt(v / p);
  });
}

/** EMA written as the textbook weighting alpha·x + (1 − alpha)·prev, seeded with a mean. */
function naiveEma(x: ArrayLike<number>, p: number): number[] {
  const out: number[] = [];
  const alpha = 2 / (p + 1);
  let start = 0;
  while (start < x.length && Number.isNaN(x[start])) {
    out.push(NaN);
    start++;
  }
  let prev = NaN;
  for (let t = start; t < x.length; t++) {
    const j = t - start;
    if (j < p - 1) out.push(NaN);
    else if (j === p - 1) {
      let s = 0;
      for (let i = start; i <= t; i++) s += x[i];
      prev = s / p;
      out.push(prev);
    } else {
      prev = alpha * x[t] + (1 - alpha) * prev;
      out.push(prev);
    }
  }
  return out;
}

/** Wilder RSI from the arrays of gains and losses. */
function naiveRsi(x: ArrayLike<number>, p: number): number[] {
  const gains: number[] = [0];
  const losses: number[] = [0];
  for (let t = 1; t < x.length; t++) {
    const d = x[t] - x[t - 1];
    gains.push(Math.max(d, 0));
    losses.push(Math.max(-d, 0));
  }
  const out: number[] = [];
  let g = NaN, l = NaN;
  for (let t = 0; t < x.length; t++) {
    if (t < p) {
      out.push(NaN);
      continue;
    }
    if (t === p) {
      g = gains.slice(1, p + 1).reduce((a, b) => a + b, 0) / p;
      l = losses.slice(1, p + 1).reduce((a, b) => a + b, 0) / p;
    } else {
      g = (g * (p - 1) + gains[t]) / p;
      l = (l * (p - 1) + losses[t]) / p;
    }
    out.push(l === 0 ? (g === 0 ? 50 : 100) : (100 * g) / (g + l));
  }
  return out;
}

function naiveAtr(b: Ohlc, p: number): number[] {
  const tr: number[] = [];
  for (let t = 0; t < b.close.length; t++) {
    if (t === 0) tr.push(b.high[0] - b.low[0]);
    else {
      const pc = b.close[t - 1];
      tr.push(Math.max(b.high[t] - b.low[t], Math.abs(b.high[t] - pc), Math.abs(b.low[t] - pc)));
    }
  }
  const out: number[] = [];
  let a = NaN;
  for (let t = 0; t < tr.length; t++) {
    if (t < p - 1) out.push(NaN);
    else if (t === p - 1) {
      a = tr.slice(0, p).reduce((x, y) => x + y, 0) / p;
      out.push(a);
    } else {
      a = (a * (p - 1) + tr[t]) / p;
      out.push(a);
    }
  }
  return out;
}

function naiveExtreme(x: ArrayLike<number>, p: number, max: boolean): number[] {
  const out: number[] = [];
  const all = Array.from(x);
  for (let t = 0; t < x.length; t++) {
    if (t < p - 1) out.push(NaN);
    else {
      const w = all.slice(t - p + 1, t + 1);
      out.push(max ? Math.max(...w) : Math.min(...w));
    }
  }
  return out;
}

/** Same NaN positions, and finite values within a relative tolerance. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel = 1e-10) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `index ${i}: expected NaN, got ${a}`);
      continue;
    }
    const tol = rel * Math.max(1, Math.abs(e));
    assert.ok(Math.abs(a - e) <= tol, `index ${i}: expected ${e}, got ${a}`);
  }
}

function assertBitEqual(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what} index ${i}: ${actual[i]} !== ${expected[i]}`);
    }
  }
}

const N = NaN;

// ---- hand-computed cases --------------------------------------------------------------------

Deno.test("sma() of a short series matches hand-computed window means", () => {
  assertClose(sma([1, 2, 3, 4, 5], 3), [N, N, 2, 3, 4], 0);
  assertClose(sma([7, 8], 1), [7, 8], 0);
  assertClose(sma([1, 2], 3), [N, N], 0);
});

Deno.test("ema() is seeded with the SMA of the first period values", () => {
  // alpha = 2/(3+1) = 0.5; seed (2+4+6)/3 = 4; then 4 + 0.5(8-4) = 6; 6 + 0.5(12-6) = 9.
  assertClose(ema([2, 4, 6, 8, 12], 3), [N, N, 4, 6, 9], 1e-15);
});

Deno.test("rsi() follows Wilder's smoothing on a hand-computed series", () => {
  // Changes +1, -1, +2, 0. Period 2: seed G = 0.5, L = 0.5 → 50.
  // Then G = (0.5 + 2)/2 = 1.25, L = 0.25 → RS 5 → 100 - 100/6; then G = 0.625, L = 0.125.
  assertClose(rsi([1, 2, 1, 3, 3], 2), [N, N, 50, 100 - 100 / 6, 100 - 100 / 6], 1e-12);
  // Only gains → 100; no change at all → 50.
  assertClose(rsi([1, 2, 3, 4], 2), [N, N, 100, 100], 0);
  assertClose(rsi([5, 5, 5, 5], 3), [N, N, N, 50], 0);
});

Deno.test("rsi(14) reproduces the StockCharts textbook RSI table", () => {
  // The series and RSI values published in StockCharts' ChartSchool RSI article, rounded to
  // two decimals there; its spreadsheet rounds intermediate averages, so its values sit up to
  // ~0.07 from exact arithmetic. The first value is also checked exactly by hand below.
  const closes = [
    44.34,
    44.09,
    44.15,
    43.61,
    44.33,
    44.83,
    45.10,
    45.42,
    45.84,
    46.08,
    45.89,
    46.03,
    45.61,
    46.28,
    46.28,
    46.00,
    46.03,
    46.41,
    46.22,
    45.64,
    46.21,
    46.25,
    45.71,
    46.45,
    45.78,
    45.35,
    44.03,
    44.18,
    44.22,
    44.57,
    43.42,
    42.66,
    43.13,
  ];
  const published = [
    70.53,
    66.32,
    66.55,
    69.41,
    66.36,
    57.97,
    62.93,
    63.26,
    56.06,
    62.38,
    54.71,
    50.42,
    39.99,
    41.46,
    41.87,
    45.46,
    37.30,
    33.08,
    37.77,
  ];
  const r = rsi(closes, 14);
  for (let i = 0; i < 14; i++) assert.ok(Number.isNaN(r[i]));
  for (let i = 0; i < published.length; i++) {
    assert.ok(
      Math.abs(r[14 + i] - published[i]) < 0.1,
      `RSI at ${14 + i}: ${r[14 + i]} vs ${published[i]}`,
    );
  }
  // By hand: the 14 changes hold gains 0.06+0.72+0.50+0.27+0.32+0.42+0.24+0.14+0.67 = 3.34
  // and losses 0.25+0.54+0.19+0.42 = 1.40; RS = 3.34/1.40; RSI = 100 - 100/(1 + RS) = 70.4641.
  assert.ok(Math.abs(r[14] - (100 - 100 / (1 + 3.34 / 1.40))) < 1e-9);
  assert.ok(Math.abs(r[14] - 70.4641) < 1e-4);
});

Deno.test("stdev() is the population stdev and bollinger() bands sit k stdevs away", () => {
  // Classic example: mean 5, population variance 4.
  const x = [2, 4, 4, 4, 5, 5, 7, 9];
  const sd = stdev(x, 8);
  assert.ok(Number.isNaN(sd[6]));
  assert.equal(sd[7], 2);
  const b = bollinger(x, 8, 2);
  assert.equal(b.middle[7], 5);
  assert.equal(b.upper[7], 9);
  assert.equal(b.lower[7], 1);
  assert.ok(Number.isNaN(b.upper[6]) && Number.isNaN(b.middle[6]) && Number.isNaN(b.lower[6]));
});

Deno.test("atr() uses high-low on the first bar and Wilder smoothing after", () => {
  const b = {
    high: new Float64Array([10, 12, 11]),
    low: new Float64Array([8, 9, 10]),
    close: new Float64Array([9, 11, 10.5]),
  };
  // TR: 2; max(3, |12-9|, |9-9|) = 3; max(1, |11-11|, |10-11|) = 1.
  // ATR(2): (2+3)/2 = 2.5; (2.5·1 + 1)/2 = 1.75.
  assertClose(atr(b.high, b.low, b.close, 2), [N, 2.5, 1.75], 0);
  // A gap: the previous close is outside this bar's range.
  const g = atr(
    new Float64Array([10, 20]),
    new Float64Array([9, 19]),
    new Float64Array([9.5, 19.5]),
    1,
  );
  assertClose(g, [1, 20 - 9.5], 0);
});

Deno.test("highest() and lowest() include the current bar", () => {
  const x = [3, 1, 4, 1, 5, 9, 2, 6];
  assertClose(highest(x, 3), [N, N, 4, 4, 5, 9, 9, 9], 0);
  assertClose(lowest(x, 3), [N, N, 1, 1, 1, 1, 2, 2], 0);
  assertClose(highest(x, 1), x, 0);
});

Deno.test("macd() signal line starts at the first valid MACD value", () => {
  // On a ramp 1..7: EMA(2) lags by 0.5 and EMA(3) by 1, so MACD(2,3) = 0.5 from index 2;
  // signal EMA(2) over it is seeded at index 3 with 0.5; histogram 0.
  const m = macd([1, 2, 3, 4, 5, 6, 7], 2, 3, 2);
  assertClose(m.macd, [N, N, 0.5, 0.5, 0.5, 0.5, 0.5], 1e-12);
  assertClose(m.signal, [N, N, N, 0.5, 0.5, 0.5, 0.5], 1e-12);
  assertClose(m.histogram, [N, N, N, 0, 0, 0, 0], 1e-12);
});

// ---- against naive implementations on random data ---------------------------------------------

Deno.test("every indicator matches a naive from-scratch implementation on random bars", () => {
  const b = randomBars(3000, 7);
  for (const p of [1, 2, 5, 14, 20, 50]) {
    assertClose(sma(b.close, p), naiveSma(b.close, p));
    assertClose(ema(b.close, p), naiveEma(b.close, p));
    assertClose(rsi(b.close, p), naiveRsi(b.close, p), 1e-9);
    assertClose(stdev(b.close, p), naiveStdev(b.close, p), 1e-8);
    assertClose(atr(b.high, b.low, b.close, p), naiveAtr(b, p));
    assertBitEqual(highest(b.high, p), naiveExtreme(b.high, p, true), `highest(${p})`);
    assertBitEqual(lowest(b.low, p), naiveExtreme(b.low, p, false), `lowest(${p})`);
    const bb = bollinger(b.close, p, 2.5);
    const m = naiveSma(b.close, p), sd = naiveStdev(b.close, p);
    assertClose(bb.middle, m);
    assertClose(bb.upper, m.map((v, i) => v + 2.5 * sd[i]), 1e-9);
    assertClose(bb.lower, m.map((v, i) => v - 2.5 * sd[i]), 1e-9);
  }
  const mc = macd(b.close, 12, 26, 9);
  const line = naiveEma(b.close, 12).map((v, i) => v - naiveEma(b.close, 26)[i]);
  const sig = naiveEma(line, 9);
  assertClose(mc.macd, line, 1e-9);
  assertClose(mc.signal, sig, 1e-9);
  assertClose(mc.histogram, line.map((v, i) => v - sig[i]), 1e-8);
  // Warm-up lengths: MACD from slow-1 = 25, signal from 25 + 8 = 33.
  assert.ok(Number.isNaN(mc.macd[24]) && !Number.isNaN(mc.macd[25]));
  assert.ok(Number.isNaN(mc.signal[32]) && !Number.isNaN(mc.signal[33]));
});

Deno.test("highest()/lowest() handle monotonic and constant runs (deque edge cases)", () => {
  const up = Array.from({ length: 50 }, (_, i) => i);
  const down = up.map((v) => 100 - v);
  const flat = up.map(() => 3);
  const saw = up.map((v) => (v % 7) * (v % 3 === 0 ? -1 : 1));
  for (const x of [up, down, flat, saw]) {
    for (const p of [1, 2, 3, 7, 50, 60]) {
      assertBitEqual(highest(x, p), naiveExtreme(x, p, true), `highest(${p})`);
      assertBitEqual(lowest(x, p), naiveExtreme(x, p, false), `lowest(${p})`);
    }
  }
});

Deno.test("sma() does not drift over a million bars (exact re-sum every period)", () => {
  // Prices near 1e6 with tiny moves: a plain rolling sum accumulates rounding error here.
  const r = rng(11);
  const n = 1_000_000;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = 1e6 + r() * 0.001 + (i % 1000) * 1e-7;
  const p = 37;
  const s = sma(x, p);
  for (const t of [p - 1, 500_000, n - 2, n - 1]) {
    let sum = 0;
    for (let i = t - p + 1; i <= t; i++) sum += x[i];
    // Both are within a few ulps of the true mean (~1e-10 absolute at 1e6).
    assert.ok(Math.abs(s[t] - sum / p) < 1e-9, `t=${t}: ${s[t]} vs ${sum / p}`);
  }
  // Right after a re-sum, the value is the exact left-to-right window sum divided by p.
  const t = p - 1 + 1000 * p;
  let sum = 0;
  for (let i = t - p + 1; i <= t; i++) sum = sum + x[i];
  assert.equal(s[t], sum / p);
});

Deno.test("incremental state machines equal the series functions bit for bit on 100k bars", () => {
  const n = 100_000;
  const b = randomBars(n, 42);
  const p = 20;
  const series = {
    sma: sma(b.close, p),
    ema: ema(b.close, p),
    rsi: rsi(b.close, 14),
    stdev: stdev(b.close, p),
    atr: atr(b.high, b.low, b.close, 14),
    highest: highest(b.high, p),
    lowest: lowest(b.low, p),
    bb: bollinger(b.close, p, 2),
    macd: macd(b.close, 12, 26, 9),
  };
  const s = {
    sma: new Sma(p),
    ema: new Ema(p),
    rsi: new Rsi(14),
    stdev: new Stdev(p),
    atr: new Atr(14),
    highest: new Highest(p),
    lowest: new Lowest(p),
    bb: new Bollinger(p, 2),
    macd: new Macd(12, 26, 9),
  };
  const got = {
    sma: new Float64Array(n),
    ema: new Float64Array(n),
    rsi: new Float64Array(n),
    stdev: new Float64Array(n),
    atr: new Float64Array(n),
    highest: new Float64Array(n),
    lowest: new Float64Array(n),
    bbU: new Float64Array(n),
    bbL: new Float64Array(n),
    macdS: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    got.sma[i] = s.sma.next(b.close[i]);
    got.ema[i] = s.ema.next(b.close[i]);
    got.rsi[i] = s.rsi.next(b.close[i]);
    got.stdev[i] = s.stdev.next(b.close[i]);
    got.atr[i] = s.atr.next(b.high[i], b.low[i], b.close[i]);
    got.highest[i] = s.highest.next(b.high[i]);
    got.lowest[i] = s.lowest.next(b.low[i]);
    s.bb.next(b.close[i]);
    got.bbU[i] = s.bb.upper;
    got.bbL[i] = s.bb.lower;
    s.macd.next(b.close[i]);
    got.macdS[i] = s.macd.signal;
  }
  assertBitEqual(got.sma, series.sma, "sma");
  assertBitEqual(got.ema, series.ema, "ema");
  assertBitEqual(got.rsi, series.rsi, "rsi");
  assertBitEqual(got.stdev, series.stdev, "stdev");
  assertBitEqual(got.atr, series.atr, "atr");
  assertBitEqual(got.highest, series.highest, "highest");
  assertBitEqual(got.lowest, series.lowest, "lowest");
  assertBitEqual(got.bbU, series.bb.upper, "bollinger upper");
  assertBitEqual(got.bbL, series.bb.lower, "bollinger lower");
  assertBitEqual(got.macdS, series.macd.signal, "macd signal");
  // The EMA seed is bit-identical to the first SMA value (same left-to-right sum).
  assert.ok(Object.is(series.ema[p - 1], series.sma[p - 1]));
});

Deno.test("nextBlock equals next bit for bit over random block splits, warm-up, re-sums and NaNs", () => {
  const r = rng(11);
  const n = 5_000;
  // Leading NaNs (skipped), a long clean stretch (with SMA re-sums), then a NaN that poisons.
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = i < 7 ? NaN : 100 + Math.sin(i / 9) * 10 + r();
  const poisoned = Float64Array.from(x);
  poisoned[3_000] = NaN;
  const makers: [
    string,
    () => {
      next(x: number): number;
      nextBlock(s: Float64Array, from: number, len: number, out: Float64Array, off: number): void;
    },
  ][] = [
    ["sma 1", () => new Sma(1)],
    ["sma 20", () => new Sma(20)],
    ["ema 1", () => new Ema(1)],
    ["ema 20", () => new Ema(20)],
    ["rsi 1", () => new Rsi(1)],
    ["rsi 14", () => new Rsi(14)],
  ];
  for (const src of [x, poisoned]) {
    for (const [name, make] of makers) {
      const ref = make();
      const want = src.map((v) => ref.next(v));
      for (let trial = 0; trial < 5; trial++) {
        // Blocks of random length written at an offset, mixed with single next() calls.
        const s = make();
        const got = new Float64Array(n + 1).fill(-1);
        let i = 0;
        while (i < n) {
          if (r() < 0.2) {
            got[i + 1] = s.next(src[i]);
            i++;
            continue;
          }
          const len = Math.min(n - i, Math.floor(r() * 300));
          s.nextBlock(src, i, len, got, i + 1);
          i += len;
        }
        assert.equal(got[0], -1, `${name}: wrote before its offset`);
        assertBitEqual(got.subarray(1), want, `${name} trial ${trial}`);
      }
    }
  }
});

Deno.test("leading NaNs are skipped and a later NaN poisons the state machine", () => {
  assertClose(sma([N, N, 1, 3, 5], 2), [N, N, N, 2, 4], 0);
  assertClose(highest([N, 2, 1], 2), [N, N, 2], 0);
  const s = new Sma(2);
  s.next(1);
  assert.equal(s.next(3), 2);
  assert.ok(Number.isNaN(s.next(NaN)));
  assert.ok(Number.isNaN(s.next(4)), "poisoned state keeps returning NaN");
  assert.ok(Number.isNaN(new Ema(3).next(NaN)));
});

Deno.test("indicators reject a period that is not an integer >= 1 with a RangeError", () => {
  const x = [1, 2, 3];
  for (const bad of [0, -1, 2.5, NaN, Infinity]) {
    assert.throws(() => sma(x, bad), RangeError);
    assert.throws(() => ema(x, bad), RangeError);
    assert.throws(() => rsi(x, bad), RangeError);
    assert.throws(() => stdev(x, bad), RangeError);
    assert.throws(() => highest(x, bad), RangeError);
    assert.throws(() => lowest(x, bad), RangeError);
    assert.throws(() => atr(x, x, x, bad), RangeError);
    assert.throws(() => bollinger(x, bad, 2), RangeError);
    assert.throws(() => macd(x, bad, 26, 9), RangeError);
    assert.throws(() => macd(x, 12, bad, 9), RangeError);
    assert.throws(() => macd(x, 12, 26, bad), RangeError);
  }
  assert.throws(() => sma(x, 2.5), /sma: period must be an integer >= 1, got 2.5/);
  assert.throws(() => bollinger(x, 2, NaN), /bollinger: k must be a finite number/);
  assert.throws(() => atr([1, 2], [1], [1, 2], 1), /same length/);
});
