/**
 * Fault test (issue 8): the real server as a subprocess on a KV file, SIGKILLed during (a) a
 * running backtest, (b) a running optimization, (c) a dataset file write and (d) a burst of job
 * submissions (KV writes), then restarted on the same KV file. Every job must end completed
 * with a correct result (re-run if it was interrupted), every job a client got a 202 for must
 * exist, and no KV entry may be corrupt. The in-process kill of a Parquet/KV cache writer is
 * tests/market/parquet_cache_test.ts ("a writer killed mid-write leaves the previous entry
 * intact"); this file adds the server-level variant (upload write).
 *
 * Helpers follow tests/server/restart_test.ts (spawn `deno run -A main.ts --port 0`, read the
 * port from the "listening on" line).
 */
import assert from "node:assert/strict";
import { json, slowStrategy } from "../routes/_test_server.ts";
import { kill9, postJson, type ServerProcess, spawnServer } from "../server/_server_process.ts";
import { JobStore } from "../../jobs/job_store.ts";
import { generateBars } from "../../market/sample_data.ts";
import { writeParquetBytes } from "../../market/parquet_codec.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Upper bound for any single wait: generous for a loaded 2-core machine. */
const WAIT_MS = 45_000;
/**
 * The whole test must end within this (a hang fails, it does not stall CI). 48 s were seen at
 * load average 17 on the shared 2-core machine, so 58 s was too tight.
 */
const TOTAL_MS = 90_000;
let deadline = Infinity;
/** Time a wait may take: WAIT_MS, cut to what is left of the test's budget. */
function waitMs(): number {
  const left = deadline - Date.now();
  if (left <= 0) throw new Error(`Fault test over its ${TOTAL_MS} ms budget`);
  return Math.min(WAIT_MS, left);
}

type Proc = ServerProcess;
const post = postJson;

/** The server on `kvPath` with uploads in `datasetsDir` and two workers. */
function startServer(kvPath: string, datasetsDir: string): Promise<Proc> {
  return spawnServer(kvPath, {
    env: { WAGYU_DATASETS_DIR: datasetsDir, WAGYU_WORKERS: "2" },
    startTimeoutMs: waitMs(),
  });
}

async function status(base: string, kind: "backtest" | "optimization", id: string) {
  const r = await json(await fetch(`${base}/api/${kind}/${id}/status?result=false`));
  assert.equal(r.status, 200, `status of ${kind} ${id}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Polls until `ok(status)` holds (no fixed sleeps: the machine may be slow). */
async function waitFor(
  base: string,
  kind: "backtest" | "optimization",
  id: string,
  // deno-lint-ignore no-explicit-any
  ok: (s: any) => boolean,
  what: string,
) {
  const end = Date.now() + waitMs();
  let last = null;
  while (Date.now() < end) {
    last = await status(base, kind, id);
    if (ok(last)) return last;
    await sleep(40);
  }
  throw new Error(`${kind} ${id} never ${what}; last ${JSON.stringify(last)}`);
}

const final = (s: { status: string }) => ["completed", "failed", "cancelled"].includes(s.status);

/** Drops the fields that measure time, so two runs of the same work compare equal. */
function stripTiming(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripTiming);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).filter(([k]) => !/elapsed|PerSecond|durationMs/i.test(k)).map((
        [k, x],
      ) => [k, stripTiming(x)]),
    );
  }
  return v;
}

/** Every job of `kind` listed by the API: readable status, and a parseable result if done. */
async function checkListed(base: string, kind: "backtest" | "optimization") {
  const list = await json(await fetch(`${base}/api/backtests?kind=${kind}&limit=500`));
  assert.equal(list.status, 200);
  for (const j of list.body.jobs) {
    const s = await status(base, kind, j.job_id);
    assert.ok(
      ["queued", "running", "completed", "failed", "cancelled"].includes(s.status),
      `job ${j.job_id} status ${s.status}`,
    );
    if (s.status === "completed") {
      const r = await fetch(`${base}/api/${kind}/${j.job_id}/result`);
      assert.equal(r.status, 200, `result of ${j.job_id}`);
      JSON.parse(await r.text());
    }
  }
  return list.body.jobs as { job_id: string; status: string }[];
}

// The same decisions as slowStrategy() without the busy wait: the reference run.
const FAST_EQUIVALENT = `export default class Slow {
  OnData(data) {
    return data.close[data.length - 1] > data.open[data.length - 1] ? 1 : -1;
  }
}`;

Deno.test("SIGKILL during a backtest, an optimization, an upload and a submit burst: every job survives a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wagyu_faults_" });
  const kvPath = `${dir}/jobs.kv`;
  const datasetsDir = `${dir}/datasets`;
  await Deno.mkdir(datasetsDir);
  const procs: Proc[] = [];
  const start = async () => {
    const p = await startServer(kvPath, datasetsDir);
    procs.push(p);
    return p;
  };
  const t0 = Date.now();
  deadline = t0 + TOTAL_MS;
  const phase = (name: string) =>
    console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${name}`);
  try {
    // ---- first process: a completed job, then a backtest and an optimization mid-run ----
    let a = await start();
    // A generated dataset, uploaded like a user would (Parquet).
    const bars = generateBars(1000, { seed: 8, startTime: Date.UTC(2018, 0, 1) });
    const up = await fetch(`${a.url}/api/datasets?name=fault_gen.parquet`, {
      method: "POST",
      body: writeParquetBytes(bars) as BodyInit,
    });
    assert.equal(up.status, 201, await up.text());
    const data = { dataset: "fault_gen.parquet" };
    const done = await post(`${a.url}/api/backtest/start`, {
      strategy: { template: "sma_cross" },
      data,
    });
    assert.equal(done.status, 202);
    await waitFor(a.url, "backtest", done.body.job_id, final, "finished");
    const doneResult = await (await fetch(`${a.url}/api/backtest/${done.body.job_id}/result`))
      .text();

    // (a) a backtest: ~5 ms per bar × 1,000 bars, killed once it has made progress.
    const bt = await post(`${a.url}/api/backtest/start`, {
      strategy: { code: slowStrategy(5) },
      data,
    });
    assert.equal(bt.status, 202, JSON.stringify(bt.body));
    // (b) an optimization: 4 combinations of the slow strategy on 300 bars.
    const opt = await post(`${a.url}/api/optimization/start`, {
      strategy: { code: slowStrategy(3) },
      data: { bars: barsRows(bars, 300) },
      grid: { params: { x: { values: [1, 2, 3, 4] } } },
      backend: "workers",
    });
    assert.equal(opt.status, 202, JSON.stringify(opt.body));
    const btMid = await waitFor(
      a.url,
      "backtest",
      bt.body.job_id,
      (s) => s.status === "running" && s.progress > 0.02,
      "made progress",
    );
    const optMid = await waitFor(
      a.url,
      "optimization",
      opt.body.job_id,
      (s) => s.status === "running" && s.progress > 0,
      "made progress",
    );
    assert.ok(btMid.progress < 1 && optMid.progress < 1);
    // Both must still be running at the kill, or the case tests nothing.
    assert.equal((await status(a.url, "backtest", bt.body.job_id)).status, "running");
    assert.equal((await status(a.url, "optimization", opt.body.job_id)).status, "running");
    await kill9(a);

    phase("(a)+(b) killed mid-run");
    // ---- second process: (c) killed while an upload is being written ----
    a = await start();
    const bigBars = generateBars(400_000, { seed: 9, intervalMs: 60_000 });
    const bigBytes = writeParquetBytes(bigBars);
    const upload = fetch(`${a.url}/api/datasets?name=fault_big.parquet`, {
      method: "POST",
      body: bigBytes as BodyInit,
    }).then((r) => r.status, () => "killed");
    // Kill as soon as the temp file shows up (or, if the write was too quick to see, after
    // the answer): the dataset must then be either absent or complete, never half-written.
    const end = Date.now() + waitMs();
    let sawTemp = false;
    let answered: number | string | null = null;
    void upload.then((s) => answered = s);
    while (Date.now() < end && answered === null) {
      if ([...Deno.readDirSync(datasetsDir)].some((e) => e.name.includes(".tmp-"))) {
        sawTemp = true;
        break;
      }
      await sleep(1);
    }
    await kill9(a);
    const uploadStatus = await upload;
    const leftovers = [...Deno.readDirSync(datasetsDir)].filter((e) => e.name.includes(".tmp-"));
    console.log(
      `(c) upload: temp file seen before kill: ${sawTemp}; client got ${uploadStatus}; ` +
        `${leftovers.length} temp file(s) left on disk`,
    );

    phase("(c) killed mid-upload");
    // ---- third process: recovery of (a) and (b); (c) checked; (d) a submit burst ----
    a = await start();
    // (c) Every listed dataset loads and has the right number of bars.
    const ds = await json(await fetch(`${a.url}/api/datasets`));
    const names: string[] = ds.body.datasets.map((d: { name: string }) => d.name);
    assert.ok(names.includes("fault_gen.parquet"));
    assert.ok(!names.some((n) => n.includes(".tmp-")), `temp file listed: ${names}`);
    if (uploadStatus === 201) assert.ok(names.includes("fault_big.parquet"));
    if (names.includes("fault_big.parquet")) {
      const run = await post(`${a.url}/api/strategy/execute`, {
        strategy: { template: "sma_cross" },
        data: { dataset: "fault_big.parquet" },
      });
      assert.equal(run.status, 200, JSON.stringify(run.body).slice(0, 300));
      assert.equal(run.body.bars.count, bigBars.length);
    }
    // The completed job is unchanged.
    assert.equal(
      await (await fetch(`${a.url}/api/backtest/${done.body.job_id}/result`)).text(),
      doneResult,
    );
    // (a) re-run to completion, and equal to a fresh run of the same decisions.
    const btAfter = await waitFor(a.url, "backtest", bt.body.job_id, final, "finished");
    assert.equal(btAfter.status, "completed", JSON.stringify(btAfter));
    // Killed in process 1 and, still running, again in process 2: one note per interruption.
    assert.ok(btAfter.attempts >= 2, JSON.stringify(btAfter));
    assert.equal(btAfter.notes.length, btAfter.attempts - 1);
    for (const n of btAfter.notes) assert.match(n, /Re-queued after a server restart/);
    const btResult =
      (await json(await fetch(`${a.url}/api/backtest/${bt.body.job_id}/result`))).body;
    const btFresh = await post(`${a.url}/api/strategy/execute`, {
      strategy: { code: FAST_EQUIVALENT },
      data,
    });
    assert.equal(btFresh.status, 200);
    assert.equal(btResult.bars.count, 1000);
    assert.deepEqual(stripTiming(btResult), stripTiming(btFresh.body));
    // (b) re-run to completion; every combination matches a fresh single backtest.
    const optAfter = await waitFor(a.url, "optimization", opt.body.job_id, final, "finished");
    assert.equal(optAfter.status, "completed", JSON.stringify(optAfter));
    assert.ok(optAfter.attempts >= 2, JSON.stringify(optAfter));
    assert.equal(optAfter.notes.length, optAfter.attempts - 1);
    const optResult =
      (await json(await fetch(`${a.url}/api/optimization/${opt.body.job_id}/result`))).body;
    assert.equal(optResult.total, 4);
    assert.equal(optResult.combos.length, 4);
    const one = await post(`${a.url}/api/strategy/execute`, {
      strategy: { code: FAST_EQUIVALENT },
      data: { bars: barsRows(bars, 300) },
    });
    assert.equal(one.status, 200);
    for (const c of optResult.combos) {
      // x is unused by the strategy, so every combination is the same backtest.
      assert.equal(c.metrics.totalReturn, one.body.metrics.totalReturn, JSON.stringify(c));
    }

    console.log(
      `(a) attempts ${btAfter.attempts}, (b) attempts ${optAfter.attempts}; ` +
        `(c) big upload listed after restart: ${names.includes("fault_big.parquet")}`,
    );
    phase("(a)+(b) re-run and checked");
    // (d) 60 submissions at once; kill after the first 15 answers, mid-burst.
    const accepted: string[] = [];
    let answers = 0;
    const small = { bars: barsRows(bars, 120) };
    const burst = Array.from({ length: 60 }, () =>
      fetch(`${a.url}/api/backtest/start`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ strategy: { template: "sma_cross" }, data: small }),
      }).then(async (r) => {
        const b = await r.json();
        answers++;
        if (r.status === 202) accepted.push(b.job_id);
      }, () => {}));
    const burstEnd = Date.now() + waitMs();
    while (answers < 15 && Date.now() < burstEnd) await sleep(1);
    await kill9(a);
    await Promise.allSettled(burst);
    const acceptedAtKill = [...accepted];
    console.log(`(d) ${acceptedAtKill.length} of 60 submissions answered 202 before the kill`);
    assert.ok(acceptedAtKill.length >= 15);
    // What the kill left in the file, before any cleanup: jobs stored, payloads half-written.
    const raw = await Deno.openKv(kvPath);
    let storedJobs = 0;
    let pending = 0;
    for await (const _ of raw.list({ prefix: ["job"] })) storedJobs++;
    for await (const _ of raw.list({ prefix: ["blob_pending"] })) pending++;
    raw.close();
    console.log(`(d) after the kill: ${storedJobs} job records, ${pending} half-written payloads`);

    phase("(d) killed mid-burst");
    // ---- fourth process: every accepted job exists and completes; nothing corrupt ----
    a = await start();
    const expectedBurst = await post(`${a.url}/api/strategy/execute`, {
      strategy: { template: "sma_cross" },
      data: small,
    });
    for (const id of acceptedAtKill) {
      const s = await waitFor(a.url, "backtest", id, final, "finished");
      assert.equal(s.status, "completed", JSON.stringify(s));
      const r = (await json(await fetch(`${a.url}/api/backtest/${id}/result`))).body;
      assert.deepEqual(stripTiming(r), stripTiming(expectedBurst.body));
    }
    const listed = await checkListed(a.url, "backtest");
    for (const id of acceptedAtKill) assert.ok(listed.some((j) => j.job_id === id), id);
    await checkListed(a.url, "optimization");
    // Jobs accepted by the store but whose 202 was lost in the kill run too.
    for (const j of listed) {
      const s = await waitFor(a.url, "backtest", j.job_id, final, "finished");
      assert.equal(s.status, "completed", JSON.stringify(s));
    }
    await kill9(a);

    // The KV file itself: every job's request and result payload reads back, and no orphaned
    // half-written payload survives the store's open-time cleanup.
    const store = await JobStore.open(kvPath);
    try {
      const refs = new Set<string>();
      let jobs = 0;
      for await (
        const e of store.kv.list<import("../../jobs/job_store.ts").JobRecord>({
          prefix: ["job"],
        })
      ) {
        jobs++;
        const rec = e.value;
        const byStatus = await store.kv.get(["job_by_status", rec.status, rec.id]);
        assert.ok(byStatus.value !== null, `status index of ${rec.id}`);
        await store.getRequest(rec);
        refs.add(rec.request.id);
        if (rec.status === "completed") {
          JSON.parse((await store.getResultText(rec))!);
          refs.add(rec.result!.id);
        }
      }
      let indexEntries = 0;
      for await (const _ of store.kv.list({ prefix: ["job_by_status"] })) indexEntries++;
      assert.equal(indexEntries, jobs, "one status index entry per job");
      for await (const e of store.kv.list({ prefix: ["blob"] })) {
        assert.ok(refs.has(e.key[1] as string), `orphaned payload chunk ${String(e.key)}`);
      }
      for await (const e of store.kv.list({ prefix: ["blob_pending"] })) {
        assert.fail(`pending marker left: ${String(e.key)}`);
      }
    } finally {
      store.close();
    }
    console.log(`fault test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    for (const p of procs) {
      try {
        p.child.kill("SIGKILL");
      } catch { /* already dead */ }
      await p.child.status;
      await p.child.stdout.cancel().catch(() => {});
    }
    await Deno.remove(dir, { recursive: true });
  }
});

/** The first `n` bars as `[t, o, h, l, c, v]` rows (the API's inline form). */
function barsRows(bars: ReturnType<typeof generateBars>, n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    out.push([
      bars.timestamp[i],
      bars.open[i],
      bars.high[i],
      bars.low[i],
      bars.close[i],
      bars.volume[i],
    ]);
  }
  return out;
}
