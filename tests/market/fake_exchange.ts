/**
 * A loopback HTTP server that speaks the REST OHLCV formats of binance (/api/v3/klines,
 * oldest first from startTime), bybit (/v5/market/kline, newest first up to end), okx
 * (/api/v5/market/candles and history-candles, newest first between `before` and `after`),
 * kraken (/0/public/OHLC, seconds, oldest first after `since`, at most 720), kucoin
 * (/api/v1/market/candles, seconds, newest first in [startAt, endAt), o-c-h-l order) and
 * coinbase Advanced Trade (/api/v3/brokerage/market/products/<id>/candles, seconds, newest
 * first, at most 350), with their market-list endpoints, fault injection (status codes,
 * delays) and a request log. Tests point the real ccxt client at it by overriding the
 * exchange's `urls.api`.
 */
import type { Bars } from "../../engine/types.ts";

/** One injected fault: the next matching request answers with `status` or waits `delayMs`. */
export interface Fault {
  path: string;
  status?: number;
  delayMs?: number;
}

/** What the server saw. */
export interface LoggedRequest {
  path: string;
  params: Record<string, string>;
  status: number;
}

const BYBIT_INTERVAL: Record<string, number> = {
  "1": 60_000,
  "5": 300_000,
  "15": 900_000,
  "60": 3_600_000,
  "240": 14_400_000,
  "D": 86_400_000,
};
const BINANCE_INTERVAL: Record<string, number> = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "4h": 14_400_000,
  "1d": 86_400_000,
};

/** A running fake exchange. */
export class FakeExchange {
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  /** The series served for BTC/USDT (by interval, resampled from 1h data when asked). */
  bars: Bars;
  /** Timestamps to leave out of answers (holes). */
  holes = new Set<number>();
  #server: Deno.HttpServer<Deno.NetAddr>;
  readonly port: number;

  constructor(bars: Bars) {
    this.bars = bars;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.port = this.#server.addr.port;
  }

  /** ccxt options that point binance at this server. */
  binanceOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      urls: { api: { public: `http://127.0.0.1:${this.port}/api/v3` } },
      rateLimit: 1,
      ...extra,
    };
  }

  /** ccxt options that point bybit at this server. */
  bybitOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { urls: { api: { public: `http://127.0.0.1:${this.port}` } }, rateLimit: 1, ...extra };
  }

  /** ccxt options that point okx at this server. */
  okxOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { urls: { api: { rest: `http://127.0.0.1:${this.port}` } }, rateLimit: 1, ...extra };
  }

  /** ccxt options that point kraken at this server. */
  krakenOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const url = `http://127.0.0.1:${this.port}`;
    return { urls: { api: { public: url, private: url } }, rateLimit: 1, ...extra };
  }

  /** ccxt options that point kucoin at this server. */
  kucoinOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    const url = `http://127.0.0.1:${this.port}`;
    return { urls: { api: { public: url, private: url } }, rateLimit: 1, ...extra };
  }

  /** ccxt options that point coinbase at this server. */
  coinbaseOptions(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { urls: { api: { rest: `http://127.0.0.1:${this.port}` } }, rateLimit: 1, ...extra };
  }

  /** Requests to one path. */
  calls(path: string): LoggedRequest[] {
    return this.log.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const params = Object.fromEntries(url.searchParams);
    const fi = this.faults.findIndex((f) => f.path === url.pathname);
    if (fi >= 0) {
      const f = this.faults.splice(fi, 1)[0];
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.status) {
        this.log.push({ path: url.pathname, params, status: f.status });
        if (f.status === 429 && url.pathname.startsWith("/api/v5/")) {
          // okx's own rate-limit answer (ccxt maps code 50011 to RateLimitExceeded).
          return Response.json({ code: "50011", msg: "Too Many Requests", data: [] }, {
            status: 429,
          });
        }
        if (f.status === 429) {
          return Response.json(
            {
              code: -1003,
              msg: "Too many requests; current limit is 1200 request weight per 1 MINUTE.",
            },
            { status: 429, headers: { "Retry-After": "1" } },
          );
        }
        // What a gateway in front of the API answers when the backend fails.
        return new Response("Internal Server Error", { status: f.status });
      }
    }
    this.log.push({ path: url.pathname, params, status: 200 });
    switch (url.pathname) {
      case "/api/v3/exchangeInfo":
        return Response.json(binanceExchangeInfo());
      case "/api/v3/klines":
        return Response.json(this.#binanceKlines(params));
      case "/v5/market/instruments-info":
        return Response.json(bybitInstruments());
      case "/v5/market/kline":
        return Response.json(this.#bybitKlines(params));
      case "/api/v5/public/instruments":
        return Response.json(okxInstruments());
      case "/api/v5/market/candles":
      case "/api/v5/market/history-candles":
        return Response.json(this.#okxCandles(params));
      case "/0/public/Assets":
        return Response.json(krakenAssets());
      case "/0/public/AssetPairs":
        return Response.json(krakenAssetPairs());
      case "/0/public/OHLC":
        return Response.json(this.#krakenOhlc(params));
      case "/api/v3/currencies":
        return Response.json({ code: "200000", data: [] });
      case "/api/v2/symbols":
        return Response.json(kucoinSymbols());
      case "/api/v1/market/allTickers":
        return Response.json(kucoinTickers());
      case "/api/v1/market/candles":
        return Response.json(this.#kucoinCandles(params));
      case "/v2/currencies/crypto":
      case "/v2/currencies":
        return Response.json({ data: [] });
      case "/v2/exchange-rates":
        return Response.json({ data: { currency: "USD", rates: {} } });
      case "/api/v3/brokerage/market/products":
        return Response.json(params.product_type ? { products: [] } : coinbaseProducts());
      case "/api/v3/brokerage/market/products/BTC-USDT/candles":
        return Response.json(this.#coinbaseCandles(params));
    }
    if (url.pathname.startsWith("/api/v3/brokerage/market/products/")) {
      return Response.json({ error: "NOT_FOUND", message: "product not found" }, { status: 404 });
    }
    return Response.json({ code: -1, msg: "not found" }, { status: 404 });
  }

  #select(from: number, to: number, interval: number): number[] {
    const out: number[] = [];
    const ts = this.bars.timestamp;
    for (let i = 0; i < this.bars.length; i++) {
      const t = ts[i];
      if (t >= from && t <= to && t % interval === 0 && !this.holes.has(t)) out.push(i);
    }
    return out;
  }

  /** okx: newest first, strictly between `before` and `after` (ms), at most `limit` (300). */
  #okxCandles(p: Record<string, string>): unknown {
    if (p.instId !== "BTC-USDT") {
      return { code: "51001", msg: "Instrument ID does not exist", data: [] };
    }
    const interval = OKX_BAR[p.bar];
    if (!interval) return { code: "51000", msg: `Parameter bar error`, data: [] };
    const limit = Math.min(Number(p.limit ?? 100), 300);
    const after = p.after ? Number(p.after) : Infinity;
    const before = p.before ? Number(p.before) : -Infinity;
    const b = this.bars;
    const idx = this.#select(before + 1, after - 1, interval).slice(-limit).reverse();
    return {
      code: "0",
      msg: "",
      data: idx.map((i) => [
        String(b.timestamp[i]),
        String(b.open[i]),
        String(b.high[i]),
        String(b.low[i]),
        String(b.close[i]),
        String(b.volume[i]),
        String(b.volume[i] * b.close[i]),
        String(b.volume[i] * b.close[i]),
        "1",
      ]),
    };
  }

  /** kraken: seconds, oldest first, times after `since`, at most 720 rows. */
  #krakenOhlc(p: Record<string, string>): unknown {
    if (p.pair !== "XBTUSDT") return { error: ["EQuery:Unknown asset pair"] };
    const interval = KRAKEN_INTERVAL[p.interval];
    if (!interval) return { error: ["EGeneral:Invalid arguments"] };
    const since = p.since ? Number(p.since) * 1000 + 1 : 0;
    const b = this.bars;
    const idx = this.#select(since, Infinity, interval).slice(0, 720);
    const rows = idx.map((i) => [
      b.timestamp[i] / 1000,
      String(b.open[i]),
      String(b.high[i]),
      String(b.low[i]),
      String(b.close[i]),
      String((b.high[i] + b.low[i]) / 2),
      String(b.volume[i]),
      7,
    ]);
    const last = idx.length ? b.timestamp[idx[idx.length - 1]] / 1000 : Number(p.since ?? 0);
    return { error: [], result: { XBTUSDT: rows, last } };
  }

  /** kucoin: seconds, newest first, in [startAt, endAt), rows [t, open, close, high, low, …]. */
  #kucoinCandles(p: Record<string, string>): unknown {
    if (p.symbol !== "BTC-USDT") {
      return { code: "400100", msg: "This pair is not provided at present" };
    }
    const interval = KUCOIN_TYPE[p.type];
    const from = Number(p.startAt ?? 0) * 1000;
    const to = Number(p.endAt ?? Infinity) * 1000 - 1;
    const b = this.bars;
    const idx = this.#select(from, to, interval).slice(0, 1500).reverse();
    return {
      code: "200000",
      data: idx.map((i) => [
        String(b.timestamp[i] / 1000),
        String(b.open[i]),
        String(b.close[i]),
        String(b.high[i]),
        String(b.low[i]),
        String(b.volume[i]),
        String(b.volume[i] * b.close[i]),
      ]),
    };
  }

  /** coinbase: seconds, newest first, in [start, end], at most 350. */
  #coinbaseCandles(p: Record<string, string>): unknown {
    const interval = COINBASE_GRANULARITY[p.granularity];
    if (!interval) return { error: "INVALID_ARGUMENT", message: "granularity" };
    const b = this.bars;
    const idx = this.#select(Number(p.start) * 1000, Number(p.end) * 1000, interval).slice(0, 350)
      .reverse();
    return {
      candles: idx.map((i) => ({
        start: String(b.timestamp[i] / 1000),
        low: String(b.low[i]),
        high: String(b.high[i]),
        open: String(b.open[i]),
        close: String(b.close[i]),
        volume: String(b.volume[i]),
      })),
    };
  }

  #binanceKlines(p: Record<string, string>): unknown {
    if (p.symbol !== "BTCUSDT") return { code: -1121, msg: "Invalid symbol." };
    const interval = BINANCE_INTERVAL[p.interval];
    const limit = Math.min(Number(p.limit ?? 500), 1000);
    const from = p.startTime ? Number(p.startTime) : 0;
    const to = p.endTime ? Number(p.endTime) : Infinity;
    const b = this.bars;
    return this.#select(from, to, interval).slice(0, limit).map((i) => [
      b.timestamp[i],
      String(b.open[i]),
      String(b.high[i]),
      String(b.low[i]),
      String(b.close[i]),
      String(b.volume[i]),
      b.timestamp[i] + interval - 1,
      "0",
      1,
      "0",
      "0",
      "0",
    ]);
  }

  #bybitKlines(p: Record<string, string>): unknown {
    const interval = BYBIT_INTERVAL[p.interval];
    const limit = Math.min(Number(p.limit ?? 200), 1000);
    const from = p.start ? Number(p.start) : 0;
    const to = p.end ? Number(p.end) : Infinity;
    const b = this.bars;
    // Bybit answers the newest `limit` candles of the window, newest first.
    const idx = this.#select(from, to, interval).slice(-limit).reverse();
    return {
      retCode: 0,
      retMsg: "OK",
      result: {
        category: "spot",
        symbol: p.symbol,
        list: idx.map((i) => [
          String(b.timestamp[i]),
          String(b.open[i]),
          String(b.high[i]),
          String(b.low[i]),
          String(b.close[i]),
          String(b.volume[i]),
          "0",
        ]),
      },
      retExtInfo: {},
      time: Date.now(),
    };
  }
}

const OKX_BAR: Record<string, number> = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1H": 3_600_000,
  "4H": 14_400_000,
  "1Dutc": 86_400_000,
};
const KRAKEN_INTERVAL: Record<string, number> = {
  "1": 60_000,
  "5": 300_000,
  "15": 900_000,
  "60": 3_600_000,
  "240": 14_400_000,
  "1440": 86_400_000,
};
const KUCOIN_TYPE: Record<string, number> = {
  "1min": 60_000,
  "5min": 300_000,
  "15min": 900_000,
  "1hour": 3_600_000,
  "4hour": 14_400_000,
  "1day": 86_400_000,
};

const COINBASE_GRANULARITY: Record<string, number> = {
  ONE_MINUTE: 60_000,
  FIVE_MINUTE: 300_000,
  FIFTEEN_MINUTE: 900_000,
  ONE_HOUR: 3_600_000,
  SIX_HOUR: 21_600_000,
  ONE_DAY: 86_400_000,
};

function coinbaseProducts(): unknown {
  return {
    products: [{
      product_id: "BTC-USDT",
      price: "60000",
      base_increment: "0.00000001",
      quote_increment: "0.01",
      quote_min_size: "1",
      quote_max_size: "10000000",
      base_min_size: "0.00000001",
      base_max_size: "3400",
      base_name: "Bitcoin",
      quote_name: "Tether",
      status: "online",
      cancel_only: false,
      limit_only: false,
      post_only: false,
      trading_disabled: false,
      auction_mode: false,
      product_type: "SPOT",
      quote_currency_id: "USDT",
      base_currency_id: "BTC",
      base_display_symbol: "BTC",
      quote_display_symbol: "USDT",
      price_increment: "0.01",
    }],
    num_products: 1,
  };
}

function binanceExchangeInfo(): unknown {
  return {
    timezone: "UTC",
    serverTime: Date.now(),
    rateLimits: [],
    exchangeFilters: [],
    symbols: [{
      symbol: "BTCUSDT",
      status: "TRADING",
      baseAsset: "BTC",
      baseAssetPrecision: 8,
      quoteAsset: "USDT",
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      orderTypes: ["LIMIT", "MARKET"],
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      permissions: ["SPOT"],
      permissionSets: [["SPOT"]],
      filters: [
        { filterType: "PRICE_FILTER", minPrice: "0.01", maxPrice: "1000000.00", tickSize: "0.01" },
        { filterType: "LOT_SIZE", minQty: "0.00001", maxQty: "9000.00", stepSize: "0.00001" },
      ],
    }],
  };
}

function bybitInstruments(): unknown {
  return {
    retCode: 0,
    retMsg: "OK",
    result: {
      category: "spot",
      list: [{
        symbol: "BTCUSDT",
        baseCoin: "BTC",
        quoteCoin: "USDT",
        innovation: "0",
        status: "Trading",
        marginTrading: "none",
        lotSizeFilter: {
          basePrecision: "0.000001",
          quotePrecision: "0.00000001",
          minOrderQty: "0.000048",
          maxOrderQty: "71.73956243",
          minOrderAmt: "1",
          maxOrderAmt: "2000000",
        },
        priceFilter: { tickSize: "0.01" },
      }],
      nextPageCursor: "",
    },
    retExtInfo: {},
    time: Date.now(),
  };
}

function okxInstruments(): unknown {
  return {
    code: "0",
    msg: "",
    data: [{
      alias: "",
      baseCcy: "BTC",
      category: "1",
      ctMult: "",
      ctType: "",
      ctVal: "",
      ctValCcy: "",
      expTime: "",
      instFamily: "",
      instId: "BTC-USDT",
      instType: "SPOT",
      lever: "10",
      listTime: "1548133413000",
      lotSz: "0.00000001",
      maxLmtSz: "9999999999",
      maxMktSz: "1000000",
      minSz: "0.00001",
      optType: "",
      quoteCcy: "USDT",
      settleCcy: "",
      state: "live",
      stk: "",
      tickSz: "0.1",
      uly: "",
    }],
  };
}

function krakenAssets(): unknown {
  return {
    error: [],
    result: {
      XXBT: {
        aclass: "currency",
        altname: "XBT",
        decimals: 10,
        display_decimals: 5,
        status: "enabled",
      },
      USDT: {
        aclass: "currency",
        altname: "USDT",
        decimals: 8,
        display_decimals: 4,
        status: "enabled",
      },
    },
  };
}

function krakenAssetPairs(): unknown {
  return {
    error: [],
    result: {
      XBTUSDT: {
        altname: "XBTUSDT",
        wsname: "XBT/USDT",
        aclass_base: "currency",
        base: "XXBT",
        aclass_quote: "currency",
        quote: "USDT",
        lot: "unit",
        cost_decimals: 5,
        pair_decimals: 1,
        lot_decimals: 8,
        lot_multiplier: 1,
        leverage_buy: [],
        leverage_sell: [],
        fees: [[0, 0.26]],
        fees_maker: [[0, 0.16]],
        fee_volume_currency: "ZUSD",
        margin_call: 80,
        margin_stop: 40,
        ordermin: "0.00005",
        costmin: "0.5",
        tick_size: "0.1",
        status: "online",
      },
    },
  };
}

function kucoinSymbols(): unknown {
  return {
    code: "200000",
    data: [{
      symbol: "BTC-USDT",
      name: "BTC-USDT",
      baseCurrency: "BTC",
      quoteCurrency: "USDT",
      feeCurrency: "USDT",
      market: "USDS",
      baseMinSize: "0.00001",
      quoteMinSize: "0.1",
      baseMaxSize: "10000000000",
      quoteMaxSize: "99999999",
      baseIncrement: "0.00000001",
      quoteIncrement: "0.000001",
      priceIncrement: "0.1",
      priceLimitRate: "0.1",
      minFunds: "0.1",
      isMarginEnabled: true,
      enableTrading: true,
      feeCategory: 1,
      makerFeeCoefficient: "1.00",
      takerFeeCoefficient: "1.00",
      st: false,
    }],
  };
}

function kucoinTickers(): unknown {
  return {
    code: "200000",
    data: {
      time: Date.now(),
      ticker: [{
        symbol: "BTC-USDT",
        symbolName: "BTC-USDT",
        buy: "60000",
        sell: "60000.1",
        changeRate: "0.01",
        changePrice: "600",
        high: "61000",
        low: "59000",
        vol: "100",
        volValue: "6000000",
        last: "60000",
        averagePrice: "60000",
        takerFeeRate: "0.001",
        makerFeeRate: "0.001",
        takerCoefficient: "1",
        makerCoefficient: "1",
      }],
    },
  };
}
