import assert from "node:assert/strict";
import { allocateBars, barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import type { Bars, TradeRecord } from "../../engine/types.ts";
import { runInSandbox, SandboxError } from "../../jobs/sandbox.ts";
import { WARM_UP } from "../../jobs/sandbox_protocol.ts";
import { GOOG_URL as GOOG, loadGoog } from "../_fixtures/goog.ts";
import { generateBars } from "../../market/sample_data.ts";
import { closeSandboxAfterFile } from "./_sandbox_cleanup.ts";

const SMA_CROSS = new URL("../../examples/sma_cross.ts", import.meta.url);

/** n daily bars of a deterministic zig-zag price. */
function zigzag(n: number): Bars {
  const rows: number[][] = [];
  let p = 100;
  for (let i = 0; i < n; i++) {
    const o = p;
    p = p * (1 + Math.sin(i / 7) * 0.02);
    rows.push([
      Date.UTC(2021, 0, 1) + i * 86_400_000,
      o,
      Math.max(o, p) * 1.01,
      Math.min(o, p) * 0.99,
      p,
      1000,
    ]);
  }
  return barsFromRows(rows);
}

Deno.test("runInSandbox() gives the same result as the in-process engine for the SMA cross example on GOOG", async () => {
  const bars = await loadGoog();
  const code = await Deno.readTextFile(SMA_CROSS);
  const { default: SmaCross } = await import(SMA_CROSS.href);
  const config = { feeTaker: 0.001, mode: "long_short" as const };
  const params = { fast: 5, slow: 20 };
  const expected = runBacktest(bars, SmaCross, { config, params });
  const progress: number[] = [];
  const trades: TradeRecord[] = [];
  const got = await runInSandbox({ code, bars, config, params }, {
    onProgress: (p) => {
      assert.equal(p.total, bars.length);
      progress.push(p.index);
    },
    onTrade: (t) => trades.push(t),
  });
  // JSON is what the API serves: NaN metrics become null on both sides.
  assert.equal(JSON.stringify(got), JSON.stringify(expected));
  assert.ok(expected.trades.length > 10, "the reference run trades");
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
  assert.equal(progress.at(-1), bars.length - 1);
  assert.ok(progress.length >= 50, `about 100 progress reports, got ${progress.length}`);
  // Streamed trades are the closed ones, in order.
  const closed = expected.trades.filter((t) => t.exitTime !== null);
  assert.equal(JSON.stringify(trades), JSON.stringify(closed));
});

Deno.test("runInSandbox() captures console and ctx.log output in call order with bar times", async () => {
  const bars = zigzag(5);
  const code = `
    console.log("top level");
    export default class S {
      Initialize(ctx) { ctx.log("init", 1); }
      OnData(data, ctx) {
        console.log("bar", data.length - 1, { close: Math.round(data.close[data.length - 1]) });
        if (data.length === 2) { ctx.log("ctx at", 1); console.warn("careful"); }
        return 0;
      }
    }`;
  const r = await runInSandbox({ code, bars });
  const day = (i: number) => new Date(bars.timestamp[i]).toISOString();
  const close = (i: number) => Math.round(bars.close[i]);
  assert.deepEqual(r.logs, [
    "init top level",
    "init init 1",
    `${day(0)} bar 0 { close: ${close(0)} }`,
    `${day(1)} bar 1 { close: ${close(1)} }`,
    `${day(1)} ctx at 1`,
    `${day(1)} [warn] careful`,
    `${day(2)} bar 2 { close: ${close(2)} }`,
    `${day(3)} bar 3 { close: ${close(3)} }`,
    `${day(4)} bar 4 { close: ${close(4)} }`,
  ]);
});

Deno.test("runInSandbox() bounds the captured log and says how much was dropped", async () => {
  const bars = zigzag(50);
  const code = `export default class S {
    OnData(data, ctx) { for (let i = 0; i < 100; i++) console.log("x".repeat(50)); return 0; }
  }`;
  const r = await runInSandbox({ code, bars }, { limits: { logBytes: 1000 } });
  const kept = r.logs.slice(0, -1);
  const chars = kept.reduce((s, l) => s + l.length + 1, 0);
  assert.ok(chars <= 1000, `kept ${chars} characters`);
  // Each line is "<24-char ISO time> <50 x>" + newline = 76 characters: 13 fit in 1000.
  assert.equal(kept.length, 13);
  assert.equal(
    r.logs.at(-1),
    `[log truncated: ${50 * 100 - 13} more lines dropped (log limit 1000 characters)]`,
  );
});

Deno.test("runInSandbox() merges params over the strategy's defaults", async () => {
  const bars = zigzag(3);
  const code = `export default class S {
    params = { n: 1, label: "a" };
    OnData(data, ctx) { if (data.length === 1) console.log(this.params.n, ctx.params.n, ctx.params.label); return 0; }
  }`;
  const r = await runInSandbox({ code, bars, params: { n: 7 } });
  assert.deepEqual(r.params, { n: 7, label: "a" });
  assert.equal(r.logs[0].split(" ").slice(1).join(" "), "7 7 a");
});

Deno.test("runInSandbox() rejects code that does not compile with diagnostics", async () => {
  const err = await runInSandbox({
    code: "export default class S {\n  OnData( {\n}",
    bars: zigzag(3),
  }).catch((e) => e);
  assert.ok(err instanceof SandboxError);
  assert.equal(err.kind, "compile");
  assert.ok(err.diagnostics.length > 0);
  assert.equal(err.diagnostics[0].line, 3);
  assert.match(err.message, /line 3, column \d+/);
});

Deno.test("runInSandbox() enforces the wall-clock limit on a strategy that is slow on every bar", async () => {
  const bars = zigzag(2000);
  // Each call stays far below the per-call limit; together they exceed the job limit.
  const code = `export default class S {
    OnData() { const end = performance.now() + 2; while (performance.now() < end) {} return 0; }
  }`;
  const t0 = performance.now();
  const err = await runInSandbox({ code, bars }, {
    limits: { timeoutMs: 1500, onDataTimeoutMs: 1000 },
  }).catch((e) => e);
  const ms = performance.now() - t0;
  assert.ok(err instanceof SandboxError);
  assert.equal(err.kind, "timeout");
  assert.match(err.message, /time limit of 1500 ms/);
  assert.ok(ms < 8000, `killed promptly (${Math.round(ms)} ms)`);
});

Deno.test("runInSandbox() stops a job when its AbortSignal fires", async () => {
  const bars = zigzag(3);
  const code = `export default class S { OnData() { for (;;) {} } }`;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  const err = await runInSandbox({ code, bars }, {
    signal: ac.signal,
    limits: { onDataTimeoutMs: 20_000 },
  }).catch((e) => e);
  assert.ok(err instanceof SandboxError);
  assert.equal(err.kind, "cancelled");
});

Deno.test("runInSandbox() never shows a strategy a later bar, in its arrays or their buffers", async () => {
  const bars = zigzag(40);
  // The strategy scans everything it can reach for a value of a later bar: the visible arrays
  // past the current index, their whole backing buffers, and the bar object.
  const code = `export default class S {
    OnData(data) {
      const t = data.length - 1;
      const future = new Set();
      for (const k of ["timestamp", "open", "high", "low", "close", "volume"]) {
        const buf = new Float64Array(data[k].buffer);
        for (const v of buf) future.add(v);
      }
      let leaks = 0;
      for (const v of FUTURE) if (v.i > t && future.has(v.close)) leaks++;
      if (data.bar.close !== data.close[t]) leaks++;
      if (leaks > 0) console.log("leak at", t, leaks);
      return 0;
    }
  }`;
  const future = Array.from(bars.close, (close, i) => ({ i, close }));
  const r = await runInSandbox({
    code: `const FUTURE = ${JSON.stringify(future)};\n${code}`,
    bars,
  });
  assert.deepEqual(r.logs, []);
});

Deno.test("the spare Worker's warm-up leaves nothing a job can see, and changes no result", async () => {
  // Bars of the warm-up's length: the engine's pooled columns of that length get reused.
  const bars = zigzag(WARM_UP.bars);
  const code = `export default class S {
    OnData(data) {
      const t = data.length - 1;
      if (t % 997 === 0) {
        for (const k of ["timestamp", "open", "high", "low", "close", "volume"]) {
          const all = new Float64Array(data[k].buffer);
          for (let i = t + 1; i < all.length; i++) {
            if (all[i] !== 0) { console.log("bar", t, k, "holds", all[i], "at", i); break; }
          }
        }
      }
      return ctx_signal(data);
    }
  }
  function ctx_signal(d) { return d.length % 5 === 0 ? 1 : d.length % 7 === 0 ? -1 : 0; }`;
  const expected = runBacktest(bars, {
    OnData: (d: { length: number }) => (d.length % 5 === 0 ? 1 : d.length % 7 === 0 ? -1 : 0),
  });
  for (let i = 0; i < 2; i++) {
    // The last job left a spare Worker behind: let it warm up (~0.2–0.4 s), but not so long
    // that the garbage collector empties the engine's pool of columns it used.
    await new Promise((r) => setTimeout(r, 600));
    const r = await runInSandbox({ code, bars });
    assert.deepEqual(r.logs, []);
    assert.equal(JSON.stringify({ ...r, logs: [] }), JSON.stringify({ ...expected, logs: [] }));
  }
});

Deno.test("runInSandbox() runs jobs concurrently without mixing their results", async () => {
  const bars = zigzag(300);
  const mk = (k: number) =>
    `export default class S { OnData(data) { return data.length % ${k} === 0 ? 1 : -1; } }`;
  const [a, b] = await Promise.all([
    runInSandbox({ code: mk(7), bars }),
    runInSandbox({ code: mk(11), bars }),
  ]);
  const refA = runBacktest(bars, {
    OnData: (d: { length: number }) => (d.length % 7 === 0 ? 1 : -1),
  });
  const refB = runBacktest(bars, {
    OnData: (d: { length: number }) => (d.length % 11 === 0 ? 1 : -1),
  });
  assert.equal(JSON.stringify(a), JSON.stringify(refA));
  assert.equal(JSON.stringify(b), JSON.stringify(refB));
  assert.notEqual(a.metrics.finalEquity, b.metrics.finalEquity);
});

Deno.test("cli/backtest.ts runs a strategy file in the sandbox by default and in-process with --trusted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/reads_file.ts`;
    await Deno.writeTextFile(
      file,
      `export default class S {
        OnData() { return Deno.readTextFileSync(${
        JSON.stringify(GOOG.pathname)
      }).length > 0 ? 0 : 1; }
      }`,
    );
    const cli = new URL("../../cli/backtest.ts", import.meta.url).pathname;
    const run = async (...extra: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", cli, GOOG.pathname, file, ...extra],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const sandboxed = await run();
    assert.equal(sandboxed.code, 1, sandboxed.stderr);
    assert.match(sandboxed.stderr, /error \(permission\): .*Requires read access to ".*GOOG\.csv"/);
    const trusted = await run("--trusted");
    assert.equal(trusted.code, 0, trusted.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runInSandbox() accepts OnData as a class field, and an empty series", async () => {
  const bars = zigzag(4);
  const code = "export default class S { OnData = (d) => (d.length === 1 ? 1 : 0); }";
  const got = await runInSandbox({ code, bars });
  const expected = runBacktest(bars, {
    OnData: (d: { length: number }) => (d.length === 1 ? 1 : 0),
  });
  assert.equal(JSON.stringify(got), JSON.stringify(expected));
  assert.equal(got.orders.length, 1);
  const empty = await runInSandbox({ code, bars: allocateBars(0) });
  assert.deepEqual(empty.bars, { count: 0, start: null, end: null });
  assert.deepEqual(empty.equity, []);
});

Deno.test("runInSandbox() in worker mode gives the in-process engine's result, progress and trades", async () => {
  const bars = await loadGoog();
  const code = await Deno.readTextFile(SMA_CROSS);
  const { default: SmaCross } = await import(SMA_CROSS.href);
  const params = { fast: 8, slow: 21 };
  const expected = runBacktest(bars, SmaCross, { params });
  const progress: number[] = [];
  const trades: TradeRecord[] = [];
  const got = await runInSandbox({ code, bars, params }, {
    mode: "worker",
    onProgress: (p) => progress.push(p.index),
    onTrade: (t) => trades.push(t),
  });
  assert.equal(JSON.stringify(got), JSON.stringify(expected));
  assert.equal(progress.at(-1), bars.length - 1);
  assert.equal(
    JSON.stringify(trades),
    JSON.stringify(expected.trades.filter((t) => t.exitTime !== null)),
  );
  // The caller's bars are untouched (worker mode transfers copies).
  assert.equal(bars.close.length, bars.length);
});

Deno.test("worker mode: back-to-back jobs on different bars of one length get their own bars", async () => {
  // The second job's bar copies go into the buffers the first job's Worker handed back; each
  // result must still be the in-process engine's on that job's bars, and the callers' bars
  // must stay whole (neither aliased nor detached by a transfer).
  const code = await Deno.readTextFile(SMA_CROSS);
  const { default: SmaCross } = await import(SMA_CROSS.href);
  const params = { fast: 5, slow: 20 };
  const a = generateBars(3000, { seed: 11, intervalMs: 3_600_000 });
  const b = generateBars(3000, { seed: 12, intervalMs: 3_600_000 });
  const aClose = a.close.slice(), bClose = b.close.slice();
  for (const bars of [a, b, a, b]) {
    const got = await runInSandbox({ code, bars, params }, { mode: "worker" });
    assert.equal(
      JSON.stringify(got),
      JSON.stringify(runBacktest(bars, SmaCross, { params })),
      bars === a ? "job on a" : "job on b",
    );
  }
  assert.deepEqual(a.close, aClose);
  assert.deepEqual(b.close, bClose);
});

// Last in this file: nothing of the sandbox outlives the module (see _sandbox_cleanup.ts).
closeSandboxAfterFile(true);
