/**
 * Backtest configuration: defaults, validation and the `--sizing` parser.
 *
 * @module
 */
import type { BacktestConfig, Sizing, SlippageModel } from "./types.ts";

/** The configuration a backtest uses when nothing is overridden. */
export const DEFAULT_CONFIG: BacktestConfig = Object.freeze({
  cash: 10_000,
  feeTaker: 0,
  feeMaker: 0,
  feeFixed: 0,
  slippage: Object.freeze({ kind: "none" }) as SlippageModel,
  mode: "long_only",
  sizing: Object.freeze({ kind: "fraction", value: 1 }) as Sizing,
  wholeUnits: false,
  closeAtEnd: false,
  annualization: null,
  leverage: 1,
  maintenanceMargin: 0.25,
  fillOn: "next_open",
}) as BacktestConfig;

/** A partial configuration as callers pass it; `slippageBps` is a shorthand for bps slippage. */
export type ConfigInput = Partial<BacktestConfig> & { slippageBps?: number };

const KEYS = new Set<string>([...Object.keys(DEFAULT_CONFIG), "slippageBps"]);

function finite(name: string, v: unknown, min: number, minInclusive: boolean, max = Infinity) {
  if (
    typeof v !== "number" || !Number.isFinite(v) || (minInclusive ? v < min : v <= min) ||
    v > max
  ) {
    const range = `${minInclusive ? "≥" : ">"} ${min}${max === Infinity ? "" : ` and ≤ ${max}`}`;
    throw new RangeError(
      `Invalid config.${name}: expected a finite number ${range}, got ${show(v)}`,
    );
  }
  return v;
}

function show(v: unknown): string {
  if (typeof v === "number") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function bool(name: string, v: unknown): boolean {
  if (typeof v !== "boolean") {
    throw new RangeError(`Invalid config.${name}: expected true or false, got ${show(v)}`);
  }
  return v;
}

function slippage(v: unknown): SlippageModel {
  const s = v as Record<string, unknown> | null;
  if (s === null || typeof s !== "object") {
    throw new RangeError(`Invalid config.slippage: expected an object, got ${show(v)}`);
  }
  switch (s.kind) {
    case "none":
      return { kind: "none" };
    case "bps":
      return { kind: "bps", bps: finite("slippage.bps", s.bps, 0, true, 10_000) };
    case "ticks":
      return {
        kind: "ticks",
        ticks: finite("slippage.ticks", s.ticks, 0, true),
        tickSize: finite("slippage.tickSize", s.tickSize, 0, false),
      };
    case "volume_share":
      return {
        kind: "volume_share",
        volumeLimit: finite("slippage.volumeLimit", s.volumeLimit, 0, false, 1),
        priceImpact: finite("slippage.priceImpact", s.priceImpact, 0, true, 1),
      };
    default:
      throw new RangeError(
        `Invalid config.slippage.kind: expected none, bps, ticks or volume_share, got ${
          show(s.kind)
        }`,
      );
  }
}

function sizing(v: unknown): Sizing {
  const s = v as Record<string, unknown> | null;
  if (s === null || typeof s !== "object") {
    throw new RangeError(`Invalid config.sizing: expected an object, got ${show(v)}`);
  }
  if (s.kind !== "fraction" && s.kind !== "units" && s.kind !== "notional") {
    throw new RangeError(
      `Invalid config.sizing.kind: expected fraction, units or notional, got ${show(s.kind)}`,
    );
  }
  return { kind: s.kind, value: finite("sizing.value", s.value, 0, false) };
}

/**
 * Merges `partial` over {@linkcode DEFAULT_CONFIG} and validates every field, throwing a
 * `RangeError` that names the field ("Invalid config.cash: …"). Unknown fields are errors too,
 * so a typo never silently falls back to a default.
 *
 * @example
 * ```ts
 * resolveConfig({ cash: 5000, slippageBps: 5 }).slippage; // { kind: "bps", bps: 5 }
 * ```
 */
export function resolveConfig(partial: ConfigInput = {}): BacktestConfig {
  if (partial === null || typeof partial !== "object") {
    throw new RangeError(`Invalid config: expected an object, got ${show(partial)}`);
  }
  for (const k of Object.keys(partial)) {
    if (!KEYS.has(k)) throw new RangeError(`Unknown config field "${k}"`);
  }
  const p = partial as Record<string, unknown>;
  const get = (k: string) => (p[k] === undefined ? (DEFAULT_CONFIG as never)[k] : p[k]);
  let slip = get("slippage");
  if (p.slippageBps !== undefined) {
    if (p.slippage !== undefined) {
      throw new RangeError("Invalid config: give either slippage or slippageBps, not both");
    }
    slip = { kind: "bps", bps: finite("slippageBps", p.slippageBps, 0, true, 10_000) };
  }
  const mode = get("mode");
  if (mode !== "long_only" && mode !== "long_short") {
    throw new RangeError(
      `Invalid config.mode: expected long_only or long_short, got ${show(mode)}`,
    );
  }
  const fillOn = get("fillOn");
  if (fillOn !== "next_open" && fillOn !== "close") {
    throw new RangeError(`Invalid config.fillOn: expected next_open or close, got ${show(fillOn)}`);
  }
  const ann = get("annualization");
  return {
    cash: finite("cash", get("cash"), 0, false),
    feeTaker: finite("feeTaker", get("feeTaker"), 0, true, 1),
    feeMaker: finite("feeMaker", get("feeMaker"), 0, true, 1),
    feeFixed: finite("feeFixed", get("feeFixed"), 0, true),
    slippage: slippage(slip),
    mode,
    sizing: sizing(get("sizing")),
    wholeUnits: bool("wholeUnits", get("wholeUnits")),
    closeAtEnd: bool("closeAtEnd", get("closeAtEnd")),
    annualization: ann === null ? null : finite("annualization", ann, 0, false),
    leverage: finite("leverage", get("leverage"), 0, false, 1000),
    maintenanceMargin: finite("maintenanceMargin", get("maintenanceMargin"), 0, true, 0.99),
    fillOn,
  };
}

/**
 * Parses the CLI's sizing syntax: `fraction:0.5`, `units:10` or `notional:5000`.
 * Throws a `RangeError` saying what was wrong.
 */
export function parseSizing(s: string): Sizing {
  const m = /^\s*(fraction|units|notional)\s*:\s*([^\s]+)\s*$/.exec(s);
  if (m === null) {
    throw new RangeError(
      `Invalid sizing "${s}": expected fraction:F, units:N or notional:N`,
    );
  }
  const value = Number(m[2]);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`Invalid sizing "${s}": ${m[1]} must be a finite number > 0`);
  }
  return { kind: m[1] as Sizing["kind"], value };
}
