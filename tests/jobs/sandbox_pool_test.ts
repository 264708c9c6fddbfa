import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import type { Bars } from "../../engine/types.ts";
import {
  closeSandboxPool,
  configureSandboxPool,
  runInSandbox,
  SandboxError,
  sandboxPoolStats,
} from "../../jobs/sandbox.ts";

function rowsOf(n: number): number[][] {
  const rows: number[][] = [];
  let p = 50;
  for (let i = 0; i < n; i++) {
    const o = p;
    p = p * (1 + Math.cos(i / 4) * 0.025);
    rows.push([
      Date.UTC(2023, 0, 1) + i * 3_600_000,
      o,
      Math.max(o, p) + 0.5,
      Math.min(o, p) - 0.5,
      p,
      10,
    ]);
  }
  return rows;
}
const ROWS = rowsOf(80);
const bars: Bars = barsFromRows(ROWS);
const ALTERNATE = `export default class S { OnData(d) { return d.length % 3 === 0 ? 1 : -1; } }`;
const expected = JSON.stringify(
  runBacktest(bars, { OnData: (d: { length: number }) => (d.length % 3 === 0 ? 1 : -1) }),
);

function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/\) Z /.test(stat); // a zombie has exited
  } catch {
    return false;
  }
}

Deno.test("runInSandbox() reuses a warm process, with a fresh Worker per job so nothing leaks", async () => {
  await closeSandboxPool();
  configureSandboxPool({ size: 1 });
  try {
    // Built-ins the sandbox does not freeze, and globals: a reused Worker would carry them.
    const polluter = `
      globalThis.leaked = 42;
      String.prototype.leaked = "yes";
      Map.prototype.get = function () { return "hooked"; };
      export default class S { OnData() { return 0; } }`;
    const observer = `export default class S {
      OnData(d) {
        if (d.length === 1) {
          console.log(typeof globalThis.leaked, typeof "".leaked, new Map([[1, 2]]).get(1));
        }
        return 0;
      }
    }`;
    await runInSandbox({ code: polluter, bars });
    const afterFirst = sandboxPoolStats();
    assert.equal(afterFirst.spawned, 1);
    assert.equal(afterFirst.idle, 1, "the process stays warm after its job");
    const r = await runInSandbox({ code: observer, bars });
    assert.equal(sandboxPoolStats().spawned, 1, "the second job ran in the same process");
    assert.equal(r.logs.length, 1);
    assert.match(r.logs[0], / undefined undefined 2$/);
    // A warm job gives the engine's answer.
    assert.equal(JSON.stringify(await runInSandbox({ code: ALTERNATE, bars })), expected);
    assert.equal(sandboxPoolStats().spawned, 1);
  } finally {
    await closeSandboxPool();
    configureSandboxPool({ size: 2 });
  }
});

Deno.test("runInSandbox() replaces a pooled process killed by a job, and closeSandboxPool() ends them all", async () => {
  await closeSandboxPool();
  configureSandboxPool({ size: 1 });
  try {
    await runInSandbox({ code: ALTERNATE, bars });
    assert.equal(sandboxPoolStats().spawned, 1);
    // The job's time limit kills its process (a stuck call below the per-call limit).
    const err = await runInSandbox({
      code: `export default class S { OnData() { for (;;) {} } }`,
      bars,
    }, { limits: { timeoutMs: 500, onDataTimeoutMs: 60_000 } }).catch((e) => e);
    assert.ok(err instanceof SandboxError);
    assert.equal(err.kind, "timeout");
    assert.equal(sandboxPoolStats().alive, 0, "the killed process is gone");
    assert.equal(JSON.stringify(await runInSandbox({ code: ALTERNATE, bars })), expected);
    const stats = sandboxPoolStats();
    assert.equal(stats.spawned, 2, "a new process replaced it");
    assert.equal(stats.alive, 1);
  } finally {
    await closeSandboxPool();
    configureSandboxPool({ size: 2 });
  }
  assert.deepEqual(sandboxPoolStats(), {
    spawned: 0,
    idle: 0,
    alive: 0,
    pids: [],
    barsSent: 0,
    barsReused: 0,
    lastJob: null,
  });
});

Deno.test("a pooled process' bars file serves the next job on the same bars, and only those", async () => {
  await closeSandboxPool();
  configureSandboxPool({ size: 1 });
  const run = (code: string, b: Bars) => runInSandbox({ code, bars: b });
  const copy = (b: Bars): Bars => ({
    length: b.length,
    timestamp: b.timestamp.slice(),
    open: b.open.slice(),
    high: b.high.slice(),
    low: b.low.slice(),
    close: b.close.slice(),
    volume: b.volume.slice(),
  });
  // Same length, one close moved (still inside its bar's range): a different series.
  const other = copy(bars);
  other.close[40] = (other.high[40] + other.low[40]) / 2 + 0.25;
  const engine = (b: Bars) =>
    JSON.stringify(
      runBacktest(b, { OnData: (d: { length: number }) => (d.length % 3 === 0 ? 1 : -1) }),
    );
  const expectedOther = engine(other);
  assert.notEqual(expectedOther, expected, "the changed bar changes the answer");
  // A strategy that writes into every column it can see: its own copies, never the job's bars.
  const scribbler = `export default class S {
    OnData(d) {
      for (const k of ["timestamp", "open", "high", "low", "close", "volume"]) {
        const a = d[k];
        try { a.fill(1e9); } catch {}
        try { a.buffer && new Float64Array(a.buffer).fill(-1); } catch {}
      }
      return 0;
    }
  }`;
  try {
    assert.equal(JSON.stringify(await run(ALTERNATE, bars)), expected);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 1, barsReused: 0 });
    // Equal content, another object: reused.
    assert.equal(JSON.stringify(await run(ALTERNATE, copy(bars))), expected);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 1, barsReused: 1 });
    await run(scribbler, bars);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 1, barsReused: 2 });
    assert.equal(JSON.stringify(await run(ALTERNATE, bars)), expected, "bars unchanged");
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 1, barsReused: 3 });
    // Other bars of the same length go as a file and give their own answer.
    assert.equal(JSON.stringify(await run(ALTERNATE, other)), expectedOther);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 2, barsReused: 3 });
    // A failed job (whose Worker hands no columns back) leaves the file for the next one.
    const err = await run(
      `export default class S { OnData(d) { if (d.length > 5) throw new Error("x"); return 0; } }`,
      other,
    )
      .catch((e) => e);
    assert.ok(err instanceof SandboxError);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 2, barsReused: 4 });
    assert.equal(JSON.stringify(await run(ALTERNATE, other)), expectedOther);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 2, barsReused: 5 });
    // A file changed behind the pool's back (one bit of the last close, which values the last
    // equity point) is found out by the byte comparison and written again.
    const [pid] = sandboxPoolStats().pids;
    const dir = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean).at(-1)!;
    const file = await Deno.open(`${dir}/bars`, { read: true, write: true });
    const at = (4 * other.length + other.length - 1) * 8 + 6; // column 4 (close), last row
    const byte = new Uint8Array(1);
    await file.seek(at, Deno.SeekMode.Start);
    await file.read(byte);
    byte[0] ^= 1;
    await file.seek(at, Deno.SeekMode.Start);
    await file.write(byte);
    file.close();
    assert.equal(JSON.stringify(await run(ALTERNATE, other)), expectedOther);
    assert.deepEqual(pick(sandboxPoolStats()), { barsSent: 3, barsReused: 5 });
    assert.equal(sandboxPoolStats().spawned, 1, "all in one process");
  } finally {
    await closeSandboxPool();
    configureSandboxPool({ size: 2 });
  }
});

Deno.test("a pooled process rewrites one result file in place, and a shorter result after a longer one reads right", async () => {
  await closeSandboxPool();
  configureSandboxPool({ size: 1 });
  const long = barsFromRows(rowsOf(2000));
  const engine = (b: Bars) =>
    JSON.stringify(
      runBacktest(b, { OnData: (d: { length: number }) => (d.length % 3 === 0 ? 1 : -1) }),
    );
  const resultFile = () => {
    const [pid] = sandboxPoolStats().pids;
    const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter(Boolean);
    return `${cmd.at(-1)}/result`;
  };
  try {
    assert.equal(JSON.stringify(await runInSandbox({ code: ALTERNATE, bars: long })), engine(long));
    const file = resultFile();
    const longSize = Deno.statSync(file).size;
    // The short job's result is written over the start of the long one's, which stays behind it.
    assert.equal(JSON.stringify(await runInSandbox({ code: ALTERNATE, bars })), expected);
    assert.equal(resultFile(), file, "same process, same file");
    assert.equal(Deno.statSync(file).size, longSize, "written in place, not truncated");
    // And again the other way: a longer result over a shorter one.
    const t0 = performance.now();
    assert.equal(JSON.stringify(await runInSandbox({ code: ALTERNATE, bars: long })), engine(long));
    const waited = performance.now() - t0;
    assert.equal(sandboxPoolStats().spawned, 1);
    // The job's phases: each timed, none longer than the whole, which the caller waited for.
    const phases = sandboxPoolStats().lastJob;
    assert.ok(phases !== null);
    assert.ok(phases.writeBars > 0, "the long bars went as a file again");
    const { total, worker, ...parts } = phases;
    for (const [k, v] of Object.entries(parts)) {
      assert.ok(Number.isFinite(v) && v >= 0 && v <= total, `${k} = ${v} of ${total} ms`);
    }
    assert.ok(phases.run > 0);
    assert.ok(total <= waited, `${total} ms of the ${waited} ms waited`);
    const sum = Object.values(parts).reduce((a, b) => a + b, 0);
    assert.ok(sum <= total + 1, `the phases (${sum} ms) fit in the job (${total} ms)`);
    // The Worker's own split of its run: each timed, together no longer than the run.
    assert.deepEqual(Object.keys(worker).sort(), ["encode", "load", "loop", "result"]);
    for (const [k, v] of Object.entries(worker)) {
      assert.ok(Number.isFinite(v) && v >= 0, `worker ${k} = ${v} ms`);
    }
    assert.ok(worker.loop > 0, "a 2000-bar loop takes time");
    const inWorker = worker.load + worker.loop + worker.result + worker.encode;
    assert.ok(inWorker <= phases.run + 1, `${inWorker} ms in the Worker of its ${phases.run} ms`);
  } finally {
    await closeSandboxPool();
    configureSandboxPool({ size: 2 });
  }
});

function pick(s: { barsSent: number; barsReused: number }) {
  return { barsSent: s.barsSent, barsReused: s.barsReused };
}

Deno.test("closeSandboxPool() leaves no sandbox process running", async () => {
  await closeSandboxPool();
  configureSandboxPool({ size: 2 });
  await Promise.all([
    runInSandbox({ code: ALTERNATE, bars }),
    runInSandbox({ code: ALTERNATE, bars }),
  ]);
  const { pids } = sandboxPoolStats();
  assert.equal(pids.length, 2, "two processes ran the two jobs and stay warm");
  for (const pid of pids) {
    assert.ok(Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("sandbox_host.ts"));
    assert.ok(alive(pid));
  }
  await closeSandboxPool();
  for (const pid of pids) assert.ok(!alive(pid), `process ${pid} exited`);
});

Deno.test("runInSandbox() runs in worker mode under the deploy permissions (no run, no write)", async () => {
  const child = new URL("./_sandbox_deploy_child.ts", import.meta.url).pathname;
  const code = ALTERNATE;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-net",
      "--allow-env",
      child,
      JSON.stringify(ROWS),
      code,
    ],
    cwd: new URL("../../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const got = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(got.mode, "worker");
  assert.equal(JSON.stringify(got.result), expected);
  // The strategy's Worker has no permissions even though its host may read files.
  assert.match(got.failure, /^permission: .*Requires read access to "\/etc\/hostname"/);
});
