import assert from "node:assert/strict";
import { resolveConfig } from "../../engine/config.ts";
import { createFeeModel, MakerTakerFee, NoFee } from "../../engine/fee_model.ts";

Deno.test("MakerTakerFee charges |q| × price × rate + fixed by fill kind", () => {
  const f = new MakerTakerFee(0.001, 0.002, 1.5);
  assert.equal(f.fee({ quantity: 10, price: 50, maker: true }), 10 * 50 * 0.001 + 1.5);
  assert.equal(f.fee({ quantity: 10, price: 50, maker: false }), 10 * 50 * 0.002 + 1.5);
  assert.equal(f.fee({ quantity: -10, price: 50, maker: false }), 10 * 50 * 0.002 + 1.5);
});

Deno.test("createFeeModel() picks NoFee for a fee-free config", () => {
  assert.ok(createFeeModel(resolveConfig()) instanceof NoFee);
  assert.equal(createFeeModel(resolveConfig()).fee({ quantity: 5, price: 5, maker: false }), 0);
  assert.ok(createFeeModel(resolveConfig({ feeFixed: 1 })) instanceof MakerTakerFee);
});
