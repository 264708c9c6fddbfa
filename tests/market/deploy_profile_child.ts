/**
 * Child process of deploy_profile_test.ts, run with the deploy task's permissions (no FFI,
 * writes only to the KV folder): uses the cache, the exchange loader with its memory LRU, and
 * dataset uploads the way the server does, with default folders, and prints what it saw as
 * JSON. Args: <fake exchange port>
 */
import { createMemoryCache, loadExchangeBars } from "../../market/ccxt_loader.ts";
import { deleteDataset, listDatasets, resolveDataset, saveDataset } from "../../market/datasets.ts";
import { loadBars } from "../../market/load_bars.ts";
import { openCache } from "../../market/parquet_cache.ts";
import { writeParquetBytes } from "../../market/parquet_codec.ts";
import { generateBars, writeCsv } from "../../market/sample_data.ts";

const port = Number(Deno.args[0]);
const H = 3_600_000, T0 = Date.UTC(2024, 0, 1);
const out: Record<string, unknown> = {};
const ffi = Deno.permissions.querySync({ name: "ffi" }).state;
const cache = await openCache();
out.ffi = ffi;
out.cacheKind = cache.kind;
out.cacheWhere = cache.locate({ exchange: "binance", symbol: "BTC/USDT", timeframe: "1h" });
const opts = {
  cache,
  memory: createMemoryCache(),
  exchangeOptions: {
    urls: { api: { public: `http://127.0.0.1:${port}/api/v3` } },
    rateLimit: 1,
  },
  now: () => T0 + 3000 * H + 300_000,
};
const req = { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h" };
const first = await loadExchangeBars({ ...req, since: T0, until: T0 + 1499 * H }, opts);
// A new LRU: the second load must come from the KV cache itself.
const second = await loadExchangeBars({ ...req, since: T0 + 100 * H, until: T0 + 1199 * H }, {
  ...opts,
  memory: createMemoryCache(),
});
out.first = { n: first.bars.length, lastClose: first.bars.close[first.bars.length - 1] };
out.second = {
  n: second.bars.length,
  firstTime: second.bars.timestamp[0],
  close500: second.bars.close[500],
};
out.stored = (await cache.read(req))?.bars.length ?? null;

// Uploads: a CSV and a Parquet file, listed, resolved, loaded back and deleted.
const bars = generateBars(700, {
  seed: 21,
  intervalMs: 86_400_000,
  startTime: Date.UTC(2020, 0, 1),
});
const csv = new TextEncoder().encode(writeCsv(bars, { time: "ms" }));
const up = await saveDataset("deploy_up_1d.csv", csv, { overwrite: true });
const pq = await saveDataset("deploy_up_1d.parquet", writeParquetBytes(bars), { overwrite: true });
out.uploadPaths = [up.info.path, pq.info.path];
out.listed = (await listDatasets()).filter((d) => d.name.startsWith("deploy_up")).map((d) => ({
  name: d.name,
  size: d.size,
  kind: d.kind,
}));
const loaded = [];
for (const name of ["deploy_up_1d.csv", "deploy_up_1d.parquet"]) {
  const { bars: b } = await loadBars(await resolveDataset(name));
  loaded.push({
    name,
    n: b.length,
    close: Array.from(b.close.subarray(0, 3)),
    last: b.close[b.length - 1],
  });
}
out.loaded = loaded;
await deleteDataset("deploy_up_1d.csv");
out.afterDelete = (await listDatasets()).filter((d) => d.name.startsWith("deploy_up")).map((d) =>
  d.name
);
console.log(JSON.stringify(out));
Deno.exit(0);
