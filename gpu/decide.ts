/**
 * The decision pass of a combination on the CPU: exactly what the WGSL and gpu.js kernels
 * compute, over float64 values instead of keys. Tests check the kernels against it event for
 * event, and backends use it where no device is available.
 *
 * Events (see gpu/pack.ts `encodeEvent`): the bars where the signal changes the target
 * (1 long, -1 short-or-flat), and the bars where a protective stop is hit.
 *
 * @module
 */
import type { ComboRule, Condition, Operand, SeriesSource } from "./families.ts";
import { encodeEvent } from "./pack.ts";

/** Resolved operand: a series or a constant. */
interface Resolved {
  arr: Float64Array | null;
  k: number;
}

function _resolve(o: Operand, cache: SeriesSource): Resolved {
  return "series" in o ? { arr: cache.get(o.series), k: NaN } : { arr: null, k: o.const };
}

function _cond(
  c: Condition,
  l: Resolved,
  r: Resolved,
  t: number,
): boolean {
  const a = l.arr ? l.arr[t] : l.k, b = r.arr ? r.arr[t] : r.k;
  const now = c.op === "gt" ? a > b : a < b;
  if (!now || !c.cross) return now;
  if (t === 0) return false;
  const ap = l.arr ? l.arr[t - 1] : l.k, bp = r.arr ? r.arr[t - 1] : r.k;
  return c.op === "gt" ? ap <= bp : ap >= bp;
}

/**
 * Runs the decision state machine of one combination over `n` bars and returns its events.
 * With a stop rule (explicit orders, see `StopRule`) the buy needs a positive stop level, the
 * close needs a long position, and the stop is hit when low ≤ the level fixed at the entry
 * signal, from the bar after the entry fills.
 */
export function decideEvents(rule: ComboRule, cache: SeriesSource, n: number): Uint32Array {
  const el = _resolve(rule.enter.lhs, cache), er = _resolve(rule.enter.rhs, cache);
  const xl = _resolve(rule.exit.lhs, cache), xr = _resolve(rule.exit.rhs, cache);
  const stopLevel = rule.stop ? cache.get(rule.stop.level) : null;
  const low = rule.stop ? cache.get("low") : null;
  const out: number[] = [];
  let target = 0;
  let stopAt = NaN, stopFrom = -1;
  for (let t = 0; t < n; t++) {
    if (stopLevel && low && target === 1 && t >= stopFrom && low[t] <= stopAt) {
      out.push(encodeEvent(t, 3));
      target = 0;
    }
    let sig = 0;
    if (_cond(rule.enter, el, er, t)) sig = 1;
    else if (_cond(rule.exit, xl, xr, t)) sig = -1;
    if (stopLevel) {
      // explicit orders: buy only when flat with a positive stop, close only when long
      if (sig === 1 && !(stopLevel[t] > 0)) sig = 0;
      if (sig === -1 && target !== 1) sig = 0;
    }
    if (sig !== 0 && sig !== target) {
      out.push(encodeEvent(t, sig === 1 ? 1 : 2));
      target = sig;
      if (stopLevel && sig === 1) {
        stopAt = stopLevel[t];
        stopFrom = t + 2;
      }
    }
  }
  return Uint32Array.from(out);
}
