/**
 * RSI thresholds: buy when the market is oversold, get out when it is overbought.
 *
 * Rule (signal targets, evaluated on every bar t; see examples/README.md):
 *   r = rsi(close, params.period)[t]   (Wilder's RSI)
 *   signal[t] = r < oversold ? 1 : r > overbought ? -1 : 0   (NaN during warm-up → 0, hold)
 *
 * Between the thresholds the position is held, so a long opened below 30 is kept until the
 * RSI rises above 70. In `long_only` mode -1 means flat; in `long_short` it means short.
 * Needs no imports, so it also runs from a data: URL inside the sandbox worker.
 */

/** The part of the strategy context this example uses. */
interface Ctx {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly ta: { rsi(period: number): number };
}

export default class RsiThresholds {
  /** Defaults; overridden by `--param` or the API. */
  params = { period: 14, oversold: 30, overbought: 70 };
  period = 14;
  oversold = 30;
  overbought = 70;

  Initialize(ctx: Ctx): void {
    this.period = Number(ctx.params.period);
    this.oversold = Number(ctx.params.oversold);
    this.overbought = Number(ctx.params.overbought);
  }

  OnData(_data: unknown, ctx: Ctx): number {
    const r = ctx.ta.rsi(this.period);
    return r < this.oversold ? 1 : r > this.overbought ? -1 : 0;
  }
}
