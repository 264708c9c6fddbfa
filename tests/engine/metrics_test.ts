/**
 * engine/metrics.ts against three independent references:
 * 1. empyrical's own regression tables (empyrical-reloaded `tests/test_stats.py` and
 *    `tests/conftest.py`): the expected values below are copied from those files, computed by
 *    Python's empyrical/numpy, and compared to empyrical's precision (`DECIMAL_PLACES = 8`
 *    unless the table says otherwise).
 * 2. Hand-computed cases: empty, one element, constant, all negative, NaN-containing.
 * 3. Naive re-implementations written here (plain loops, textbook formulas) on seeded random
 *    data with NaN gaps and on real GOOG closes.
 */
import assert from "node:assert/strict";
import {
  alpha,
  alphaBeta,
  ANNUALIZATION_FACTORS,
  annualizationFactor,
  annualReturn,
  annualVolatility,
  beta,
  cagr,
  calmarRatio,
  capture,
  conditionalValueAtRisk,
  cumReturns,
  cumReturnsFinal,
  downAlphaBeta,
  downCapture,
  downsideRisk,
  excessSharpe,
  maxDrawdown,
  omegaRatio,
  rollMaxDrawdown,
  rollSharpeRatio,
  sharpeRatio,
  simpleReturns,
  sortinoRatio,
  stabilityOfTimeseries,
  tailRatio,
  tailRiskStats,
  upAlphaBeta,
  upCapture,
  upDownCapture,
  valueAtRisk,
} from "../../engine/metrics.ts";

// ---- helpers --------------------------------------------------------------------------------

/** numpy.testing.assert_almost_equal: |actual − expected| < 1.5 × 10^−decimal; NaN == NaN. */
function almost(actual: number, expected: number, decimal = 8, label = ""): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${label}: expected NaN, got ${actual}`);
    return;
  }
  if (!Number.isFinite(expected)) {
    assert.equal(actual, expected, `${label}: expected ${expected}, got ${actual}`);
    return;
  }
  assert.ok(
    Math.abs(actual - expected) < 1.5 * 10 ** -decimal,
    `${label}: expected ${expected}, got ${actual} (to ${decimal} decimals)`,
  );
}

function almostArray(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  decimal = 8,
  label = "",
) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    almost(actual[i], expected[i], decimal, `${label}[${i}]`);
  }
}

/** Relative closeness for comparisons against the naive implementations. */
function near(actual: number, expected: number, rel = 1e-10, label = ""): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${label}: expected NaN, got ${actual}`);
    return;
  }
  const tol = rel * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${label}: expected ${expected}, got ${actual}`);
}

/** mulberry32: a small seeded PRNG so every run sees the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a seeded generator. */
function normals(seed: number, n: number, mean: number, sd: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
    out[i] = mean + sd * z;
  }
  return out;
}

// ---- empyrical's fixtures (tests/conftest.py) -----------------------------------------------

const pct = (xs: number[]) => xs.map((x) => x / 100);
const simpleBenchmark = pct([0, 1, 0, 1, 0, 1, 0, 1, 0]);
const positiveReturns = pct([1, 2, 1, 1, 1, 1, 1, 1, 1]);
const negativeReturns = pct([0, -6, -7, -1, -9, -2, -6, -8, -5]);
const allNegativeReturns = pct([-2, -6, -7, -1, -9, -2, -6, -8, -5]);
const mixedReturns = pct([NaN, 1, 10, -4, 2, 3, 2, 1, -10]);
const weeklyReturns = pct([0, 1, 10, -4, 2, 3, 2, 1, -10]);
const monthlyReturns = weeklyReturns;
const oneReturn = [0.01];
const uduReturns = [0.1, -0.1, 0.1];
const emptyReturns: number[] = [];
const flatLine1 = pct([1, 1, 1, 1, 1, 1, 1, 1, 1]);
const flatLine1Tz = new Float64Array(1000).fill(0.01);
const flatLineYearly = [0.03, 0.03, 0.03];
const posLine = Float64Array.from({ length: 1000 }, (_, i) => i / 999); // np.linspace(0, 1, 1000)
const negMixed = mixedReturns.map((x) => -x);
const dfOne = [
  -0.00171614,
  0.01322056,
  0.03063862,
  -0.01422057,
  -0.00489779,
  0.01268925,
  -0.03357711,
  0.01797036,
];
const dfTwo = [
  0.01846232,
  0.00793951,
  -0.01448395,
  0.00422537,
  -0.00339611,
  0.03756813,
  0.0151531,
  0.03549769,
];
// pandas aligns negative_returns[1:] (and positive_returns[1:]) with mixed_returns by date:
// the first period has no benchmark value.
const negativeReturnsAligned = [NaN, ...negativeReturns.slice(1)];

// ---- empyrical tables ------------------------------------------------------------------------

Deno.test("cumReturns() matches empyrical's test_cum_returns table", () => {
  assert.equal(cumReturns(emptyReturns).length, 0);
  almostArray(
    cumReturns(mixedReturns),
    [0.0, 0.01, 0.111, 0.066559, 0.08789, 0.12052, 0.14293, 0.15436, 0.03893],
    4,
    "mixed",
  );
  almostArray(
    cumReturns(mixedReturns, { startingValue: 100 }),
    [100.0, 101.0, 111.1, 106.65599, 108.78912, 112.05279, 114.29384, 115.43678, 103.8931],
    4,
    "mixed 100",
  );
  almostArray(
    cumReturns(negativeReturns),
    [0.0, -0.06, -0.1258, -0.13454, -0.21243, -0.22818, -0.27449, -0.33253, -0.3659],
    4,
    "negative",
  );
  // 2-D fixture df_input, column by column (expected_0_one / expected_100_two)
  almostArray(
    cumReturns([NaN, ...dfOne.slice(1)]),
    [0.0, 0.013221, 0.044264, 0.029414, 0.024372, 0.037371, 0.002539, 0.020555],
    4,
    "df one",
  );
  almostArray(
    cumReturns([...dfTwo.slice(0, 7), NaN], { startingValue: 100 }),
    [
      101.846232,
      102.654841,
      101.167994,
      101.595466,
      101.250436,
      105.054226,
      106.646123,
      106.646123,
    ],
    4,
    "df two",
  );
});

Deno.test("cumReturnsFinal() matches empyrical's test_cum_returns_final table", () => {
  almost(cumReturnsFinal(emptyReturns), NaN, 4, "empty");
  almost(cumReturnsFinal(oneReturn), 0.01, 4, "one");
  almost(cumReturnsFinal(mixedReturns), 0.03893, 4, "mixed");
  almost(cumReturnsFinal(mixedReturns, { startingValue: 100 }), 103.8931, 4, "mixed 100");
  almost(cumReturnsFinal(negativeReturns), -0.3659, 4, "negative");
});

Deno.test("maxDrawdown() matches empyrical's test_max_drawdown table", () => {
  const table: [string, ArrayLike<number>, number][] = [
    ["empty", emptyReturns, NaN],
    ["one", oneReturn, 0.0],
    ["simple_benchmark", simpleBenchmark, 0.0],
    ["mixed", mixedReturns, -0.1],
    ["positive", positiveReturns, -0.0],
    ["negative", negativeReturns, -0.3659073],
    ["all_negative", allNegativeReturns, -0.378589157],
    ["udu", uduReturns, -0.1],
  ];
  for (const [name, r, expected] of table) almost(maxDrawdown(r), expected, 8, name);
});

Deno.test("maxDrawdown() falls when returns are translated down (empyrical translation test)", () => {
  const noise = normals(1, 1000, 0, 0.001);
  const noiseUniform = Float64Array.from(
    normals(2, 1000, 0, 1),
    (_, i) => (rng(3 + i)() - 0.5) / 50,
  );
  for (
    const [r, c] of [[noise, 0.0001], [noise, 0.001], [noiseUniform, 0.01], [
      noiseUniform,
      0.1,
    ]] as const
  ) {
    const dd = maxDrawdown(r);
    assert.ok(maxDrawdown(r.map((x) => x - c)) <= dd);
    assert.ok(dd <= maxDrawdown(r.map((x) => x + c)));
  }
});

Deno.test("annualReturn() and cagr() match empyrical's test_annual_ret and test_cagr tables", () => {
  almost(annualReturn(mixedReturns, { period: "daily" }), 1.9135925373194231, 8, "mixed");
  almost(annualReturn(weeklyReturns, { period: "weekly" }), 0.24690830513998208, 8, "weekly");
  almost(annualReturn(monthlyReturns, { period: "monthly" }), 0.052242061386048144, 8, "monthly");
  almost(cagr(emptyReturns), NaN, 8, "cagr empty");
  almost(cagr(oneReturn), 11.274002099240244, 8, "cagr one");
  almost(cagr(mixedReturns), 1.9135925373194231, 8, "cagr mixed");
  almost(cagr(flatLine1Tz), 11.274002099240256, 8, "cagr flat_line_1_tz");
  almost(cagr(flatLineYearly, { period: "yearly" }), 0.03, 8, "cagr yearly");
});

Deno.test("annualVolatility() matches empyrical's test_annual_volatility table", () => {
  almost(annualVolatility(flatLine1Tz), 0.0, 8, "flat");
  almost(annualVolatility(mixedReturns), 0.9136465399704637, 8, "mixed");
  almost(annualVolatility(weeklyReturns, { period: "weekly" }), 0.38851569394870583, 8, "weekly");
  almost(
    annualVolatility(monthlyReturns, { period: "monthly" }),
    0.18663690238892558,
    8,
    "monthly",
  );
});

Deno.test("calmarRatio() matches empyrical's test_calmar table", () => {
  almost(calmarRatio(emptyReturns), NaN, 8, "empty");
  almost(calmarRatio(oneReturn), NaN, 8, "one");
  almost(calmarRatio(mixedReturns), 19.135925373194233, 8, "mixed");
  almost(calmarRatio(weeklyReturns, { period: "weekly" }), 2.4690830513998208, 8, "weekly");
  almost(calmarRatio(monthlyReturns, { period: "monthly" }), 0.52242061386048144, 8, "monthly");
});

Deno.test("omegaRatio() matches empyrical's test_omega table", () => {
  almost(omegaRatio(emptyReturns), NaN, 8, "empty");
  almost(omegaRatio(oneReturn), NaN, 8, "one");
  almost(omegaRatio(mixedReturns, { requiredReturn: 10 }), 0.83354263497557934, 8, "mixed 10");
  almost(omegaRatio(mixedReturns, { requiredReturn: -10 }), NaN, 8, "mixed -10");
  almost(omegaRatio(mixedReturns, { riskFree: flatLine1 }), 0.8125, 8, "mixed rf=flat_line_1");
  almost(omegaRatio(positiveReturns, { riskFree: 0.01 }), NaN, 8, "positive 0.01");
  almost(omegaRatio(positiveReturns, { riskFree: 0.011 }), 1.125, 8, "positive 0.011");
  almost(omegaRatio(positiveReturns, { riskFree: 0.02 }), 0.0, 8, "positive 0.02");
  almost(omegaRatio(negativeReturns, { riskFree: 0.01 }), 0.0, 8, "negative 0.01");
});

Deno.test("sharpeRatio() matches empyrical's test_sharpe_ratio table", () => {
  almost(sharpeRatio(emptyReturns), NaN, 8, "empty");
  almost(sharpeRatio(oneReturn), NaN, 8, "one");
  almost(sharpeRatio(mixedReturns, { riskFree: mixedReturns }), NaN, 8, "mixed - mixed");
  almost(sharpeRatio(mixedReturns), 1.7238613961706866, 8, "mixed");
  almost(
    sharpeRatio(mixedReturns, { riskFree: simpleBenchmark }),
    0.34111411441060574,
    8,
    "mixed rf",
  );
  almost(sharpeRatio(positiveReturns), 52.915026221291804, 8, "positive");
  almost(sharpeRatio(negativeReturns), -24.406808633910085, 8, "negative");
  almost(sharpeRatio(flatLine1), Infinity, 8, "flat_line_1");
});

Deno.test("sharpeRatio() is unchanged when returns and riskFree move together (empyrical)", () => {
  const u = rng(7);
  const noiseUniform = Float64Array.from({ length: 1000 }, () => (u() - 0.5) / 50);
  for (const [req, t] of [[0, 0.005], [0.005, 0.005]]) {
    const sr = sharpeRatio(noiseUniform, { riskFree: req });
    almost(sharpeRatio(noiseUniform.map((x) => x - t), { riskFree: req - t }), sr);
    almost(sharpeRatio(noiseUniform.map((x) => x + t), { riskFree: req + t }), sr);
  }
  const sr = sharpeRatio(noiseUniform);
  assert.ok(sharpeRatio(noiseUniform, { riskFree: -0.005 }) > sr);
  assert.ok(sr > sharpeRatio(noiseUniform, { riskFree: 0.005 }));
});

Deno.test("downsideRisk() matches empyrical's test_downside_risk table", () => {
  almost(downsideRisk(emptyReturns), NaN, 8, "empty");
  almost(downsideRisk(oneReturn), 0.0, 8, "one");
  almost(downsideRisk(mixedReturns, { requiredReturn: mixedReturns }), 0.0, 8, "mixed - mixed");
  almost(downsideRisk(mixedReturns), 0.60448325038829653, 8, "mixed 0");
  almost(downsideRisk(mixedReturns, { requiredReturn: 0.1 }), 1.7161730681956295, 8, "mixed 0.1");
  almost(downsideRisk(weeklyReturns, { period: "weekly" }), 0.25888650451930134, 8, "weekly 0");
  almost(
    downsideRisk(weeklyReturns, { period: "weekly", requiredReturn: 0.1 }),
    0.7733045971672482,
  );
  almost(downsideRisk(monthlyReturns, { period: "monthly" }), 0.1243650540411842, 8, "monthly 0");
  almost(
    downsideRisk(monthlyReturns, { period: "monthly", requiredReturn: 0.1 }),
    0.37148351242013422,
  );
  // the DataFrame fixtures, one column at a time
  almost(downsideRisk(dfOne), 0.20671788246185202, 8, "df_simple one");
  almost(downsideRisk(dfTwo), 0.083495680595704475, 8, "df_simple two");
  almost(downsideRisk(dfOne, { period: "weekly" }), 0.093902996054410062, 8, "df_week one");
  almost(downsideRisk(dfTwo, { period: "weekly" }), 0.037928477556776516, 8, "df_week two");
  almost(downsideRisk(dfOne, { period: "monthly" }), 0.045109540184877193, 8, "df_month one");
  almost(downsideRisk(dfTwo, { period: "monthly" }), 0.018220251263412916, 8, "df_month two");
});

Deno.test("sortinoRatio() matches empyrical's test_sortino table", () => {
  almost(sortinoRatio(emptyReturns), NaN, 8, "empty");
  almost(sortinoRatio(oneReturn), NaN, 8, "one");
  almost(sortinoRatio(mixedReturns, { requiredReturn: mixedReturns }), NaN, 8, "mixed - mixed");
  almost(sortinoRatio(mixedReturns), 2.605531251673693, 8, "mixed");
  almost(
    sortinoRatio(mixedReturns, { requiredReturn: flatLine1 }),
    -1.3934779588919977,
    8,
    "mixed flat",
  );
  almost(sortinoRatio(positiveReturns), Infinity, 8, "positive");
  almost(sortinoRatio(negativeReturns), -13.532743075043401, 8, "negative");
  almost(sortinoRatio(simpleBenchmark), Infinity, 8, "simple_benchmark");
  almost(sortinoRatio(weeklyReturns, { period: "weekly" }), 1.1158901056866439, 8, "weekly");
  almost(sortinoRatio(monthlyReturns, { period: "monthly" }), 0.53605626741889756, 8, "monthly");
  almost(sortinoRatio(dfOne), 3.0639640966566306, 8, "df_simple one");
  almost(sortinoRatio(dfTwo), 38.090963117002495, 8, "df_simple two");
  almost(sortinoRatio(dfOne, { period: "weekly" }), 1.3918264112070571, 8, "df_week one");
  almost(sortinoRatio(dfTwo, { period: "weekly" }), 17.303077589064618, 8, "df_week two");
  almost(sortinoRatio(dfOne, { period: "monthly" }), 0.6686117809312383, 8, "df_month one");
  almost(sortinoRatio(dfTwo, { period: "monthly" }), 8.3121296084492844, 8, "df_month two");
});

Deno.test("excessSharpe() matches empyrical's test_excess_sharpe table", () => {
  almost(excessSharpe(emptyReturns, 0), NaN, 8, "empty");
  almost(excessSharpe(oneReturn, 0), NaN, 8, "one");
  almost(excessSharpe(posLine, posLine), NaN, 8, "pos_line");
  almost(excessSharpe(mixedReturns, 0), 0.10859306069076737, 8, "mixed 0");
  almost(excessSharpe(mixedReturns, flatLine1), -0.06515583641446039, 8, "mixed flat");
});

Deno.test("alphaBeta(), alpha() and beta() match empyrical's test_alpha_beta tables", () => {
  const cases: [string, number[], number[], number, number][] = [
    ["one", oneReturn, oneReturn, NaN, NaN],
    [
      "mixed vs negative[1:]",
      mixedReturns,
      negativeReturnsAligned,
      -0.9997853834885004,
      -0.71296296296296313,
    ],
    ["mixed vs mixed", mixedReturns, mixedReturns, 0.0, 1.0],
    ["mixed vs -mixed", mixedReturns, negMixed, 0.0, -1.0],
  ];
  for (const [name, r, f, a, b] of cases) {
    const [ab, bb] = alphaBeta(r, f);
    almost(ab, a, 8, `${name} alpha`);
    almost(bb, b, 8, `${name} beta`);
    almost(alpha(r, f), a, 8, `${name} alpha()`);
    almost(beta(r, f), b, 8, `${name} beta()`);
  }
  // empty vs empty (empyrical pads empty vs simple_benchmark with NaN: all-NaN → NaN)
  const [a0, b0] = alphaBeta(emptyReturns, emptyReturns);
  assert.ok(Number.isNaN(a0) && Number.isNaN(b0));
  const allNaN = new Array(9).fill(NaN);
  const [a1, b1] = alphaBeta(allNaN, simpleBenchmark);
  assert.ok(Number.isNaN(a1) && Number.isNaN(b1));
});

Deno.test("beta() recovers the slope of a scaled noise series (empyrical test_beta)", () => {
  const noise = normals(11, 1000, 0, 0.001);
  const inv = noise.map((x) => -x);
  const twice = noise.map((x) => 2 * x);
  almost(beta(noise, noise), 1.0);
  almost(beta(twice, noise), 2.0);
  almost(beta(noise, inv), -1.0);
  almost(beta(twice, inv), -2.0);
  // sparse noise: NaN sprinkled in, alpha and beta still defined (test_alpha_beta_with_nan_inputs)
  const sparse = noise.slice();
  for (const i of [3, 77, 500, 999]) sparse[i] = NaN;
  const [a, b] = alphaBeta(sparse, sparse);
  assert.ok(!Number.isNaN(a) && !Number.isNaN(b));
});

Deno.test("alphaBeta() translation moves alpha by the translation and keeps beta (empyrical)", () => {
  const n = 1000;
  const z1 = normals(21, n, 0, 1);
  const z2 = normals(22, n, 0, 1);
  for (const meanReturns of [0, 0.01]) {
    // correlated pair: corr 0.8, sd 0.01 and 0.001
    const ret = z1.map((x) => meanReturns + 0.01 * x);
    const bench = z1.map((x, i) => 0.001 + 0.001 * (0.8 * x + 0.6 * z2[i]));
    const t = 0.001;
    const [aS, bS] = alphaBeta(ret, bench);
    const [aD, bD] = alphaBeta(ret.map((x) => x - t), bench);
    const [aR, bR] = alphaBeta(ret.map((x) => x + t), bench);
    almost((aS + 1) ** (1 / 252) - (aD + 1) ** (1 / 252), t);
    almost((aR + 1) ** (1 / 252) - (aS + 1) ** (1 / 252), t);
    almost(bS, bD);
    almost(bS, bR);
  }
});

Deno.test("stabilityOfTimeseries() matches empyrical's test_stability_of_timeseries table", () => {
  almost(stabilityOfTimeseries(emptyReturns), NaN, 8, "empty");
  almost(stabilityOfTimeseries(oneReturn), NaN, 8, "one");
  almost(stabilityOfTimeseries(mixedReturns), 0.1529973665111273, 8, "mixed");
  almost(stabilityOfTimeseries(flatLine1Tz), 1.0, 8, "flat");
});

Deno.test("tailRatio() matches empyrical's test_tail_ratio table (to 1 decimal, as there)", () => {
  almost(tailRatio(emptyReturns), NaN, 1, "empty");
  almost(tailRatio(oneReturn), 1.0, 1, "one");
  almost(tailRatio(mixedReturns), 0.9473684210526313, 1, "mixed");
  almost(tailRatio(normals(31, 100_000, 0, 1)), 1.0, 1, "random_100k");
  // and exactly, by hand: mixed without NaN sorted is [-.1, -.04, .01, .01, .02, .02, .03, .1];
  // p95 at index 6.65 = .03 + .65 × .07, p5 at index 0.35 = −.1 + .35 × .06
  almost(tailRatio(mixedReturns), (0.03 + 0.65 * 0.07) / (0.1 - 0.35 * 0.06), 12, "mixed exact");
});

Deno.test("rollMaxDrawdown() and rollSharpeRatio() match empyrical's rolling tables", () => {
  assert.equal(rollMaxDrawdown(emptyReturns, { window: 6 }).length, 0);
  almostArray(
    rollMaxDrawdown(negativeReturns, { window: 6 }),
    [-0.2282, -0.2745, -0.2899, -0.2747],
    4,
    "roll mdd",
  );
  assert.equal(rollSharpeRatio(emptyReturns, { window: 6 }).length, 0);
  almostArray(
    rollSharpeRatio(negativeReturns, { window: 6 }),
    [-18.09162052, -26.79897486, -26.69138263, -25.72298838],
    8,
    "roll sharpe negative",
  );
  almostArray(
    rollSharpeRatio(mixedReturns, { window: 6 }),
    [7.57445259, 8.22784105, 8.22784105, -3.1374751],
    8,
    "roll sharpe mixed",
  );
});

Deno.test("capture(), upCapture(), downCapture(), upDownCapture() match empyrical's tables", () => {
  almost(capture(emptyReturns, emptyReturns), NaN, 8, "capture empty");
  almost(capture(oneReturn, oneReturn), 1.0, 8, "capture one");
  almost(capture(mixedReturns, mixedReturns), 1.0, 8, "capture mixed");
  almost(
    capture(allNegativeReturns, mixedReturns),
    -0.52257643222960259,
    8,
    "capture all_negative",
  );

  almost(downCapture(emptyReturns, emptyReturns), NaN, 8, "down empty");
  almost(downCapture(oneReturn, oneReturn), NaN, 8, "down one");
  almost(downCapture(mixedReturns, mixedReturns), 1.0, 8, "down mixed");
  almost(
    downCapture(allNegativeReturns, mixedReturns),
    0.99956025703798634,
    8,
    "down all_negative",
  );
  almost(downCapture(positiveReturns, mixedReturns), -11.27400221, 8, "down positive");

  almost(upCapture(emptyReturns, emptyReturns), NaN, 8, "up empty");
  almost(upCapture(oneReturn, oneReturn), 1.0, 8, "up one");
  almost(upCapture(mixedReturns, mixedReturns), 1.0, 8, "up mixed");
  almost(upCapture(positiveReturns, mixedReturns), 0.0076167762, 8, "up positive");
  almost(upCapture(allNegativeReturns, mixedReturns), -0.0004336328, 8, "up all_negative");

  almost(upDownCapture(emptyReturns, emptyReturns), NaN, 8, "updown empty");
  almost(upDownCapture(oneReturn, oneReturn), NaN, 8, "updown one");
  almost(upDownCapture(mixedReturns, mixedReturns), 1.0, 8, "updown mixed");
  almost(upDownCapture(positiveReturns, mixedReturns), -0.0006756053495, 8, "updown positive");
  almost(upDownCapture(allNegativeReturns, mixedReturns), -0.0004338236, 8, "updown all_negative");
});

Deno.test("upAlphaBeta() and downAlphaBeta() match empyrical's tables", () => {
  const m1 = mixedReturns.slice(1);
  let [a, b] = downAlphaBeta(m1, negativeReturns.slice(1));
  almost(a, -0.9997853834885004, 8, "down alpha");
  almost(b, -0.71296296296296313, 8, "down beta");
  [a, b] = upAlphaBeta(m1, positiveReturns.slice(1));
  almost(a, 0.432961242076658, 8, "up alpha");
  almost(b, 0.4285714285, 8, "up beta");
  for (const fn of [upAlphaBeta, downAlphaBeta]) {
    [a, b] = fn(oneReturn, oneReturn);
    assert.ok(Number.isNaN(a) && Number.isNaN(b), `${fn.name} one`);
    [a, b] = fn(mixedReturns, mixedReturns);
    almost(a, 0, 8, `${fn.name} mixed`);
    almost(b, 1, 8, `${fn.name} mixed`);
    [a, b] = fn(mixedReturns, negMixed);
    almost(a, 0, 8, `${fn.name} -mixed`);
    almost(b, -1, 8, `${fn.name} -mixed`);
  }
});

Deno.test("valueAtRisk() matches empyrical's test_value_at_risk (numpy percentile)", () => {
  almost(valueAtRisk([1, 2], { cutoff: 0 }), 1.0);
  almost(valueAtRisk([1, 2], { cutoff: 0.3 }), 1.3);
  almost(valueAtRisk([1, 2], { cutoff: 1 }), 2.0);
  const r = [1, 81, 82, 83, 84, 85];
  almost(valueAtRisk(r, { cutoff: 0.1 }), 41);
  almost(valueAtRisk(r, { cutoff: 0.2 }), 81);
  almost(valueAtRisk(r, { cutoff: 0.3 }), 81.5);
});

Deno.test("conditionalValueAtRisk() is the mean of returns at or below the VaR (empyrical)", () => {
  const single = normals(41, 1, 0, 0.02);
  almost(conditionalValueAtRisk(single, { cutoff: 0 }), single[0]);
  almost(conditionalValueAtRisk(single, { cutoff: 1 }), single[0]);
  const r = normals(42, 21, 0, 0.02);
  for (const cutoff of [0, 0.0499, 0.05, 0.2, 0.999, 1]) {
    const v = valueAtRisk(r, { cutoff });
    let s = 0;
    let k = 0;
    for (const x of r) {
      if (x <= v) {
        s += x;
        k++;
      }
    }
    almost(conditionalValueAtRisk(r, { cutoff }), s / k, 12, `cutoff ${cutoff}`);
  }
});

// ---- hand-computed cases ---------------------------------------------------------------------

Deno.test("simpleReturns() and cumReturns() by hand: empty, one, NaN", () => {
  almostArray(simpleReturns([100, 125, 100, 100]), [0.25, -0.2, 0], 15);
  assert.equal(simpleReturns([5]).length, 0);
  assert.equal(simpleReturns([]).length, 0);
  almostArray(cumReturns([0.1, -0.1]), [0.1, -0.01], 15);
  almostArray(cumReturns([0.1, -0.1], { startingValue: 100 }), [110, 99], 12);
  // NaN is a 0 return
  almostArray(cumReturns([0.1, NaN, 0.1]), [0.1, 0.1, 0.21], 15);
  almost(cumReturnsFinal([NaN, NaN]), 0, 15);
  almost(cumReturnsFinal([-0.5, -0.5], { startingValue: 8 }), 2, 15);
});

Deno.test("maxDrawdown() by hand: one, constant, all negative, NaN", () => {
  almost(maxDrawdown([0.05]), 0, 15);
  almost(maxDrawdown([-0.05]), -0.05, 15);
  almost(maxDrawdown([0.01, 0.01, 0.01]), 0, 15);
  almost(maxDrawdown([-0.1, -0.1]), -0.19, 15);
  almost(maxDrawdown([0.1, NaN, -0.5]), -0.5, 15);
  almost(maxDrawdown([NaN, NaN]), 0, 15);
  // peak 1.5 after +50%, trough 1.5 × 0.5 × 0.8 = 0.6 → −60 %
  almost(maxDrawdown([0.5, -0.5, -0.2, 0.9]), -0.6, 15);
  almost(maxDrawdown([-1, 0.5]), -1, 15);
});

Deno.test("annualReturn() and annualVolatility() by hand", () => {
  almost(annualReturn([0.01]), 1.01 ** 252 - 1, 10);
  almost(annualReturn([0.1, 0.1], { annualization: 1 }), 0.1, 14);
  // NaN periods count in the length (as 0 returns)
  almost(annualReturn([0.21, NaN], { annualization: 1 }), 0.1, 14);
  almost(annualReturn([-0.19, -0.19], { period: "yearly" }), -0.19, 14);
  almost(annualReturn([0.05, 0.05, 0.05, 0.05], { period: "quarterly" }), 1.05 ** 4 - 1, 14);
  almost(annualVolatility([0.01]), NaN);
  almost(annualVolatility([0.01, 0.03]), Math.sqrt(0.0002) * Math.sqrt(252), 14);
  almost(annualVolatility([0.01, NaN, 0.03]), Math.sqrt(0.0002) * Math.sqrt(252), 14);
  almost(
    annualVolatility([0.01, 0.03], { annualization: 365, alpha: 3 }),
    Math.sqrt(0.0002) * 365 ** (1 / 3),
    14,
  );
  almost(annualVolatility([-0.02, -0.02, -0.02]), 0, 15);
});

Deno.test("sharpeRatio() by hand: constant, all negative, NaN, riskFree", () => {
  almost(sharpeRatio([0.01, 0.03]), Math.sqrt(2) * Math.sqrt(252), 10);
  almost(sharpeRatio([-0.01, -0.03]), -Math.sqrt(2) * Math.sqrt(252), 10);
  almost(sharpeRatio([0.01, 0.03], { riskFree: 0.01 }), Math.sqrt(0.5) * Math.sqrt(252), 10);
  almost(
    sharpeRatio([0.01, 0.03], { riskFree: [0.01, 0.01], annualization: 1 }),
    Math.sqrt(0.5),
    12,
  );
  almost(sharpeRatio([0.02, 0.02, 0.02]), Infinity);
  almost(sharpeRatio([-0.02, -0.02, -0.02]), -Infinity);
  almost(sharpeRatio([0.02, 0.02], { riskFree: 0.02 }), NaN); // 0 / 0
  almost(sharpeRatio([NaN, 0.01]), NaN); // one value has no sample std
  almost(sharpeRatio([0.01, NaN, 0.03]), Math.sqrt(2) * Math.sqrt(252), 10);
});

Deno.test("downsideRisk() and sortinoRatio() by hand", () => {
  const dr = Math.sqrt(0.0004 / 2) * Math.sqrt(252);
  almost(downsideRisk([0.01, -0.02]), dr, 14);
  almost(downsideRisk([0.01, NaN, -0.02]), dr, 14);
  almost(downsideRisk([0.01, 0.02]), 0, 15);
  almost(downsideRisk([NaN, NaN]), NaN);
  almost(sortinoRatio([0.01, -0.02]), (-0.005 * 252) / dr, 12);
  almost(sortinoRatio([-0.01, -0.01]), (-0.01 * 252) / (0.01 * Math.sqrt(252)), 10);
  // required return 0.01: excess [0, -0.03] → mean −0.015, downside √(0.0009/2)
  almost(
    sortinoRatio([0.01, -0.02], { requiredReturn: 0.01, annualization: 12 }),
    (-0.015 * 12) / (Math.sqrt(0.00045) * Math.sqrt(12)),
    12,
  );
});

Deno.test("calmarRatio() and omegaRatio() by hand", () => {
  almost(calmarRatio([0.01, 0.02]), NaN); // no drawdown
  almost(calmarRatio([0.1, -0.1], { annualization: 1 }), (0.99 ** 0.5 - 1) / 0.1, 12);
  almost(calmarRatio([-0.1, -0.1], { annualization: 1 }), -0.1 / 0.19, 12);
  const r = [0.02, -0.01, 0.03, -0.02];
  almost(omegaRatio(r), 0.05 / 0.03, 12);
  almost(omegaRatio([0.01, 0.02]), NaN); // nothing below the threshold
  almost(omegaRatio(r, { requiredReturn: 0.01, annualization: 1 }), 0.03 / 0.05, 12);
  almost(omegaRatio(r, { requiredReturn: -1 }), NaN);
  almost(omegaRatio([0.02, NaN, -0.01]), 2, 12);
  // annual required return 10 % de-annualized over 252 periods
  const th = 1.1 ** (1 / 252) - 1;
  almost(omegaRatio([0.01, -0.01]), 1, 14);
  almost(omegaRatio([0.01, -0.01], { requiredReturn: 0.1 }), (0.01 - th) / (0.01 + th), 12);
});

Deno.test("alpha(), beta() and captures by hand: exact linear relation, NaN, flat factor", () => {
  const f = [0.01, -0.02, 0.015, 0.003, -0.007, 0.02];
  const r = f.map((x) => 2 * x + 0.001);
  almost(beta(r, f), 2, 12);
  almost(alpha(r, f), 1.001 ** 252 - 1, 10);
  almost(alpha(r, f, { annualization: 12 }), 1.001 ** 12 - 1, 12);
  // NaN in either series drops that period only
  const rn = r.slice();
  rn[2] = NaN;
  const fn = f.slice();
  fn[4] = NaN;
  almost(beta(rn, fn), 2, 12);
  almost(alpha(rn, fn), 1.001 ** 252 - 1, 10);
  // a flat factor has no variance: beta (and so alpha) NaN
  almost(beta(r, [0.01, 0.01, 0.01, 0.01, 0.01, 0.01]), NaN);
  almost(alpha(r, [0.01, 0.01, 0.01, 0.01, 0.01, 0.01]), NaN);
  // riskFree: alpha is the intercept of (r − rf) on (f − rf); r − rf = 2(f − rf) + (0.001 + rf)
  almost(alpha(r, f, { riskFree: 0.0005 }), 1.0015 ** 252 - 1, 10);
  // up/down split: same relation on each side
  const [ua, ub] = upAlphaBeta(r, f);
  const [da, db] = downAlphaBeta(r, f);
  almost(ub, 2, 12);
  almost(db, 2, 12);
  almost(ua, 1.001 ** 252 - 1, 10);
  almost(da, 1.001 ** 252 - 1, 10);
  // a factor return of exactly 0 is neither up nor down
  const fz = [0.01, 0, 0.02, 0, -0.01, -0.02];
  const rz = [0.02, 0.5, 0.04, -0.5, -0.02, -0.04];
  almost(upAlphaBeta(rz, fz)[1], 2, 12);
  almost(downAlphaBeta(rz, fz)[1], 2, 12);
  almost(upCapture(rz, fz), annualReturn([0.02, 0.04]) / annualReturn([0.01, 0.02]), 12);
  almost(downCapture(rz, fz), annualReturn([-0.02, -0.04]) / annualReturn([-0.01, -0.02]), 12);
  almost(capture(f, f), 1, 15);
  almost(upCapture(f, f) / downCapture(f, f), upDownCapture(f, f), 14);
  almost(excessSharpe([0.02, 0.04], 0.01), Math.sqrt(2), 14);
  almost(excessSharpe([0.02, 0.04], [0.01, 0.01]), Math.sqrt(2), 14);
  // one usable period: empyrical's nan_to_num turns the NaN tracking error into 0
  almost(excessSharpe([NaN, 0.01], 0), Infinity);
  almost(excessSharpe([NaN, -0.01], [0, 0]), -Infinity);
});

Deno.test("valueAtRisk(), conditionalValueAtRisk() and tailRatio() by hand", () => {
  // 1..21 shuffled, as fractions
  const r = [13, 2, 21, 7, 9, 1, 17, 5, 11, 3, 19, 4, 15, 6, 20, 8, 10, 14, 12, 16, 18].map((x) =>
    x / 100
  );
  almost(valueAtRisk(r), 0.02, 14); // index 20 × 0.05 = 1 → 2nd smallest
  almost(valueAtRisk(r, { cutoff: 0.2 }), 0.05, 14);
  almost(conditionalValueAtRisk(r), 0.015, 14); // ⌊20 × 0.05⌋ + 1 = 2 lowest: (1 + 2) / 2
  almost(conditionalValueAtRisk(r, { cutoff: 0.2 }), 0.03, 14); // 5 lowest
  almost(tailRatio(r), 0.2 / 0.02, 12); // p95 index 19 → 20, p5 index 1 → 2
  almost(valueAtRisk([]), NaN);
  almost(conditionalValueAtRisk([]), NaN);
  almost(valueAtRisk([0.01, NaN, 0.02]), NaN); // numpy.percentile propagates NaN
  almost(conditionalValueAtRisk([0.01, NaN, 0.02], { cutoff: 0.5 }), 0.015, 14); // NaN sorts last
  almost(conditionalValueAtRisk([NaN, NaN, 0.02], { cutoff: 1 }), NaN);
  almost(tailRatio([0.01, NaN, 0.01]), 1, 15);
  almost(tailRatio([NaN]), NaN);
  almost(valueAtRisk([-0.03]), -0.03, 15);
  assert.throws(() => valueAtRisk(r, { cutoff: 1.5 }), RangeError);
  assert.throws(() => conditionalValueAtRisk(r, { cutoff: -0.1 }), RangeError);
});

Deno.test("stabilityOfTimeseries() by hand: constant, flat, NaN, one usable value", () => {
  almost(stabilityOfTimeseries([0.02, 0.02, 0.02, 0.02]), 1, 12);
  almost(stabilityOfTimeseries([-0.02, -0.02, -0.02]), 1, 12);
  almost(stabilityOfTimeseries([0, 0, 0]), 0, 15); // flat cumulative returns: no fit
  almost(stabilityOfTimeseries([NaN, 0.01]), 0, 15); // one usable point: linregress r = 0
  almost(stabilityOfTimeseries([NaN, NaN]), NaN);
  // NaN periods are dropped before the fit
  almost(stabilityOfTimeseries([0.02, NaN, 0.02, 0.02]), 1, 12);
});

Deno.test("rolling metrics equal the metric on each window; windows shrink to the series", () => {
  const r = normals(51, 60, 0.0005, 0.01);
  r[10] = NaN;
  const w = 20;
  const mdd = rollMaxDrawdown(r, { window: w });
  const sh = rollSharpeRatio(r, { window: w, riskFree: 0.0001 });
  assert.equal(mdd.length, 41);
  assert.equal(sh.length, 41);
  for (let i = 0; i < mdd.length; i++) {
    almost(mdd[i], maxDrawdown(r.subarray(i, i + w)), 14, `mdd ${i}`);
    almost(sh[i], sharpeRatio(r.subarray(i, i + w), { riskFree: 0.0001 }), 10, `sharpe ${i}`);
  }
  const rf = Float64Array.from(r, (_, i) => i * 1e-5);
  const shArr = rollSharpeRatio(r, { window: w, riskFree: rf });
  for (let i = 0; i < shArr.length; i++) {
    almost(shArr[i], sharpeRatio(r.subarray(i, i + w), { riskFree: rf.subarray(i, i + w) }), 10);
  }
  almostArray(rollMaxDrawdown([0.1, -0.2], { window: 5 }), [maxDrawdown([0.1, -0.2])], 15);
  const ones = rollSharpeRatio([0.1, -0.2, 0.3], { window: 1 });
  assert.equal(ones.length, 3);
  assert.ok(ones.every(Number.isNaN));
  assert.throws(() => rollMaxDrawdown(r, { window: 0 }), RangeError);
  assert.throws(() => rollSharpeRatio(r, { window: 2.5 }), RangeError);
});

Deno.test("annualizationFactor() resolves period and annualization and rejects bad ones", () => {
  assert.equal(annualizationFactor(), 252);
  assert.deepEqual(
    (["daily", "weekly", "monthly", "quarterly", "yearly"] as const).map((period) =>
      annualizationFactor({ period })
    ),
    [252, 52, 12, 4, 1],
  );
  assert.equal(annualizationFactor({ period: "weekly", annualization: 8760 }), 8760);
  assert.equal(ANNUALIZATION_FACTORS.daily, 252);
  assert.throws(
    () => annualizationFactor({ period: "hourly" as unknown as "daily" }),
    /Period cannot be 'hourly'/,
  );
  assert.throws(() => sharpeRatio([0.1, 0.2], { annualization: 0 }), RangeError);
  assert.throws(() => annualReturn([0.1], { annualization: NaN }), RangeError);
});

Deno.test("misaligned factor, riskFree or requiredReturn arrays are rejected with a clear error", () => {
  assert.throws(
    () => beta([0.1, 0.2], [0.1]),
    /factorReturns must have one value per return: got 1 values for 2 returns/,
  );
  assert.throws(() => alphaBeta([0.1, 0.2], [0.1, 0.2, 0.3]), RangeError);
  assert.throws(() => sharpeRatio([0.1, 0.2], { riskFree: [0.01] }), /riskFree/);
  assert.throws(() => sortinoRatio([0.1, 0.2], { requiredReturn: [0.01] }), /requiredReturn/);
  assert.throws(() => upCapture([0.1, 0.2], [0.1]), RangeError);
  assert.throws(() => excessSharpe([0.1, 0.2], [0.1]), RangeError);
  const notArray = undefined as unknown as number[];
  assert.throws(() => sharpeRatio(notArray), /returns must be an array of numbers, got undefined/);
  assert.throws(() => simpleReturns(null as unknown as number[]), /prices must be an array/);
  assert.throws(() => maxDrawdown("0.1" as unknown as number[]), TypeError);
  assert.throws(() => beta([0.1, 0.2], notArray), /factorReturns must be an array of numbers/);
});

// ---- naive reference implementations ---------------------------------------------------------

function naiveMoments(r: ArrayLike<number>): { mean: number; sd: number; n: number } {
  let s = 0;
  let n = 0;
  for (let i = 0; i < r.length; i++) {
    if (!Number.isNaN(r[i])) {
      s += r[i];
      n++;
    }
  }
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < r.length; i++) if (!Number.isNaN(r[i])) ss += (r[i] - mean) ** 2;
  return { mean, sd: Math.sqrt(ss / (n - 1)), n };
}

Deno.test("metrics agree with naive textbook implementations on 5,000 returns with NaN gaps", () => {
  const n = 5000;
  const f = normals(61, n, 0.0003, 0.012);
  const eps = normals(62, n, 0, 0.008);
  const r = f.map((x, i) => 0.0002 + 1.3 * x + eps[i]);
  for (let i = 17; i < n; i += 401) r[i] = NaN;
  for (let i = 5; i < n; i += 977) f[i] = NaN;

  const { mean, sd } = naiveMoments(r);
  near(sharpeRatio(r), (mean / sd) * Math.sqrt(252), 1e-10, "sharpe");
  near(annualVolatility(r, { annualization: 365 }), sd * Math.sqrt(365), 1e-10, "volatility");

  let dsq = 0;
  let dn = 0;
  for (const x of r) {
    if (!Number.isNaN(x)) {
      dsq += Math.min(x - 0.0001, 0) ** 2;
      dn++;
    }
  }
  const dr = Math.sqrt(dsq / dn) * Math.sqrt(252);
  near(downsideRisk(r, { requiredReturn: 0.0001 }), dr, 1e-10, "downside risk");
  const adj = naiveMoments(r.map((x) => x - 0.0001));
  near(sortinoRatio(r, { requiredReturn: 0.0001 }), (adj.mean * 252) / dr, 1e-10, "sortino");

  // drawdown of the compounded curve, NaN as a 0 return
  let eq = 1;
  let peak = 1;
  let mdd = 0;
  for (const x of r) {
    eq *= 1 + (Number.isNaN(x) ? 0 : x);
    peak = Math.max(peak, eq);
    mdd = Math.min(mdd, eq / peak - 1);
  }
  near(maxDrawdown(r), mdd, 1e-12, "max drawdown");
  near(annualReturn(r), eq ** (252 / n) - 1, 1e-10, "annual return");

  // OLS on the periods where both are known
  let sx = 0;
  let sy = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(r[i]) && !Number.isNaN(f[i])) {
      sx += f[i];
      sy += r[i];
      k++;
    }
  }
  const mx = sx / k;
  const my = sy / k;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(r[i]) && !Number.isNaN(f[i])) {
      sxy += (f[i] - mx) * (r[i] - my);
      sxx += (f[i] - mx) ** 2;
    }
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  near(beta(r, f), slope, 1e-10, "beta");
  near(alpha(r, f), (1 + intercept) ** 252 - 1, 1e-9, "alpha");

  // VaR by sorting and interpolating by hand
  const clean = Array.from(r).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const pos = (clean.length - 1) * 0.05;
  const lo = Math.floor(pos);
  const var5 = clean[lo] + (clean[lo + 1] - clean[lo]) * (pos - lo);
  near(valueAtRisk(clean), var5, 1e-12, "VaR");
  const below = clean.filter((x) => x <= var5);
  near(
    conditionalValueAtRisk(clean),
    below.reduce((a, b) => a + b, 0) / below.length,
    1e-12,
    "CVaR",
  );

  // stability: R² of cumulative log returns against time
  const y: number[] = [];
  let acc = 0;
  for (const x of r) {
    if (!Number.isNaN(x)) {
      acc += Math.log(1 + x);
      y.push(acc);
    }
  }
  const m = y.length;
  const xm = (m - 1) / 2;
  const ym = y.reduce((a, b) => a + b, 0) / m;
  let cxy = 0;
  let cxx = 0;
  let cyy = 0;
  for (let i = 0; i < m; i++) {
    cxy += (i - xm) * (y[i] - ym);
    cxx += (i - xm) ** 2;
    cyy += (y[i] - ym) ** 2;
  }
  near(stabilityOfTimeseries(r), (cxy * cxy) / (cxx * cyy), 1e-10, "stability");
});

Deno.test("maxDrawdown() and annualReturn() of GOOG closes equal their price-based definitions", async () => {
  const text = await Deno.readTextFile(new URL("../../../shared/data/GOOG.csv", import.meta.url));
  const close = text.trim().split("\n").slice(1).map((line) => Number(line.split(",")[4]));
  assert.equal(close.length, 2148);
  const r = simpleReturns(close);
  let peak = close[0];
  let mdd = 0;
  for (const c of close) {
    peak = Math.max(peak, c);
    mdd = Math.min(mdd, c / peak - 1);
  }
  near(maxDrawdown(r), mdd, 1e-12, "GOOG max drawdown");
  near(cumReturnsFinal(r), close[close.length - 1] / close[0] - 1, 1e-12, "GOOG total return");
  near(
    annualReturn(r),
    (close[close.length - 1] / close[0]) ** (252 / r.length) - 1,
    1e-12,
    "GOOG CAGR",
  );
  near(beta(r, r), 1, 1e-12, "GOOG beta to itself");
  near(alpha(r, r), 0, 1e-12, "GOOG alpha to itself");
});

Deno.test("valueAtRisk(), conditionalValueAtRisk(), tailRatio() equal sort-based answers with ties", () => {
  const u = rng(71);
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(u() * (trial < 250 ? 60 : 3000));
    // mostly flat periods (exact zeros, as a strategy out of the market has) plus a few levels
    const r = Float64Array.from({ length: n }, () => {
      const p = u();
      return p < 0.5 ? 0 : p < 0.7 ? -0.01 : p < 0.8 ? 0.02 : (u() - 0.5) / 10;
    });
    const s = Array.from(r).sort((a, b) => a - b);
    const pct = (q: number) => {
      const idx = (n - 1) * q;
      const lo = Math.floor(idx);
      return lo >= n - 1 ? s[n - 1] : s[lo] + (s[lo + 1] - s[lo]) * (idx - lo);
    };
    for (const cutoff of [0, 0.01, 0.05, 0.25, 0.5, 0.99, 1]) {
      almost(valueAtRisk(r, { cutoff }), pct(cutoff), 14, `VaR n=${n} cutoff=${cutoff}`);
      const k = Math.trunc((n - 1) * cutoff) + 1;
      const lowest = s.slice(0, k).reduce((a, b) => a + b, 0) / k;
      almost(conditionalValueAtRisk(r, { cutoff }), lowest, 14, `CVaR n=${n} cutoff=${cutoff}`);
    }
    almost(tailRatio(r), Math.abs(pct(0.95)) / Math.abs(pct(0.05)), 10, `tail n=${n}`);
  }
});

Deno.test("tailRiskStats() equals valueAtRisk(), conditionalValueAtRisk() and tailRatio()", () => {
  const cases: ArrayLike<number>[] = [
    [],
    [0.01],
    [0.01, NaN, -0.02],
    [NaN, NaN],
    normals(81, 997, 0, 0.01),
    Float64Array.from({ length: 500 }, (_, i) => (i % 7 === 0 ? 0 : Math.sin(i) / 50)),
  ];
  for (const r of cases) {
    for (const cutoff of [0, 0.05, 0.3, 1]) {
      const t = tailRiskStats(r, { cutoff });
      const label = `n=${r.length} cutoff=${cutoff}`;
      almost(t.valueAtRisk, valueAtRisk(r, { cutoff }), 15, `VaR ${label}`);
      almost(t.conditionalValueAtRisk, conditionalValueAtRisk(r, { cutoff }), 15, `CVaR ${label}`);
      almost(t.tailRatio, tailRatio(r), 15, `tail ${label}`);
    }
  }
});
