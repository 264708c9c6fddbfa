/**
 * The money pass: replays a combination's decision events (from a kernel or `decideEvents`)
 * through the engine's float64 fill, fee, sizing and portfolio arithmetic, and computes the
 * compact metrics in one pass over the bars it holds a position in.
 *
 * Why on the CPU: the engine computes fills, fees and quantities in float64, and float32 (all
 * WGSL has) cannot reproduce them to 1e-4 over thousands of trades. The decisions, which are
 * the part that scales with combinations × bars × rule work, run on the device and are exact
 * (gpu/pack.ts); this pass is a few float64 operations per bar in a position and none per
 * flat bar.
 *
 * Every expression mirrors the engine (engine/portfolio.ts, engine/slippage_model.ts,
 * engine/fee_model.ts, the sizing rule of docs/SEMANTICS.md); the conformance suite holds the
 * two together.
 *
 * @module
 */
import type { BacktestConfig, Bars } from "../engine/types.ts";
import type { ComboMetrics } from "../optimizer/objective.ts";

/** Why a combination cannot be replayed here and must run through the engine instead. */
export class ReplayUnsupported extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplayUnsupported";
  }
}

/** Checks that `config` uses only what the replay models; throws `ReplayUnsupported`. */
export function assertReplayable(config: BacktestConfig): void {
  if (config.fillOn !== "next_open") {
    throw new ReplayUnsupported(`fillOn "${config.fillOn}" is not modelled by the GPU backends`);
  }
  if (config.slippage.kind === "volume_share") {
    throw new ReplayUnsupported("volume_share slippage is not modelled by the GPU backends");
  }
}

/** Inputs shared by every combination of a grid. */
export interface ReplayContext {
  bars: Bars;
  config: BacktestConfig;
  annualization: number;
}

/** Result of replaying one combination; `fallback` = the engine must decide (see `replay`). */
export interface ReplayResult {
  metrics: ComboMetrics;
  fallback: boolean;
}

/** Options of `replay`. */
export interface ReplayOptions {
  /**
   * The family trades with explicit orders and a protective stop (Donchian): events mean
   * "buy" (code 1), "close" (code 2) and "stop hit" (code 3) instead of signal targets.
   */
  stopLevel?: Float64Array;
}

/**
 * Replays `events` (encoded words, bar-ordered) of one combination and returns its metrics.
 * `fallback` is set when a liquidation happened in a family whose decisions depend on the
 * position (Donchian): the kernel could not know, so the engine must run that combination.
 */
export function replay(
  ctx: ReplayContext,
  events: Uint32Array,
  opts: ReplayOptions = {},
): ReplayResult {
  const { bars, config } = ctx;
  const n = bars.length;
  const open = bars.open, close = bars.close, high = bars.high, low = bars.low;
  const longShort = config.mode === "long_short";
  const f = config.feeTaker, F = config.feeFixed, L = config.leverage;
  const noFee = config.feeMaker === 0 && config.feeTaker === 0 && config.feeFixed === 0;
  const mm = config.maintenanceMargin;
  const slip = config.slippage;
  const sBps = slip.kind === "bps" ? slip.bps / 10_000 : 0;
  const tickMove = slip.kind === "ticks" ? slip.ticks * slip.tickSize : 0;
  const sizing = config.sizing;
  const stopLevel = opts.stopLevel;
  const orderFamily = stopLevel !== undefined;

  // engine/portfolio.ts state
  let cash = config.cash;
  let pos = 0, avg = 0, entryFees = 0;
  let trades = 0, wins = 0, grossWin = 0, grossLoss = 0;
  let fallback = false;

  // metrics accumulators over r[t] = (E[t] - E[t-1]) / E[t-1], t >= 1
  // Plain float64 sums: over 10^5–10^6 returns their rounding error (~n·ε relative) is far
  // below the 1e-4 the conformance suite allows, and the engine's pairwise sums agree to ~1e-12.
  let sum = 0, sumSq = 0, downSq = 0;
  let prevE = config.cash;
  let acc = 1, peak = 1, maxDd = 0; // empyrical: compounding, first peak = starting value

  const buyPx = (p: number) => (sBps !== 0 ? p * (1 + sBps) : p + tickMove);
  const sellPx = (p: number) => (sBps !== 0 ? p * (1 - sBps) : p - tickMove);
  const fee = (q: number, p: number) => (noFee ? 0 : Math.abs(q) * p * f + F);

  // Portfolio.fill
  const fill = (qty: number, price: number, fe: number) => {
    const p0 = pos;
    cash -= qty * price + fe;
    if (p0 === 0 || (p0 > 0) === (qty > 0)) {
      const a = Math.abs(p0), b = Math.abs(qty);
      avg = p0 === 0 ? price : (a * avg + b * price) / (a + b);
      if (p0 === 0) entryFees = 0;
      entryFees += fe;
      pos = p0 + qty;
      return;
    }
    const closed = Math.abs(qty), openQ = Math.abs(p0);
    const dir = p0 > 0 ? 1 : -1;
    const ef = closed >= openQ ? entryFees : entryFees * (closed / openQ);
    entryFees -= ef;
    const pnl = (price - avg) * closed * dir - ef - fe;
    trades++;
    if (pnl > 0) {
      wins++;
      grossWin += pnl;
    } else if (pnl < 0) grossLoss -= pnl;
    if (closed >= openQ) {
      pos = 0;
      avg = 0;
      entryFees = 0;
    } else pos = p0 + qty;
  };

  // Broker.#sizedQuantity
  const sized = (equity: number, price: number, buy: boolean): number => {
    let q: number;
    if (sizing.kind === "fraction") q = (sizing.value * equity * L - F) / (price * (1 + f));
    else if (sizing.kind === "units") q = sizing.value;
    else q = sizing.value / price;
    if (config.wholeUnits) q = Math.floor(q);
    if (!buy && !longShort) q = 0;
    return q;
  };

  // Broker.#execute for a sized market order (signal entry/reversal or ctx.buy)
  const executeSized = (buy: boolean, base: number) => {
    const dir = buy ? 1 : -1;
    const opposite = pos !== 0 && (pos > 0) !== buy;
    const sp = buy ? buyPx(base) : sellPx(base);
    const closeQ0 = opposite ? Math.abs(pos) : 0;
    const closeFee0 = closeQ0 > 0 ? fee(closeQ0, sp) : 0;
    const openQ0 = sized(cash + pos * sp - closeFee0, sp, buy);
    if (closeQ0 === 0 && !(openQ0 > 0)) return; // rejected: insufficient buying power
    const qty = closeQ0 + (openQ0 > 0 ? openQ0 : 0);
    const price = sp;
    if (!(price > 0)) return; // rejected: invalid price
    const closeQ = opposite ? Math.min(qty, Math.abs(pos)) : 0;
    let openQ = qty - closeQ;
    if (openQ > 0) {
      if (!buy && !longShort) {
        if (closeQ === 0) return;
        openQ = 0;
      } else {
        const closeFee = closeQ > 0 ? fee(closeQ, price) : 0;
        const posAfter = pos + dir * closeQ;
        const equity = cash + pos * price - closeFee;
        const bp = equity * L - Math.abs(posAfter) * price;
        const cost = openQ * price + fee(openQ, price);
        if (!(cost <= bp + Math.abs(bp) * 1e-9)) {
          if (closeQ === 0) return;
          openQ = 0;
        }
      }
    }
    if (closeQ > 0) fill(-Math.sign(pos) * closeQ, price, fee(closeQ, price));
    if (openQ > 0) fill(dir * openQ, price, fee(openQ, price));
  };

  // a reduce-only market close (ctx.close(), target flat, closeAtEnd)
  const executeClose = (base: number) => {
    if (pos === 0) return;
    const price = pos > 0 ? sellPx(base) : buyPx(base);
    if (!(price > 0)) return;
    fill(-pos, price, fee(pos, price));
  };

  let ei = 0;
  let nextBar = events.length > 0 ? events[0] >>> 2 : Infinity;
  // order decided on bar t-1, filled at t: 0 none, 1 buy (sized), 2 sell (sized), 3 close
  let pending = 0, pendingAt = -1;
  let engineTarget = 0; // backtest.ts `target` (long_only maps -1 to 0)
  let stopPrice = NaN, stopFrom = Infinity, stopPending = NaN;
  let E = config.cash;

  for (let t = 0; t < n; t++) {
    // 1. fills (Broker.processBar: market orders first, then stops)
    if (pendingAt === t) {
      const posBefore = pos;
      if (pending === 3) executeClose(open[t]);
      else executeSized(pending === 1, open[t]);
      // an entry the engine rejected leaves Donchian flat where the kernel assumed a position
      if (orderFamily && pending === 1 && pos === 0) fallback = true;
      pending = 0;
      pendingAt = -1;
      if (posBefore !== 0 && (pos === 0 || (pos > 0) !== (posBefore > 0))) {
        stopPrice = NaN; // a protective stop is cancelled when the position closes
      }
      if (orderFamily && posBefore === 0 && pos > 0) {
        stopPrice = stopPending; // the bracket's stop, active from the next bar
        stopFrom = t + 1;
      }
    } else if (pos > 0 && t >= stopFrom && stopPrice === stopPrice && low[t] <= stopPrice) {
      const base = Math.min(open[t], stopPrice);
      executeClose(base);
      stopPrice = NaN;
    }
    // 2. margin (Broker.checkMargin)
    if (pos !== 0) {
      let liq = NaN;
      if (pos > 0) {
        if (cash < 0) {
          const pStar = -cash / (pos * (1 - mm));
          if (low[t] < pStar) liq = open[t] < pStar ? open[t] : pStar;
        }
      } else {
        const pStar = cash / (-pos * (1 + mm));
        if (high[t] > pStar) liq = open[t] > pStar ? open[t] : pStar;
      }
      if (liq === liq) {
        fill(-pos, liq, fee(pos, liq));
        stopPrice = NaN;
        if (orderFamily) fallback = true;
      }
    }
    // 3. decisions of bar t
    while (nextBar === t) {
      const code = events[ei] & 3;
      if (orderFamily) {
        if (code === 1 && pos === 0) {
          pending = 1;
          pendingAt = t + 1;
          stopPending = stopLevel![t];
        } else if (code === 2 && pos > 0) {
          pending = 3;
          pendingAt = t + 1;
        }
      } else if (code === 1 || code === 2) {
        const next = code === 1 ? 1 : longShort ? -1 : 0;
        if (next !== engineTarget) {
          engineTarget = next;
          // Broker.submitSignal: no order when the position already matches
          if (next === 0) pending = pos !== 0 ? 3 : 0;
          else if (next === 1) pending = pos > 0 ? 0 : 1;
          else pending = pos < 0 ? 0 : 2;
          pendingAt = pending === 0 ? -1 : t + 1;
        }
      }
      ei++;
      nextBar = ei < events.length ? events[ei] >>> 2 : Infinity;
    }
    if (t === n - 1 && config.closeAtEnd && pos !== 0) executeClose(close[t]);
    // 4. equity and metrics
    E = pos === 0 ? cash : cash + pos * close[t];
    if (t > 0) {
      const r = (E - prevE) / prevE;
      sum += r;
      sumSq += r * r;
      if (r < 0) downSq += r * r;
      acc *= r + 1;
      if (acc > peak) peak = acc;
      const dd = (acc - peak) / peak;
      if (dd < maxDd) maxDd = dd;
    }
    prevE = E;
    if (pendingAt >= 0) continue;
    if (pos === 0) {
      // flat with nothing pending: equity is constant (r = 0) until the next event
      const last = Math.min(nextBar, n) - 1;
      if (last > t) t = last;
      continue;
    }
    // Holding with nothing pending: until the next event only a stop or a liquidation can
    // happen. Run those bars in a tight loop over locals (cash and pos are captured by the
    // fill closures, which keeps V8 from holding them in registers); any bar that might
    // trigger either goes back through the full path above.
    const q = pos, c = cash;
    const liqLow = q > 0 && c < 0 ? -c / (q * (1 - mm)) : -Infinity;
    const liqHigh = q < 0 ? c / (-q * (1 + mm)) : Infinity;
    const stopLow = q > 0 && stopPrice === stopPrice ? stopPrice : -Infinity;
    const lim = Math.min(nextBar, config.closeAtEnd ? n - 1 : n);
    let u = t + 1;
    let pe = prevE, sm = sum, sq = sumSq, ds = downSq;
    let ac = acc, pk = peak, md = maxDd;
    for (; u < lim; u++) {
      const lo = low[u];
      if (lo <= stopLow || lo < liqLow || high[u] > liqHigh) break;
      const e = c + q * close[u];
      const r = (e - pe) / pe;
      pe = e;
      sm += r;
      const r2 = r * r;
      sq += r2;
      if (r < 0) ds += r2;
      ac *= r + 1;
      if (ac > pk) pk = ac;
      const dd = (ac - pk) / pk;
      if (dd < md) md = dd;
    }
    prevE = pe;
    E = pe;
    sum = sm;
    sumSq = sq;
    downSq = ds;
    acc = ac;
    peak = pk;
    maxDd = md;
    t = u - 1;
  }

  const finalEquity = n > 0 ? E : config.cash;
  const m = n - 1; // number of returns
  const ann = ctx.annualization;
  const mean = m > 0 ? sum / m : NaN;
  const variance = m > 1 ? (sumSq - sum * mean) / (m - 1) : NaN;
  const sharpe = m > 1 ? (mean / Math.sqrt(variance)) * Math.sqrt(ann) : NaN;
  const downside = m > 0 ? Math.sqrt(downSq / m) * Math.sqrt(ann) : NaN;
  const sortino = m > 1 ? (mean * ann) / downside : NaN;
  const totalReturn = n > 0 ? finalEquity / config.cash - 1 : NaN;
  const cagr = m > 0 ? Math.pow(acc, 1 / (m / ann)) - 1 : NaN;
  let calmar = maxDd < 0 ? cagr / Math.abs(maxDd) : NaN;
  if (calmar === Infinity || calmar === -Infinity) calmar = NaN;
  return {
    metrics: {
      totalReturn,
      cagr,
      sharpe,
      sortino,
      calmar,
      maxDrawdown: m > 0 ? maxDd : NaN,
      trades,
      winRate: trades > 0 ? wins / trades : NaN,
      profitFactor: grossLoss > 0 ? grossWin / grossLoss : grossWin > 0 ? Infinity : NaN,
      finalEquity,
    },
    fallback,
  };
}
