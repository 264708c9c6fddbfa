/**
 * Deterministic synthetic OHLCV data: geometric Brownian motion with GARCH(1,1) volatility
 * clustering, overnight gaps, intrabar highs and lows consistent with open and close, and
 * volume that rises with volatility. Used to write the shipped sample datasets (see
 * `generate_samples.ts`) and by tests and benchmarks to make N bars. Pure: no I/O, seeded.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";

/** Options of `generateBars`. */
export interface GenerateBarsOptions {
  /** PRNG seed; the same seed gives the same bars. @default 42 */
  seed?: number;
  /** Timestamp (ms UTC) of the first bar. @default 1546300800000 (2019-01-01) */
  startTime?: number;
  /** Bar interval in ms. @default 86400000 (1 day) */
  intervalMs?: number;
  /** "weekdays" skips Saturdays and Sundays (exchange-traded assets). @default "24/7" */
  calendar?: "24/7" | "weekdays";
  /** First open. @default 100 */
  startPrice?: number;
  /** Annual drift of log prices. @default 0.08 */
  drift?: number;
  /** Long-run annual volatility. @default 0.3 */
  volatility?: number;
  /** GARCH reaction to the last shock (α). @default 0.08 */
  garchAlpha?: number;
  /** GARCH persistence (β); α + β < 1. @default 0.9 */
  garchBeta?: number;
  /** Mean volume per bar. @default 1_000_000 */
  volume?: number;
  /** Price decimals to round to (null = no rounding). @default 2 */
  decimals?: number | null;
}

/** mulberry32: a tiny, fast 32-bit PRNG whose sequence is identical on every JS engine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const YEAR_MS = 365.25 * DAY;

/**
 * Generates `n` bars.
 *
 * @example
 * ```ts
 * const bars = generateBars(1000, { seed: 7, intervalMs: 3_600_000 });
 * bars.close.length; // 1000
 * ```
 */
export function generateBars(n: number, opts: GenerateBarsOptions = {}): Bars {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`n must be a non-negative integer, got ${n}`);
  }
  const interval = opts.intervalMs ?? DAY;
  if (!(interval > 0)) throw new RangeError(`intervalMs must be > 0, got ${interval}`);
  const weekdays = (opts.calendar ?? "24/7") === "weekdays";
  const rand = mulberry32(opts.seed ?? 42);
  let spare = NaN;
  const normal = () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = rand();
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  // Bars per year on the chosen calendar, for per-bar drift and variance.
  const perYear = (weekdays ? YEAR_MS * 5 / 7 : YEAR_MS) / interval;
  const annVol = opts.volatility ?? 0.3;
  const longVar = (annVol * annVol) / perYear;
  const alpha = opts.garchAlpha ?? 0.08, beta = opts.garchBeta ?? 0.9;
  if (!(alpha >= 0 && beta >= 0 && alpha + beta < 1)) {
    throw new RangeError(`garchAlpha + garchBeta must be < 1, got ${alpha} + ${beta}`);
  }
  const omega = longVar * (1 - alpha - beta);
  const mu = (opts.drift ?? 0.08) / perYear;
  const dec = opts.decimals === undefined ? 2 : opts.decimals;
  const scale = dec === null ? 0 : 10 ** dec;
  const tick = dec === null ? 0 : 1 / scale;
  const round = (x: number) => (dec === null ? x : Math.round(x * scale) / scale);
  const meanVol = opts.volume ?? 1_000_000;

  const out = {
    length: n,
    timestamp: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  let t = opts.startTime ?? Date.UTC(2019, 0, 1);
  let prevClose = opts.startPrice ?? 100;
  let variance = longVar;
  let lastShock = 0;
  for (let i = 0; i < n; i++) {
    if (weekdays) {
      for (;;) {
        const dow = (Math.floor(t / DAY) % 7 + 11) % 7;
        if (dow !== 0 && dow !== 6) break;
        t += interval;
      }
    }
    variance = omega + alpha * lastShock * lastShock + beta * variance;
    const sigma = Math.sqrt(variance);
    // The open gaps a little from the last close; the body carries the rest of the move.
    const gap = 0.2 * sigma * normal();
    const body = 0.98 * sigma * normal();
    const logRet = mu - variance / 2 + gap + body;
    lastShock = gap + body;
    const floor = Math.max(tick, 1e-8);
    const open = Math.max(floor, round(prevClose * Math.exp(gap)));
    const close = Math.max(floor, round(prevClose * Math.exp(logRet)));
    const wickUp = Math.abs(normal()) * sigma * 0.6;
    const wickDown = Math.abs(normal()) * sigma * 0.6;
    let high = round(Math.max(open, close) * Math.exp(wickUp));
    let low = round(Math.min(open, close) * Math.exp(-wickDown));
    if (high < Math.max(open, close)) high = Math.max(open, close);
    if (low > Math.min(open, close)) low = Math.min(open, close);
    if (low < floor) low = Math.min(floor, open, close);
    const surprise = Math.abs(lastShock) / Math.sqrt(longVar);
    const vol = Math.round(meanVol * (0.5 + 0.5 * surprise) * Math.exp(0.35 * normal() - 0.06));
    out.timestamp[i] = t;
    out.open[i] = open;
    out.high[i] = high;
    out.low[i] = low;
    out.close[i] = close;
    out.volume[i] = vol;
    prevClose = close;
    t += interval;
  }
  return out;
}

/** Options of `writeCsv`. */
export interface WriteCsvOptions {
  /** "iso" writes dates (YYYY-MM-DD when every bar is at midnight UTC, else full ISO with ms); "ms" epoch ms.
   * @default "iso" */
  time?: "iso" | "ms";
}

/** Formats bars as CSV text with the header `time,open,high,low,close,volume`. */
export function writeCsv(bars: Bars, opts: WriteCsvOptions = {}): string {
  const iso = (opts.time ?? "iso") === "iso";
  let dateOnly = true;
  for (let i = 0; i < bars.length && dateOnly; i++) dateOnly = bars.timestamp[i] % 86_400_000 === 0;
  const fmt = (t: number) =>
    dateOnly ? new Date(t).toISOString().slice(0, 10) : new Date(t).toISOString();
  const parts: string[] = ["time,open,high,low,close,volume\n"];
  for (let i = 0; i < bars.length; i++) {
    const t = bars.timestamp[i];
    parts.push(
      `${iso ? fmt(t) : t},${bars.open[i]},${bars.high[i]},${bars.low[i]},${bars.close[i]},${
        bars.volume[i]
      }\n`,
    );
  }
  return parts.join("");
}
