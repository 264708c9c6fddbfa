/**
 * Terminal colours for the CLI's metrics tables: on for a terminal, off for pipes and files,
 * off whenever NO_COLOR is set to anything non-empty (https://no-color.org), forced on by a
 * non-empty FORCE_COLOR (other than "0") or `--color=always`.
 *
 * @module
 */

/** The `--color` flag's values. */
export type ColorMode = "auto" | "always" | "never";

/** Parses a `--color` value; throws RangeError naming the bad value. */
export function parseColorMode(v: string): ColorMode {
  if (v === "auto" || v === "always" || v === "never") return v;
  throw new RangeError(`--color expects auto, always or never, got "${v}"`);
}

/**
 * Whether to colour output going to a stream. The flag wins; then NO_COLOR disables, then
 * FORCE_COLOR enables; otherwise colour only when the stream is a terminal.
 */
export function colorEnabled(
  mode: ColorMode,
  isTerminal: boolean,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  if ((env("NO_COLOR") ?? "") !== "") return false;
  const force = env("FORCE_COLOR") ?? "";
  if (force !== "" && force !== "0") return true;
  return isTerminal;
}

/** Wraps text in ANSI colour codes when `on`. */
export function paint(text: string, color: "green" | "red" | "bold" | "dim", on: boolean): string {
  if (!on) return text;
  const code = { green: 32, red: 31, bold: 1, dim: 2 }[color];
  return `\x1b[${code}m${text}\x1b[0m`;
}

// Metrics where above zero is good and below zero is bad.
const SIGNED = /return|cagr|sharpe|sortino|calmar|alpha|pnl|expectancy|bestTrade|worstTrade/i;
// Ratios of gains to losses, where 1 is break-even.
const AROUND_ONE = /omega|profitFactor/i;

/**
 * The colour a metric value deserves: green for good, red for bad, null for neutral.
 * Returns and risk-adjusted ratios by sign, omega and profit factor against 1; drawdowns red
 * when not zero.
 */
export function metricTone(key: string, value: number | null | undefined): "green" | "red" | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  if (/drawdown/i.test(key)) return value !== 0 ? "red" : null;
  if (AROUND_ONE.test(key)) return value > 1 ? "green" : value < 1 ? "red" : null;
  if (SIGNED.test(key)) return value > 0 ? "green" : value < 0 ? "red" : null;
  return null;
}

/** `text` (already padded) coloured by {@link metricTone} when `on`. */
export function styleMetric(
  key: string,
  value: number | null | undefined,
  text: string,
  on: boolean,
): string {
  const tone = metricTone(key, value);
  return tone ? paint(text, tone, on) : text;
}
