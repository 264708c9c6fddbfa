import assert from "node:assert/strict";
import {
  DatasetError,
  deleteDataset,
  isValidDatasetName,
  listDatasets,
  resolveDataset,
  saveDataset,
} from "../../market/datasets.ts";
import { DataFileError } from "../../market/load_bars.ts";
import { SAMPLE_SPECS } from "../../market/generate_samples.ts";
import { KvBlobStore } from "../../market/kv_blob_store.ts";

Deno.test("isValidDatasetName() refuses path traversal and odd characters", () => {
  for (const ok of ["GOOG.csv", "btc_usdt-1h.parquet", "a.b.c.json", "X"]) {
    assert.ok(isValidDatasetName(ok), ok);
  }
  for (
    const bad of [
      "../x.csv",
      "..",
      ".",
      ".hidden.csv",
      "a/b.csv",
      "a\\b.csv",
      "",
      "a b.csv",
      "x%2e%2e.csv",
      "é.csv",
      "a\0.csv",
      "x".repeat(129),
    ]
  ) {
    assert.ok(!isValidDatasetName(bad), JSON.stringify(bad));
  }
});

Deno.test("listDatasets() lists the shipped samples with symbol/timeframe, then uploads", async () => {
  const uploads = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${uploads}/mine.csv`,
      "date,open,high,low,close\n2020-01-01,1,1,1,1\n",
    );
    await Deno.writeTextFile(`${uploads}/notes.md`, "not data");
    const list = await listDatasets({ uploadDir: uploads });
    const samples = list.filter((d) => d.kind === "sample");
    assert.deepEqual(samples.map((d) => d.name), SAMPLE_SPECS.map((s) => s.file).sort());
    const daily = samples.find((d) => d.name === "SAMPLE_USD_1d.csv")!;
    assert.equal(daily.symbol, "SAMPLE/USD");
    assert.equal(daily.timeframe, "1d");
    assert.equal(daily.format, "csv");
    assert.ok(daily.size > 10_000);
    assert.deepEqual(list.filter((d) => d.kind === "upload").map((d) => d.name), ["mine.csv"]);
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});

Deno.test("resolveDataset() finds samples and uploads, and rejects bad or unknown names", async () => {
  const uploads = await Deno.makeTempDir();
  try {
    assert.match(
      await resolveDataset("SAMPLE_USD_1h.csv", { uploadDir: uploads }),
      /data\/sample\/SAMPLE_USD_1h\.csv$/,
    );
    await assert.rejects(
      () => resolveDataset("../../etc/passwd", { uploadDir: uploads }),
      (e: Error) => e instanceof DatasetError && e.code === "invalid",
    );
    await assert.rejects(
      () => resolveDataset("nope.csv", { uploadDir: uploads }),
      (e: Error) => e instanceof DatasetError && e.code === "not_found",
    );
    // a file of the samples folder that is no dataset (it is not listed either)
    await assert.rejects(
      () => resolveDataset("README.md", { uploadDir: uploads }),
      (e: Error) =>
        e instanceof DatasetError && e.code === "not_found" && /\.csv, \.txt/.test(e.message),
    );
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});

Deno.test("saveDataset() validates before writing, refuses sample names and duplicates, deleteDataset() removes", async () => {
  const uploads = await Deno.makeTempDir();
  const dirs = { uploadDir: `${uploads}/datasets` };
  try {
    const good = new TextEncoder().encode(
      "date,open,high,low,close,volume\n2020-01-01,1,2,0.5,1.5,10\n2020-01-02,1.5,2,1,1.8,12\n",
    );
    const { info, loaded } = await saveDataset("up.csv", good, dirs);
    assert.equal(info.kind, "upload");
    assert.equal(loaded.bars.length, 2);
    assert.equal(await resolveDataset("up.csv", dirs), `${dirs.uploadDir}/up.csv`);
    await assert.rejects(
      () => saveDataset("up.csv", good, dirs),
      (e: Error) => e instanceof DatasetError && e.code === "exists",
    );
    await assert.rejects(
      () => saveDataset("SAMPLE_USD_1d.csv", good, dirs),
      (e: Error) => e instanceof DatasetError && e.code === "exists",
    );
    const bad = new TextEncoder().encode("date,open,high,low,close\n2020-01-01,1,2,0.5,NaN\n");
    await assert.rejects(
      () => saveDataset("bad.csv", bad, dirs),
      (e: Error) => e instanceof DataFileError && e.message === "bad.csv line 2: close is NaN",
    );
    assert.deepEqual([...Deno.readDirSync(dirs.uploadDir)].map((e) => e.name), ["up.csv"]);
    await deleteDataset("up.csv", dirs);
    await assert.rejects(() => resolveDataset("up.csv", dirs), DatasetError);
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});

Deno.test("saveDataset() writes through a temp file; a crashed upload's temp file is swept at startup and never listed", async () => {
  const uploads = await Deno.makeTempDir();
  try {
    const csv = "ts,open,high,low,close,volume\n1700000000000,1,2,0.5,1.5,10\n";
    // What an upload killed mid-write leaves: a partial temp file of a process that is gone
    // (pid 2^22 + 1 is above Linux's pid_max), and one of a live process (the parent of this
    // test runner), which may be writing right now and must be left alone.
    const dead = `${uploads}/x.csv.tmp-4194305-1234abcd`;
    const live = `${uploads}/y.csv.tmp-${Deno.ppid}-5678abcd`;
    await Deno.writeTextFile(dead, csv.slice(0, 20));
    await Deno.writeTextFile(live, csv.slice(0, 20));
    // The first catalog call of the process for this folder sweeps (a fresh folder here).
    const list = await listDatasets({ uploadDir: uploads });
    assert.ok(!list.some((d) => d.name.includes(".tmp-")));
    const left = [...Deno.readDirSync(uploads)].map((e) => e.name);
    assert.deepEqual(left, [live.slice(uploads.length + 1)]);
    const { info } = await saveDataset("fresh.csv", new TextEncoder().encode(csv), {
      uploadDir: uploads,
    });
    assert.equal(await Deno.readTextFile(info.path), csv);
    assert.deepEqual(
      [...Deno.readDirSync(uploads)].map((e) => e.name).sort(),
      ["fresh.csv", live.slice(uploads.length + 1)],
    );
  } finally {
    await Deno.remove(uploads, { recursive: true });
  }
});

Deno.test("KvBlobStore: put/get/list/delete; a replaced blob is whole; orphaned chunks are swept", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/b.kv`);
  try {
    const store = new KvBlobStore(kv, ["t"]);
    const big = new Uint8Array(200_000).map((_, i) => (i * 31) & 255); // 4 chunks
    await store.put("a.csv", big);
    assert.deepEqual(await store.get("a.csv"), big);
    const small = new TextEncoder().encode("hello");
    await store.put("a.csv", small);
    assert.deepEqual(await store.get("a.csv"), small);
    // The replaced generation's chunks are gone: only one chunk is left.
    let chunks = 0;
    for await (const _ of kv.list({ prefix: ["t", "chunk"] })) chunks++;
    assert.equal(chunks, 1);
    assert.deepEqual((await store.list()).map((b) => [b.name, b.size]), [["a.csv", 5]]);
    // A writer killed before its index commit leaves chunks of an unreferenced generation.
    await kv.set(["t", "chunk", "b.csv", `${Date.now() - 3_600_000}-dead`, 0], small);
    await kv.set(["t", "chunk", "b.csv", `${Date.now()}-live`, 0], small);
    assert.equal(await store.get("b.csv"), null);
    assert.equal(await store.sweep(), 1); // the hour-old one; the fresh one may be in progress
    assert.equal(await store.delete("a.csv"), true);
    assert.equal(await store.get("a.csv"), null);
    assert.equal(await store.delete("a.csv"), false);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
