/**
 * runBacktest(): the loop's contract — signals, errors naming the bar, no look-ahead,
 * determinism, properties (scale invariance, never-trading, fees), events, progress, params.
 */
import assert from "node:assert/strict";
import { allocateBars, barsFromRows } from "../../engine/bars.ts";
import { BacktestCancelled, runBacktest, StrategyError } from "../../engine/backtest.ts";
import type { Bars, DataView, EngineEvent, StrategyContext } from "../../engine/types.ts";
import { randomWalk } from "../_fixtures/random_walk.ts";

/** The fixture's walk from T0, with a seed and a price scale. */
const walk = (n: number, seed = 7, scale = 1): Bars => randomWalk(n, { seed, scale, t0: T0 });

const DAY = 86_400_000;
const T0 = Date.UTC(2020, 0, 1);

/** SMA cross computed from `data.close` (so it exercises the data view). */
class SmaCross {
  params = { fast: 5, slow: 20 };
  OnData(data: DataView, ctx: StrategyContext) {
    const c = data.close, n = c.length;
    const fast = Number(ctx.params.fast), slow = Number(ctx.params.slow);
    if (n < slow) return 0;
    let f = 0, s = 0;
    for (let i = n - fast; i < n; i++) f += c[i];
    for (let i = n - slow; i < n; i++) s += c[i];
    return f / fast > s / slow ? 1 : -1;
  }
}

Deno.test("runBacktest() throws StrategyError naming the bar and the value of a bad signal", () => {
  const bars = walk(20);
  for (const bad of [Number.NaN, "1", {}, 2, null, true]) {
    const S = class {
      OnData(data: DataView) {
        return data.length === 8 ? bad : 0;
      }
    };
    assert.throws(
      () => runBacktest(bars, S as never),
      (e: unknown) => {
        assert.ok(e instanceof StrategyError, String(e));
        assert.equal(e.bar, 7);
        assert.match(e.message, /bar 7/);
        assert.ok(
          e.message.includes(
            bad === null ? "null" : typeof bad === "string" ? '"1"' : String(
              typeof bad === "object" ? "{}" : bad,
            ),
          ),
          e.message,
        );
        return true;
      },
    );
  }
});

Deno.test("runBacktest() wraps an exception thrown by OnData or Initialize in StrategyError", () => {
  const bars = walk(10);
  const Boom = class {
    OnData(data: DataView) {
      if (data.length === 4) throw new Error("kaboom");
    }
  };
  assert.throws(
    () => runBacktest(bars, Boom),
    (e: unknown) => e instanceof StrategyError && e.bar === 3 && /kaboom/.test(e.message),
  );
  const BadInit = class {
    Initialize() {
      throw new TypeError("no init");
    }
    OnData() {}
  };
  assert.throws(
    () => runBacktest(bars, BadInit),
    (e: unknown) => e instanceof StrategyError && e.bar === -1 && /no init/.test(e.message),
  );
});

Deno.test("runBacktest() gives no look-ahead: bars after k never change what the strategy saw up to k", () => {
  const a = walk(60, 3);
  const b = walk(60, 3);
  const k = 30;
  // B differs from A only after bar k.
  for (let i = k + 1; i < 60; i++) {
    b.open[i] *= 1.7;
    b.high[i] *= 1.9;
    b.low[i] *= 1.5;
    b.close[i] *= 1.8;
    b.volume[i] += 5;
  }
  const observe = (bars: Bars) => {
    const seen: string[] = [];
    const S = class {
      OnData(data: DataView, ctx: StrategyContext) {
        const t = data.length - 1;
        if (t > k) return 0;
        // Everything reachable: every column, its whole backing buffer, the bar, indicators.
        const cols = [data.timestamp, data.open, data.high, data.low, data.close, data.volume];
        const buffers = cols.map((c) => Array.from(new Float64Array(c.buffer)));
        for (const buf of buffers) {
          for (let i = t + 1; i < buf.length; i++) {
            assert.equal(buf[i], 0, `buffer holds a value of bar ${i} at bar ${t}`);
          }
        }
        seen.push(JSON.stringify({
          t,
          cols: cols.map((c) => Array.from(c)),
          lengths: cols.map((c) => c.length),
          buffers,
          bar: data.bar,
          // ctx.ta computes ahead over the engine's series (engine/ta.ts): only values that
          // depend on bars ≤ t may come out at t, for every kind, source and crossover.
          ta: [
            ctx.ta.sma(5),
            ctx.ta.ema(3),
            ctx.ta.highest(4),
            ctx.ta.atr(3),
            ctx.ta.rsi(4, "hl2"),
            ctx.ta.stdev(6, "high"),
            ctx.ta.lowest(3, "low"),
            ctx.ta.bollinger(5),
            ctx.ta.macd(3, 6, 2),
            ctx.ta.crossover({ sma: 3 }, { ema: 6 }),
            ctx.ta.crossunder({ rsi: 3 }, 50),
          ],
          ctx: [ctx.cash, ctx.equity, ctx.position, ctx.barIndex],
          keys: Object.keys(ctx),
        }));
        return t % 7 === 0 ? 1 : t % 5 === 0 ? -1 : 0;
      }
    };
    runBacktest(bars, S, { config: { mode: "long_short" } });
    return seen;
  };
  const sa = observe(a), sb = observe(b);
  assert.equal(sa.length, k + 1);
  assert.deepEqual(sa, sb);
});

Deno.test("runBacktest() data views end at the current bar and are cached within a bar", () => {
  const bars = walk(12);
  const S = class {
    OnData(data: DataView) {
      const t = data.length - 1;
      assert.equal(data.close.length, t + 1);
      assert.equal(data.close, data.close);
      assert.equal(data.bar, data.bar);
      assert.equal(data.close[t], bars.close[t]);
      assert.equal(data.timestamp[t], bars.timestamp[t]);
      assert.equal(data.bar.close, bars.close[t]);
      assert.throws(() => {
        (data.bar as { close: number }).close = 0;
      }, TypeError);
      assert.notEqual(data.close.buffer, bars.close.buffer);
    }
  };
  runBacktest(bars, S);
});

Deno.test("runBacktest() ctx exposes no engine internals", () => {
  const bars = walk(5);
  let probe: Record<string, unknown> = {};
  const S = class {
    OnData(data: DataView, ctx: StrategyContext) {
      const names = new Set<string>();
      for (
        let o: object | null = ctx;
        o !== null && o !== Object.prototype;
        o = Object.getPrototypeOf(o)
      ) {
        for (const n of Object.getOwnPropertyNames(o)) names.add(n);
      }
      const dnames = new Set<string>();
      for (
        let o: object | null = data;
        o !== null && o !== Object.prototype;
        o = Object.getPrototypeOf(o)
      ) {
        for (const n of Object.getOwnPropertyNames(o)) dnames.add(n);
      }
      probe = { ctx: [...names].sort(), data: [...dnames].sort(), own: Object.keys(ctx) };
    }
  };
  runBacktest(bars, S);
  assert.deepEqual(probe.own, []);
  assert.deepEqual(probe.ctx, [
    "barIndex",
    "buy",
    "cancel",
    "cash",
    "close",
    "constructor",
    "equity",
    "log",
    "order",
    "params",
    "position",
    "sell",
    "ta",
  ]);
  assert.deepEqual(probe.data, [
    "bar",
    "close",
    "constructor",
    "high",
    "length",
    "low",
    "open",
    "timestamp",
    "volume",
  ]);
});

Deno.test("runBacktest() twice on the same input gives byte-identical JSON", () => {
  const bars = walk(300);
  const opts = { config: { feeTaker: 0.001, slippageBps: 3, mode: "long_short" as const } };
  const a = JSON.stringify(runBacktest(bars, SmaCross, opts));
  const b = JSON.stringify(runBacktest(bars, SmaCross, opts));
  assert.equal(a, b);
  assert.ok(JSON.parse(a).trades.length > 5);
});

Deno.test("runBacktest() returns are unchanged when all prices are scaled by a constant", () => {
  const a = runBacktest(walk(300, 11), SmaCross, {
    config: { feeTaker: 0.001, mode: "long_short" },
  });
  const b = runBacktest(walk(300, 11, 37.5), SmaCross, {
    config: { feeTaker: 0.001, mode: "long_short" },
  });
  assert.equal(a.trades.length, b.trades.length);
  for (let i = 1; i < a.equity.length; i++) {
    const ra = a.equity[i].equity / a.equity[i - 1].equity;
    const rb = b.equity[i].equity / b.equity[i - 1].equity;
    assert.ok(Math.abs(ra - rb) < 1e-9, `bar ${i}: ${ra} vs ${rb}`);
  }
  for (let i = 0; i < a.trades.length; i++) {
    assert.ok(Math.abs(a.trades[i].returnPct - b.trades[i].returnPct) < 1e-9);
  }
});

Deno.test("runBacktest() keeps equity equal to cash for a strategy that never trades", () => {
  const r = runBacktest(
    walk(100),
    class {
      OnData() {
        return 0;
      }
    },
    { config: { cash: 12_345 } },
  );
  assert.equal(r.equity.length, 100);
  for (const e of r.equity) assert.equal(e.equity, 12_345);
  assert.equal(r.trades.length, 0);
  assert.equal(r.orders.length, 0);
  assert.equal(r.metrics.totalReturn, 0);
});

Deno.test("runBacktest() fees only ever lower equity", () => {
  const bars = walk(300, 5);
  const base = runBacktest(bars, SmaCross, {
    config: { mode: "long_short", sizing: { kind: "units", value: 10 } },
  });
  for (const cfg of [{ feeTaker: 0.002 }, { feeFixed: 1 }, { feeTaker: 0.001, feeFixed: 0.5 }]) {
    const fee = runBacktest(bars, SmaCross, {
      config: { mode: "long_short", sizing: { kind: "units", value: 10 }, ...cfg },
    });
    assert.equal(fee.trades.length, base.trades.length);
    let strictly = false;
    for (let i = 0; i < bars.length; i++) {
      assert.ok(fee.equity[i].equity <= base.equity[i].equity + 1e-9, `bar ${i}`);
      if (fee.equity[i].equity < base.equity[i].equity) strictly = true;
    }
    assert.ok(strictly);
    assert.ok(fee.metrics.feesPaid! > 0);
  }
});

Deno.test("runBacktest() emits events per bar in the order bar → fill → signal → order", () => {
  const bars = barsFromRows([
    [T0, 100, 101, 99, 100, 10],
    [T0 + DAY, 101, 102, 100, 101, 10],
    [T0 + 2 * DAY, 102, 103, 101, 102, 10],
  ]);
  const events: EngineEvent[] = [];
  runBacktest(
    bars,
    class {
      OnData(data: DataView) {
        return data.length === 1 ? 1 : 0;
      }
    },
    { onEvent: (e) => events.push(e) },
  );
  assert.deepEqual(
    events.map((e) => `${e.index}:${e.type}${e.type === "order" ? ":" + e.status : ""}`),
    [
      "0:bar",
      "0:signal",
      "0:order:submitted",
      "1:bar",
      "1:order:pending",
      "1:fill",
      "2:bar",
    ],
  );
});

Deno.test("runBacktest() reports progress and stops when shouldStop says so", () => {
  const bars = walk(1000);
  const seen: number[] = [];
  runBacktest(bars, SmaCross, { progressEvery: 250, onProgress: (p) => seen.push(p.index) });
  assert.deepEqual(seen, [249, 499, 749, 999]);
  let calls = 0;
  assert.throws(
    () => runBacktest(bars, SmaCross, { progressEvery: 100, shouldStop: () => ++calls === 3 }),
    (e: unknown) => e instanceof BacktestCancelled && e.bar === 299,
  );
});

Deno.test("runBacktest() merges params over the strategy's defaults and rejects unknown ones", () => {
  let seen: unknown = null;
  const S = class {
    params = { fast: 5, slow: 20, label: "x", on: false };
    Initialize(ctx: StrategyContext) {
      seen = { ctx: { ...ctx.params }, self: { ...this.params } };
    }
    OnData() {}
  };
  const r = runBacktest(walk(5), S, { params: { fast: "7" as never, on: "true" as never } });
  const expected = { fast: 7, slow: 20, label: "x", on: true };
  assert.deepEqual(seen, { ctx: expected, self: expected });
  assert.deepEqual(r.params, expected);
  assert.throws(() => runBacktest(walk(5), S, { params: { fsat: 1 } }), /Unknown parameter "fsat"/);
  assert.throws(() => runBacktest(walk(5), S, { params: { fast: "abc" } }), /fast=abc/);
});

Deno.test("runBacktest() captures ctx.log lines up to logLimit", () => {
  const r = runBacktest(
    walk(10),
    class {
      OnData(data: DataView, ctx: StrategyContext) {
        ctx.log("bar", data.length - 1, { x: 1 });
      }
    },
    { logLimit: 3 },
  );
  assert.equal(r.logs.length, 4);
  assert.equal(r.logs[0], '2020-01-01T00:00:00.000Z bar 0 {"x":1}');
  assert.match(r.logs[3], /7 more log lines dropped/);
});

Deno.test("runBacktest() rejects invalid bars and config with errors naming the problem", () => {
  const bars = walk(5);
  bars.close[2] = Number.NaN;
  assert.throws(() => runBacktest(bars, SmaCross), /Row 2: close is NaN/);
  assert.throws(() => runBacktest(walk(5), SmaCross, { config: { cash: -1 } }), /config\.cash/);
});

Deno.test("runBacktest() accepts a strategy instance as well as a class", () => {
  const inst = new SmaCross();
  const a = runBacktest(walk(200), inst);
  const b = runBacktest(walk(200), SmaCross);
  assert.equal(JSON.stringify(a), JSON.stringify(b));
});

Deno.test("runBacktest() on zero bars returns an empty result", () => {
  const r = runBacktest(allocateBars(0), SmaCross);
  assert.equal(r.equity.length, 0);
  assert.deepEqual(r.bars, { count: 0, start: null, end: null });
});

Deno.test("runBacktest() result survives structuredClone and JSON with its equity curve", () => {
  const r = runBacktest(walk(50), SmaCross);
  const clone = structuredClone(r);
  assert.equal(clone.equity.length, 50);
  assert.deepEqual(clone.equity[7], { time: T0 + 7 * DAY, equity: r.equity[7].equity });
  assert.equal(JSON.stringify(clone), JSON.stringify(r));
  assert.ok(Object.keys(r).includes("equity"));
});

Deno.test("runBacktest() calls onTrade for each closed trade as it closes", () => {
  const seen: number[] = [];
  const r = runBacktest(walk(300, 9), SmaCross, {
    config: { mode: "long_short" },
    onTrade: (t) => seen.push(t.exitTime!),
  });
  const closed = r.trades.filter((t) => t.exitTime !== null);
  assert.ok(closed.length > 3);
  assert.deepEqual(seen, closed.map((t) => t.exitTime));
});
