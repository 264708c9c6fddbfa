/**
 * Donchian breakout with an ATR stop, written with explicit orders instead of signals.
 *
 * Rule, evaluated on every bar t (see examples/README.md):
 *   hh[t] = highest(high, params.period)[t], ll[t] = lowest(low, params.exit)[t],
 *   a[t] = atr(params.period)[t]   (Wilder ATR of high/low/close)
 * - Flat and `close[t] > hh[t-1]` (a close above the highest high of the previous `period`
 *   bars) and `stop = close[t] - stopAtr × a[t]` is > 0: `ctx.buy({ stopLoss: stop })`, a
 *   market entry (next bar's open) sized by the configured sizing, with a protective stop
 *   that becomes active once the entry has filled.
 * - Long and `close[t] < ll[t-1]` (a close below the lowest low of the previous `exit` bars):
 *   `ctx.close()`, a market exit at the next open, which also cancels the stop.
 * - Otherwise nothing. Any comparison with a warm-up NaN is false, so the first entry can
 *   happen at t = period (hh[t-1] needs `period` bars).
 *
 * It never returns a signal (undefined = hold), so position changes come only from these
 * orders and the stop. Needs no imports, so it also runs from a data: URL in the sandbox.
 */

/** The part of the data view this example uses. */
interface Data {
  readonly length: number;
  readonly close: Float64Array;
}

/** The part of the strategy context this example uses. */
interface Ctx {
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly position: { readonly quantity: number };
  buy(opts?: { stopLoss?: number; tag?: string }): string;
  close(): string | null;
  readonly ta: {
    highest(period: number, source?: "high"): number;
    lowest(period: number, source?: "low"): number;
    atr(period?: number): number;
  };
}

export default class DonchianBreakout {
  /** Defaults: 20-bar entry channel, 10-bar exit channel, stop 2 ATR(20) below the close. */
  params = { period: 20, exit: 10, stopAtr: 2 };
  period = 20;
  exit = 10;
  stopAtr = 2;
  /** Channel values of the previous bar (the breakout levels for this bar). */
  prevHigh = NaN;
  prevLow = NaN;

  Initialize(ctx: Ctx): void {
    this.period = Number(ctx.params.period);
    this.exit = Number(ctx.params.exit);
    this.stopAtr = Number(ctx.params.stopAtr);
  }

  OnData(data: Data, ctx: Ctx): void {
    const close = data.close[data.length - 1];
    // Ask every bar, so the indicators always advance and prevHigh/prevLow are the values of
    // exactly the previous bar.
    const hh = ctx.ta.highest(this.period, "high");
    const ll = ctx.ta.lowest(this.exit, "low");
    const a = ctx.ta.atr(this.period);
    const breakout = close > this.prevHigh;
    const breakdown = close < this.prevLow;
    this.prevHigh = hh;
    this.prevLow = ll;
    const q = ctx.position.quantity;
    if (q === 0 && breakout) {
      const stop = close - this.stopAtr * a;
      if (stop > 0) ctx.buy({ stopLoss: stop, tag: "breakout" });
    } else if (q > 0 && breakdown) {
      ctx.close();
    }
  }
}
