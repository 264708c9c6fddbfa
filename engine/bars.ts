/**
 * Columnar bars: construction and validation.
 *
 * @module
 */
import type { Bars } from "./types.ts";

/** A bar series failed validation; `row` is the 0-based data row (or -1 for the whole series). */
export class BarsError extends Error {
  /** 0-based data row at fault, -1 when the problem is not one row. */
  readonly row: number;
  constructor(message: string, row: number) {
    super(message);
    this.name = "BarsError";
    this.row = row;
  }
}

/** Allocates an empty series of `length` bars (all zero) to be filled in place. */
export function allocateBars(length: number): Bars {
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(
      `Cannot allocate bars: length must be a non-negative integer, got ${length}`,
    );
  }
  return {
    length,
    timestamp: new Float64Array(length),
    open: new Float64Array(length),
    high: new Float64Array(length),
    low: new Float64Array(length),
    close: new Float64Array(length),
    volume: new Float64Array(length),
  };
}

/**
 * Builds bars from ccxt-style rows `[timestamp, open, high, low, close, volume]` and validates
 * them.
 *
 * @example
 * ```ts
 * const bars = barsFromRows([[0, 1, 2, 0.5, 1.5, 10], [60_000, 1.5, 2, 1, 1.8, 12]]);
 * bars.close[1]; // 1.8
 * ```
 */
export function barsFromRows(rows: ArrayLike<ArrayLike<number>>): Bars {
  const bars = allocateBars(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row == null || row.length < 5) {
      throw new BarsError(
        `Row ${i}: expected [timestamp, open, high, low, close, volume], got ${
          JSON.stringify(row)
        }`,
        i,
      );
    }
    bars.timestamp[i] = Number(row[0]);
    bars.open[i] = Number(row[1]);
    bars.high[i] = Number(row[2]);
    bars.low[i] = Number(row[3]);
    bars.close[i] = Number(row[4]);
    bars.volume[i] = row.length > 5 ? Number(row[5]) : 0;
  }
  validateBars(bars);
  return bars;
}

/** Converts bars back to ccxt-style rows (for JSON and the API). */
export function barsToRows(bars: Bars): number[][] {
  const out = new Array<number[]>(bars.length);
  for (let i = 0; i < bars.length; i++) {
    out[i] = [
      bars.timestamp[i],
      bars.open[i],
      bars.high[i],
      bars.low[i],
      bars.close[i],
      bars.volume[i],
    ];
  }
  return out;
}

/** Returns bars `[start, end)` as views sharing memory with `bars`. */
export function sliceBars(bars: Bars, start: number, end: number = bars.length): Bars {
  return {
    length: Math.max(0, Math.min(end, bars.length) - start),
    timestamp: bars.timestamp.subarray(start, end),
    open: bars.open.subarray(start, end),
    high: bars.high.subarray(start, end),
    low: bars.low.subarray(start, end),
    close: bars.close.subarray(start, end),
    volume: bars.volume.subarray(start, end),
  };
}

/**
 * Throws `BarsError` on the first invalid row: timestamps must be finite and strictly
 * increasing, prices finite and > 0, high ≥ max(open, close), low ≤ min(open, close),
 * volume finite and ≥ 0. Messages name the row: "Row 12: close is NaN".
 */
export function validateBars(bars: Bars): void {
  const { timestamp, open, high, low, close, volume, length } = bars;
  for (const [name, arr] of Object.entries({ timestamp, open, high, low, close, volume })) {
    if (arr.length !== length) {
      throw new BarsError(
        `Column ${name} has ${arr.length} values, expected ${length}`,
        -1,
      );
    }
  }
  for (let i = 0; i < length; i++) {
    const t = timestamp[i];
    if (!Number.isFinite(t)) throw new BarsError(`Row ${i}: timestamp is ${t}`, i);
    if (i > 0 && !(t > timestamp[i - 1])) {
      const what = t === timestamp[i - 1] ? "duplicate timestamp" : "timestamp out of order";
      throw new BarsError(
        `Row ${i}: ${what} (${isoOrRaw(t)} after ${isoOrRaw(timestamp[i - 1])})`,
        i,
      );
    }
    const o = open[i], h = high[i], l = low[i], c = close[i], v = volume[i];
    if (!(o > 0 && Number.isFinite(o))) throw new BarsError(`Row ${i}: open is ${o}`, i);
    if (!(h > 0 && Number.isFinite(h))) throw new BarsError(`Row ${i}: high is ${h}`, i);
    if (!(l > 0 && Number.isFinite(l))) throw new BarsError(`Row ${i}: low is ${l}`, i);
    if (!(c > 0 && Number.isFinite(c))) throw new BarsError(`Row ${i}: close is ${c}`, i);
    if (!(v >= 0 && Number.isFinite(v))) throw new BarsError(`Row ${i}: volume is ${v}`, i);
    if (h < o || h < c) {
      throw new BarsError(`Row ${i}: high ${h} is below max(open ${o}, close ${c})`, i);
    }
    if (l > o || l > c) {
      throw new BarsError(`Row ${i}: low ${l} is above min(open ${o}, close ${c})`, i);
    }
  }
}

function isoOrRaw(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}
