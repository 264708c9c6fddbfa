/**
 * Hand-computed order scenarios through the whole engine: every order type, fees, slippage
 * models, time in force, cancel, brackets, reversal, buying power, margin and liquidation.
 * Expected numbers are written out from docs/SEMANTICS.md's formulas, never read back from
 * the engine.
 */
import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import type { BacktestConfig, DataView, EngineEvent, StrategyContext } from "../../engine/types.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1); // a Monday

/** Daily bars from [open, high, low, close] (volume 1000 unless given). */
function bars(rows: number[][], step = DAY) {
  return barsFromRows(rows.map((r, i) => [T0 + i * step, r[0], r[1], r[2], r[3], r[4] ?? 1000]));
}

type Step = (ctx: StrategyContext, data: DataView) => unknown;

/** A strategy that runs `script[t]` on bar t (and returns its value as the signal). */
function scripted(script: Record<number, Step>) {
  return class Scripted {
    OnData(data: DataView, ctx: StrategyContext) {
      const f = script[data.length - 1];
      const out = f?.(ctx, data);
      return typeof out === "number" ? out : undefined;
    }
  };
}

function run(
  rows: number[][],
  script: Record<number, Step>,
  config: Partial<BacktestConfig> & { slippageBps?: number } = {},
  step = DAY,
) {
  const events: EngineEvent[] = [];
  const ids: Record<number, string> = {};
  const wrapped: Record<number, Step> = {};
  for (const [k, f] of Object.entries(script)) {
    wrapped[+k] = (ctx, data) => {
      const out = f(ctx, data);
      if (typeof out === "string") ids[+k] = out;
      return out;
    };
  }
  const result = runBacktest(bars(rows, step), scripted(wrapped), {
    config,
    onEvent: (e) => events.push(e),
  });
  return { result, events, ids };
}

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} !== ${b}`);

const FLAT = [100, 101, 99, 100];

Deno.test("Broker fills a signal's market order at the next open with taker and fixed fees", () => {
  const { result } = run(
    [FLAT, [102, 103, 101, 102], [104, 105, 103, 104]],
    { 0: () => 1 },
    { cash: 10_000, feeTaker: 0.01, feeFixed: 1 },
  );
  const q = (10_000 - 1) / (102 * 1.01);
  const fee = q * 102 * 0.01 + 1;
  const cash = 10_000 - q * 102 - fee;
  assert.equal(result.orders.length, 1);
  const o = result.orders[0];
  assert.equal(o.status, "filled");
  close(o.quantity, q);
  close(o.avgFillPrice!, 102);
  close(o.fees, fee);
  assert.deepEqual(o.history.map((h) => [h.status, h.time]), [
    ["submitted", T0],
    ["pending", T0 + DAY],
    ["filled", T0 + DAY],
  ]);
  close(result.equity[0].equity, 10_000);
  close(result.equity[1].equity, cash + q * 102);
  close(result.equity[2].equity, cash + q * 104);
  close(cash, 0, 1e-9);
  // Open at the end: one trade with null exit and unrealized pnl net of the entry fee.
  assert.equal(result.trades.length, 1);
  assert.equal(result.trades[0].exitTime, null);
  assert.equal(result.trades[0].exitPrice, null);
  close(result.trades[0].pnl, (104 - 102) * q - fee);
});

Deno.test("Broker closeAtEnd closes at the last close with fee and slippage", () => {
  const { result } = run(
    [FLAT, [102, 103, 101, 102], [104, 105, 103, 104]],
    { 0: () => 1 },
    { cash: 10_000, feeTaker: 0.01, feeFixed: 1, slippageBps: 10, closeAtEnd: true },
  );
  const p1 = 102 * 1.001;
  const q = (10_000 - 1) / (p1 * 1.01);
  const fee1 = q * p1 * 0.01 + 1;
  const p2 = 104 * (1 - 0.001);
  const fee2 = q * p2 * 0.01 + 1;
  const finalCash = 10_000 - q * p1 - fee1 + q * p2 - fee2;
  assert.equal(result.trades.length, 1);
  const t = result.trades[0];
  assert.equal(t.exitReason, "end");
  close(t.exitPrice!, p2);
  close(t.pnl, (p2 - p1) * q - fee1 - fee2);
  close(t.fees, fee1 + fee2);
  close(result.equity[2].equity, finalCash);
  close(result.metrics.finalEquity!, finalCash);
});

Deno.test("Broker fills a limit buy at the limit, or at the open when the bar gaps below it", () => {
  const script = {
    0: (ctx: StrategyContext) => ctx.buy({ type: "limit", price: 99.5, quantity: 10 }),
  };
  // t1 never reaches 99.5; t2 trades through it from an open above.
  const a = run([FLAT, [101, 102, 100, 101], [100.5, 101, 99, 100]], script, { feeMaker: 0.002 });
  const o = a.result.orders[0];
  assert.equal(o.status, "filled");
  close(o.avgFillPrice!, 99.5);
  close(o.fees, 10 * 99.5 * 0.002);
  assert.equal(o.history.at(-1)!.time, T0 + 2 * DAY);
  // Gap: t2 opens at 98, below the limit: fills at the open.
  const b = run([FLAT, [101, 102, 100, 101], [98, 99, 97, 98]], script, { feeMaker: 0.002 });
  close(b.result.orders[0].avgFillPrice!, 98);
});

Deno.test("Broker fills a limit sell at max(open, limit) without slippage", () => {
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [100, 106, 99, 104], [110, 111, 109, 110]],
    {
      0: (ctx) => ctx.buy({ quantity: 5 }),
      1: (ctx) => ctx.sell({ type: "limit", price: 105, quantity: 5 }),
    },
    { slippageBps: 50, feeMaker: 0.001, feeTaker: 0.002 },
  );
  const [entry, exit] = result.orders;
  close(entry.avgFillPrice!, 100 * 1.005);
  close(exit.avgFillPrice!, 105);
  close(exit.fees, 5 * 105 * 0.001);
  const t = result.trades[0];
  assert.equal(t.exitReason, "order");
  close(t.pnl, (105 - 100 * 1.005) * 5 - 5 * 100 * 1.005 * 0.002 - 5 * 105 * 0.001);
});

Deno.test("Broker triggers a stop buy at max(open, stop) plus slippage", () => {
  const script = {
    0: (ctx: StrategyContext) => ctx.buy({ type: "stop", stopPrice: 103, quantity: 1 }),
  };
  const a = run([FLAT, [101, 102, 100, 101], [102, 104, 101, 103]], script, { slippageBps: 10 });
  close(a.result.orders[0].avgFillPrice!, 103 * 1.001);
  const b = run([FLAT, [101, 102, 100, 101], [105, 106, 104, 105]], script, { slippageBps: 10 });
  close(b.result.orders[0].avgFillPrice!, 105 * 1.001);
});

Deno.test("Broker stop-limit fills on its trigger bar only at or better than the limit", () => {
  const script = {
    0: (ctx: StrategyContext) =>
      ctx.order({ side: "buy", type: "stop_limit", stopPrice: 103, price: 103.5, quantity: 1 }),
  };
  // Triggered at 103 (open 102 below the stop): 103 ≤ 103.5 fills at 103, maker fee.
  const a = run([FLAT, [102, 104, 101, 103]], script, { feeMaker: 0.01, feeTaker: 0.05 });
  close(a.result.orders[0].avgFillPrice!, 103);
  close(a.result.orders[0].fees, 1.03);
  // Gapped open 104 > limit: triggers but rests as a limit; next bar fills at min(open, limit).
  const b = run([FLAT, [104, 105, 103.8, 104.5], [104, 104.2, 103, 103.2]], script);
  const o = b.result.orders[0];
  assert.equal(o.history.at(-1)!.time, T0 + 2 * DAY);
  close(o.avgFillPrice!, 103.5);
});

/** Bar indices and prices of the fill events. */
function fillsOf(events: EngineEvent[]): [number, number][] {
  return events.flatMap((e) => e.type === "fill" ? [[e.index, e.price] as [number, number]] : []);
}

const stopLimitBuy = (stopPrice: number, price: number) => ({
  0: (ctx: StrategyContext) =>
    ctx.order({ side: "buy", type: "stop_limit", stopPrice, price, quantity: 1 }),
});

Deno.test("Broker stop-limit buy triggered above its limit waits for the next bar, though the bar reaches the limit", () => {
  // Bar 1 triggers at max(100, 105) = 105 > 103: no fill on bar 1 (its open 100 and low 95 came
  // before the stop was hit). From bar 2 a limit at 103: low 102 ≤ 103, at min(104, 103).
  const { result, events } = run(
    [FLAT, [100, 110, 95, 104], [104, 105, 102, 104]],
    stopLimitBuy(105, 103),
  );
  assert.deepEqual(fillsOf(events), [[2, 103]]);
  const o = result.orders[0];
  assert.equal(o.status, "filled");
  assert.deepEqual(o.history.map((h) => [h.status, (h.time - T0) / DAY]), [
    ["submitted", 0],
    ["pending", 1],
    ["filled", 2],
  ]);
});

Deno.test("Broker stop-limit buy gapping through its stop above the limit rests as a limit", () => {
  // Bar 1 opens at 106 ≥ stop 105: trigger price 106 > limit 103, so it rests although the low
  // 95 is below the limit; bar 2 fills it as a limit at min(104, 103).
  const { result, events } = run(
    [FLAT, [106, 110, 95, 104], [104, 105, 102, 104]],
    stopLimitBuy(105, 103),
  );
  assert.deepEqual(fillsOf(events), [[2, 103]]);
  close(result.orders[0].avgFillPrice!, 103);
});

Deno.test("Broker stop-limit sell triggered below its limit fills only when a later bar reaches the limit", () => {
  const { result, events } = run(
    [FLAT, FLAT, [100, 105, 90, 100], [96, 96, 95, 95.5], [96, 98, 95, 97]],
    {
      0: (ctx) => ctx.buy({ quantity: 1 }),
      1: (ctx) =>
        ctx.order({ side: "sell", type: "stop_limit", stopPrice: 95, price: 97, quantity: 1 }),
    },
  );
  // Bar 2 triggers at min(100, 95) = 95 < 97: no fill although its high 105 passed 97. Bar 3's
  // high 96 < 97: still resting. Bar 4's high 98 ≥ 97: fills at max(open 96, 97).
  assert.deepEqual(fillsOf(events), [[1, 100], [4, 97]]);
  assert.equal(result.orders[1].history.at(-1)!.time, T0 + 4 * DAY);
  assert.equal(result.trades[0].exitTime, T0 + 4 * DAY);
});

Deno.test("Broker stop-limit whose trigger price is within the limit fills on the trigger bar at the trigger price", () => {
  // Stop 105, limit 106: triggers at max(100, 105) = 105 ≤ 106, fills at 105 (not at the open).
  const a = run([FLAT, [100, 110, 95, 104], FLAT], stopLimitBuy(105, 106), { feeMaker: 0.01 });
  assert.deepEqual(fillsOf(a.events), [[1, 105]]);
  close(a.result.orders[0].fees, 1.05);
  // Gap to 105.5, still within the limit: at the open.
  const b = run([FLAT, [105.5, 110, 95, 104], FLAT], stopLimitBuy(105, 106));
  assert.deepEqual(fillsOf(b.events), [[1, 105.5]]);
  // Sell: stop 95, limit 94, triggers at min(100, 95) = 95 ≥ 94.
  const c = run([FLAT, FLAT, [100, 105, 90, 100], FLAT], {
    0: (ctx) => ctx.buy({ quantity: 1 }),
    1: (ctx) =>
      ctx.order({ side: "sell", type: "stop_limit", stopPrice: 95, price: 94, quantity: 1 }),
  });
  assert.deepEqual(fillsOf(c.events), [[1, 100], [2, 95]]);
});

Deno.test("Broker expires a DAY order after the last bar of its first eligible UTC day", () => {
  const HOUR = 3_600_000;
  // 4 bars per day: hours 18, 19, 20, 21 of day 1... use 6-hour steps: days change every 4 bars.
  const rows = Array.from({ length: 8 }, () => [100, 101, 99, 100]);
  const { result, events } = run(
    rows,
    { 1: (ctx) => ctx.buy({ type: "limit", price: 90, quantity: 1, tif: "DAY" }) },
    {},
    6 * HOUR,
  );
  const o = result.orders[0];
  assert.equal(o.status, "expired");
  assert.equal(o.reason, "end of day");
  // Eligible from bar 2 (12:00 on day 1), expires on bar 3 (18:00), the day's last bar.
  assert.deepEqual(o.history.map((h) => [h.status, h.time]), [
    ["submitted", T0 + 6 * HOUR],
    ["pending", T0 + 12 * HOUR],
    ["expired", T0 + 18 * HOUR],
  ]);
  assert.ok(events.some((e) => e.type === "order" && e.status === "expired"));
});

Deno.test("Broker expires a { bars: n } order after n eligible bars", () => {
  const rows = Array.from({ length: 6 }, () => [100, 101, 99, 100]);
  const { result } = run(rows, {
    0: (ctx) => ctx.buy({ type: "limit", price: 90, quantity: 1, tif: { bars: 2 } }),
  });
  const o = result.orders[0];
  assert.equal(o.status, "expired");
  assert.equal(o.history.at(-1)!.time, T0 + 2 * DAY);
});

Deno.test("Broker.cancel() stops a resting order from filling later", () => {
  let cancelled: boolean | null = null;
  let again: boolean | null = null;
  let id = "";
  const { result } = run(
    [FLAT, [101, 102, 100, 101], [95, 96, 90, 92], [92, 93, 91, 92]],
    {
      0: (ctx) => (id = ctx.buy({ type: "limit", price: 96, quantity: 1 })),
      1: (ctx) => {
        cancelled = ctx.cancel(id);
        again = ctx.cancel(id);
      },
    },
  );
  assert.equal(cancelled, true);
  assert.equal(again, false);
  const o = result.orders[0];
  assert.equal(o.status, "cancelled");
  assert.equal(o.filledQuantity, 0);
  assert.equal(result.trades.length, 0);
});

Deno.test("Broker brackets: stop first when one bar touches both, OCO cancels the other", () => {
  const entry = {
    0: (ctx: StrategyContext) => ctx.buy({ quantity: 10, stopLoss: 95, takeProfit: 110 }),
  };
  // t1: entry fills at 100; its low 94 does not trigger the stop (exits live from t2).
  // t2: low 94 and high 111 both touched: the stop wins, at min(open 100, 95) = 95.
  const a = run([FLAT, [100, 101, 94, 100], [100, 111, 94, 105]], entry, {
    feeTaker: 0.001,
    feeMaker: 0.0005,
  });
  assert.equal(a.result.trades.length, 1);
  const t = a.result.trades[0];
  assert.equal(t.exitReason, "stop_loss");
  close(t.exitPrice!, 95);
  assert.equal(t.exitTime, T0 + 2 * DAY);
  close(t.pnl, (95 - 100) * 10 - 10 * 100 * 0.001 - 10 * 95 * 0.001);
  const [, sl, tp] = a.result.orders;
  assert.equal(sl.status, "filled");
  assert.equal(sl.type, "stop");
  assert.equal(tp.status, "cancelled");
  assert.match(tp.reason!, /one-cancels-other/);
  // Gap down through the stop: fills at the open.
  const b = run([FLAT, [100, 101, 99, 100], [90, 92, 89, 91]], entry);
  close(b.result.trades[0].exitPrice!, 90);
  // Only the take-profit is touched: limit exit at max(open, 110), maker fee.
  const c = run([FLAT, [100, 101, 99, 100], [101, 112, 100, 111]], entry, { feeMaker: 0.0005 });
  assert.equal(c.result.trades[0].exitReason, "take_profit");
  close(c.result.trades[0].exitPrice!, 110);
  assert.equal(c.result.orders[1].status, "cancelled");
});

Deno.test("Broker cancels bracket exits when the position is closed another way", () => {
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [100, 101, 99, 100], [100, 120, 80, 100]],
    {
      0: (ctx) => ctx.buy({ quantity: 1, stopLoss: 90, takeProfit: 110 }),
      1: (ctx) => ctx.close(),
    },
  );
  assert.equal(result.trades.length, 1);
  assert.equal(result.trades[0].exitReason, "order");
  const exits = result.orders.filter((o) => o.tag?.startsWith("o1:"));
  assert.equal(exits.length, 2);
  for (const o of exits) assert.equal(o.status, "cancelled");
});

Deno.test("Broker reversal closes first and sizes the new short with the equity after the close", () => {
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [110, 111, 109, 110], [105, 106, 104, 105]],
    { 0: () => 1, 1: () => -1 },
    { cash: 1000, feeTaker: 0.01, mode: "long_short" },
  );
  const q1 = 1000 / (100 * 1.01);
  const fee1 = q1 * 100 * 0.01;
  const cash1 = 1000 - q1 * 100 - fee1;
  const feeClose = q1 * 110 * 0.01;
  const e = cash1 + q1 * 110 - feeClose; // cash after the close
  const q2 = e / (110 * 1.01);
  const fee2 = q2 * 110 * 0.01;
  const cash2 = e + q2 * 110 - fee2;
  assert.equal(result.orders.length, 2);
  const rev = result.orders[1];
  assert.equal(rev.side, "sell");
  close(rev.quantity, q1 + q2);
  close(rev.fees, feeClose + fee2);
  assert.equal(result.trades.length, 2);
  const [long, short] = result.trades;
  assert.equal(long.side, "long");
  assert.equal(long.exitReason, "signal");
  close(long.pnl, (110 - 100) * q1 - fee1 - feeClose);
  assert.equal(short.side, "short");
  assert.equal(short.exitTime, null);
  close(short.quantity, q2);
  close(result.equity[3].equity, cash2 - q2 * 105);
});

Deno.test("Broker sizing: units, notional and whole units", () => {
  const rows = [FLAT, [100, 101, 99, 100], [100, 101, 99, 100]];
  const u = run(rows, { 0: () => 1 }, { sizing: { kind: "units", value: 7 } });
  assert.equal(u.result.orders[0].quantity, 7);
  const n = run(rows, { 0: () => 1 }, {
    sizing: { kind: "notional", value: 2500 },
    slippageBps: 100,
  });
  close(n.result.orders[0].quantity, 2500 / 101);
  const w = run(rows, { 0: () => 1 }, { cash: 1050, wholeUnits: true });
  assert.equal(w.result.orders[0].quantity, 10);
  close(w.result.equity[2].equity, 1050);
});

Deno.test("Broker rejects an order larger than buying power and a short in long_only", () => {
  const rows = [FLAT, [100, 101, 99, 100], [100, 101, 99, 100]];
  const a = run(rows, { 0: () => 1 }, { cash: 10_000, sizing: { kind: "units", value: 101 } });
  assert.equal(a.result.orders[0].status, "rejected");
  assert.equal(a.result.orders[0].reason, "insufficient buying power");
  assert.equal(a.result.equity[2].equity, 10_000);
  const b = run(rows, { 0: (ctx) => ctx.sell({ quantity: 1 }) });
  assert.equal(b.result.orders[0].status, "rejected");
  assert.equal(b.result.orders[0].reason, "shorting is disabled in long_only mode");
  // Leverage 2 doubles buying power: 150 units of 100 fit in 10 000 × 2.
  const c = run(rows, { 0: () => 1 }, { sizing: { kind: "units", value: 150 }, leverage: 2 });
  assert.equal(c.result.orders[0].status, "filled");
  close(c.result.equity[1].equity, 10_000);
});

Deno.test("Broker rejects invalid prices and quantities with a reason", () => {
  const { result } = run([FLAT, FLAT], {
    0: (ctx) => {
      ctx.buy({ type: "limit", quantity: 1 });
      ctx.buy({ quantity: -3 });
      ctx.buy({ type: "stop", stopPrice: Number.NaN, quantity: 1 });
      ctx.buy({ quantity: 1, stopLoss: 120, takeProfit: 110 });
    },
  });
  assert.deepEqual(result.orders.map((o) => o.status), [
    "rejected",
    "rejected",
    "rejected",
    "rejected",
  ]);
  assert.match(result.orders[0].reason!, /invalid price/);
  assert.match(result.orders[1].reason!, /invalid quantity/);
  assert.match(result.orders[2].reason!, /invalid price/);
  assert.match(result.orders[3].reason!, /stopLoss 120 must be below takeProfit 110/);
});

Deno.test("Broker tick slippage moves buys up and sells down by ticks × tickSize", () => {
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [110, 111, 109, 110]],
    { 0: () => 1, 1: () => -1 },
    { slippage: { kind: "ticks", ticks: 2, tickSize: 0.05 }, sizing: { kind: "units", value: 3 } },
  );
  close(result.orders[0].avgFillPrice!, 100.1);
  close(result.orders[1].avgFillPrice!, 109.9);
  close(result.trades[0].pnl, (109.9 - 100.1) * 3);
});

Deno.test("Broker volume share caps each bar's fill and prices the impact (partial fills)", () => {
  const rows = [FLAT, [100, 101, 99, 100, 100], [100, 101, 99, 100, 100], [100, 101, 99, 100, 100]];
  const { result, events } = run(
    rows,
    { 0: (ctx) => ctx.buy({ quantity: 25 }) },
    { slippage: { kind: "volume_share", volumeLimit: 0.1, priceImpact: 0.1 } },
  );
  const o = result.orders[0];
  assert.equal(o.status, "filled");
  assert.equal(o.filledQuantity, 25);
  const p10 = 100 * (1 + 0.1 * 0.1 * 0.1), p5 = 100 * (1 + 0.1 * 0.05 * 0.05);
  close(o.avgFillPrice!, (10 * p10 + 10 * p10 + 5 * p5) / 25);
  assert.deepEqual(o.history.map((h) => [h.status, (h.time - T0) / DAY]), [
    ["submitted", 0],
    ["pending", 1],
    ["partially_filled", 1],
    ["filled", 3],
  ]);
  const fills = events.filter((e) => e.type === "fill");
  assert.deepEqual(fills.map((f) => f.type === "fill" && f.quantity), [10, 10, 5]);
});

Deno.test("Broker liquidates a levered long at the maintenance price, or at a gapped open", () => {
  // q = 2000 / 100 = 20, cash = -1000; P* = 1000 / (20 × 0.75) = 66.67.
  const rows = [FLAT, [100, 101, 99, 100], [90, 91, 60, 70], [70, 71, 69, 70]];
  const cfg = { cash: 1000, leverage: 2, maintenanceMargin: 0.25 };
  const a = run(rows, { 0: () => 1 }, cfg);
  const pStar = 1000 / (20 * 0.75);
  const t = a.result.trades[0];
  assert.equal(t.exitReason, "liquidation");
  close(t.exitPrice!, pStar);
  close(a.result.equity[2].equity, 0.25 * 20 * pStar);
  const liq = a.events.find((e) => e.type === "liquidation");
  assert.ok(liq && liq.type === "liquidation");
  close(liq.price, pStar);
  assert.equal(liq.quantity, 20);
  assert.equal(a.result.orders[1].tag, "liquidation");
  // Signal stays long: no re-entry after the liquidation.
  assert.equal(a.result.trades.length, 1);
  // Gap: opens at 60 below P*: liquidated at the open.
  const b = run([FLAT, [100, 101, 99, 100], [60, 61, 55, 58]], { 0: () => 1 }, cfg);
  close(b.result.trades[0].exitPrice!, 60);
  close(b.result.equity[2].equity, -1000 + 20 * 60);
});

Deno.test("Broker liquidates a short when the high breaches the maintenance price", () => {
  // Short 10 at 100 with 1000 cash: cash 2000; P* = 2000 / (10 × 1.25) = 160.
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [120, 170, 119, 150]],
    { 0: () => -1 },
    { cash: 1000, mode: "long_short", feeTaker: 0 },
  );
  const t = result.trades[0];
  assert.equal(t.side, "short");
  assert.equal(t.exitReason, "liquidation");
  close(t.exitPrice!, 160);
  close(result.equity[2].equity, 2000 - 1600);
});

Deno.test("Broker fillOn close fills market orders at the signal bar's close", () => {
  const { result } = run(
    [[100, 101, 99, 100.5], [102, 103, 101, 102]],
    { 0: () => 1 },
    { fillOn: "close", cash: 1000, slippageBps: 10 },
  );
  const o = result.orders[0];
  close(o.avgFillPrice!, 100.5 * 1.001);
  assert.equal(o.history.at(-1)!.time, T0);
  close(result.equity[0].equity, 1000 / (100.5 * 1.001) * 100.5);
});

Deno.test("Broker signal targets: a stopped-out position is not re-entered while the signal holds", () => {
  const { result } = run(
    [FLAT, [100, 101, 99, 100], [96, 97, 94, 95], [95, 96, 94, 95], [95, 96, 94, 95]],
    {
      0: (ctx) => {
        ctx.buy({ quantity: 1, stopLoss: 95 });
        return 1;
      },
      1: () => 1,
      2: () => 1,
      3: () => 1,
    },
    { sizing: { kind: "units", value: 1 } },
  );
  // The explicit buy and the signal's sized buy both fill at t1; the stop covers the position.
  assert.equal(result.trades.filter((t) => t.exitReason === "stop_loss").length, 1);
  assert.equal(result.trades.filter((t) => t.exitTime === null).length, 0);
  assert.equal(result.orders.filter((o) => o.side === "buy").length, 2);
});
