/**
 * Thinning long curves before they reach a chart.
 *
 * @module
 */

/**
 * Keeps at most `max` points of a curve by striding, always keeping the last one, so a
 * million-bar equity curve draws as fast as a thousand-bar one.
 */
export function thinPoints<T>(points: readonly T[], max = 2500): T[] {
  if (points.length <= max) return points.slice();
  const stride = Math.ceil(points.length / max);
  const out: T[] = [];
  for (let i = 0; i < points.length; i += stride) out.push(points[i]);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}
