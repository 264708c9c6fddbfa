import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest, StrategyError } from "../../engine/backtest.ts";
import type { DataView, PositionView, StrategyContext } from "../../engine/types.ts";

const DAY = 86_400_000;
const bars = barsFromRows([
  [0, 100, 101, 99, 100, 10],
  [DAY, 102, 103, 101, 102, 10],
  [2 * DAY, 104, 107, 103, 106, 10],
]);

Deno.test("StrategyCtx reports cash, equity, position and bar index as the portfolio moves", () => {
  const seen: { cash: number; equity: number; pos: PositionView; i: number }[] = [];
  runBacktest(
    bars,
    class {
      OnData(data: DataView, ctx: StrategyContext) {
        seen.push({ cash: ctx.cash, equity: ctx.equity, pos: ctx.position, i: ctx.barIndex });
        if (data.length === 1) ctx.buy({ quantity: 10 });
      }
    },
    { config: { cash: 5000 } },
  );
  assert.deepEqual(seen[0], {
    cash: 5000,
    equity: 5000,
    pos: { quantity: 0, side: "flat", avgPrice: 0 },
    i: 0,
  });
  assert.deepEqual(seen[1], {
    cash: 5000 - 1020,
    equity: 5000 - 1020 + 1020,
    pos: { quantity: 10, side: "long", avgPrice: 102 },
    i: 1,
  });
  assert.equal(seen[2].equity, 5000 - 1020 + 1060);
  assert.ok(Object.isFrozen(seen[1].pos));
});

Deno.test("StrategyCtx refuses orders in Initialize and malformed requests name the problem", () => {
  assert.throws(
    () =>
      runBacktest(
        bars,
        class {
          Initialize(ctx: StrategyContext) {
            ctx.buy();
          }
          OnData() {}
        },
      ),
    (e: unknown) => e instanceof StrategyError && /cannot be called in Initialize/.test(e.message),
  );
  assert.throws(
    () =>
      runBacktest(
        bars,
        class {
          OnData(_d: DataView, ctx: StrategyContext) {
            ctx.order({ side: "up" as never });
          }
        },
      ),
    (e: unknown) =>
      e instanceof StrategyError && e.bar === 0 && /Invalid order side "up"/.test(e.message),
  );
  assert.throws(
    () =>
      runBacktest(
        bars,
        class {
          OnData(_d: DataView, ctx: StrategyContext) {
            ctx.buy({ tif: "FOK" as never });
          }
        },
      ),
    /Invalid time in force "FOK"/,
  );
});

Deno.test("StrategyCtx.close() returns null when flat and an order id otherwise", () => {
  const ids: (string | null)[] = [];
  const r = runBacktest(
    bars,
    class {
      OnData(data: DataView, ctx: StrategyContext) {
        if (data.length === 1) {
          ids.push(ctx.close());
          ctx.buy({ quantity: 1 });
        }
        if (data.length === 2) ids.push(ctx.close());
      }
    },
  );
  assert.equal(ids[0], null);
  assert.equal(ids[1], "o2");
  assert.equal(r.trades[0].exitPrice, 104);
  assert.equal(r.trades[0].exitReason, "order");
});
