/**
 * What a spare sandbox Worker runs while it waits for a job (`sandbox_worker.ts`, `WARM_UP`
 * runs): synthetic bars and built-in strategies, trusted code only. The sandbox bench runs
 * the same in its fresh-isolate baseline, so the two warm up alike.
 *
 * @module
 */
import { allocateBars } from "../engine/bars.ts";
import type {
  Bars,
  DataView as StrategyData,
  StrategyClass,
  StrategyContext,
} from "../engine/types.ts";

/** A random walk of `n` minute bars (a fixed seed). */
export function warmUpBars(n: number): Bars {
  const b = allocateBars(n);
  let s = 12345, p = 100;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const o = p;
    p = Math.max(1, p * (1 + (s / 4294967296 - 0.5) * 0.004));
    b.timestamp[i] = 1_577_836_800_000 + i * 60_000;
    b.open[i] = o;
    b.close[i] = p;
    b.high[i] = Math.max(o, p) * 1.0005;
    b.low[i] = Math.min(o, p) * 0.9995;
    b.volume[i] = 100 + (s % 1000);
  }
  return b;
}

/** An SMA cross through `ctx.ta`. */
class WarmTaCross {
  params = { fast: 10, slow: 30 };
  OnData(_data: StrategyData, ctx: StrategyContext): number {
    const f = ctx.ta.sma(10), s = ctx.ta.sma(30);
    return f > s ? 1 : f < s ? -1 : 0;
  }
}

/** A 20-bar breakout through `data` and the position. */
class WarmDataCross {
  params = { period: 20 };
  OnData(data: StrategyData, ctx: StrategyContext): number {
    const c = data.close, t = c.length - 1;
    if (t < 20) return 0;
    const above = data.bar.close > c[t - 20];
    return above === ctx.position.quantity > 0 ? 0 : above ? 1 : -1;
  }
}

/**
 * The warm-up's strategies, run in turn: the two common ways to read prices. Frozen with
 * their prototypes, like every trusted export a strategy could `import()` in the sandbox.
 */
export const WARM_UP_STRATEGIES: readonly StrategyClass[] = Object.freeze([
  WarmTaCross,
  WarmDataCross,
]);
for (const c of WARM_UP_STRATEGIES) {
  Object.freeze(c.prototype);
  Object.freeze(c);
}
