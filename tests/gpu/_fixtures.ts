/**
 * Shared test data for the optimizer and GPU suites: the GOOG reference file and a seeded
 * generated series, parsed here with a few lines so these suites do not depend on market/.
 *
 * @module
 */
import { allocateBars, validateBars } from "../../engine/bars.ts";
import type { Bars } from "../../engine/types.ts";
export { loadGoog } from "../_fixtures/goog.ts";

/**
 * `n` daily bars (weekdays only, so annualization is 252) of a seeded random walk with
 * regime changes, so that every family trades often and long_short shorts survive.
 */
export function generateBars(n: number, seed = 7): Bars {
  const bars = allocateBars(n);
  let s = seed >>> 0;
  const rnd = () => {
    // xorshift32: deterministic across runs
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  let price = 100;
  let drift = 0;
  let day = Date.UTC(2000, 0, 3); // a Monday
  for (let t = 0; t < n; t++) {
    if (t % 250 === 0) drift = (rnd() - 0.5) * 0.002;
    const o = price * (1 + (rnd() - 0.5) * 0.004);
    // mean-revert towards 100 so 100,000 bars stay in a sane price range
    const c = o * (1 + drift + (rnd() - 0.5) * 0.03 + (Math.log(100 / o)) * 0.002);
    bars.timestamp[t] = day;
    bars.open[t] = o;
    bars.close[t] = c;
    bars.high[t] = Math.max(o, c) * (1 + rnd() * 0.01);
    bars.low[t] = Math.min(o, c) * (1 - rnd() * 0.01);
    bars.volume[t] = 1000 + Math.floor(rnd() * 1000);
    price = c;
    day += 86_400_000;
    const wd = new Date(day).getUTCDay();
    if (wd === 6) day += 2 * 86_400_000;
    else if (wd === 0) day += 86_400_000;
  }
  validateBars(bars);
  return bars;
}

/**
 * `n` bars whose prices move in steps of 0.25 around 20, so moving averages of different
 * periods are often exactly equal: the kernels must treat ties exactly like the engine.
 */
export function tieBars(n: number, seed = 3): Bars {
  const bars = allocateBars(n);
  let s = seed >>> 0;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  let p = 20;
  for (let t = 0; t < n; t++) {
    const step = Math.floor(rnd() * 3) - 1; // -1, 0, +1 quarter
    const c = Math.min(30, Math.max(10, p + step * 0.25));
    bars.timestamp[t] = Date.UTC(2001, 0, 1) + t * 86_400_000;
    bars.open[t] = p;
    bars.close[t] = c;
    bars.high[t] = Math.max(p, c) + 0.25;
    bars.low[t] = Math.min(p, c) - 0.25;
    bars.volume[t] = 100;
    p = c;
  }
  validateBars(bars);
  return bars;
}
