/**
 * Monthly (and yearly) returns of an equity curve, for the report's heatmap.
 *
 * @module
 */

/** Returns of one calendar year: `months[0]` is January; null where the curve has no bar. */
export interface YearReturns {
  year: number;
  months: (number | null)[];
  /** Compounded return of the year's months. */
  total: number;
}

/**
 * Month returns from month-end equity: `E(last bar of month) / E(last bar of the previous
 * month) − 1`, and for the first month against `base` (the starting cash), so the months
 * compound to the total return. Months are UTC calendar months.
 */
export function monthlyReturns(
  times: ArrayLike<number>,
  equity: ArrayLike<number>,
  base: number,
): YearReturns[] {
  const years = new Map<number, YearReturns>();
  let prev = base;
  let i = 0;
  const n = Math.min(times.length, equity.length);
  while (i < n) {
    const d = new Date(times[i]);
    const y = d.getUTCFullYear(), m = d.getUTCMonth();
    // Advance to the month's last bar (numeric compares: no Date per bar).
    const next = Date.UTC(y, m + 1, 1);
    let j = i;
    while (j + 1 < n && times[j + 1] < next) j++;
    const end = equity[j];
    let row = years.get(y);
    if (!row) years.set(y, row = { year: y, months: new Array(12).fill(null), total: 0 });
    row.months[m] = prev !== 0 ? end / prev - 1 : null;
    prev = end;
    i = j + 1;
  }
  const out = [...years.values()].sort((a, b) => a.year - b.year);
  for (const row of out) {
    let g = 1;
    for (const r of row.months) if (r !== null) g *= 1 + r;
    row.total = g - 1;
  }
  return out;
}
