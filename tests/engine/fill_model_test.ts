import assert from "node:assert/strict";
import { allocateBars } from "../../engine/bars.ts";
import { type FillableOrder, fillModelFor, stopTriggered } from "../../engine/fill_model.ts";
import type { OrderSide } from "../../engine/types.ts";

/** One bar [open, high, low, close]. */
function bar(o: number, h: number, l: number, c: number) {
  const b = allocateBars(1);
  b.open[0] = o;
  b.high[0] = h;
  b.low[0] = l;
  b.close[0] = c;
  return b;
}

function ord(
  side: OrderSide,
  price: number | null,
  stopPrice: number | null,
  triggered = false,
): FillableOrder {
  return { side, price, stopPrice, triggered };
}

Deno.test("fillModelFor() market fills at the open", () => {
  assert.equal(
    fillModelFor("market").fillPrice(ord("buy", null, null), bar(10, 11, 9, 10.5), 0),
    10,
  );
  assert.equal(fillModelFor("market").maker, false);
});

Deno.test("fillModelFor() limit: touch rule and gap rule for buys and sells", () => {
  const m = fillModelFor("limit");
  assert.equal(m.maker, true);
  assert.equal(m.slips, false);
  assert.equal(m.fillPrice(ord("buy", 9.5, null), bar(10, 11, 9, 10), 0), 9.5);
  assert.equal(m.fillPrice(ord("buy", 9.5, null), bar(9, 9.8, 8.5, 9), 0), 9);
  assert.ok(Number.isNaN(m.fillPrice(ord("buy", 8.9, null), bar(10, 11, 9, 10), 0)));
  assert.equal(m.fillPrice(ord("buy", 9, null), bar(10, 11, 9, 10), 0), 9); // touch counts
  assert.equal(m.fillPrice(ord("sell", 10.5, null), bar(10, 11, 9, 10), 0), 10.5);
  assert.equal(m.fillPrice(ord("sell", 10.5, null), bar(12, 13, 11, 12), 0), 12);
  assert.ok(Number.isNaN(m.fillPrice(ord("sell", 11.5, null), bar(10, 11, 9, 10), 0)));
});

Deno.test("fillModelFor() stop: trigger rule and gap rule for buys and sells", () => {
  const m = fillModelFor("stop");
  assert.equal(m.maker, false);
  assert.equal(m.slips, true);
  assert.equal(m.fillPrice(ord("buy", null, 10.5), bar(10, 11, 9, 10), 0), 10.5);
  assert.equal(m.fillPrice(ord("buy", null, 10.5), bar(12, 13, 11, 12), 0), 12);
  assert.ok(Number.isNaN(m.fillPrice(ord("buy", null, 11.5), bar(10, 11, 9, 10), 0)));
  assert.equal(m.fillPrice(ord("sell", null, 9.5), bar(10, 11, 9, 10), 0), 9.5);
  assert.equal(m.fillPrice(ord("sell", null, 9.5), bar(8, 9, 7, 8), 0), 8);
  assert.ok(Number.isNaN(m.fillPrice(ord("sell", null, 8.5), bar(10, 11, 9, 10), 0)));
});

Deno.test("fillModelFor() stop_limit: fills on trigger only within the limit, then rests as a limit", () => {
  const m = fillModelFor("stop_limit");
  assert.equal(m.maker, true);
  assert.equal(m.slips, false);
  assert.equal(m.fillPrice(ord("buy", 10.8, 10.5), bar(10, 11, 9, 10), 0), 10.5);
  // Gapped above the limit: triggers without filling, although the bar's low reaches the limit.
  const b = ord("buy", 10.8, 10.5);
  const gap = bar(11, 12, 10.6, 11.5);
  assert.ok(Number.isNaN(m.fillPrice(b, gap, 0)));
  assert.ok(Number.isNaN(m.fillPrice(b, gap, 0))); // asking again changes nothing
  assert.equal(b.triggered, false); // the broker marks it after the bar's fills
  assert.equal(stopTriggered(b, gap, 0), true);
  // Triggered on an earlier bar: a limit at 10.8.
  assert.equal(m.fillPrice(ord("buy", 10.8, 10.5, true), bar(11, 11.2, 10.6, 10.7), 0), 10.8);
  assert.equal(m.fillPrice(ord("sell", 9.2, 9.5), bar(10, 11, 9, 10), 0), 9.5);
  const d = ord("sell", 9.2, 9.5);
  assert.ok(Number.isNaN(m.fillPrice(d, bar(9, 9.3, 8, 8.5), 0)));
  assert.equal(d.triggered, false);
  assert.equal(stopTriggered(d, bar(9, 9.3, 8, 8.5), 0), true);
  assert.equal(m.fillPrice(ord("sell", 9.2, 9.5, true), bar(9, 9.3, 8, 8.5), 0), 9.2);
  const e = ord("buy", 10.8, 10.5);
  assert.ok(Number.isNaN(m.fillPrice(e, bar(10, 10.4, 9, 10), 0)));
  assert.equal(stopTriggered(e, bar(10, 10.4, 9, 10), 0), false);
});

Deno.test("stopTriggered() buy at high ≥ stop, sell at low ≤ stop (a touch counts)", () => {
  assert.equal(stopTriggered(ord("buy", null, 11), bar(10, 11, 9, 10), 0), true);
  assert.equal(stopTriggered(ord("buy", null, 11.1), bar(10, 11, 9, 10), 0), false);
  assert.equal(stopTriggered(ord("sell", null, 9), bar(10, 11, 9, 10), 0), true);
  assert.equal(stopTriggered(ord("sell", null, 8.9), bar(10, 11, 9, 10), 0), false);
});
