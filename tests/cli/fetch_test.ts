import assert from "node:assert/strict";
import { generateBars } from "../../market/sample_data.ts";
import { ParquetFileCache } from "../../market/parquet_cache.ts";
import { FakeExchange } from "../market/fake_exchange.ts";

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const CLI = new URL("../../cli/fetch.ts", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("cli/fetch.ts downloads into the cache with progress, then fetches only what is new", async () => {
  const source = generateBars(1500, { seed: 21, startTime: T0, intervalMs: H });
  const fx = new FakeExchange(source);
  const dir = await Deno.makeTempDir();
  try {
    const api = `http://127.0.0.1:${fx.port}/api/v3`;
    const common = [
      "binance",
      "BTC/USDT",
      "1h",
      "--api-url",
      api,
      "--cache-dir",
      dir,
      "--since",
      "2024-01-01",
    ];
    const r1 = await run([...common, "--until", new Date(T0 + 1199 * H).toISOString()]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /binance BTC\/USDT 1h: 1200\/1200 bars, 2 requests/);
    assert.match(r1.stdout, /binance:BTC\/USDT:1h: 1200 bars/);
    // The CLI runs with every permission: nodejs-polars loads and writes the cache file.
    assert.match(
      r1.stdout,
      /cache: .*BTC_USDT_1h\.parquet \(parquet-file, written by nodejs-polars\)/,
    );
    const cached = await new ParquetFileCache(dir).read({
      exchange: "binance",
      symbol: "BTC/USDT",
      timeframe: "1h",
    });
    assert.equal(cached?.bars.length, 1200);
    assert.equal(cached?.bars.close[1199], source.close[1199]);
    fx.log.length = 0;
    const r2 = await run([...common, "--until", new Date(T0 + 1499 * H).toISOString()]);
    assert.equal(r2.code, 0, r2.stderr);
    const calls = fx.calls("/api/v3/klines");
    assert.equal(calls.length, 1);
    assert.equal(Number(calls[0].params.startTime), T0 + 1200 * H);
  } finally {
    await fx.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/fetch.ts exits 2 on bad input and 1 when offline, with one line each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await run(["binance", "BTC/USDT"]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      "fetch: Expected <exchange> <symbol> <timeframe>, got 2 argument(s) (see --help)",
    );
    r = await run(["binance", "BTC/USDT", "1h", "--since", "someday", "--cache-dir", dir]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'fetch: --since: cannot read "someday" as a date');
    r = await run([
      "binance",
      "BTC/USDT",
      "1h",
      "--cache-dir",
      dir,
      "--api-url",
      "http://127.0.0.1:9/api/v3",
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim(),
      "fetch: offline: no network and no cached data for binance BTC/USDT 1h",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/fetch.ts --quiet prints nothing on stderr and only the --json report on stdout", async () => {
  const source = generateBars(600, { seed: 5, startTime: T0, intervalMs: H });
  const fx = new FakeExchange(source);
  const dir = await Deno.makeTempDir();
  try {
    const args = [
      "binance",
      "BTC/USDT",
      "1h",
      "--api-url",
      `http://127.0.0.1:${fx.port}/api/v3`,
      "--cache-dir",
      dir,
      "--since",
      "2024-01-01",
      "--until",
      new Date(T0 + 599 * H).toISOString(),
    ];
    const loud = await run([...args]);
    assert.equal(loud.code, 0, loud.stderr);
    // Not a terminal: no in-place bar (no \r), one summary line instead.
    assert.ok(!loud.stderr.includes("\r") && !loud.stderr.includes("\x1b["), loud.stderr);
    assert.match(loud.stderr, /binance BTC\/USDT 1h: 600\/600 bars, 1 requests/);
    await Deno.remove(dir, { recursive: true });
    await Deno.mkdir(dir);
    const q = await run([...args, "--quiet", "--json"]);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stderr, "");
    const report = JSON.parse(q.stdout);
    assert.equal(typeof report, "object");
    const cached = await new ParquetFileCache(dir).read({
      exchange: "binance",
      symbol: "BTC/USDT",
      timeframe: "1h",
    });
    assert.equal(cached?.bars.length, 600);
    const silent = await run([...args, "-q"]);
    assert.equal(silent.code, 0, silent.stderr);
    assert.equal(silent.stdout + silent.stderr, "");
  } finally {
    await fx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
