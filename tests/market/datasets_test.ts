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
