import assert from "node:assert/strict";
import {
  createLoader,
  ExchangeLoader,
  FileLoader,
  resolveDataSpec,
} from "../../market/data_loader.ts";
import { DataFileError } from "../../market/load_bars.ts";
import { ParquetFileCache } from "../../market/parquet_cache.ts";
import { generateBars } from "../../market/sample_data.ts";
import { FakeExchange } from "./fake_exchange.ts";

const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;

Deno.test("resolveDataSpec() loads a file path, a dataset name, and a time window of a file", async () => {
  const g = await resolveDataSpec(GOOG);
  assert.equal(g.bars.length, 2148);
  const s = await resolveDataSpec("SAMPLE_USD_1d.csv");
  assert.equal(s.source, "SAMPLE_USD_1d.csv");
  assert.equal(s.bars.length, 1304);
  const w = await resolveDataSpec(GOOG, {
    since: Date.UTC(2010, 0, 1),
    until: Date.UTC(2010, 11, 31),
  });
  assert.equal(w.bars.length, 252); // GOOG traded 252 days in 2010
  assert.equal(w.bars.timestamp[0], Date.UTC(2010, 0, 4));
  await assert.rejects(() => resolveDataSpec("no_such_file.csv"), DataFileError);
});

Deno.test("resolveDataSpec() turns binance:BTC/USDT:1h into bars through ccxt and the cache", async () => {
  const H = 3_600_000, T0 = Date.UTC(2024, 0, 1);
  const fx = new FakeExchange(generateBars(300, { seed: 1, startTime: T0, intervalMs: H }));
  const dir = await Deno.makeTempDir();
  try {
    const loader = await createLoader("binance:BTC/USDT:1h", {
      cache: new ParquetFileCache(dir),
      memory: null,
      exchangeOptions: fx.binanceOptions(),
      now: () => T0 + 300 * H,
    });
    assert.ok(loader instanceof ExchangeLoader);
    const r = await loader.load({ since: T0 });
    assert.equal(r.bars.length, 300);
    assert.equal(r.source, "binance:BTC/USDT:1h");
    assert.ok((await createLoader(GOOG)) instanceof FileLoader);
  } finally {
    await fx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
