import assert from "node:assert/strict";
import {
  estimateEtaMs,
  formatDuration,
  ProgressBar,
  renderProgressLine,
} from "../../cli/progress_bar.ts";

Deno.test("estimateEtaMs() extrapolates the average rate to the remaining work", () => {
  // 25 of 100 in 10 s: 0.4 s each, 75 left => 30 s.
  assert.equal(estimateEtaMs(25, 100, 10_000), 30_000);
  // 1 of 3 in 7 ms => 14 ms for the other 2.
  assert.equal(estimateEtaMs(1, 3, 7), 14);
  assert.equal(estimateEtaMs(0, 100, 5_000), null, "no rate yet");
  assert.equal(estimateEtaMs(100, 100, 5_000), 0);
  assert.equal(estimateEtaMs(0, 0, 0), 0, "nothing to do");
});

Deno.test("formatDuration() writes seconds, minutes and hours", () => {
  assert.equal(formatDuration(null), "--");
  assert.equal(formatDuration(0), "0s");
  assert.equal(formatDuration(44_600), "45s");
  assert.equal(formatDuration(185_000), "3m05s");
  assert.equal(formatDuration(3_720_000), "1h02m");
});

Deno.test("renderProgressLine() fills the bar by the fraction done and shows the ETA", () => {
  const line = renderProgressLine("backtest", 25, 100, 10_000, { width: 20, unit: "bars" });
  assert.equal(line, `backtest [${"#".repeat(5)}${".".repeat(15)}]  25% 25/100 bars ETA 30s`);
  const full = renderProgressLine("x", 7, 7, 1000, { width: 4, detail: "2 requests" });
  assert.equal(full, "x [####] 100% 7/7, 2 requests ETA 0s");
  assert.equal(renderProgressLine("x", 0, 10, 0, { width: 2 }), "x [..]   0% 0/10 ETA --");
});

Deno.test("ProgressBar redraws in place, throttles, and ends its line on finish()", () => {
  const chunks: string[] = [];
  let t = 0;
  const dec = new TextDecoder();
  const bar = new ProgressBar({
    label: "opt",
    enabled: true,
    now: () => t,
    minIntervalMs: 100,
    write: (b) => chunks.push(dec.decode(b)),
  });
  t = 1000;
  bar.update(1, 4);
  t = 1050; // within the interval: skipped
  bar.update(2, 4);
  t = 2000;
  bar.update(3, 4);
  t = 2010; // the last update always draws
  bar.update(4, 4);
  bar.finish();
  assert.equal(chunks.length, 4);
  assert.ok(chunks.slice(0, 3).every((c) => c.startsWith("\r") && c.endsWith("\x1b[K")));
  assert.match(chunks[0], / {2}25% 1\/4 ETA 3s/); // 1 s for 1 => 3 s for 3
  assert.match(chunks[1], / {2}75% 3\/4 ETA 1s/);
  assert.equal(chunks[3], "\n");
  const off: string[] = [];
  const quiet = new ProgressBar({
    label: "q",
    enabled: false,
    write: (b) => off.push(dec.decode(b)),
  });
  quiet.update(1, 2);
  quiet.finish();
  assert.deepEqual(off, []);
});
