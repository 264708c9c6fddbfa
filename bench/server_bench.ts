/**
 * Server benchmark (`deno task bench server`): a real server process on a loopback port, a
 * KV file in a temp folder, real HTTP and WebSocket clients in this process.
 *
 * 1. `/api/strategy/execute` on 10,000 bars (sma_cross, inline bars): requests/s and p50/p99
 *    latency at concurrency = workers.
 * 2. One backtest job on 1,000,000 bars (an uploaded dataset): time from POST
 *    /api/backtest/start to the `complete` message on /ws/backtest/{id}.
 * 3. WebSocket fan-out: 200 clients on /ws/backtest/{id} of one job; every client must get
 *    `complete`; reports messages delivered and the spread of `complete` arrival times.
 *
 * `WAGYU_BENCH_QUICK=1` shrinks the sizes (a smoke run).
 *
 * @module
 */
import { generateBars, writeCsv } from "../market/sample_data.ts";
import { barsToRows } from "../engine/bars.ts";

const QUICK = Deno.env.get("WAGYU_BENCH_QUICK") === "1";
const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const EXEC_BARS = 10_000;
const BIG_BARS = QUICK ? 100_000 : 1_000_000;
const FANOUT = 200;
const EXEC_REQUESTS = QUICK ? 10 : 60;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function spawnServer(dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "--port", "0"],
    cwd: ROOT,
    env: {
      WAGYU_KV_PATH: `${dir}/bench.kv`,
      WAGYU_DATASETS_DIR: `${dir}/datasets`,
      HOST: "127.0.0.1",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${buf}`);
    buf += value;
    const m = buf.match(/listening on (http:\/\/[\d.]+:\d+).*?(\d+) workers/);
    if (m) {
      (async () => {
        while (!(await reader.read()).done) { /* drain */ }
      })().catch(() => {});
      return { child, url: m[1], workers: Number(m[2]) };
    }
  }
}

function watch(
  url: string,
): Promise<{ at: number; messages: number; complete: boolean; last: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let messages = 0;
    let at = NaN;
    let complete = false;
    let last = "";
    ws.onmessage = (e) => {
      messages++;
      last = (e.data as string).slice(0, 300);
      const m = JSON.parse(e.data as string);
      if (m.type === "complete") {
        at = performance.now();
        complete = true;
      }
    };
    ws.onerror = () => reject(new Error("WebSocket error"));
    ws.onclose = () => resolve({ at, messages, complete, last });
  });
}

const dir = await Deno.makeTempDir({ prefix: "wagyu_bench_" });
const { child, url, workers } = await spawnServer(dir);
const wsUrl = url.replace(/^http/, "ws");
try {
  // 1. execute on 10,000 bars
  const rows = barsToRows(generateBars(EXEC_BARS, { seed: 7, intervalMs: 3_600_000 }));
  const body = JSON.stringify({ strategy: { template: "sma_cross" }, data: { bars: rows } });
  const once = async () => {
    const t0 = performance.now();
    const res = await fetch(`${url}/api/strategy/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`execute answered ${res.status}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < 3; i++) await once(); // warm-up
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next++ < EXEC_REQUESTS) lat.push(await once());
  }));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(
    `execute ${EXEC_BARS} bars, concurrency ${workers}: ${(lat.length / wall).toFixed(2)} req/s, ` +
      `p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${
        pct(lat, 99).toFixed(0)
      } ms (${lat.length} requests)`,
  );

  // 2. one job on 1,000,000 bars
  const csv = writeCsv(generateBars(BIG_BARS, { seed: 11, intervalMs: 60_000 }), { time: "ms" });
  const up = await fetch(`${url}/api/datasets?name=bench_1m.csv`, { method: "POST", body: csv });
  if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${await up.text()}`);
  await up.arrayBuffer();
  const s0 = performance.now();
  const start = await fetch(`${url}/api/backtest/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      strategy: { template: "sma_cross" },
      data: { dataset: "bench_1m.csv" },
    }),
  });
  const { job_id } = await start.json();
  const big = await watch(`${wsUrl}/ws/backtest/${job_id}`);
  if (!big.complete) throw new Error("no complete message for the 1M-bar job");
  const f0 = performance.now();
  const full = await fetch(`${url}/api/backtest/${job_id}/result`);
  const bytes = (await full.arrayBuffer()).byteLength;
  console.log(
    `backtest job ${BIG_BARS} bars: start → complete ${((big.at - s0) / 1000).toFixed(2)} s ` +
      `(${big.messages} messages; includes loading the CSV dataset); then GET result ` +
      `${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - f0) / 1000).toFixed(2)} s`,
  );

  // 3. fan-out to 200 clients of one job (100k bars, so the job outlives the connects)
  const csv2 = writeCsv(generateBars(100_000, { seed: 5, intervalMs: 60_000 }), { time: "ms" });
  const up2 = await fetch(`${url}/api/datasets?name=bench_100k.csv`, {
    method: "POST",
    body: csv2,
  });
  await up2.arrayBuffer();
  // Hold the queue with a job so all 200 clients are connected before the watched one runs.
  const holds = await Promise.all(Array.from({ length: workers }, async () => {
    const r = await fetch(`${url}/api/backtest/start`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ strategy: { template: "rsi" }, data: { dataset: "bench_100k.csv" } }),
    });
    return (await r.json()).job_id as string;
  }));
  const r = await fetch(`${url}/api/backtest/start`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      strategy: { template: "sma_cross" },
      data: { dataset: "bench_100k.csv" },
    }),
  });
  const fan = (await r.json()).job_id as string;
  const clients = Array.from({ length: FANOUT }, () => watch(`${wsUrl}/ws/backtest/${fan}`));
  const results = await Promise.all(clients);
  void holds;
  const got = results.filter((x) => x.complete).length;
  const ats = results.map((x) => x.at).sort((a, b) => a - b);
  const spread = ats.map((a) => a - ats[0]);
  const msgs = results.reduce((a, x) => a + x.messages, 0);
  console.log(
    `fan-out ${FANOUT} clients: ${got}/${FANOUT} got complete, ${msgs} messages delivered ` +
      `(${(msgs / FANOUT).toFixed(0)} per client), complete arrival spread p50 ` +
      `${pct(spread, 50).toFixed(1)} ms, p99 ${pct(spread, 99).toFixed(1)} ms, max ${
        spread.at(-1)!.toFixed(1)
      } ms`,
  );
  if (got !== FANOUT) {
    console.log(`a client without complete ended with: ${results.find((x) => !x.complete)?.last}`);
    Deno.exitCode = 1;
  }
} finally {
  child.kill("SIGTERM");
  await child.status;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
