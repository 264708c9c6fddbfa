import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { loadBars } from "../../market/load_bars.ts";

const CLI = new URL("../../cli/convert.ts", import.meta.url).pathname;
const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", CLI, ...args] })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("cli/convert.ts turns GOOG.csv into Parquet that polars and loadBars read back identically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run([GOOG, `${dir}/goog.parquet`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote 2148 bars to .*goog\.parquet/);
    const orig = (await loadBars(GOOG)).bars;
    const back = (await loadBars(`${dir}/goog.parquet`)).bars;
    assert.deepEqual([...back.close], [...orig.close]);
    assert.deepEqual([...back.timestamp], [...orig.timestamp]);
    const df = pl.readParquet(`${dir}/goog.parquet`);
    assert.equal(df.height, 2148);
    assert.deepEqual(df.getColumn("volume").toArray(), [...orig.volume]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli/convert.ts exits 2 with the file, line and reason on a bad row", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.csv`,
      "date,open,high,low,close\n2020-01-01,1,2,0.5,1\n2020-01-02,1,2,0.5,oops\n",
    );
    const r = await run([`${dir}/bad.csv`, `${dir}/bad.parquet`]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'convert: bad.csv line 3: close "oops" is not a number');
    const fixed = await run([`${dir}/bad.csv`, `${dir}/bad.parquet`, "--repair"]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal((await loadBars(`${dir}/bad.parquet`)).bars.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
