import assert from "node:assert/strict";
import { loadBars } from "../../market/load_bars.ts";
import { collectShards, enqueueShards, processShard } from "../../optimizer/kv_shards.ts";
import { runOptimization } from "../../optimizer/run_optimization.ts";

const WORKER = new URL("../../optimizer/kv_shard_worker.ts", import.meta.url).pathname;
const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;
/**
 * A user strategy (not a built-in family), padded past one KV value so that its source is
 * stored in two pieces.
 */
const MOMENTUM = `// ${"padding ".repeat(9000)}
export default class Momentum {
  params = { lookback: 10, band: 0 };
  OnData(data, ctx) {
    const n = data.length, lb = Number(ctx.params.lookback);
    if (n <= lb) return 0;
    const r = data.close[n - 1] / data.close[n - 1 - lb] - 1;
    return r > Number(ctx.params.band) ? 1 : r < -Number(ctx.params.band) ? -1 : 0;
  }
}`;
const CODE_GRID = {
  params: { lookback: { min: 2, max: 30, step: 4 }, band: { values: [0, 0.02] } },
};

const GRID = {
  params: { fast: { min: 2, max: 40, step: 2 }, slow: { min: 20, max: 120, step: 10 } },
  constraints: ["fast < slow"],
};

function spawnWorker(kvPath: string, name: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", WORKER, kvPath, name, "--pause-ms", "40"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const reading = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        if (line.startsWith("ready")) ready();
      }
    }
  })();
  return { child, lines, isReady, reading };
}

Deno.test("Two processes on one KV file split the shards of a family grid and of strategy code, each computed once, merged equal to one process", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/opt.kv`;
  const kv = await Deno.openKv(kvPath);
  const workers = [spawnWorker(kvPath, "p1"), spawnWorker(kvPath, "p2")];
  try {
    await Promise.all(workers.map((w) => w.isReady));
    const shards = await enqueueShards(kv, {
      id: "job1",
      dataPath: GOOG,
      family: "sma_cross",
      grid: GRID,
      config: { feeTaker: 0.001 },
      shardSize: 8,
    });
    const merged = await collectShards(kv, "job1", { filters: ["trades>=5"], timeoutMs: 120_000 });
    const single = await runOptimization({
      bars: (await loadBars(GOOG)).bars,
      strategy: { family: "sma_cross" },
      grid: GRID,
      config: { feeTaker: 0.001 },
      filters: ["trades>=5"],
      backend: "cpu",
    });
    assert.equal(merged.combos.length, single.total);
    assert.deepEqual(merged.combos, single.combos);
    assert.deepEqual(merged.best, single.best);

    // Strategy code: its source travels through KV (in two pieces), the shards run in
    // permission-less workers in both processes, and the merge equals one process's run.
    assert.ok(new TextEncoder().encode(MOMENTUM).length > 64 * 1024);
    const codeShards = await enqueueShards(kv, {
      id: "job2",
      dataPath: GOOG,
      code: MOMENTUM,
      grid: CODE_GRID,
      config: { feeTaker: 0.001 },
      shardSize: 3,
      workers: 1,
    });
    const mergedCode = await collectShards(kv, "job2", { timeoutMs: 120_000 });
    const singleCode = await runOptimization({
      bars: (await loadBars(GOOG)).bars,
      strategy: { code: MOMENTUM },
      grid: CODE_GRID,
      config: { feeTaker: 0.001 },
      backend: "workers",
      workers: 1,
    });
    assert.equal(mergedCode.combos.length, 16);
    assert.deepEqual(mergedCode.combos, singleCode.combos);
    assert.ok(mergedCode.combos.some((c) => c.metrics.trades > 10));
    // A strategy that throws: the shard answers with the error, collect names it.
    await enqueueShards(kv, {
      id: "job3",
      dataPath: GOOG,
      code: "export default class Bad { OnData() { throw new Error('boom'); } }",
      grid: { params: { x: { values: [1, 2] } } },
      shardSize: 1,
      workers: 1,
    });
    await assert.rejects(
      collectShards(kv, "job3", { timeoutMs: 120_000 }),
      /Sharded job job3, shard \d: .*boom/,
    );
    await assert.rejects(
      enqueueShards(kv, { id: "job4", dataPath: GOOG, grid: CODE_GRID }),
      /exactly one of family or code/,
    );

    // every shard computed by exactly one process, and both processes took a share
    for (const w of workers) w.child.kill("SIGTERM");
    await Promise.all(workers.map((w) => w.child.status));
    await Promise.all(workers.map((w) => w.reading));
    const computed = workers.flatMap((w, i) =>
      w.lines.filter((l) => l.startsWith("computed job1")).map((l) => ({
        p: i,
        shard: Number(l.split(" ")[2]),
      }))
    );
    assert.deepEqual(computed.map((c) => c.shard).sort((a, b) => a - b), [...Array(shards).keys()]);
    assert.ok(workers.every((_, i) => computed.some((c) => c.p === i)), JSON.stringify(computed));
    const computedCode = workers.flatMap((w) =>
      w.lines.filter((l) => l.startsWith("computed job2")).map((l) => Number(l.split(" ")[2]))
    );
    assert.deepEqual(computedCode.sort((a, b) => a - b), [...Array(codeShards).keys()]);
    assert.deepEqual(
      merged.processors,
      [...Array(shards).keys()].map((s) => `p${computed.find((c) => c.shard === s)!.p + 1}`),
    );
    // a redelivered message is dropped: the shard is done
    const again = await processShard(kv, {
      kind: "wagyu.opt_shard",
      jobId: "job1",
      shard: 0,
      start: 0,
      end: 8,
    }, { processor: "late", loadBars: async (p) => (await loadBars(p)).bars });
    assert.equal(again, false);
  } finally {
    for (const w of workers) {
      try {
        w.child.kill("SIGKILL");
      } catch {
        // already exited
      }
    }
    await Promise.allSettled(workers.map((w) => w.child.status));
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
