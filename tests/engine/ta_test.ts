import assert from "node:assert/strict";
import { allocateBars } from "../../engine/bars.ts";
import {
  atr,
  bollinger,
  ema,
  highest,
  lowest,
  macd,
  rsi,
  sma,
  stdev,
} from "../../engine/indicators.ts";
import { AHEAD, Ta } from "../../engine/ta.ts";
import type { Bars } from "../../engine/types.ts";

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

function randomBars(n: number, seed: number): Bars {
  const r = rng(seed);
  const b = allocateBars(n);
  let c = 100;
  for (let i = 0; i < n; i++) {
    const o = c;
    c = c * (1 + (r() - 0.5) * 0.04);
    b.timestamp[i] = i * 60_000;
    b.open[i] = o;
    b.close[i] = c;
    b.high[i] = Math.max(o, c) * (1 + r() * 0.01);
    b.low[i] = Math.min(o, c) * (1 - r() * 0.01);
    b.volume[i] = Math.floor(r() * 1000);
  }
  return b;
}

/** Visible arrays as the engine keeps them: filled up to t, NaN beyond (a read past t shows). */
function nanBars(n: number): Bars {
  const v = allocateBars(n);
  for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) v[k].fill(NaN);
  return v;
}

function reveal(v: Bars, b: Bars, t: number): void {
  v.timestamp[t] = b.timestamp[t];
  v.open[t] = b.open[t];
  v.high[t] = b.high[t];
  v.low[t] = b.low[t];
  v.close[t] = b.close[t];
  v.volume[t] = b.volume[t];
}

function same(a: number, b: number, what: string): void {
  if (!Object.is(a, b)) assert.fail(`${what}: ${a} !== ${b}`);
}

/**
 * Asks every indicator on random bars of a 3,000-bar series (so catch-up over gaps and, in
 * `ahead` mode, block boundaries are crossed) and checks each value against the series.
 * Default mode reads arrays revealed bar by bar (NaN beyond t: a read past t would show);
 * `ahead` mode gets the complete series.
 */
function checkAgainstSeries(ahead: boolean): void {
  const n = 3000;
  const b = randomBars(n, 3);
  const hl2 = b.high.map((h, i) => (h + b.low[i]) / 2);
  const hlc3 = b.high.map((h, i) => (h + b.low[i] + b.close[i]) / 3);
  const ohlc4 = b.open.map((o, i) => (o + b.high[i] + b.low[i] + b.close[i]) / 4);
  const ref = {
    sma10: sma(b.close, 10),
    smaHigh5: sma(b.high, 5),
    emaHl2: ema(hl2, 12),
    rsi: rsi(b.close, 14),
    rsiHlc3: rsi(hlc3, 7),
    stdev: stdev(ohlc4, 20),
    hi: highest(b.high, 20),
    lo: lowest(b.low, 10),
    atr: atr(b.high, b.low, b.close, 14),
    bb: bollinger(b.close, 20, 2),
    macd: macd(b.close, 12, 26, 9),
    vol: sma(b.volume, 3),
  };
  const v = ahead ? b : nanBars(n);
  const ta = new Ta(v, { ahead });
  const r = rng(99);
  for (let t = 0; t < n; t++) {
    if (!ahead) reveal(v, b, t);
    ta.setIndex(t);
    // Every indicator is asked on only some bars, so catch-up over gaps is exercised too.
    if (r() < 0.7) same(ta.sma(10), ref.sma10[t], `sma(10) at ${t}`);
    if (r() < 0.3) same(ta.sma(5, "high"), ref.smaHigh5[t], `sma(5, high) at ${t}`);
    if (r() < 0.5) same(ta.ema(12, "hl2"), ref.emaHl2[t], `ema(12, hl2) at ${t}`);
    if (r() < 0.5) same(ta.rsi(), ref.rsi[t], `rsi() at ${t}`);
    if (r() < 0.1) same(ta.rsi(7, "hlc3"), ref.rsiHlc3[t], `rsi(7, hlc3) at ${t}`);
    if (r() < 0.5) same(ta.stdev(20, "ohlc4"), ref.stdev[t], `stdev at ${t}`);
    if (r() < 0.5) same(ta.highest(20, "high"), ref.hi[t], `highest at ${t}`);
    if (r() < 0.5) same(ta.lowest(10, "low"), ref.lo[t], `lowest at ${t}`);
    if (r() < 0.5) same(ta.atr(), ref.atr[t], `atr at ${t}`);
    if (r() < 0.2) same(ta.sma(3, "volume"), ref.vol[t], `sma(3, volume) at ${t}`);
    if (r() < 0.5) {
      const bb = ta.bollinger();
      same(bb.upper, ref.bb.upper[t], `bollinger upper at ${t}`);
      same(bb.middle, ref.bb.middle[t], `bollinger middle at ${t}`);
      same(bb.lower, ref.bb.lower[t], `bollinger lower at ${t}`);
    }
    if (r() < 0.5) {
      const m = ta.macd();
      same(m.macd, ref.macd.macd[t], `macd at ${t}`);
      same(m.signal, ref.macd.signal[t], `macd signal at ${t}`);
      same(m.histogram, ref.macd.histogram[t], `macd histogram at ${t}`);
    }
  }
  // After the warm-up every value is finite: a NaN read past t would have poisoned it.
  assert.ok(Number.isFinite(ta.sma(10)) && Number.isFinite(ta.macd().signal));
}

Deno.test("Ta equals the indicator series bit for bit and never reads past the current bar", () => {
  checkAgainstSeries(false);
});

Deno.test("Ta in ahead mode equals the indicator series bit for bit", () => {
  checkAgainstSeries(true);
});

Deno.test("Ta in ahead mode serves values across skipped blocks, restarts and Initialize", () => {
  const n = 5000;
  const b = randomBars(n, 17);
  const s10 = sma(b.close, 10), e7 = ema(hlc3Of(b), 7), r14 = rsi(b.close, 14);
  const ta = new Ta(b, { ahead: true });
  // Before the first bar (the engine's Initialize): no value, no state consumed.
  assert.ok(Number.isNaN(ta.sma(10)));
  assert.equal(ta.crossover({ sma: 10 }, 0), false);
  // Far gaps: several blocks (AHEAD bars each) are skipped between two asks.
  for (const t of [0, 9, 10, 1023, 1024, 1025, 3 * AHEAD, 3500, 3501, 4999]) {
    ta.setIndex(t);
    if (t > 10) assertPrevious(ta, s10, t);
    same(ta.sma(10), s10[t], `sma(10) at ${t}`);
    same(ta.ema(7, "hlc3"), e7[t], `ema(7, hlc3) at ${t}`);
    const over = t > 0 && r14[t - 1] <= 50 && r14[t] > 50;
    assert.equal(ta.crossover({ rsi: 14 }, 50), over, `rsi crossover at ${t}`);
  }
  // At each block's first bar the previous value comes from the block before: a threshold
  // equal to it is crossed exactly when the value moved past it.
  for (let t = AHEAD; t < n; t += AHEAD) {
    ta.setIndex(t);
    assertPrevious(ta, s10, t);
  }
  ta.setIndex(2000); // backwards: a new run over the same arrays
  same(ta.sma(10), s10[2000], "sma(10) after a restart");
});

/**
 * Pins the previous value Ta's crossover sees for `sma(10)` at `t` to `s10[t - 1]`: with the
 * threshold at that value a cross in the direction of the move happens, and with it moved by
 * a hair against the move it does not — both hold only if the previous value is exact.
 */
function assertPrevious(ta: Ta, s10: Float64Array, t: number): void {
  const prev = s10[t - 1], cur = s10[t], hair = Math.abs(prev) * 1e-12;
  ta.setIndex(t);
  if (cur > prev) {
    assert.equal(ta.crossover({ sma: 10 }, prev), true, `crossover at ${t}`);
    assert.equal(ta.crossover({ sma: 10 }, prev - hair), false, `previous value at ${t}`);
  } else {
    assert.equal(ta.crossunder({ sma: 10 }, prev), cur < prev, `crossunder at ${t}`);
    assert.equal(ta.crossunder({ sma: 10 }, prev + hair), false, `previous value at ${t}`);
  }
}

function hlc3Of(b: Bars): Float64Array {
  return b.high.map((h, i) => (h + b.low[i] + b.close[i]) / 3);
}

Deno.test("Ta returns NaN during warm-up and before the first setIndex", () => {
  const b = randomBars(30, 5);
  const ta = new Ta(b);
  assert.ok(Number.isNaN(ta.sma(3)));
  ta.setIndex(1);
  assert.ok(Number.isNaN(ta.sma(3)));
  ta.setIndex(2);
  assert.equal(ta.sma(3), (b.close[0] + b.close[1] + b.close[2]) / 3);
  assert.equal(ta.crossover({ sma: 3 }, 0), false, "no previous value yet");
});

Deno.test("Ta.setIndex() going backwards restarts every indicator", () => {
  const b = randomBars(100, 8);
  const ta = new Ta(b);
  ta.setIndex(50);
  const first = ta.ema(10);
  ta.setIndex(5);
  assert.ok(Number.isNaN(ta.ema(10)));
  ta.setIndex(50);
  same(ta.ema(10), first, "ema after restart");
  same(first, ema(b.close, 10)[50], "ema vs series");
});

Deno.test("Ta.crossover()/crossunder() compare the previous and current values", () => {
  const close = [1, 2, 3, 2, 1, 2, 3];
  const b = allocateBars(close.length);
  close.forEach((c, i) => {
    b.timestamp[i] = i;
    b.open[i] = c;
    b.high[i] = c;
    b.low[i] = c;
    b.close[i] = c;
  });
  const ta = new Ta(b);
  const over: boolean[] = [], under: boolean[] = [];
  for (let t = 0; t < close.length; t++) {
    ta.setIndex(t);
    over.push(ta.crossover({ source: "close" }, 2));
    under.push(ta.crossunder({ source: "close" }, 2));
  }
  // Crossing above 2 needs close[t-1] <= 2 and close[t] > 2: bars 2 and 6; touching 2 is not.
  assert.deepEqual(over, [false, false, true, false, false, false, true]);
  // Crossing below 2 needs close[t-1] >= 2 and close[t] < 2: bar 4 only.
  assert.deepEqual(under, [false, false, false, false, true, false, false]);
  // A constant on the left, a series on the right is the mirror image.
  ta.setIndex(4);
  assert.equal(ta.crossover(2, { source: "close" }), true);
});

Deno.test("Ta.crossover() of two moving averages agrees with a check on the series", () => {
  const n = 2000;
  const b = randomBars(n, 21);
  const f = sma(b.close, 5), s = ema(b.close, 20), r14 = rsi(b.close, 14);
  const ta = new Ta(b);
  let crosses = 0;
  for (let t = 0; t < n; t++) {
    ta.setIndex(t);
    const expectOver = t > 0 && f[t - 1] <= s[t - 1] && f[t] > s[t];
    const expectUnder = t > 0 && f[t - 1] >= s[t - 1] && f[t] < s[t];
    // Ask only on odd bars: the state machines must still know the previous bar's values.
    if (t % 2 === 1) {
      assert.equal(ta.crossover({ sma: 5 }, { ema: 20 }), expectOver, `crossover at ${t}`);
      assert.equal(ta.crossunder({ sma: 5 }, { ema: 20 }), expectUnder, `crossunder at ${t}`);
      const rsiUnder = t > 0 && r14[t - 1] >= 30 && r14[t] < 30;
      assert.equal(ta.crossunder({ rsi: 14 }, 30), rsiUnder, `rsi crossunder at ${t}`);
    }
    if (expectOver) crosses++;
  }
  assert.ok(crosses > 10, `expected some crossovers, got ${crosses}`);
});

Deno.test("Ta rejects bad periods, sources and references with a clear error", () => {
  const ta = new Ta(randomBars(10, 1));
  ta.setIndex(5);
  assert.throws(() => ta.sma(0), /ta\.sma: period must be an integer >= 1, got 0/);
  assert.throws(() => ta.sma(10.5), RangeError);
  assert.throws(() => ta.ema(-3), RangeError);
  assert.throws(() => ta.rsi(1.5), RangeError);
  assert.throws(() => ta.highest(NaN), RangeError);
  assert.throws(() => ta.atr(0), RangeError);
  assert.throws(() => ta.bollinger(0), RangeError);
  assert.throws(() => ta.bollinger(20, NaN), RangeError);
  assert.throws(() => ta.macd(12, 0), RangeError);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ta.sma(10, "closing" as any), /Unknown source "closing"/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ta.crossover({ wma: 3 } as any, 1), /Invalid indicator reference/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ta.crossover("close" as any, 1), /Invalid indicator reference/);
  // sma(10.5) must not be served from the slot of another (period, source) key.
  ta.sma(10, "ohlc4");
  assert.throws(() => ta.sma(10.5, "close"), RangeError);
});

Deno.test("Ta keeps its bar arrays private", () => {
  const ta = new Ta(randomBars(10, 1));
  const reachable = Object.getOwnPropertyNames(ta).concat(Object.keys(ta));
  assert.deepEqual(reachable, []);
  for (const v of Object.values(ta)) assert.ok(!(v instanceof Float64Array));
});
