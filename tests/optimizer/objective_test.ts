import assert from "node:assert/strict";
import {
  type ComboMetrics,
  parseFilter,
  parseObjective,
  passes,
  rankCombos,
} from "../../optimizer/objective.ts";

function m(over: Partial<ComboMetrics>): ComboMetrics {
  return {
    totalReturn: 0,
    cagr: 0,
    sharpe: 0,
    sortino: 0,
    calmar: 0,
    maxDrawdown: 0,
    trades: 0,
    winRate: 0,
    profitFactor: 0,
    finalEquity: 10_000,
    ...over,
  };
}

Deno.test("parseFilter() reads metric, operator and value; rejects unknown metrics", () => {
  assert.deepEqual(parseFilter("trades>=10"), { metric: "trades", op: ">=", value: 10 });
  assert.deepEqual(parseFilter("maxDrawdown > -0.3"), {
    metric: "maxDrawdown",
    op: ">",
    value: -0.3,
  });
  assert.deepEqual(parseFilter("numTrades<5").metric, "trades");
  assert.throws(() => parseFilter("foo>=1"), /unknown metric "foo"/);
  assert.throws(() => parseFilter("trades>>1"), /Cannot parse filter/);
});

Deno.test("parseObjective() accepts the seven objectives and rejects others", () => {
  for (
    const o of ["sharpe", "sortino", "calmar", "cagr", "totalReturn", "maxDrawdown", "profitFactor"]
  ) {
    assert.equal(parseObjective(o), o);
  }
  assert.equal(parseObjective("sharpeRatio"), "sharpe");
  assert.throws(() => parseObjective("trades"), /Unknown objective "trades"/);
});

Deno.test("passes() applies every filter and never passes NaN", () => {
  assert.ok(passes(m({ trades: 10 }), [parseFilter("trades>=10")]));
  assert.ok(!passes(m({ trades: 9 }), [parseFilter("trades>=10")]));
  assert.ok(!passes(m({ sharpe: NaN }), [parseFilter("sharpe>-100")]));
});

Deno.test("rankCombos() sorts by the objective, drops filtered and NaN-scored last", () => {
  const combos = [
    { params: { a: 1 }, metrics: m({ sharpe: 0.5, trades: 20 }) },
    { params: { a: 2 }, metrics: m({ sharpe: 1.5, trades: 3 }) },
    { params: { a: 3 }, metrics: m({ sharpe: NaN, trades: 30 }) },
    { params: { a: 4 }, metrics: m({ sharpe: 1.0, trades: 30 }) },
  ];
  const ranked = rankCombos(combos, { objective: "sharpe", filters: [parseFilter("trades>=10")] });
  assert.deepEqual(ranked.map((c) => c.params.a), [4, 1, 3]);
  // max drawdown is negative: closer to zero is better
  const dd = rankCombos([
    { params: { a: 1 }, metrics: m({ maxDrawdown: -0.4 }) },
    { params: { a: 2 }, metrics: m({ maxDrawdown: -0.1 }) },
  ], { objective: "maxDrawdown", top: 1 });
  assert.deepEqual(dd.map((c) => c.params.a), [2]);
});
