import assert from "node:assert/strict";
import { DEFAULT_CONFIG, parseSizing, resolveConfig } from "../../engine/config.ts";

Deno.test("resolveConfig() fills defaults and maps slippageBps to a bps model", () => {
  const c = resolveConfig({ cash: 5000, slippageBps: 5 });
  assert.equal(c.cash, 5000);
  assert.deepEqual(c.slippage, { kind: "bps", bps: 5 });
  assert.equal(c.feeTaker, 0);
  assert.equal(c.mode, "long_only");
  assert.deepEqual(c.sizing, { kind: "fraction", value: 1 });
  assert.equal(c.fillOn, "next_open");
  assert.deepEqual(resolveConfig(), { ...DEFAULT_CONFIG });
});

Deno.test("resolveConfig() throws a RangeError naming the bad field", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ cash: 0 }, /config\.cash/],
    [{ cash: Number.NaN }, /config\.cash.*NaN/],
    [{ feeTaker: -0.1 }, /config\.feeTaker/],
    [{ feeMaker: "0.1" }, /config\.feeMaker/],
    [{ mode: "short" }, /config\.mode/],
    [{ sizing: { kind: "percent", value: 1 } }, /config\.sizing\.kind/],
    [{ sizing: { kind: "units", value: 0 } }, /config\.sizing\.value/],
    [{ slippage: { kind: "ticks", ticks: 1, tickSize: 0 } }, /config\.slippage\.tickSize/],
    [{ slippage: { kind: "volume_share", volumeLimit: 2, priceImpact: 0.1 } }, /volumeLimit/],
    [{ leverage: 0 }, /config\.leverage/],
    [{ maintenanceMargin: 1 }, /config\.maintenanceMargin/],
    [{ wholeUnits: 1 }, /config\.wholeUnits/],
    [{ annualization: -5 }, /config\.annualization/],
    [{ fillOn: "open" }, /config\.fillOn/],
    [{ cahs: 1 }, /Unknown config field "cahs"/],
    [{ slippageBps: 1, slippage: { kind: "none" } }, /slippageBps/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => resolveConfig(input as never), (e: unknown) => {
      assert.ok(e instanceof RangeError, `${JSON.stringify(input)}: ${e}`);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("parseSizing() parses fraction, units and notional and rejects the rest", () => {
  assert.deepEqual(parseSizing("fraction:0.5"), { kind: "fraction", value: 0.5 });
  assert.deepEqual(parseSizing("units:10"), { kind: "units", value: 10 });
  assert.deepEqual(parseSizing("notional:5000"), { kind: "notional", value: 5000 });
  for (const bad of ["fraction", "units:-1", "notional:abc", "pct:5", ""]) {
    assert.throws(() => parseSizing(bad), RangeError, bad);
  }
});
