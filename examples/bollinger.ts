/**
 * Bollinger mean reversion: buy a close below the lower band, exit once price is back above
 * the middle band.
 *
 * Rule (signal targets, evaluated on every bar t; see examples/README.md):
 *   { lower, middle } = bollinger(close, params.period, params.k) at t
 *     (middle = SMA, bands = middle ± k × population stdev)
 *   signal[t] = close[t] < lower ? 1 : close[t] > middle ? -1 : 0   (NaN during warm-up → 0)
 *
 * In `long_only` mode -1 means flat (exit); in `long_short` it also opens a short above the
 * middle band. Needs no imports, so it also runs from a data: URL inside the sandbox worker.
 */

/** The part of the data view this example uses. */
interface Data {
  readonly length: number;
  readonly close: Float64Array;
}

/** The part of the strategy context this example uses. */
interface Ctx {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly ta: {
    bollinger(period: number, k: number): { upper: number; middle: number; lower: number };
  };
}

export default class BollingerReversion {
  /** Defaults; overridden by `--param` or the API. */
  params = { period: 20, k: 2 };
  period = 20;
  k = 2;

  Initialize(ctx: Ctx): void {
    this.period = Number(ctx.params.period);
    this.k = Number(ctx.params.k);
  }

  OnData(data: Data, ctx: Ctx): number {
    const close = data.close[data.length - 1];
    const b = ctx.ta.bollinger(this.period, this.k);
    return close < b.lower ? 1 : close > b.middle ? -1 : 0;
  }
}
