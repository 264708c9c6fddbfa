/**
 * `--report PATH` of the backtest and optimize CLIs, spawned as subprocesses on GOOG.csv.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const GOOG = new URL("../shared/data/GOOG.csv", ROOT).pathname;
const SMA = new URL("examples/sma_cross.ts", ROOT).pathname;

async function run(cli: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(cli, ROOT).pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function reportData(html: string) {
  const m = html.match(/<script type="application\/json" id="report-data">([^<]*)<\/script>/);
  assert.ok(m, "no report data in the page");
  return JSON.parse(m[1]);
}

Deno.test("backtest CLI --report writes the HTML report of the run it printed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(
      "cli/backtest.ts",
      GOOG,
      SMA,
      "--trusted",
      "--param",
      "fast=5",
      "--param",
      "slow=20",
      "--json",
      `${dir}/r.json`,
      "--report",
      `${dir}/r.html`,
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    const html = await Deno.readTextFile(`${dir}/r.html`);
    assert.ok(html.startsWith("<!doctype html>"));
    assert.ok(!/<script[^>]*\ssrc=/i.test(html));
    const data = reportData(html);
    // The report's equity curve is the run's (every bar: GOOG is under the decimation limit).
    assert.equal(data.equity.length, result.equity.length);
    assert.deepEqual(data.equity.at(-1), [result.equity.at(-1).time, result.equity.at(-1).equity]);
    assert.equal(
      data.longEntries.length + data.shortEntries.length,
      result.trades.length,
    );
    const bad = await run(
      "cli/backtest.ts",
      GOOG,
      SMA,
      "--trusted",
      "--report",
      `${dir}/no/such/dir.html`,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot write HTML report/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("optimize CLI --report writes scatter plots and the parameter heatmap", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(
      "cli/optimize.ts",
      GOOG,
      "sma_cross",
      "--grid",
      "fast=5:15:5",
      "--grid",
      "slow=20,40",
      "--backend",
      "cpu",
      "--json",
      `${dir}/o.json`,
      "--report",
      `${dir}/o.html`,
    );
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/o.json`));
    const html = await Deno.readTextFile(`${dir}/o.html`);
    const data = reportData(html);
    assert.equal(json.total, 6);
    assert.equal(data.params.length, 2);
    assert.deepEqual(data.params.map((p: { name: string }) => p.name), ["fast", "slow"]);
    const cells = html.match(/<table class="heat" id="param-heatmap">[\s\S]*?<\/table>/)![0];
    assert.equal((cells.match(/<td /g) ?? []).length, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
