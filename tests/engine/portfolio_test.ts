import assert from "node:assert/strict";
import { Portfolio } from "../../engine/portfolio.ts";
import type { TradeRecord } from "../../engine/types.ts";

Deno.test("Portfolio.fill() averages entries and closes partial trades with pro-rata entry fees", () => {
  const closed: TradeRecord[] = [];
  const p = new Portfolio(10_000, (t) => closed.push(t));
  p.fill(10, 100, 2, 1, "signal");
  p.fill(10, 110, 4, 2, "signal");
  assert.equal(p.position, 20);
  assert.equal(p.avgPrice, 105);
  assert.equal(p.cash, 10_000 - 1000 - 2 - 1100 - 4);
  assert.equal(p.equityAt(120), p.cash + 20 * 120);
  p.fill(-5, 120, 1, 3, "order");
  assert.equal(closed.length, 1);
  const t = closed[0];
  assert.equal(t.quantity, 5);
  assert.equal(t.entryPrice, 105);
  assert.equal(t.entryTime, 1);
  assert.equal(t.exitTime, 3);
  assert.equal(t.fees, 6 * 0.25 + 1);
  assert.equal(t.pnl, (120 - 105) * 5 - 1.5 - 1);
  assert.equal(t.returnPct, t.pnl / (105 * 5));
  assert.equal(t.exitReason, "order");
  const open = p.openTrade(130)!;
  assert.equal(open.quantity, 15);
  assert.equal(open.exitPrice, null);
  assert.equal(open.pnl, (130 - 105) * 15 - 4.5);
  p.fill(-15, 90, 0, 4, "stop_loss");
  assert.equal(p.position, 0);
  assert.equal(p.openTrade(90), null);
  assert.equal(closed[1].pnl, (90 - 105) * 15 - 4.5);
  assert.equal(p.feesPaid, 7);
  assert.equal(p.realizedPnl, closed[0].pnl + closed[1].pnl);
});

Deno.test("Portfolio.fill() books shorts with negative quantity and refuses a crossing fill", () => {
  const p = new Portfolio(1000, undefined);
  p.fill(-10, 50, 0, 1, "signal");
  assert.equal(p.cash, 1500);
  assert.equal(p.equityAt(40), 1500 - 400);
  assert.throws(() => p.fill(20, 45, 0, 2, "signal"), /crosses a position/);
  p.fill(10, 40, 0, 2, "signal");
  assert.equal(p.trades[0].side, "short");
  assert.equal(p.trades[0].pnl, 100);
});
