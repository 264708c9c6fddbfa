import assert from "node:assert/strict";
import pl from "nodejs-polars";
import {
  createMemoryCache,
  loadExchangeBars,
  parseExchangeSpec,
} from "../../market/ccxt_loader.ts";
import { MarketDataError } from "../../market/market_data_error.ts";
import { ParquetFileCache } from "../../market/parquet_cache.ts";
import { generateBars } from "../../market/sample_data.ts";
import { FakeExchange } from "./fake_exchange.ts";

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const N = 3000;
const NOW = T0 + N * H + 5 * 60_000; // bar N-1 is the last complete one
const SOURCE = generateBars(N, { seed: 9, startTime: T0, intervalMs: H });

async function setup() {
  const fx = new FakeExchange(SOURCE);
  const dir = await Deno.makeTempDir();
  const cache = new ParquetFileCache(dir);
  return {
    fx,
    cache,
    dir,
    async [Symbol.asyncDispose]() {
      await fx.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function assertMatchesSource(
  bars: { length: number; timestamp: Float64Array; close: Float64Array; volume: Float64Array },
  from: number,
) {
  for (let i = 0; i < bars.length; i++) {
    const j = from + i;
    if (
      bars.timestamp[i] !== SOURCE.timestamp[j] || bars.close[i] !== SOURCE.close[j] ||
      bars.volume[i] !== SOURCE.volume[j]
    ) {
      assert.fail(`bar ${i} differs from source bar ${j}`);
    }
  }
}

Deno.test("loadExchangeBars(): real ccxt binance client pages /api/v3/klines and fills the cache", async () => {
  await using s = await setup();
  const r = await loadExchangeBars(
    { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 2499 * H },
    { cache: s.cache, exchangeOptions: s.fx.binanceOptions(), now: () => NOW, pageLimit: 1000 },
  );
  assert.equal(r.bars.length, 2500);
  assertMatchesSource(r.bars, 0);
  assert.equal(r.source, "binance:BTC/USDT:1h");
  const pages = s.fx.calls("/api/v3/klines");
  assert.deepEqual(pages.map((p) => Number(p.params.startTime)), [
    T0,
    T0 + 1000 * H,
    T0 + 2000 * H,
  ]);
  assert.ok(pages.every((p) => p.params.symbol === "BTCUSDT" && p.params.interval === "1h"));
  assert.equal(r.quality.timeframe, "1h");
  assert.match(r.quality.warnings[0], /fetched 2500 bars in 3 requests from binance/);
  // The cache file is real Parquet: nodejs-polars reads the same values.
  const df = pl.readParquet(`${s.dir}/binance/BTC_USDT_1h.parquet`);
  assert.equal(df.height, 2500);
  assert.deepEqual(df.getColumn("close").toArray(), [...SOURCE.close.subarray(0, 2500)]);
});

Deno.test("loadExchangeBars(): real ccxt bybit client pages /v5/market/kline (newest-first answers)", async () => {
  await using s = await setup();
  const r = await loadExchangeBars(
    { exchange: "bybit", symbol: "BTC/USDT", timeframe: "1h", since: T0 + 100 * H },
    { cache: s.cache, exchangeOptions: s.fx.bybitOptions(), now: () => NOW, pageLimit: 700 },
  );
  assert.equal(r.bars.length, N - 100);
  assertMatchesSource(r.bars, 100);
  const pages = s.fx.calls("/v5/market/kline");
  assert.equal(pages.length, Math.ceil((N - 100) / 700));
  assert.ok(pages.every((p) => p.params.category === "spot" && p.params.interval === "60"));
});

Deno.test("loadExchangeBars(): an HTTP 429 and a 500 are retried with backoff", async () => {
  await using s = await setup();
  s.fx.faults.push({ path: "/api/v3/klines", status: 429 }, {
    path: "/api/v3/klines",
    status: 500,
  });
  const warnings: string[] = [];
  const r = await loadExchangeBars(
    { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 999 * H },
    {
      cache: s.cache,
      exchangeOptions: s.fx.binanceOptions(),
      now: () => NOW,
      backoffMs: 10,
      onWarning: (m) => warnings.push(m),
    },
  );
  assert.equal(r.bars.length, 1000);
  assertMatchesSource(r.bars, 0);
  assert.deepEqual(s.fx.calls("/api/v3/klines").map((c) => c.status), [429, 500, 200]);
  assert.match(
    warnings[0],
    /^retry 1 in 10 ms after (DDoSProtection|RateLimitExceeded): binance 429 /,
  );
  assert.match(warnings[1], /^retry 2 in 20 ms after ExchangeNotAvailable: /);
});

Deno.test("loadExchangeBars(): a failed market list (500) is fetched again on retry", async () => {
  await using s = await setup();
  s.fx.faults.push({ path: "/api/v3/exchangeInfo", status: 500 });
  const r = await loadExchangeBars(
    { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 9 * H },
    { exchangeOptions: s.fx.binanceOptions(), now: () => NOW, backoffMs: 1 },
  );
  assert.equal(r.bars.length, 10);
  assert.deepEqual(s.fx.calls("/api/v3/exchangeInfo").map((c) => c.status), [500, 200]);
});

Deno.test("loadExchangeBars(): a persistent 500 fails with a clear exchange error after the retries", async () => {
  await using s = await setup();
  for (let i = 0; i < 3; i++) s.fx.faults.push({ path: "/api/v3/klines", status: 500 });
  await assert.rejects(
    () =>
      loadExchangeBars(
        { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 10 * H },
        {
          cache: s.cache,
          exchangeOptions: s.fx.binanceOptions(),
          now: () => NOW,
          retries: 2,
          backoffMs: 1,
        },
      ),
    (e: Error) => {
      assert.ok(e instanceof MarketDataError);
      assert.equal(e.code, "exchange");
      assert.match(e.message, /^binance BTC\/USDT 1h: ExchangeNotAvailable: /);
      return true;
    },
  );
  assert.equal(s.fx.calls("/api/v3/klines").length, 3);
});

Deno.test("loadExchangeBars(): a request that times out is retried", async () => {
  await using s = await setup();
  s.fx.faults.push({ path: "/api/v3/klines", delayMs: 1500 });
  const warnings: string[] = [];
  const r = await loadExchangeBars(
    { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 99 * H },
    {
      cache: s.cache,
      exchangeOptions: s.fx.binanceOptions({ timeout: 300 }),
      now: () => NOW,
      backoffMs: 1,
      onWarning: (m) => warnings.push(m),
    },
  );
  assert.equal(r.bars.length, 100);
  assert.match(warnings[0], /after RequestTimeout/);
});

Deno.test("loadExchangeBars(): later requests fetch only the missing ranges and merge", async () => {
  await using s = await setup();
  const opts = { cache: s.cache, exchangeOptions: s.fx.binanceOptions(), now: () => NOW };
  const req = { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h" };
  await loadExchangeBars({ ...req, since: T0 + 1000 * H, until: T0 + 1999 * H }, opts);
  assert.equal(s.fx.calls("/api/v3/klines").length, 1);
  s.fx.log.length = 0;
  // Wider on both sides: only [T0, T0+999h] and [T0+2000h, T0+2999h] are fetched.
  const r = await loadExchangeBars({ ...req, since: T0, until: T0 + 2999 * H }, opts);
  assert.equal(r.bars.length, 3000);
  assertMatchesSource(r.bars, 0);
  const starts = s.fx.calls("/api/v3/klines").map((
    c,
  ) => [Number(c.params.startTime), Number(c.params.endTime)]);
  assert.deepEqual(starts, [[T0, T0 + 1000 * H - 1], [T0 + 2000 * H, T0 + 3000 * H - 1]]);
  // Fully cached now: no request at all, even without a memory cache.
  s.fx.log.length = 0;
  const again = await loadExchangeBars({ ...req, since: T0 + 10 * H, until: T0 + 20 * H }, opts);
  assert.equal(again.bars.length, 11);
  assertMatchesSource(again.bars, 10);
  assert.equal(s.fx.log.length, 0);
});

Deno.test("loadExchangeBars(): an exchange hole is reported as a gap and not fetched again", async () => {
  await using s = await setup();
  for (let i = 50; i < 60; i++) s.fx.holes.add(T0 + i * H);
  const opts = { cache: s.cache, exchangeOptions: s.fx.binanceOptions(), now: () => NOW };
  const req = {
    exchange: "binance",
    symbol: "BTC/USDT",
    timeframe: "1h",
    since: T0,
    until: T0 + 199 * H,
  };
  const r = await loadExchangeBars(req, opts);
  assert.equal(r.bars.length, 190);
  assert.equal(r.quality.gaps.count, 1);
  assert.equal(r.quality.gaps.largestBars, 10);
  s.fx.log.length = 0;
  await loadExchangeBars(req, opts);
  assert.equal(s.fx.log.length, 0);
});

Deno.test("loadExchangeBars(): offline with no cache fails with the offline message; with a cache it serves it", async () => {
  await using s = await setup();
  const closed = { urls: { api: { public: "http://127.0.0.1:9/api/v3" } } };
  const req = {
    exchange: "binance",
    symbol: "BTC/USDT",
    timeframe: "1h",
    since: T0,
    until: T0 + 99 * H,
  };
  await assert.rejects(
    () => loadExchangeBars(req, { cache: s.cache, exchangeOptions: closed, now: () => NOW }),
    (e: Error) => {
      assert.ok(e instanceof MarketDataError);
      assert.equal(e.code, "offline");
      assert.equal(e.message, "offline: no network and no cached data for binance BTC/USDT 1h");
      return true;
    },
  );
  await loadExchangeBars(req, {
    cache: s.cache,
    exchangeOptions: s.fx.binanceOptions(),
    now: () => NOW,
  });
  const r = await loadExchangeBars({ ...req, until: T0 + 199 * H }, {
    cache: s.cache,
    exchangeOptions: closed,
    now: () => NOW,
  });
  assert.equal(r.bars.length, 100);
  assert.ok(
    r.quality.warnings.some((w) =>
      w.startsWith("offline: serving cached data only for binance BTC/USDT 1h")
    ),
  );
});

Deno.test("loadExchangeBars(): unknown exchange, symbol and timeframe give clear errors", async () => {
  await using s = await setup();
  const opts = { exchangeOptions: s.fx.binanceOptions(), now: () => NOW };
  const codeOf = async (req: Parameters<typeof loadExchangeBars>[0]) => {
    try {
      await loadExchangeBars(req, opts);
    } catch (e) {
      assert.ok(e instanceof MarketDataError, String(e));
      return [e.code, e.message];
    }
    assert.fail("expected an error");
  };
  assert.deepEqual(await codeOf({ exchange: "mtgox", symbol: "BTC/USD", timeframe: "1h" }), [
    "unknown_exchange",
    'Unknown exchange "mtgox" (supported: binance, coinbase, kraken, kucoin, bybit, okx)',
  ]);
  const [c1, m1] = await codeOf({ exchange: "binance", symbol: "BTC/USDT", timeframe: "7h" });
  assert.equal(c1, "unknown_timeframe");
  assert.match(m1, /^Unknown timeframe "7h" for binance \(supported: 1s, 1m, .*1d.*\)$/);
  assert.deepEqual(
    await codeOf({ exchange: "binance", symbol: "BTC/EUR", timeframe: "1h", since: T0 }),
    [
      "unknown_symbol",
      'Unknown symbol "BTC/EUR" on binance (did you mean BTC/USDT?)',
    ],
  );
});

Deno.test("loadExchangeBars(): a corrupt cache file is reported and re-fetched", async () => {
  await using s = await setup();
  const opts = { cache: s.cache, exchangeOptions: s.fx.binanceOptions(), now: () => NOW };
  const req = {
    exchange: "binance",
    symbol: "BTC/USDT",
    timeframe: "1h",
    since: T0,
    until: T0 + 99 * H,
  };
  await loadExchangeBars(req, opts);
  const path = `${s.dir}/binance/BTC_USDT_1h.parquet`;
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(path, bytes.slice(0, bytes.length - 30));
  s.fx.log.length = 0;
  const r = await loadExchangeBars(req, opts);
  assert.equal(r.bars.length, 100);
  assertMatchesSource(r.bars, 0);
  assert.ok(r.quality.warnings.some((w) => w.startsWith(`Corrupt cache entry ${path}:`)));
  assert.equal(s.fx.calls("/api/v3/klines").length, 1);
  assert.ok(
    (await s.cache.read({ exchange: "binance", symbol: "BTC/USDT", timeframe: "1h" }))!.bars
      .length === 100,
  );
});

Deno.test("loadExchangeBars(): the memory LRU serves repeat requests without touching the disk cache", async () => {
  await using s = await setup();
  const memory = createMemoryCache();
  const opts = { cache: s.cache, memory, exchangeOptions: s.fx.binanceOptions(), now: () => NOW };
  const req = {
    exchange: "binance",
    symbol: "BTC/USDT",
    timeframe: "1h",
    since: T0,
    until: T0 + 99 * H,
  };
  await loadExchangeBars(req, opts);
  await Deno.remove(`${s.dir}/binance/BTC_USDT_1h.parquet`);
  s.fx.log.length = 0;
  const r = await loadExchangeBars(req, opts);
  assert.equal(r.bars.length, 100);
  assert.equal(s.fx.log.length, 0);
  assert.equal(memory.count, 1);
});

Deno.test("parseExchangeSpec() splits exchange:BASE/QUOTE:tf and rejects file names", () => {
  assert.deepEqual(parseExchangeSpec("binance:BTC/USDT:1h"), {
    exchange: "binance",
    symbol: "BTC/USDT",
    timeframe: "1h",
  });
  assert.deepEqual(parseExchangeSpec("bybit:BTC/USDT:USDT:15m"), {
    exchange: "bybit",
    symbol: "BTC/USDT:USDT",
    timeframe: "15m",
  });
  assert.equal(parseExchangeSpec("data/GOOG.csv"), null);
  assert.equal(parseExchangeSpec("C:/data/x.csv"), null);
  assert.equal(parseExchangeSpec("binance:BTCUSDT:1h"), null);
});

Deno.test("loadExchangeBars(): a cache that cannot be written still returns the bars, with a warning", async () => {
  await using s = await setup();
  const blocker = `${s.dir}/not_a_dir`;
  await Deno.writeTextFile(blocker, "a file where the cache folder should be");
  const r = await loadExchangeBars(
    { exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 9 * H },
    {
      cache: new ParquetFileCache(blocker),
      exchangeOptions: s.fx.binanceOptions(),
      now: () => NOW,
    },
  );
  assert.equal(r.bars.length, 10);
  assert.ok(
    r.quality.warnings.some((w) =>
      w.startsWith(`could not update the cache ${blocker}/binance/BTC_USDT_1h.parquet`)
    ),
  );
});

Deno.test("loadExchangeBars(): an invalid candle from the exchange is refused, naming its time", async () => {
  const bad = generateBars(50, { seed: 3, startTime: T0, intervalMs: H });
  bad.high[7] = bad.low[7] / 2; // high below low
  const fx = new FakeExchange(bad);
  try {
    await assert.rejects(
      () =>
        loadExchangeBars(
          {
            exchange: "binance",
            symbol: "BTC/USDT",
            timeframe: "1h",
            since: T0,
            until: T0 + 49 * H,
          },
          { exchangeOptions: fx.binanceOptions(), now: () => NOW },
        ),
      (e: Error) => {
        assert.ok(e instanceof MarketDataError);
        assert.equal(e.code, "exchange");
        assert.match(
          e.message,
          /^binance BTC\/USDT 1h: the exchange sent an invalid candle at 2024-01-01T07:00:00Z: high .* is below max/,
        );
        return true;
      },
    );
  } finally {
    await fx.close();
  }
});

/** Each exchange's candle endpoint, page size in our loader, and what a page's request must
 * say in that exchange's own terms for the window starting at bar `from` (ms). */
const REST_FORMATS: {
  id: string;
  options: (fx: FakeExchange) => Record<string, unknown>;
  path: string;
  pageLimit: number;
  /** The page's first bar time (ms) as the request expresses it. */
  pageStart: (params: Record<string, string>) => number;
  checkParams: (params: Record<string, string>) => void;
}[] = [
  {
    id: "okx",
    options: (fx) => fx.okxOptions(),
    // Bars this old are served by history-candles; newest first, bounded by before/after.
    path: "/api/v5/market/history-candles",
    pageLimit: 100,
    pageStart: (p) => Number(p.before) + 1,
    checkParams: (p) => {
      assert.equal(p.instId, "BTC-USDT");
      assert.equal(p.bar, "1H");
      assert.equal(Number(p.after) - Number(p.before), 100 * H); // (start - 1, start + 100h - 1)
    },
  },
  {
    id: "kraken",
    options: (fx) => fx.krakenOptions(),
    path: "/0/public/OHLC",
    pageLimit: 720,
    // `since` in seconds, exclusive: one interval before the first wanted bar.
    pageStart: (p) => (Number(p.since) + 3600) * 1000,
    checkParams: (p) => {
      assert.equal(p.pair, "XBTUSDT");
      assert.equal(p.interval, "60");
    },
  },
  {
    id: "kucoin",
    options: (fx) => fx.kucoinOptions(),
    path: "/api/v1/market/candles",
    pageLimit: 1500,
    pageStart: (p) => Number(p.startAt) * 1000,
    checkParams: (p) => {
      assert.equal(p.symbol, "BTC-USDT");
      assert.equal(p.type, "1hour");
      assert.equal(Number(p.endAt) - Number(p.startAt), 1500 * 3600);
    },
  },
  {
    id: "coinbase",
    options: (fx) => fx.coinbaseOptions(),
    path: "/api/v3/brokerage/market/products/BTC-USDT/candles",
    pageLimit: 300,
    pageStart: (p) => Number(p.start) * 1000,
    checkParams: (p) => {
      assert.equal(p.granularity, "ONE_HOUR");
      assert.ok(Number(p.end) - Number(p.start) < 300 * 3600);
    },
  },
];

for (const f of REST_FORMATS) {
  Deno.test(`loadExchangeBars(): real ccxt ${f.id} client pages its REST candles and updates the cache incrementally`, async () => {
    await using s = await setup();
    const opts = { cache: s.cache, exchangeOptions: f.options(s.fx), now: () => NOW, backoffMs: 1 };
    const req = { exchange: f.id, symbol: "BTC/USDT", timeframe: "1h" };
    const first = await loadExchangeBars(
      { ...req, since: T0 + 100 * H, until: T0 + 1599 * H },
      opts,
    );
    assert.equal(first.bars.length, 1500);
    assertMatchesSource(first.bars, 100);
    const pages = s.fx.calls(f.path);
    // One request per page of `pageLimit` bars, each starting where the previous one ended.
    assert.equal(pages.length, Math.ceil(1500 / f.pageLimit));
    pages.forEach((p, k) => {
      f.checkParams(p.params);
      assert.equal(f.pageStart(p.params), T0 + (100 + k * f.pageLimit) * H, `page ${k}`);
    });
    // The cache file holds them; a wider request fetches only the two missing ends.
    assert.ok((await s.cache.read({ ...req }))!.bars.length === 1500);
    s.fx.log.length = 0;
    const wider = await loadExchangeBars({ ...req, since: T0, until: T0 + 1799 * H }, opts);
    assert.equal(wider.bars.length, 1800);
    assertMatchesSource(wider.bars, 0);
    const starts = s.fx.calls(f.path).map((p) => f.pageStart(p.params));
    const expected: number[] = [];
    for (const [a, n] of [[0, 100], [1600, 200]]) {
      for (let k = 0; k < n; k += f.pageLimit) expected.push(T0 + (a + k) * H);
    }
    assert.deepEqual(starts, expected);
  });
}

Deno.test("loadExchangeBars(): okx answers with 429 then succeeds on retry", async () => {
  await using s = await setup();
  s.fx.faults.push({ path: "/api/v5/market/history-candles", status: 429 });
  const warnings: string[] = [];
  const r = await loadExchangeBars(
    { exchange: "okx", symbol: "BTC/USDT", timeframe: "1h", since: T0, until: T0 + 99 * H },
    {
      exchangeOptions: s.fx.okxOptions(),
      now: () => NOW,
      backoffMs: 1,
      onWarning: (m) => warnings.push(m),
    },
  );
  assert.equal(r.bars.length, 100);
  assertMatchesSource(r.bars, 0);
  assert.deepEqual(s.fx.calls("/api/v5/market/history-candles").map((c) => c.status), [429, 200]);
  assert.match(warnings[0], /^retry 1 in 1 ms after RateLimitExceeded: okx .*"50011"/);
});
