/**
 * Drawdown of an equity curve, for the sub-chart under the equity overlay.
 *
 * @module
 */

/**
 * Drawdown at each point: `equity / runningPeak − 1` (0 at a new high, −0.25 for 25 % under
 * the peak). Non-finite or non-positive values before the first positive one give 0, so a
 * curve that starts broken still draws.
 */
export function drawdownSeries(equity: ArrayLike<number>): number[] {
  const out = new Array<number>(equity.length);
  let peak = 0;
  for (let i = 0; i < equity.length; i++) {
    const e = equity[i];
    if (Number.isFinite(e) && e > peak) peak = e;
    out[i] = peak > 0 && Number.isFinite(e) ? e / peak - 1 : 0;
  }
  return out;
}
