import assert from "node:assert/strict";
import pl from "nodejs-polars";
import type { Bars } from "../../engine/types.ts";
import {
  type CacheBackend,
  CacheCorruptError,
  type CacheKey,
  encodeEntry,
  KvCache,
  openCache,
  type ParquetEngine,
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
  /** Extra child argument (the file writer). */
  childArg: string;
  where: string;
  /** Damages the stored entry of KEY. */
  corrupt(): Promise<void>;
  /** Kills a child mid-write once its write is visibly in progress. */
  waitForWriteInProgress(): Promise<boolean>;
  cleanup(): Promise<void>;
}

async function fileHarness(engine: ParquetEngine = "nodejs-polars"): Promise<Harness> {
  const dir = await Deno.makeTempDir();
  // Each backend reads with its own engine, so the suite covers both readers as well.
  const cache = new ParquetFileCache(dir, { writer: engine, reader: engine });
  const path = cache.locate(KEY);
  return {
    cache,
    childArg: engine,
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
    childArg: "",
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

/** The one cache suite runs against every backend: files written and read by nodejs-polars
 * (the primary backend), files written and read by the pure-JS codec (the fallback where
 * nodejs-polars cannot load), and Deno KV chunks (the deploy profile). */
const BACKENDS: [string, () => Promise<Harness>][] = [
  ["ParquetFileCache(nodejs-polars)", () => fileHarness("nodejs-polars")],
  ["ParquetFileCache(pure-js)", () => fileHarness("pure-js")],
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
          h.childArg,
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

Deno.test("ParquetFileCache: crashed writers' temp files are ignored by reads and swept at open", async () => {
  const h = await fileHarness();
  try {
    const bars = generateBars(100, { seed: 4, intervalMs: 60_000 });
    await h.cache.write(KEY, { bars, coverage: [], fetchedAt: 1 });
    const path = h.cache.locate(KEY);
    const folder = path.slice(0, path.lastIndexOf("/"));
    const full = await Deno.readFile(path);
    // A dead writer's (pid 2^22 + 1 is above Linux's pid_max: no such process), an hour-old
    // one of a live pid, and a fresh one of a live process (this one's parent: it may be
    // writing right now).
    const dead = `${path}.tmp-4194305-deadbeef`;
    const old = `${path}.tmp-${Deno.ppid}-0ld0ld00`;
    const live = `${path}.tmp-${Deno.ppid}-cafef00d`;
    for (const p of [dead, old, live]) await Deno.writeFile(p, full.slice(0, 100));
    const hourAgo = new Date(Date.now() - 3_600_000);
    await Deno.utime(old, hourAgo, hourAgo);
    same((await h.cache.read(KEY))!.bars, bars);
    const reopened = await openCache({ dir: h.where, backend: "parquet-file" });
    same((await reopened.read(KEY))!.bars, bars);
    const left = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
    assert.deepEqual(left, [
      "BTC_USDT_1m.parquet",
      "BTC_USDT_1m.parquet.tmp-" + live.split(".tmp-")[1],
    ]);
  } finally {
    await h.cleanup();
  }
});

Deno.test("ParquetFileCache: files written by nodejs-polars and by the pure-JS codec read back identically with either reader", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 400k rows: nodejs-polars splits these into several row groups and pages; 100 rows: it
    // dictionary-encodes the timestamp column.
    for (const rows of [400_000, 100]) {
      const bars = generateBars(rows, { seed: 6, intervalMs: 60_000, decimals: null });
      const coverage: [number, number][] = [[bars.timestamp[0], bars.timestamp[bars.length - 1]]];
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      for (const writer of ["nodejs-polars", "pure-js"] as const) {
        const w = new ParquetFileCache(`${dir}/${writer}`, { writer });
        assert.equal(await w.writer(), writer);
        await w.write(KEY, { bars, coverage, fetchedAt: 42 });
        const bytes = await Deno.readFile(w.locate(KEY));
        // The writer shows in the footer's created_by (nodejs-polars writes "Polars").
        const tail = new TextDecoder().decode(bytes.subarray(bytes.length - 4096));
        assert.equal(tail.includes("Polars"), writer === "nodejs-polars");
        for (const reader of ["nodejs-polars", "pure-js"] as const) {
          const r = new ParquetFileCache(`${dir}/${writer}`, { reader });
          const back = await r.read(KEY);
          assert.ok(back, `${writer} → ${reader}`);
          same(back.bars, bars);
          assert.deepEqual(back.coverage, coverage);
          assert.equal(back.fetchedAt, 42);
        }
        // And nodejs-polars' own reader sees the same columns.
        const df = pl.readParquet(w.locate(KEY));
        assert.equal(df.height, bars.length);
        assert.equal(df.getColumn("close").get(rows - 7), bars.close[rows - 7]);
        assert.equal(Number(df.getColumn("timestamp").cast(pl.Float64).get(7)), bars.timestamp[7]);
      }
      // KV holds the same bytes as the pure-JS file.
      assert.deepEqual(
        await Deno.readFile(`${dir}/pure-js/binance/BTC_USDT_1m.parquet`),
        encodeEntry(KEY, { bars, coverage, fetchedAt: 42 }),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
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

/** Runs `code` in a child process with `permissions` and `env`; returns its stdout. */
async function child(code: string, permissions: string[], env: Record<string, string> = {}) {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--unstable-kv", ...permissions, file],
      env,
      cwd: new URL("../../", import.meta.url).pathname,
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("openCache() picks nodejs-polars files, pure-JS files without nodejs-polars, and KV when files may not be written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await openCache({ dir: `${dir}/cache`, kvPath: `${dir}/c.kv` });
    assert.equal(c.kind, "parquet-file");
    assert.equal(await (c as ParquetFileCache).writer(), "nodejs-polars");
    c.close();
    const mod = JSON.stringify(new URL("../../market/parquet_cache.ts", import.meta.url).href);
    const code = `import { openCache } from ${mod};
      const c = await openCache({ dir: ${JSON.stringify(`${dir}/cache`)}, kvPath: ${
      JSON.stringify(`${dir}/c.kv`)
    } });
      console.log(c.kind, "writer" in c ? await c.writer() : "-"); c.close();`;
    const read = `--allow-read`, net = "--allow-net", envp = "--allow-env";
    // No --allow-ffi: nodejs-polars cannot load; the folder is writable → pure-JS files.
    assert.equal(
      await child(code, [read, net, envp, `--allow-write=${dir}`]),
      "parquet-file pure-js",
    );
    // Writes allowed only to the KV folder (the deploy task's permissions) → KV.
    await Deno.mkdir(`${dir}/kvonly`);
    assert.equal(
      await child(code.replace(`${dir}/c.kv`, `${dir}/kvonly/c.kv`), [
        read,
        net,
        envp,
        `--allow-write=${dir}/kvonly`,
      ]),
      "deno-kv -",
    );
    // WAGYU_PROFILE=deploy → KV even with every permission.
    assert.equal(await child(code, ["-A"], { WAGYU_PROFILE: "deploy" }), "deno-kv -");
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
