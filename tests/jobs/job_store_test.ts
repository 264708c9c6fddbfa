import assert from "node:assert/strict";
import { CHUNK_BYTES, JobStateError, JobStore } from "../../jobs/job_store.ts";

async function tempKvPath(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "wagyu_store_" });
  return `${dir}/sub/jobs.kv`;
}

Deno.test("JobStore.open() creates the KV file's directory and a job survives reopening", async () => {
  const path = await tempKvPath();
  const a = await JobStore.open(path);
  const job = await a.create("backtest", { strategy: { template: "sma_cross" }, n: 1 });
  a.close();
  const b = await JobStore.open(path);
  const again = await b.get(job.id);
  assert.equal(again?.status, "queued");
  assert.deepEqual(await b.getRequest(again!), { strategy: { template: "sma_cross" }, n: 1 });
  assert.equal(b.counts().queued, 1);
  b.close();
});

Deno.test("JobStore.transition() stores a result larger than one KV value in chunks", async () => {
  const store = await JobStore.open(":memory:");
  const job = await store.create("backtest", {});
  // Random numbers do not compress: the gzip'd payload needs many 60 kB chunks.
  const values = Array.from({ length: 60_000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453);
  const result = { equity: values, note: "x" };
  await store.transition(job.id, "running", { startedAt: 1 });
  const rec = await store.transition(job.id, "completed", { progress: 1 }, JSON.stringify(result));
  assert.ok(rec.result!.chunks > 3, `expected several chunks, got ${rec.result!.chunks}`);
  assert.ok(rec.result!.bytes > 3 * CHUNK_BYTES);
  const text = await store.getResultText((await store.get(job.id))!);
  assert.deepEqual(JSON.parse(text!), result);
  store.close();
});

Deno.test("JobStore.transition() rejects a transition out of a final status", async () => {
  const store = await JobStore.open(":memory:");
  const job = await store.create("backtest", {});
  await store.transition(job.id, "cancelled", { error: "user" });
  await assert.rejects(() => store.transition(job.id, "running"), JobStateError);
  assert.deepEqual(store.counts(), {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 1,
  });
  store.close();
});

Deno.test("JobStore.list() pages newest first and filters by status", async () => {
  const store = await JobStore.open(":memory:");
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await store.create("backtest", { i })).id);
  await store.transition(ids[1], "running");
  await store.transition(ids[3], "running");
  const p1 = await store.list({ limit: 3 });
  assert.deepEqual(p1.jobs.map((j) => j.id), [ids[6], ids[5], ids[4]]);
  assert.ok(p1.cursor);
  const p2 = await store.list({ limit: 3, cursor: p1.cursor! });
  assert.deepEqual(p2.jobs.map((j) => j.id), [ids[3], ids[2], ids[1]]);
  const p3 = await store.list({ limit: 3, cursor: p2.cursor! });
  assert.deepEqual(p3.jobs.map((j) => j.id), [ids[0]]);
  assert.equal(p3.cursor, null);
  const running = await store.list({ status: "running" });
  assert.deepEqual(running.jobs.map((j) => j.id), [ids[3], ids[1]]);
  assert.equal(running.jobs[0].status, "running");
  // A page that ends exactly at the last job has no next page: no cursor to an empty one.
  const exact = await store.list({ status: "running", limit: 2 });
  assert.equal(exact.jobs.length, 2);
  assert.equal(exact.cursor, null);
  const byKind = await store.list({ kind: "backtest", limit: 7 });
  assert.equal(byKind.jobs.length, 7);
  assert.equal(byKind.cursor, null);
  const six = await store.list({ kind: "backtest", limit: 6 });
  assert.deepEqual(
    (await store.list({ kind: "backtest", cursor: six.cursor! })).jobs.map((j) => j.id),
    [ids[0]],
  );
  store.close();
});

Deno.test("JobStore.open() deletes a half-written payload left by a killed writer", async () => {
  const path = await tempKvPath();
  const a = await JobStore.open(path);
  // What a process killed in the middle of writing a result leaves: a pending marker and
  // some chunks that no job points to.
  await a.kv.set(["blob_pending", "orphan"], 1);
  await a.kv.set(["blob", "orphan", 0], new Uint8Array(10));
  await a.kv.set(["blob", "orphan", 1], new Uint8Array(10));
  const job = await a.create("backtest", { keep: true });
  a.close();
  const b = await JobStore.open(path);
  const left: unknown[] = [];
  for await (const e of b.kv.list({ prefix: ["blob", "orphan"] })) left.push(e.key);
  assert.deepEqual(left, []);
  assert.equal((await b.kv.get(["blob_pending", "orphan"])).value, null);
  assert.deepEqual(await b.getRequest((await b.get(job.id))!), { keep: true });
  b.close();
});

Deno.test("JobStore.get() answers null for an unknown or malformed id", async () => {
  const store = await JobStore.open(":memory:");
  assert.equal(await store.get("0000000000000000a"), null);
  assert.equal(await store.get("../etc/passwd"), null);
  store.close();
});
