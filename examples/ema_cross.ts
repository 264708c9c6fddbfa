/**
 * EMA cross: long while the fast exponential moving average of the close is above the slow one.
 *
 * Rule (signal targets, evaluated on every bar t; see examples/README.md):
 *   fast = ema(close, params.fast)[t], slow = ema(close, params.slow)[t]
 *   signal[t] = fast > slow ? 1 : fast < slow ? -1 : 0   (NaN during warm-up → 0, hold)
 *
 * EMAs are seeded with the SMA of their first `period` closes (engine/indicators.ts).
 * Needs no imports, so it also runs from a data: URL inside the sandbox worker.
 */

/** The part of the strategy context this example uses. */
interface Ctx {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly ta: { ema(period: number): number };
}

export default class EmaCross {
  /** Defaults (MACD's classic 12/26 pair); overridden by `--param` or the API. */
  params = { fast: 12, slow: 26 };
  fast = 12;
  slow = 26;

  Initialize(ctx: Ctx): void {
    this.fast = Number(ctx.params.fast);
    this.slow = Number(ctx.params.slow);
  }

  OnData(_data: unknown, ctx: Ctx): number {
    const fast = ctx.ta.ema(this.fast);
    const slow = ctx.ta.ema(this.slow);
    return fast > slow ? 1 : fast < slow ? -1 : 0;
  }
}
