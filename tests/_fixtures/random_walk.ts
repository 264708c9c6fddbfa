/**
 * A seeded random walk of daily bars (mulberry32), for engine tests that need many realistic
 * bars without a data file.
 *
 * @module
 */
import { allocateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";

const DAY = 86_400_000;

/**
 * `n` daily bars from `t0`, reproducible from `seed`; every price is multiplied by `scale`
 * (the same walk at another price level).
 */
export function randomWalk(
  n: number,
  { seed = 7, scale = 1, t0 = Date.UTC(2020, 0, 1) }: {
    seed?: number;
    scale?: number;
    t0?: number;
  } = {},
): Bars {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const b = allocateBars(n);
  let p = 100;
  for (let i = 0; i < n; i++) {
    const o = p * (1 + (rnd() - 0.5) * 0.01);
    p = o * (1 + (rnd() - 0.5) * 0.04);
    b.timestamp[i] = t0 + i * DAY;
    b.open[i] = o * scale;
    b.close[i] = p * scale;
    b.high[i] = Math.max(o, p) * (1 + rnd() * 0.01) * scale;
    b.low[i] = Math.min(o, p) * (1 - rnd() * 0.01) * scale;
    b.volume[i] = 1000 + Math.floor(rnd() * 1000);
  }
  return b;
}
