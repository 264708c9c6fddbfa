import assert from "node:assert/strict";
import { writeParquetBytes } from "../../market/parquet_codec.ts";
import { generateBars, writeCsv } from "../../market/sample_data.ts";
import { FakeExchange } from "./fake_exchange.ts";

const H = 3_600_000, T0 = Date.UTC(2024, 0, 1);
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("deploy profile: without FFI and with writes only to a KV folder, the cache, the LRU and dataset uploads all live in Deno KV", async () => {
  const source = generateBars(3000, { seed: 9, startTime: T0, intervalMs: H });
  const fx = new FakeExchange(source);
  const dir = await Deno.makeTempDir({ prefix: "wagyu_deploy_" });
  try {
    const kvPath = `${dir}/kv/wagyu.kv`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-kv",
        "--allow-read",
        "--allow-net",
        "--allow-env",
        `--allow-write=${dir}/kv`,
        new URL("./deploy_profile_child.ts", import.meta.url).pathname,
        String(fx.port),
      ],
      env: { WAGYU_KV_PATH: kvPath },
      cwd: ROOT,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    // No FFI → no nodejs-polars, and data/ is not writable → KV, chosen by itself.
    assert.notEqual(r.ffi, "granted");
    assert.equal(r.cacheKind, "deno-kv");
    assert.match(r.cacheWhere, /^kv:/);
    // Exchange bars: fetched once (2 pages), then the second, narrower load came from KV.
    assert.equal(r.first.n, 1500);
    assert.equal(r.first.lastClose, source.close[1499]);
    assert.equal(fx.calls("/api/v3/klines").length, 2);
    assert.equal(r.second.n, 1100);
    assert.equal(r.second.firstTime, T0 + 100 * H);
    assert.equal(r.second.close500, source.close[600]);
    assert.equal(r.stored, 1500);
    // Uploads went to KV (not data/datasets/), list with their sizes, and load back.
    assert.deepEqual(r.uploadPaths, [
      "kv://datasets/deploy_up_1d.csv",
      "kv://datasets/deploy_up_1d.parquet",
    ]);
    const bars = generateBars(700, {
      seed: 21,
      intervalMs: 86_400_000,
      startTime: Date.UTC(2020, 0, 1),
    });
    assert.deepEqual(r.listed.map((d: { name: string; kind: string }) => [d.name, d.kind]), [
      ["deploy_up_1d.csv", "upload"],
      ["deploy_up_1d.parquet", "upload"],
    ]);
    assert.deepEqual(r.listed.map((d: { size: number }) => d.size), [
      new TextEncoder().encode(writeCsv(bars, { time: "ms" })).length,
      writeParquetBytes(bars).length,
    ]);
    for (const l of r.loaded) {
      assert.equal(l.n, 700, l.name);
      assert.deepEqual(l.close, Array.from(bars.close.subarray(0, 3)), l.name);
      assert.equal(l.last, bars.close[699], l.name);
    }
    assert.deepEqual(r.afterDelete, ["deploy_up_1d.parquet"]);
    for (const name of ["deploy_up_1d.csv", "deploy_up_1d.parquet"]) {
      await assert.rejects(() => Deno.stat(`${ROOT}data/datasets/${name}`), Deno.errors.NotFound);
    }
    // Everything it stored is in the KV file.
    assert.ok((await Deno.stat(kvPath)).size > 0);
  } finally {
    await fx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
