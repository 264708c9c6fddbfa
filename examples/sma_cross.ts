/**
 * SMA cross: long while the fast simple moving average of the close is above the slow one.
 *
 * Rule (signal targets, evaluated on every bar t; see examples/README.md):
 *   fast = sma(close, params.fast)[t], slow = sma(close, params.slow)[t]
 *   signal[t] = fast > slow ? 1 : fast < slow ? -1 : 0   (NaN during warm-up → 0, hold)
 *
 * In `long_only` mode -1 means "be flat"; in `long_short` it means "be short".
 * Needs no imports, so it also runs from a data: URL inside the sandbox worker.
 */

/** The part of the strategy context this example uses. */
interface Ctx {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly ta: { sma(period: number): number };
}

export default class SmaCross {
  /** Defaults; `--param fast=5` or the API override them. */
  params = { fast: 10, slow: 30 };
  fast = 10;
  slow = 30;

  Initialize(ctx: Ctx): void {
    this.fast = Number(ctx.params.fast);
    this.slow = Number(ctx.params.slow);
  }

  OnData(_data: unknown, ctx: Ctx): number {
    const fast = ctx.ta.sma(this.fast);
    const slow = ctx.ta.sma(this.slow);
    return fast > slow ? 1 : fast < slow ? -1 : 0;
  }
}
