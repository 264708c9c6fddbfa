/**
 * Infers how many bars make a year from the bar timestamps (docs/SEMANTICS.md, "Metrics").
 *
 * @module
 */

import { SCRATCH, scratchArray } from "./scratch.ts";
import { selectKth } from "./select_kth.ts";

const DAY_MS = 86_400_000;

/**
 * Median of the first `n` values of `a` (reordered in place): the same value a full sort gives,
 * by selection, O(n) instead of O(n log n).
 */
function _median(a: Float64Array, n: number): number {
  const s = a.subarray(0, n);
  const mid = n >> 1;
  selectKth(s, mid);
  if (n % 2 === 1) return s[mid];
  // Even count: the largest value below the middle one (all of them sit before it).
  let lo = -Infinity;
  for (let i = 0; i < mid; i++) if (s[i] > lo) lo = s[i];
  return (lo + s[mid]) / 2;
}

/**
 * Periods per year for metrics, from the bar timestamps (ms UTC, strictly increasing):
 *
 * - The typical bar interval is the median gap between bars.
 * - The data trades on weekends (24/7, e.g. crypto) when it has bars on both a Saturday and a
 *   Sunday (UTC). One weekend day alone does not count: a session that opens on Sunday evening
 *   (futures) or daily bars stamped at an Asian local midnight (Sunday UTC) are not 24/7.
 * - Intraday bars (median gap under 20 hours): bars per day = the median number of bars per UTC
 *   calendar day (partial first and last days and holidays do not move it); the result is
 *   365 × bars per day for 24/7 data, else 252 × bars per day.
 * - Daily bars (gap up to 4 days): 365 for 24/7 data, else 252. Slower bars: 52 (weekly, gap up
 *   to 10 days), 12 (monthly, up to 45 days), 4 (quarterly, up to 135 days), else 1 (yearly).
 * - Fewer than 2 bars: 252 (nothing to infer; the daily default).
 *
 * @throws {RangeError} naming the row when a timestamp is not finite or not after the previous.
 *
 * @example
 * ```ts
 * const day = 86_400_000;
 * inferAnnualization(Float64Array.of(0, day, 2 * day)); // 252 (1970-01-01 was a Thursday)
 * ```
 */
export function inferAnnualization(timestamps: ArrayLike<number>): number {
  const n = timestamps.length;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i];
    if (!Number.isFinite(t)) {
      throw new RangeError(`Row ${i}: timestamp is not a finite number (${t})`);
    }
    if (i > 0 && !(t > timestamps[i - 1])) {
      throw new RangeError(
        `Row ${i}: timestamp ${t} is not after the previous row's ${timestamps[i - 1]}`,
      );
    }
  }
  if (n < 2) return 252;

  // Gaps, then bars per day: a reused buffer (see engine/scratch.ts).
  const scratch = scratchArray(SCRATCH.temp, n);
  for (let i = 1; i < n; i++) scratch[i - 1] = timestamps[i] - timestamps[i - 1];
  const gap = _median(scratch, n - 1);

  let saturday = false;
  let sunday = false;
  for (let i = 0; i < n && !(saturday && sunday); i++) {
    // 1970-01-01 (day 0) was a Thursday: day-of-week 0 = Thursday, 2 = Saturday, 3 = Sunday.
    const dow = ((Math.floor(timestamps[i] / DAY_MS) % 7) + 7) % 7;
    if (dow === 2) saturday = true;
    else if (dow === 3) sunday = true;
  }
  const weekends = saturday && sunday;

  if (gap < 20 * 3_600_000) {
    // Bars per UTC day: timestamps are increasing, so each day's bars are one run.
    let days = 0;
    let count = 1;
    let day = Math.floor(timestamps[0] / DAY_MS);
    for (let i = 1; i < n; i++) {
      const d = Math.floor(timestamps[i] / DAY_MS);
      if (d === day) count++;
      else {
        scratch[days++] = count;
        day = d;
        count = 1;
      }
    }
    scratch[days++] = count;
    return (weekends ? 365 : 252) * _median(scratch, days);
  }
  if (gap <= 4 * DAY_MS) return weekends ? 365 : 252;
  if (gap <= 10 * DAY_MS) return 52;
  if (gap <= 45 * DAY_MS) return 12;
  if (gap <= 135 * DAY_MS) return 4;
  return 1;
}
