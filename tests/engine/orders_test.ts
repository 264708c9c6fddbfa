import assert from "node:assert/strict";
import {
  nextOrderStatus,
  Order,
  ORDER_TRANSITIONS,
  type OrderEventKind,
  OrderTransitionError,
} from "../../engine/orders.ts";
import type { OrderStatus } from "../../engine/types.ts";

const STATUSES: OrderStatus[] = [
  "submitted",
  "pending",
  "partially_filled",
  "filled",
  "cancelled",
  "rejected",
  "expired",
];
const EVENTS: OrderEventKind[] = ["accept", "reject", "cancel", "expire", "partial_fill", "fill"];

/** The lifecycle written out independently of the table. */
const ALLOWED = new Set([
  "submitted accept pending",
  "submitted reject rejected",
  "submitted cancel cancelled",
  "pending fill filled",
  "pending partial_fill partially_filled",
  "pending cancel cancelled",
  "pending reject rejected",
  "pending expire expired",
  "partially_filled fill filled",
  "partially_filled partial_fill partially_filled",
  "partially_filled cancel cancelled",
  "partially_filled expire expired",
]);

Deno.test("nextOrderStatus() allows exactly the documented lifecycle and throws otherwise", () => {
  let allowed = 0;
  for (const s of STATUSES) {
    for (const e of EVENTS) {
      const entry = [...ALLOWED].find((x) => x.startsWith(`${s} ${e} `));
      if (entry !== undefined) {
        assert.equal(nextOrderStatus(s, e), entry.split(" ")[2]);
        allowed++;
      } else {
        assert.throws(() => nextOrderStatus(s, e), OrderTransitionError, `${s} + ${e}`);
      }
    }
  }
  assert.equal(allowed, ALLOWED.size);
  assert.equal(Object.keys(ORDER_TRANSITIONS).length, STATUSES.length);
});

Deno.test("Order.apply() records history and refuses to leave a terminal status", () => {
  const o = new Order(
    "o1",
    "buy",
    "limit",
    "fixed",
    5,
    99,
    null,
    "GTC",
    "order",
    false,
    null,
    0,
    1000,
  );
  o.apply("accept", 2000);
  o.apply("partial_fill", 2000);
  o.apply("partial_fill", 3000);
  o.apply("fill", 4000);
  assert.deepEqual(o.history, [
    { status: "submitted", time: 1000 },
    { status: "pending", time: 2000 },
    { status: "partially_filled", time: 2000 },
    { status: "filled", time: 4000 },
  ]);
  assert.throws(() => o.apply("cancel", 5000), /cannot cancel an order that is filled/);
  assert.equal(o.live, false);
  const r = o.toRecord();
  assert.equal(r.status, "filled");
  assert.equal(r.avgFillPrice, null);
});

Deno.test("nextOrderStatus() agrees with ORDER_TRANSITIONS on every (status, event) pair", () => {
  for (const s of STATUSES) {
    for (const e of EVENTS) {
      const to = ORDER_TRANSITIONS[s][e];
      if (to === undefined) assert.throws(() => nextOrderStatus(s, e), OrderTransitionError);
      else assert.equal(nextOrderStatus(s, e), to, `${s} + ${e}`);
    }
  }
});

Deno.test("Order builds its id from its number only when asked, and keeps a given id", () => {
  const args = [
    "buy",
    "market",
    "sized",
    NaN,
    null,
    null,
    "GTC",
    "signal",
    false,
    null,
    3,
    9,
  ] as const;
  assert.equal(new Order(42, ...args).id, "o42");
  assert.equal(new Order("custom", ...args).id, "custom");
  assert.equal(new Order(7, ...args).toRecord().id, "o7");
});
