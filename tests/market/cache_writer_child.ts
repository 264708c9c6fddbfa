/**
 * Child process for the crash test: writes a large cache entry with the real backend and
 * gets killed (SIGKILL) by the parent in the middle of it.
 * Args: <backend: parquet-file | deno-kv> <dir or kv path> <bars> [writer: nodejs-polars | pure-js]
 */
import { KvCache, ParquetFileCache } from "../../market/parquet_cache.ts";
import { generateBars } from "../../market/sample_data.ts";

const [backend, where, n, writer] = Deno.args;
const cache = backend === "deno-kv"
  ? await KvCache.open(where)
  : new ParquetFileCache(where, { writer: writer === "pure-js" ? "pure-js" : "nodejs-polars" });
const bars = generateBars(Number(n), {
  seed: 77,
  intervalMs: 60_000,
  startTime: Date.UTC(2020, 0, 1),
});
console.log("writing");
// Keep writing until killed, so the parent can catch a write in progress.
for (;;) {
  await cache.write({ exchange: "binance", symbol: "BTC/USDT", timeframe: "1m" }, {
    bars,
    coverage: [[bars.timestamp[0], bars.timestamp[bars.length - 1]]],
    fetchedAt: 1,
  });
}
