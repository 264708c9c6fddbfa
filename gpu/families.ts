/**
 * The built-in strategy families the GPU backends evaluate, each a rule over float64 series
 * that engine/indicators.ts computes once per grid. Each family mirrors one example strategy
 * in examples/ exactly (the conformance suite runs that example through the engine and the
 * kernels side by side).
 *
 * A rule is two conditions on the bar just closed: `enter` gives signal 1, otherwise `exit`
 * gives signal -1, otherwise 0 (hold). A condition compares two operands (a series or a
 * constant) with `>` or `<`; with `cross` it also requires the opposite-or-equal relation on
 * the previous bar, which is `ta.crossover` / `ta.crossunder`. An optional protective stop
 * (Donchian) fixes a stop level at the entry-signal bar.
 *
 * @module
 */
import { atr, bollinger, ema, highest, lowest, rsi, sma } from "../engine/indicators.ts";
import type { Bars } from "../engine/types.ts";
import type { ParamSet } from "../optimizer/grid.ts";

/** A rule operand: the value of a named series at bar t, or a constant. */
export type Operand = { series: string } | { const: number };

/** `lhs > rhs` (op "gt") or `lhs < rhs` (op "lt"), optionally as a cross on this bar. */
export interface Condition {
  lhs: Operand;
  op: "gt" | "lt";
  rhs: Operand;
  cross: boolean;
}

/**
 * Donchian-style explicit orders: entries only when flat and only when the stop level at the
 * signal bar is > 0 (`ctx.buy({ stopLoss })`), exits (`ctx.close()`) only when long, and a
 * protective sell stop at that level, active from the bar after the entry fills.
 */
export interface StopRule {
  /** Series whose value at the entry-signal bar is the stop price. */
  level: string;
}

/** The rule of one combination. */
export interface ComboRule {
  enter: Condition;
  exit: Condition;
  stop?: StopRule;
}

/** Parameter of a family, with the example strategy's default. */
export interface FamilyParam {
  name: string;
  default: number;
  integer: boolean;
  min: number;
}

/** A built-in family. */
export interface Family {
  id: FamilyId;
  name: string;
  /** Example strategy file (relative to the repository root) this family reproduces. */
  example: string;
  params: FamilyParam[];
  /** The rule of one combination (params already merged over the defaults). */
  rule(p: Record<string, number>): ComboRule;
}

/** Ids of the built-in families. */
export type FamilyId = "sma_cross" | "ema_cross" | "rsi" | "bollinger" | "donchian_breakout";

const s = (series: string): Operand => ({ series });
const c = (value: number): Operand => ({ const: value });

function intParam(name: string, def: number, min = 1): FamilyParam {
  return { name, default: def, integer: true, min };
}

/** The five families, by id. */
export const FAMILIES: Readonly<Record<FamilyId, Family>> = {
  sma_cross: {
    id: "sma_cross",
    name: "SMA cross",
    example: "examples/sma_cross.ts",
    params: [intParam("fast", 10), intParam("slow", 30)],
    rule: (p) => ({
      enter: { lhs: s(`sma:${p.fast}`), op: "gt", rhs: s(`sma:${p.slow}`), cross: false },
      exit: { lhs: s(`sma:${p.fast}`), op: "lt", rhs: s(`sma:${p.slow}`), cross: false },
    }),
  },
  ema_cross: {
    id: "ema_cross",
    name: "EMA cross",
    example: "examples/ema_cross.ts",
    params: [intParam("fast", 12), intParam("slow", 26)],
    rule: (p) => ({
      enter: { lhs: s(`ema:${p.fast}`), op: "gt", rhs: s(`ema:${p.slow}`), cross: false },
      exit: { lhs: s(`ema:${p.fast}`), op: "lt", rhs: s(`ema:${p.slow}`), cross: false },
    }),
  },
  rsi: {
    id: "rsi",
    name: "RSI thresholds",
    example: "examples/rsi.ts",
    params: [
      intParam("period", 14),
      { name: "oversold", default: 30, integer: false, min: 0 },
      { name: "overbought", default: 70, integer: false, min: 0 },
    ],
    rule: (p) => ({
      enter: { lhs: s(`rsi:${p.period}`), op: "lt", rhs: c(p.oversold), cross: false },
      exit: { lhs: s(`rsi:${p.period}`), op: "gt", rhs: c(p.overbought), cross: false },
    }),
  },
  bollinger: {
    id: "bollinger",
    name: "Bollinger mean reversion",
    example: "examples/bollinger.ts",
    params: [intParam("period", 20), { name: "k", default: 2, integer: false, min: 0 }],
    rule: (p) => ({
      enter: { lhs: s("close"), op: "lt", rhs: s(`bb_lower:${p.period}:${p.k}`), cross: false },
      exit: { lhs: s("close"), op: "gt", rhs: s(`bb_middle:${p.period}:${p.k}`), cross: false },
    }),
  },
  donchian_breakout: {
    id: "donchian_breakout",
    name: "Donchian breakout",
    example: "examples/donchian_breakout.ts",
    params: [
      intParam("period", 20),
      intParam("exit", 10),
      { name: "stopAtr", default: 2, integer: false, min: 0 },
    ],
    rule: (p) => ({
      enter: { lhs: s("close"), op: "gt", rhs: s(`prev_highest:${p.period}`), cross: false },
      exit: { lhs: s("close"), op: "lt", rhs: s(`prev_lowest:${p.exit}`), cross: false },
      stop: { level: `atr_stop:${p.period}:${p.stopAtr}` },
    }),
  },
};

/** Whether `id` names a built-in family. */
export function isFamilyId(id: string): id is FamilyId {
  return Object.hasOwn(FAMILIES, id);
}

/**
 * Params of a combination merged over the family defaults, as numbers; throws `RangeError`
 * naming a parameter the family does not have or a value it cannot take.
 */
export function familyParams(family: Family, params: ParamSet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of family.params) out[p.name] = p.default;
  for (const [k, v] of Object.entries(params)) {
    const spec = family.params.find((p) => p.name === k);
    if (!spec) {
      throw new RangeError(
        `${family.name} has no parameter "${k}" (it has ${
          family.params.map((p) => p.name).join(", ")
        })`,
      );
    }
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`${family.name}: parameter "${k}" must be a number, got ${v}`);
    }
    if (spec.integer && !Number.isInteger(v)) {
      throw new RangeError(`${family.name}: parameter "${k}" must be an integer, got ${v}`);
    }
    if (v < spec.min) {
      throw new RangeError(`${family.name}: parameter "${k}" must be >= ${spec.min}, got ${v}`);
    }
    out[k] = v;
  }
  return out;
}

/** The series names a rule reads (operands and stop), without duplicates. */
export function ruleSeries(rule: ComboRule): string[] {
  const out: string[] = [];
  const add = (o: Operand) => {
    if ("series" in o && !out.includes(o.series)) out.push(o.series);
  };
  add(rule.enter.lhs);
  add(rule.enter.rhs);
  add(rule.exit.lhs);
  add(rule.exit.rhs);
  if (rule.stop) {
    if (!out.includes(rule.stop.level)) out.push(rule.stop.level);
    if (!out.includes("low")) out.push("low");
  }
  return out;
}

/**
 * Computes a named series in float64 with engine/indicators.ts: `open|high|low|close`,
 * `sma:P`, `ema:P`, `rsi:P` (of close), `bb_upper|bb_middle|bb_lower:P:K`,
 * `prev_highest:P` / `prev_lowest:P` (highest high / lowest low of the P bars before t),
 * `atr_stop:P:K` (close − K × ATR(P)).
 */
export function computeSeries(name: string, bars: Bars): Float64Array {
  const [kind, a, b] = name.split(":");
  const n = bars.length;
  const p = Number(a), k = Number(b);
  switch (kind) {
    case "open":
    case "high":
    case "low":
    case "close":
      return bars[kind];
    case "sma":
      return sma(bars.close, p);
    case "ema":
      return ema(bars.close, p);
    case "rsi":
      return rsi(bars.close, p);
    case "bb_upper":
      return bollinger(bars.close, p, k).upper;
    case "bb_middle":
      return bollinger(bars.close, p, k).middle;
    case "bb_lower":
      return bollinger(bars.close, p, k).lower;
    case "prev_highest":
    case "prev_lowest": {
      const src = kind === "prev_highest" ? highest(bars.high, p) : lowest(bars.low, p);
      const out = new Float64Array(n);
      out[0] = NaN;
      for (let t = 1; t < n; t++) out[t] = src[t - 1];
      return out;
    }
    case "atr_stop": {
      const v = atr(bars.high, bars.low, bars.close, p);
      const out = new Float64Array(n);
      for (let t = 0; t < n; t++) out[t] = bars.close[t] - k * v[t];
      return out;
    }
    default:
      throw new RangeError(`Unknown series "${name}"`);
  }
}

/** Anything that hands out series by name (a cache, or a batch's uploaded series). */
export interface SeriesSource {
  get(name: string): Float64Array;
}

/** Computes each distinct series once, on first use. */
export class SeriesCache implements SeriesSource {
  #bars: Bars;
  #map = new Map<string, Float64Array>();
  constructor(bars: Bars) {
    this.#bars = bars;
  }
  /** The series named `name`, computed on first use. */
  get(name: string): Float64Array {
    let v = this.#map.get(name);
    if (!v) {
      v = computeSeries(name, this.#bars);
      this.#map.set(name, v);
    }
    return v;
  }
  /** Drops cached series (between batches, to bound memory). */
  clear(): void {
    this.#map.clear();
  }
}
