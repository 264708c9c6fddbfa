/**
 * The bundled strategy templates: what the UI's template picker and the server's template
 * endpoint list. Each `file` is relative to the repository root; the files need no imports.
 *
 * @module
 */

/** One bundled example strategy. */
export interface StrategyTemplate {
  /** Stable identifier (also the file's base name). */
  id: string;
  /** Human-readable name. */
  name: string;
  /** One-paragraph description of the rule. */
  description: string;
  /** Path of the source file, relative to the repository root. */
  file: string;
  /** Default parameters (the same as the class's `params`). */
  params: Record<string, number>;
}

/** Every bundled example, in display order. */
export const TEMPLATES: readonly StrategyTemplate[] = [
  {
    id: "sma_cross",
    name: "SMA cross",
    description:
      "Long while the fast simple moving average of the close is above the slow one, short (or flat in long-only mode) while it is below.",
    file: "examples/sma_cross.ts",
    params: { fast: 10, slow: 30 },
  },
  {
    id: "ema_cross",
    name: "EMA cross",
    description:
      "Long while the fast exponential moving average of the close is above the slow one, short (or flat in long-only mode) while it is below.",
    file: "examples/ema_cross.ts",
    params: { fast: 12, slow: 26 },
  },
  {
    id: "rsi",
    name: "RSI thresholds",
    description:
      "Goes long when Wilder's RSI is below the oversold level, exits (or goes short) when it is above the overbought level, holds in between.",
    file: "examples/rsi.ts",
    params: { period: 14, oversold: 30, overbought: 70 },
  },
  {
    id: "bollinger",
    name: "Bollinger mean reversion",
    description:
      "Buys a close below the lower Bollinger band and exits (or goes short) once the close is back above the middle band.",
    file: "examples/bollinger.ts",
    params: { period: 20, k: 2 },
  },
  {
    id: "donchian_breakout",
    name: "Donchian breakout with ATR stop",
    description:
      "Buys a close above the highest high of the previous `period` bars with a stop-loss `stopAtr` ATRs below, exits on a close below the lowest low of the previous `exit` bars. Uses explicit orders.",
    file: "examples/donchian_breakout.ts",
    params: { period: 20, exit: 10, stopAtr: 2 },
  },
];
