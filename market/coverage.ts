/**
 * Time-range arithmetic for the cache: which [from, to] ranges (inclusive ms) were fetched,
 * and which parts of a request are still missing.
 *
 * @module
 */

/** An inclusive time range in ms. */
export type Range = [from: number, to: number];

/** Sorts and merges ranges that overlap or touch (within `gapMs`). */
export function mergeRanges(ranges: readonly Range[], gapMs = 1): Range[] {
  const sorted = ranges.filter((r) => r[1] >= r[0]).map((r) => [r[0], r[1]] as Range)
    .sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + gapMs) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

/** The parts of `want` not covered by `have` (which must be merged). */
export function missingRanges(want: Range, have: readonly Range[]): Range[] {
  const out: Range[] = [];
  let cursor = want[0];
  for (const [a, b] of have) {
    if (b < cursor) continue;
    if (a > want[1]) break;
    if (a > cursor) out.push([cursor, Math.min(a - 1, want[1])]);
    cursor = Math.max(cursor, b + 1);
    if (cursor > want[1]) break;
  }
  if (cursor <= want[1]) out.push([cursor, want[1]]);
  return out;
}
