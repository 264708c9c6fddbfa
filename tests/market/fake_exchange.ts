/**
 * A loopback HTTP server that speaks the REST OHLCV formats of binance (/api/v3/klines,
 * oldest first from startTime) and bybit (/v5/market/kline, newest first up to end), with
 * their market-list endpoints, fault injection (status codes, delays) and a request log.
 * Tests point the real ccxt client at it by overriding the exchange's `urls.api`.
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
