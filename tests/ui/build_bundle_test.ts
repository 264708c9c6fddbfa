import assert from "node:assert/strict";
import { bundleReport, ensureBundle } from "../../ui/build_bundle.ts";

const BUILD = new URL("../../static/build/", import.meta.url);

Deno.test({
  name: "ensureBundle() yields a bundle within the 300 KB gzipped initial-JS budget",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBundle();
    const report = await bundleReport();
    console.log(
      `initial JS ${(report.initialGzip / 1024).toFixed(1)} KiB gz, all JS ${
        (report.totalGzip / 1024).toFixed(1)
      } KiB gz`,
    );
    assert.ok(report.initialGzip > 5 * 1024, "entry chunk suspiciously small");
    assert.ok(report.initialGzip <= 300 * 1024, `initial JS ${report.initialGzip} B gzipped`);
    // CodeMirror and chart.js are split off, loaded after the first render
    const names = report.files.map((f) => f.name);
    assert.ok(names.some((n) => n.startsWith("code_editor-")), names.join(", "));
    assert.ok(names.some((n) => n.startsWith("chart_setup-")), names.join(", "));
  },
});

Deno.test({
  name: "ensureBundle() bundles exactly one copy of preact and of @preact/signals",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await ensureBundle();
    const { files } = await bundleReport();
    let preactCore = 0;
    let signalsCore = 0;
    for (const f of files) {
      const text = await Deno.readTextFile(new URL(f.name, BUILD));
      // a regex literal only preact's core (dist/preact.mjs) contains
      preactCore += text.split("m(i|n|o|s|text|space)").length - 1;
      signalsCore += text.split('Symbol.for("preact-signals")').length - 1;
    }
    assert.equal(preactCore, 1);
    assert.equal(signalsCore, 1);
  },
});
