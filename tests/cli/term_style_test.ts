import assert from "node:assert/strict";
import { colorEnabled, metricTone, parseColorMode, styleMetric } from "../../cli/term_style.ts";

const env = (vars: Record<string, string>) => (n: string) => vars[n];

Deno.test("colorEnabled() follows --color, then NO_COLOR, then FORCE_COLOR, then the terminal", () => {
  assert.equal(colorEnabled("auto", true, env({})), true);
  assert.equal(colorEnabled("auto", false, env({})), false);
  assert.equal(colorEnabled("auto", true, env({ NO_COLOR: "1" })), false);
  assert.equal(colorEnabled("auto", true, env({ NO_COLOR: "" })), true, "empty NO_COLOR is unset");
  assert.equal(colorEnabled("auto", false, env({ FORCE_COLOR: "1" })), true);
  assert.equal(colorEnabled("auto", false, env({ FORCE_COLOR: "0" })), false);
  assert.equal(colorEnabled("auto", false, env({ FORCE_COLOR: "1", NO_COLOR: "x" })), false);
  assert.equal(colorEnabled("always", false, env({ NO_COLOR: "1" })), true);
  assert.equal(colorEnabled("never", true, env({ FORCE_COLOR: "1" })), false);
  assert.throws(() => parseColorMode("sometimes"), /--color expects auto, always or never/);
});

Deno.test("metricTone() is green for gains, red for losses and drawdowns, neutral otherwise", () => {
  assert.equal(metricTone("totalReturn", 0.12), "green");
  assert.equal(metricTone("totalReturn", -0.01), "red");
  assert.equal(metricTone("sharpeRatio", -0.5), "red");
  assert.equal(metricTone("sharpe", 1.2), "green");
  assert.equal(metricTone("maxDrawdown", -0.3), "red");
  assert.equal(metricTone("maxDrawdown", 0), null);
  assert.equal(metricTone("numTrades", 12), null);
  assert.equal(metricTone("omegaRatio", 0.8), "red", "omega below 1 loses");
  assert.equal(metricTone("profitFactor", 1.4), "green");
  assert.equal(metricTone("totalReturn", null), null);
  assert.equal(styleMetric("cagr", -0.1, " -10 %", true), "\x1b[31m -10 %\x1b[0m");
  assert.equal(styleMetric("cagr", 0.1, "10 %", true), "\x1b[32m10 %\x1b[0m");
  assert.equal(styleMetric("cagr", 0.1, "10 %", false), "10 %");
});
