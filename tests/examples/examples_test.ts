import assert from "node:assert/strict";
import { runBacktest } from "../../engine/backtest.ts";
import { allocateBars } from "../../engine/bars.ts";
import { atr, bollinger, ema, highest, lowest, rsi, sma } from "../../engine/indicators.ts";
import { Ta } from "../../engine/ta.ts";
import type { Bars, Strategy, StrategyClass } from "../../engine/types.ts";
import BollingerReversion from "../../examples/bollinger.ts";
import DonchianBreakout from "../../examples/donchian_breakout.ts";
import EmaCross from "../../examples/ema_cross.ts";
import { TEMPLATES } from "../../examples/index.ts";
import RsiThresholds from "../../examples/rsi.ts";
import SmaCross from "../../examples/sma_cross.ts";
import { loadGoog } from "../_fixtures/goog.ts";

interface Action {
  t: number;
  kind: "buy" | "close";
  stopLoss?: number;
}

/**
 * Drives a strategy bar by bar with the real `Ta` and a small fake context: bars revealed one
 * at a time (NaN beyond t), orders recorded, and the position switched on the bar after an
 * order (no stops, fees or sizing — those are the engine's job).
 */
function drive(
  Cls: StrategyClass,
  bars: Bars,
): { signals: number[]; actions: Action[] } {
  const n = bars.length;
  const visible = allocateBars(n);
  for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
    visible[k].fill(NaN);
  }
  const ta = new Ta(visible);
  const strategy: Strategy = new Cls();
  const params = { ...strategy.params };
  let quantity = 0;
  let pending: "buy" | "close" | null = null;
  let t = 0;
  const actions: Action[] = [];
  const ctx = {
    params,
    cash: 10_000,
    equity: 10_000,
    get position() {
      return { quantity, side: quantity > 0 ? "long" : "flat", avgPrice: 0 } as const;
    },
    get barIndex() {
      return t;
    },
    buy(opts?: { stopLoss?: number }) {
      pending = "buy";
      actions.push({ t, kind: "buy", stopLoss: opts?.stopLoss });
      return `o${actions.length}`;
    },
    sell(): string {
      throw new Error("the examples never sell short explicitly");
    },
    close() {
      if (quantity === 0) return null;
      pending = "close";
      actions.push({ t, kind: "close" });
      return `o${actions.length}`;
    },
    order(): string {
      throw new Error("not used by the examples");
    },
    cancel: () => false,
    log: () => {},
    ta,
  };
  strategy.Initialize?.(ctx);
  const signals: number[] = [];
  for (t = 0; t < n; t++) {
    if (pending === "buy") quantity = 1;
    if (pending === "close") quantity = 0;
    pending = null;
    for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
      visible[k][t] = bars[k][t];
    }
    ta.setIndex(t);
    const data = {
      length: t + 1,
      timestamp: visible.timestamp.subarray(0, t + 1),
      open: visible.open.subarray(0, t + 1),
      high: visible.high.subarray(0, t + 1),
      low: visible.low.subarray(0, t + 1),
      close: visible.close.subarray(0, t + 1),
      volume: visible.volume.subarray(0, t + 1),
      bar: {
        time: bars.timestamp[t],
        open: bars.open[t],
        high: bars.high[t],
        low: bars.low[t],
        close: bars.close[t],
        volume: bars.volume[t],
      },
    };
    const s = strategy.OnData(data, ctx);
    signals.push(s === undefined ? 0 : Number(s));
  }
  return { signals, actions };
}

/** The documented rule (examples/README.md) for the two-series families. */
function crossRule(f: Float64Array, s: Float64Array): number[] {
  return Array.from(f, (v, t) => (v > s[t] ? 1 : v < s[t] ? -1 : 0));
}

function assertSignalsMatch(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length);
  for (let t = 0; t < expected.length; t++) {
    if (actual[t] !== expected[t]) {
      assert.fail(`${what}: bar ${t} gave ${actual[t]}, the documented rule ${expected[t]}`);
    }
  }
  assert.ok(actual.includes(1), `${what}: never signalled 1`);
  assert.ok(actual.includes(-1), `${what}: never signalled -1`);
}

Deno.test("examples/sma_cross.ts follows its documented rule on GOOG.csv", async () => {
  const b = await loadGoog();
  const { signals } = drive(SmaCross, b);
  assertSignalsMatch(signals, crossRule(sma(b.close, 10), sma(b.close, 30)), "sma_cross");
  assert.deepEqual(signals.slice(0, 29), new Array(29).fill(0), "holds during the warm-up");
});

Deno.test("examples/ema_cross.ts follows its documented rule on GOOG.csv", async () => {
  const b = await loadGoog();
  const { signals } = drive(EmaCross, b);
  assertSignalsMatch(signals, crossRule(ema(b.close, 12), ema(b.close, 26)), "ema_cross");
});

Deno.test("examples/rsi.ts follows its documented rule on GOOG.csv", async () => {
  const b = await loadGoog();
  const { signals } = drive(RsiThresholds, b);
  const r = rsi(b.close, 14);
  const expected = Array.from(r, (v) => (v < 30 ? 1 : v > 70 ? -1 : 0));
  assertSignalsMatch(signals, expected, "rsi");
});

Deno.test("examples/bollinger.ts follows its documented rule on GOOG.csv", async () => {
  const b = await loadGoog();
  const { signals } = drive(BollingerReversion, b);
  const bb = bollinger(b.close, 20, 2);
  const expected = Array.from(
    b.close,
    (c, t) => (c < bb.lower[t] ? 1 : c > bb.middle[t] ? -1 : 0),
  );
  assertSignalsMatch(signals, expected, "bollinger");
});

Deno.test("examples/donchian_breakout.ts places stop-protected entries and channel exits", async () => {
  const b = await loadGoog();
  const { signals, actions } = drive(DonchianBreakout, b);
  assert.ok(signals.every((s) => s === 0), "explicit-order strategy returns no signals");
  // The documented rule as a plain loop over the series, with the same position model.
  const hh = highest(b.high, 20), ll = lowest(b.low, 10), a = atr(b.high, b.low, b.close, 20);
  const expected: Action[] = [];
  let q = 0;
  let pending: "buy" | "close" | null = null;
  for (let t = 0; t < b.length; t++) {
    if (pending === "buy") q = 1;
    if (pending === "close") q = 0;
    pending = null;
    if (t === 0) continue;
    if (q === 0 && b.close[t] > hh[t - 1]) {
      const stop = b.close[t] - 2 * a[t];
      if (stop > 0) {
        expected.push({ t, kind: "buy", stopLoss: stop });
        pending = "buy";
      }
    } else if (q > 0 && b.close[t] < ll[t - 1]) {
      expected.push({ t, kind: "close" });
      pending = "close";
    }
  }
  assert.deepEqual(actions, expected);
  const buys = actions.filter((x) => x.kind === "buy");
  assert.ok(buys.length >= 3, `expected several breakouts, got ${buys.length}`);
  assert.ok(actions.some((x) => x.kind === "close"), "expected at least one channel exit");
  for (const x of buys) {
    assert.ok(x.stopLoss! > 0 && x.stopLoss! < b.close[x.t], `stop below the close at ${x.t}`);
  }
  assert.ok(actions[0].t >= 20, "no entry before the 20-bar channel exists");
});

Deno.test("examples honour parameter overrides from ctx.params", async () => {
  const b = await loadGoog();
  class Fast extends SmaCross {
    override params = { fast: 3, slow: 7 };
  }
  const { signals } = drive(Fast, b);
  assertSignalsMatch(signals, crossRule(sma(b.close, 3), sma(b.close, 7)), "sma_cross 3/7");
});

Deno.test("examples/index.ts TEMPLATES point at existing files with the classes' defaults", async () => {
  const ids = TEMPLATES.map((x) => x.id);
  assert.deepEqual(ids, ["sma_cross", "ema_cross", "rsi", "bollinger", "donchian_breakout"]);
  for (const tpl of TEMPLATES) {
    assert.equal(tpl.file, `examples/${tpl.id}.ts`);
    const url = new URL(`../../${tpl.file}`, import.meta.url);
    const src = await Deno.readTextFile(url);
    assert.ok(!/^\s*import\b/m.test(src), `${tpl.file} must not import anything`);
    const mod = await import(url.href);
    const instance = new mod.default();
    assert.deepEqual(instance.params, tpl.params, `${tpl.id} params`);
    assert.ok(tpl.name.length > 0 && tpl.description.length > 20);
  }
});

Deno.test("every example loads from a data: URL and runs with no imports", async () => {
  const b = await loadGoog();
  for (const tpl of TEMPLATES) {
    const src = await Deno.readTextFile(new URL(`../../${tpl.file}`, import.meta.url));
    const bytes = new TextEncoder().encode(src);
    const b64 = btoa(Array.from(bytes, (x) => String.fromCharCode(x)).join(""));
    const mod = await import(`data:application/typescript;base64,${b64}`);
    const { signals, actions } = drive(mod.default, b);
    assert.ok(
      signals.some((s) => s !== 0) || actions.length > 0,
      `${tpl.id} loaded from a data: URL never acted`,
    );
  }
});

// ---- through the real engine ----------------------------------------------------------------

interface RefTrade {
  entryTime: number;
  entryPrice: number;
  exitTime: number | null;
  exitPrice: number | null;
  exitReason: string | null;
}

/**
 * Trades a long_only signal rule must produce under docs/SEMANTICS.md: a decision on bar t
 * fills at open[t+1]; 1 opens a long when flat, -1 closes it; other values hold.
 */
function signalTrades(b: Bars, signal: number[]): RefTrade[] {
  const trades: RefTrade[] = [];
  let long = false;
  for (let t = 0; t + 1 < b.length; t++) {
    if (signal[t] === 1 && !long) {
      long = true;
      trades.push({
        entryTime: b.timestamp[t + 1],
        entryPrice: b.open[t + 1],
        exitTime: null,
        exitPrice: null,
        exitReason: null,
      });
    } else if (signal[t] === -1 && long) {
      long = false;
      const tr = trades[trades.length - 1];
      tr.exitTime = b.timestamp[t + 1];
      tr.exitPrice = b.open[t + 1];
      tr.exitReason = "signal";
    }
  }
  return trades;
}

function pick(trades: RefTrade[]): RefTrade[] {
  return trades.map(({ entryTime, entryPrice, exitTime, exitPrice, exitReason }) => ({
    entryTime,
    entryPrice,
    exitTime,
    exitPrice,
    exitReason,
  }));
}

Deno.test("runBacktest() trades the signal examples exactly as their documented rules", async () => {
  const b = await loadGoog();
  const bb = bollinger(b.close, 20, 2);
  const r14 = rsi(b.close, 14);
  const cases: [string, StrategyClass, number[]][] = [
    ["sma_cross", SmaCross, crossRule(sma(b.close, 10), sma(b.close, 30))],
    ["ema_cross", EmaCross, crossRule(ema(b.close, 12), ema(b.close, 26))],
    ["rsi", RsiThresholds, Array.from(r14, (v) => (v < 30 ? 1 : v > 70 ? -1 : 0))],
    [
      "bollinger",
      BollingerReversion,
      Array.from(b.close, (c, t) => (c < bb.lower[t] ? 1 : c > bb.middle[t] ? -1 : 0)),
    ],
  ];
  for (const [id, Cls, signal] of cases) {
    const result = runBacktest(b, Cls);
    const expected = signalTrades(b, signal);
    assert.ok(expected.length >= 5, `${id}: expected several trades, got ${expected.length}`);
    assert.deepEqual(pick(result.trades), expected, id);
  }
  // Parameters passed to the engine reach the example through ctx.params.
  const result = runBacktest(b, SmaCross, { params: { fast: 3, slow: 7 } });
  const expected = signalTrades(b, crossRule(sma(b.close, 3), sma(b.close, 7)));
  assert.deepEqual(pick(result.trades), expected, "sma_cross 3/7");
});

Deno.test("runBacktest() runs donchian_breakout with bracket stops as documented", async () => {
  const b = await loadGoog();
  const result = runBacktest(b, DonchianBreakout);
  // Plain-loop reference of examples/README.md's rule with SEMANTICS.md's fills: market
  // orders at the next open; the stop is active from the bar after the entry fill, triggers
  // when low <= stop and fills at min(open, stop); a market exit at the open comes first.
  const hh = highest(b.high, 20), ll = lowest(b.low, 10), a = atr(b.high, b.low, b.close, 20);
  const trades: RefTrade[] = [];
  let long = false;
  let pendingEntry = NaN; // stop price of a submitted entry
  let pendingExit = false;
  let stop = NaN;
  let stopFrom = Infinity;
  const exit = (t: number, price: number, reason: string) => {
    const tr = trades[trades.length - 1];
    tr.exitTime = b.timestamp[t];
    tr.exitPrice = price;
    tr.exitReason = reason;
    long = false;
    stopFrom = Infinity;
  };
  for (let t = 0; t < b.length; t++) {
    if (!Number.isNaN(pendingEntry)) {
      trades.push({
        entryTime: b.timestamp[t],
        entryPrice: b.open[t],
        exitTime: null,
        exitPrice: null,
        exitReason: null,
      });
      long = true;
      stop = pendingEntry;
      stopFrom = t + 1;
      pendingEntry = NaN;
    } else if (pendingExit) {
      exit(t, b.open[t], "order");
      pendingExit = false;
    } else if (long && t >= stopFrom && b.low[t] <= stop) {
      exit(t, Math.min(b.open[t], stop), "stop_loss");
    }
    if (t === 0) continue;
    if (!long && b.close[t] > hh[t - 1]) {
      const s = b.close[t] - 2 * a[t];
      if (s > 0) pendingEntry = s;
    } else if (long && b.close[t] < ll[t - 1]) {
      pendingExit = true;
    }
  }
  assert.deepEqual(pick(result.trades), trades);
  const reasons = new Set(trades.map((x) => x.exitReason));
  assert.ok(reasons.has("stop_loss") && reasons.has("order"), [...reasons].join(","));
  assert.ok(result.orders.some((o) => o.type === "stop" && o.status === "filled"));
});
