/**
 * Parameter grids: per-parameter ranges (min/max/step) or explicit lists, their cartesian
 * product, and constraints between parameters ("fast < slow").
 *
 * @module
 */

/** A parameter value as strategies receive it. */
export type ParamValue = number | string | boolean;

/** One combination of parameter values. */
export type ParamSet = Record<string, ParamValue>;

/** A range `min, min+step, …, ≤ max` or an explicit list of values. */
export type ParamSpec =
  | { min: number; max: number; step: number }
  | { values: ParamValue[] };

/** A grid: the ranges of each parameter and constraints every combination must satisfy. */
export interface GridSpec {
  params: Record<string, ParamSpec>;
  /** Constraints such as `"fast < slow"` or `"k >= 1.5"` (operands: parameter names or numbers). */
  constraints?: string[];
}

/** A parsed constraint `lhs op rhs`. */
export interface Constraint {
  lhs: string | number;
  op: "<" | "<=" | ">" | ">=" | "==" | "!=";
  rhs: string | number;
}

/** Largest grid `expandGrid` materializes; beyond it use random search. */
export const MAX_GRID_SIZE = 5_000_000;

const CONSTRAINT_RE =
  /^\s*([A-Za-z_][\w]*|-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(<=|>=|==|!=|<|>)\s*([A-Za-z_][\w]*|-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

/**
 * Parses `"fast < slow"`; throws `SyntaxError` naming the constraint when it is malformed.
 *
 * @example
 * ```ts
 * parseConstraint("fast < slow"); // { lhs: "fast", op: "<", rhs: "slow" }
 * ```
 */
export function parseConstraint(text: string): Constraint {
  const m = CONSTRAINT_RE.exec(text);
  if (!m) {
    throw new SyntaxError(
      `Cannot parse constraint "${text}": expected "<name|number> <op> <name|number>" with op one of < <= > >= == !=`,
    );
  }
  const operand = (s: string) => (/^[A-Za-z_]/.test(s) ? s : Number(s));
  return { lhs: operand(m[1]), op: m[2] as Constraint["op"], rhs: operand(m[3]) };
}

/**
 * How many values one range spec has, checked as `rangeValues` checks it, without building
 * them: a request of twenty 5M-value axes is refused in microseconds, not after 10^8 values.
 */
export function rangeCount(name: string, spec: ParamSpec): number {
  if ("values" in spec) {
    if (!Array.isArray(spec.values) || spec.values.length === 0) {
      throw new RangeError(`Parameter "${name}": values must be a non-empty list`);
    }
    return spec.values.length;
  }
  const { min, max, step } = spec;
  for (const [k, v] of [["min", min], ["max", max], ["step", step]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new RangeError(`Parameter "${name}": ${k} must be a finite number, got ${v}`);
    }
  }
  if (!(step > 0)) throw new RangeError(`Parameter "${name}": step must be > 0, got ${step}`);
  if (max < min) throw new RangeError(`Parameter "${name}": max ${max} is below min ${min}`);
  const count = Math.floor((max - min) / step + 1e-9) + 1;
  if (count > MAX_GRID_SIZE) {
    throw new RangeError(`Parameter "${name}": ${count} values is more than ${MAX_GRID_SIZE}`);
  }
  return count;
}

/** Values of one range spec, rounded to the step's decimals so 0.1 steps do not drift. */
export function rangeValues(name: string, spec: ParamSpec): ParamValue[] {
  const count = rangeCount(name, spec);
  if ("values" in spec) return [...spec.values];
  const out: number[] = new Array(count);
  for (let i = 0; i < count; i++) out[i] = _rangeValue(spec, i);
  return out;
}

/** The `i`-th value of a checked axis (`rangeValues(name, spec)[i]` without building it). */
export function rangeValueAt(name: string, spec: ParamSpec, i: number): ParamValue {
  const count = rangeCount(name, spec);
  if (!(i >= 0 && i < count)) throw new RangeError(`Parameter "${name}": no value ${i}`);
  return "values" in spec ? spec.values[i] : _rangeValue(spec, i);
}

function _rangeValue(spec: { min: number; step: number }, i: number): number {
  const decimals = Math.max(_decimals(spec.min), _decimals(spec.step));
  return Number((spec.min + i * spec.step).toFixed(decimals));
}

function _decimals(x: number): number {
  const s = String(x);
  if (s.includes("e-")) return Math.min(20, Number(s.split("e-")[1]) + 6);
  const dot = s.indexOf(".");
  return dot < 0 ? 0 : Math.min(20, s.length - dot - 1);
}

/**
 * Parses the CLI form `name=min:max:step` or `name=a,b,c` into one entry of `GridSpec.params`.
 *
 * @example
 * ```ts
 * parseParamArg("fast=5:20:5"); // ["fast", { min: 5, max: 20, step: 5 }]
 * parseParamArg("mode=a,b");    // ["mode", { values: ["a", "b"] }]
 * ```
 */
export function parseParamArg(arg: string): [string, ParamSpec] {
  const eq = arg.indexOf("=");
  if (eq <= 0) {
    throw new SyntaxError(`Cannot parse grid "${arg}": expected name=min:max:step or name=a,b,c`);
  }
  const name = arg.slice(0, eq).trim();
  const rest = arg.slice(eq + 1).trim();
  if (rest.includes(":")) {
    const parts = rest.split(":").map(Number);
    if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p))) {
      throw new SyntaxError(`Cannot parse grid "${arg}": min:max:step must be three numbers`);
    }
    return [name, { min: parts[0], max: parts[1], step: parts[2] }];
  }
  const values = rest.split(",").map((s) => s.trim()).filter((s) => s !== "").map(_literal);
  if (values.length === 0) throw new SyntaxError(`Cannot parse grid "${arg}": no values`);
  return [name, { values }];
}

function _literal(s: string): ParamValue {
  if (s === "true") return true;
  if (s === "false") return false;
  const n = Number(s);
  return Number.isFinite(n) ? n : s;
}

/** Whether `params` satisfies every constraint (unknown names are an error, not false). */
export function satisfies(params: ParamSet, constraints: Constraint[]): boolean {
  for (const c of constraints) {
    const a = _operand(params, c.lhs), b = _operand(params, c.rhs);
    let ok: boolean;
    switch (c.op) {
      case "<":
        ok = a < b;
        break;
      case "<=":
        ok = a <= b;
        break;
      case ">":
        ok = a > b;
        break;
      case ">=":
        ok = a >= b;
        break;
      case "==":
        ok = a === b;
        break;
      case "!=":
        ok = a !== b;
        break;
      default: {
        const _exhaustive: never = c.op;
        throw new Error(`Unknown operator ${_exhaustive}`);
      }
    }
    if (!ok) return false;
  }
  return true;
}

function _operand(params: ParamSet, x: string | number): ParamValue {
  if (typeof x === "number") return x;
  if (!(x in params)) throw new RangeError(`Constraint refers to unknown parameter "${x}"`);
  return params[x];
}

/** Number of combinations before constraints (each axis checked, none built). */
export function gridSize(spec: GridSpec): number {
  let n = 1;
  for (const [name, p] of Object.entries(spec.params)) n *= rangeCount(name, p);
  return n;
}

/**
 * Checks a grid's constraints without expanding it: each must parse, and each name it uses
 * must be a grid parameter or one of `fixed` (what `satisfies` would find missing only when
 * the first combination is tried, after the data was loaded).
 */
export function checkConstraints(spec: GridSpec, fixed: ParamSet = {}): Constraint[] {
  const out = (spec.constraints ?? []).map(parseConstraint);
  for (const c of out) {
    for (const x of [c.lhs, c.rhs]) {
      if (typeof x === "string" && !(x in spec.params) && !(x in fixed)) {
        const known = [...Object.keys(spec.params), ...Object.keys(fixed)];
        throw new RangeError(
          `Constraint refers to unknown parameter "${x}" (the grid has ${known.join(", ")})`,
        );
      }
    }
  }
  return out;
}

/**
 * Every combination of the grid that satisfies its constraints, in a fixed order (the last
 * parameter varies fastest). `fixed` values are added to every combination.
 *
 * @example
 * ```ts
 * expandGrid({ params: { fast: { min: 5, max: 10, step: 5 }, slow: { values: [10, 20] } },
 *   constraints: ["fast < slow"] });
 * // [{fast:5,slow:10},{fast:5,slow:20},{fast:10,slow:20}]
 * ```
 */
export function expandGrid(spec: GridSpec, fixed: ParamSet = {}): ParamSet[] {
  const names = Object.keys(spec.params);
  // Counted before any axis is built: a refused grid costs nothing.
  const total = gridSize(spec);
  if (total > MAX_GRID_SIZE) {
    throw new RangeError(
      `Grid has ${total} combinations, more than ${MAX_GRID_SIZE}; use random search`,
    );
  }
  const lists = names.map((n) => rangeValues(n, spec.params[n]));
  const constraints = (spec.constraints ?? []).map(parseConstraint);
  const out: ParamSet[] = [];
  const idx = new Array(names.length).fill(0);
  for (let k = 0; k < total; k++) {
    const p: ParamSet = { ...fixed };
    for (let j = 0; j < names.length; j++) p[names[j]] = lists[j][idx[j]];
    if (satisfies(p, constraints)) out.push(p);
    for (let j = names.length - 1; j >= 0; j--) {
      if (++idx[j] < lists[j].length) break;
      idx[j] = 0;
    }
  }
  return out;
}
