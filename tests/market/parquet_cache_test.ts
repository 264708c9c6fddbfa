import assert from "node:assert/strict";
import pl from "nodejs-polars";
import type { Bars } from "../../engine/types.ts";
import {
  type CacheBackend,
  CacheCorruptError,
  type CacheKey,
  KvCache,
  openCache,
  ParquetFileCache,
} from "../../market/parquet_cache.ts";
import { generateBars } from "../../market/sample_data.ts";
import { mergeRanges, missingRanges } from "../../market/coverage.ts";
import { LruCache } from "../../market/lru_cache.ts";

const KEY: CacheKey = { exchange: "binance", symbol: "BTC/USDT", timeframe: "1m" };

function same(a: Bars, b: Bars) {
  assert.equal(a.length, b.length);
  for (const k of ["timestamp", "open", "high", "low", "close", "volume"] as const) {
    for (let i = 0; i < a.length; i++) {
      if (a[k][i] !== b[k][i]) assert.fail(`${k}[${i}]: ${a[k][i]} vs ${b[k][i]}`);
    }
  }
}

interface Harness {
  cache: CacheBackend;
  where: string;
  /** Damages the stored entry of KEY. */
  corrupt(): Promise<void>;
  /** Kills a child mid-write once its write is visibly in progress. */
  waitForWriteInProgress(): Promise<boolean>;
  cleanup(): Promise<void>;
}

async function fileHarness(): Promise<Harness> {
  const dir = await Deno.makeTempDir();
  const cache = new ParquetFileCache(dir);
  const path = cache.locate(KEY);
  return {
    cache,
    where: dir,
    async corrupt() {
      const bytes = await Deno.readFile(path);
      await Deno.writeFile(path, bytes.slice(0, Math.floor(bytes.length / 2)));
    },
    async waitForWriteInProgress() {
      const folder = path.slice(0, path.lastIndexOf("/"));
      // Generous deadline: on a loaded 2-core machine the child can take seconds to start.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        for (const e of Deno.readDirSync(folder)) {
          if (e.name.includes(".tmp-") && Deno.statSync(`${folder}/${e.name}`).size > 0) {
            return true;
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      return false;
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

async function kvHarness(): Promise<Harness> {
  const dir = await Deno.makeTempDir();
  const where = `${dir}/cache.kv`;
  const cache = await KvCache.open(where);
  return {
    cache,
    where,
    async corrupt() {
      const kv = await Deno.openKv(where);
      for await (
        const e of kv.list({
          prefix: ["wagyu", "ohlcv", KEY.exchange, KEY.symbol, KEY.timeframe, "c"],
        })
      ) {
        if (e.key[e.key.length - 1] === 1) await kv.delete(e.key);
      }
      kv.close();
    },
    async waitForWriteInProgress() {
      const kv = await Deno.openKv(where);
      try {
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const gens = new Set<unknown>();
          for await (
            const e of kv.list({
              prefix: ["wagyu", "ohlcv", KEY.exchange, KEY.symbol, KEY.timeframe, "c"],
            })
          ) {
            gens.add(e.key[6]);
          }
          if (gens.size >= 2) return true;
          await new Promise((r) => setTimeout(r, 2));
        }
        return false;
      } finally {
        kv.close();
      }
    },
    async cleanup() {
      cache.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const BACKENDS: [string, () => Promise<Harness>][] = [
  ["ParquetFileCache", fileHarness],
  ["KvCache", kvHarness],
];

for (const [name, make] of BACKENDS) {
  Deno.test(`${name}: read of a missing entry is null; write/read round-trips bars and coverage`, async () => {
    const h = await make();
    try {
      assert.equal(await h.cache.read(KEY), null);
      const bars = generateBars(3000, { seed: 1, intervalMs: 60_000, decimals: null });
      const coverage: [number, number][] = [[bars.timestamp[0], bars.timestamp[2999]]];
      await h.cache.write(KEY, { bars, coverage, fetchedAt: 123 });
      const back = await h.cache.read(KEY);
      assert.ok(back);
      same(back.bars, bars);
      assert.deepEqual(back.coverage, coverage);
      assert.equal(back.fetchedAt, 123);
      // Overwrite, then remove.
      const small = generateBars(10, { seed: 2, intervalMs: 60_000 });
      await h.cache.write(KEY, { bars: small, coverage: [], fetchedAt: 5 });
      same((await h.cache.read(KEY))!.bars, small);
      await h.cache.remove(KEY);
      assert.equal(await h.cache.read(KEY), null);
      // Entries are per key.
      await h.cache.write(KEY, { bars: small, coverage: [], fetchedAt: 5 });
      assert.equal(await h.cache.read({ ...KEY, timeframe: "1h" }), null);
    } finally {
      await h.cleanup();
    }
  });

  Deno.test(`${name}: a damaged entry raises CacheCorruptError`, async () => {
    const h = await make();
    try {
      const bars = generateBars(20_000, { seed: 1, intervalMs: 60_000 });
      await h.cache.write(KEY, { bars, coverage: [], fetchedAt: 0 });
      await h.corrupt();
      await assert.rejects(() => h.cache.read(KEY), CacheCorruptError);
    } finally {
      await h.cleanup();
    }
  });

  Deno.test(`${name}: a writer killed mid-write leaves the previous entry intact`, async () => {
    const h = await make();
    try {
      const old = generateBars(500, { seed: 3, intervalMs: 60_000 });
      await h.cache.write(KEY, {
        bars: old,
        coverage: [[old.timestamp[0], old.timestamp[499]]],
        fetchedAt: 9,
      });
      if (h.cache instanceof KvCache) h.cache.close();
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./cache_writer_child.ts", import.meta.url).pathname,
          h.cache.kind,
          h.where,
          "300000",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const caught = await h.waitForWriteInProgress();
      child.kill("SIGKILL");
      await child.status;
      assert.ok(caught, "the child's write was never seen in progress");
      const reader = h.cache instanceof KvCache ? await KvCache.open(h.where) : h.cache;
      try {
        const back = await reader.read(KEY);
        // The old entry, or (if the kill landed after a completed rename/commit) the new
        // one — whole either way, never a mix or a damaged file.
        assert.ok(back);
        if (back.bars.length === 500) same(back.bars, old);
        else assert.equal(back.bars.length, 300000);
      } finally {
        if (reader instanceof KvCache) reader.close();
      }
    } finally {
      if (!(h.cache instanceof KvCache)) await h.cleanup();
      else await Deno.remove(h.where.slice(0, h.where.lastIndexOf("/")), { recursive: true });
    }
  });
}

Deno.test("ParquetFileCache: leftover temp files are ignored; stale ones are cleaned by the next write", async () => {
  const h = await fileHarness();
  try {
    const bars = generateBars(100, { seed: 4, intervalMs: 60_000 });
    await h.cache.write(KEY, { bars, coverage: [], fetchedAt: 1 });
    const path = h.cache.locate(KEY);
    const full = await Deno.readFile(path);
    await Deno.writeFile(`${path}.tmp-999-deadbeef`, full.slice(0, 100));
    await Deno.writeFile(`${path}.tmp-998-cafef00d`, full.slice(0, 100));
    // One is an hour old (a crashed writer's); the other could be a live writer's.
    const hourAgo = new Date(Date.now() - 3_600_000);
    await Deno.utime(`${path}.tmp-999-deadbeef`, hourAgo, hourAgo);
    same((await h.cache.read(KEY))!.bars, bars);
    await h.cache.write(KEY, { bars, coverage: [], fetchedAt: 2 });
    const left = [...Deno.readDirSync(path.slice(0, path.lastIndexOf("/")))].map((e) => e.name);
    assert.deepEqual(left.sort(), ["BTC_USDT_1m.parquet", "BTC_USDT_1m.parquet.tmp-998-cafef00d"]);
  } finally {
    await h.cleanup();
  }
});

Deno.test("ParquetFileCache: files live at <exchange>/<BASE>_<QUOTE>_<tf>.parquet and nodejs-polars reads them", async () => {
  const h = await fileHarness();
  try {
    const bars = generateBars(1000, { seed: 5, intervalMs: 60_000 });
    await h.cache.write(KEY, { bars, coverage: [], fetchedAt: 1 });
    assert.equal(h.cache.locate(KEY), `${h.where}/binance/BTC_USDT_1m.parquet`);
    const df = pl.readParquet(h.cache.locate(KEY));
    assert.deepEqual(df.columns, ["timestamp", "open", "high", "low", "close", "volume"]);
    assert.deepEqual(df.getColumn("high").toArray(), [...bars.high]);
  } finally {
    await h.cleanup();
  }
});

Deno.test("openCache() picks the file backend with nodejs-polars and KV without it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await openCache({ dir: `${dir}/cache`, kvPath: `${dir}/c.kv` });
    assert.equal(c.kind, "parquet-file");
    c.close();
    const code = `import { openCache } from ${
      JSON.stringify(new URL("../../market/parquet_cache.ts", import.meta.url).href)
    };
      const c = await openCache({ dir: ${JSON.stringify(`${dir}/cache`)}, kvPath: ${
      JSON.stringify(`${dir}/c.kv`)
    } });
      console.log(c.kind); c.close();`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-kv", code],
      env: { WAGYU_NO_POLARS: "1" },
      cwd: new URL("../../", import.meta.url).pathname,
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      "deno-kv",
      new TextDecoder().decode(out.stderr),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mergeRanges() and missingRanges() against hand-worked cases", () => {
  assert.deepEqual(mergeRanges([[10, 20], [0, 5], [21, 30], [40, 50]]), [[0, 5], [10, 30], [
    40,
    50,
  ]]);
  assert.deepEqual(missingRanges([0, 100], [[10, 20], [30, 40]]), [[0, 9], [21, 29], [41, 100]]);
  assert.deepEqual(missingRanges([12, 18], [[10, 20]]), []);
  assert.deepEqual(missingRanges([15, 35], [[10, 20], [30, 40]]), [[21, 29]]);
  assert.deepEqual(missingRanges([0, 5], []), [[0, 5]]);
});

Deno.test("LruCache evicts the least recently used entry by count and by size", () => {
  const lru = new LruCache<number>({ maxEntries: 3, maxSize: 10, sizeOf: (v) => v });
  lru.set("a", 1);
  lru.set("b", 2);
  lru.set("c", 3);
  assert.equal(lru.get("a"), 1); // a is now the most recent
  lru.set("d", 1); // over 3 entries: evicts b
  assert.deepEqual(lru.keys(), ["c", "a", "d"]);
  lru.set("e", 9); // size 3+1+1+9 = 14 > 10: evicts c (→ 11), then a (→ 10)
  assert.deepEqual(lru.keys(), ["d", "e"]);
  assert.equal(lru.size, 10);
  lru.set("huge", 11); // larger than the limit alone: not stored
  assert.equal(lru.get("huge"), undefined);
});
