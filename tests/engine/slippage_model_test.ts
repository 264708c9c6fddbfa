import assert from "node:assert/strict";
import {
  BpsSlippage,
  createSlippage,
  NoSlippage,
  TickSlippage,
  VolumeShareSlippage,
} from "../../engine/slippage_model.ts";

Deno.test("BpsSlippage moves buys up and sells down by bps / 10 000", () => {
  const s = new BpsSlippage(25);
  assert.equal(s.price({ side: "buy", price: 200, quantity: 1, volume: 0 }), 200 * 1.0025);
  assert.equal(s.price({ side: "sell", price: 200, quantity: 1, volume: 0 }), 200 * 0.9975);
  assert.equal(s.maxQuantity(0), Infinity);
});

Deno.test("TickSlippage moves the price by ticks × tickSize", () => {
  const s = new TickSlippage(3, 0.01);
  assert.ok(Math.abs(s.price({ side: "buy", price: 10, quantity: 1, volume: 0 }) - 10.03) < 1e-12);
  assert.ok(Math.abs(s.price({ side: "sell", price: 10, quantity: 1, volume: 0 }) - 9.97) < 1e-12);
});

Deno.test("VolumeShareSlippage caps quantity and charges priceImpact × share²", () => {
  const s = new VolumeShareSlippage(0.025, 0.1);
  assert.equal(s.maxQuantity(1000), 25);
  assert.equal(
    s.price({ side: "buy", price: 100, quantity: 20, volume: 1000 }),
    100 * (1 + 0.1 * 0.02 * 0.02),
  );
  assert.equal(
    s.price({ side: "sell", price: 100, quantity: 20, volume: 1000 }),
    100 * (1 - 0.1 * 0.02 * 0.02),
  );
  assert.equal(s.sizingPrice("buy", 100), 100 * (1 + 0.1 * 0.025 * 0.025));
  assert.equal(s.sizingPrice("sell", 100), 100);
});

Deno.test("createSlippage() builds one class per model kind", () => {
  assert.ok(createSlippage({ kind: "none" }) instanceof NoSlippage);
  assert.ok(createSlippage({ kind: "bps", bps: 0 }) instanceof NoSlippage);
  assert.ok(createSlippage({ kind: "bps", bps: 1 }) instanceof BpsSlippage);
  assert.ok(createSlippage({ kind: "ticks", ticks: 1, tickSize: 1 }) instanceof TickSlippage);
  assert.ok(
    createSlippage({ kind: "volume_share", volumeLimit: 0.1, priceImpact: 0.1 }) instanceof
      VolumeShareSlippage,
  );
});
