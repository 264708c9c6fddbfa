import assert from "node:assert/strict";
import { jobFailure, lastLines } from "../../routes/backtest_input.ts";
import { SandboxError } from "../../jobs/sandbox.ts";

Deno.test("lastLines() keeps the newest lines that fit, cuts the oldest kept one, and counts the rest", () => {
  assert.deepEqual(lastLines([], 10), []);
  assert.deepEqual(lastLines(["ab", "cd"], 4), ["ab", "cd"]);
  assert.deepEqual(lastLines(["ab", "cd", "ef"], 4), ["[1 earlier line not kept]", "cd", "ef"]);
  assert.deepEqual(lastLines(["a", "b", "cdefgh", "ij"], 5), [
    "[2 earlier lines not kept]",
    "cde…",
    "ij",
  ]);
  // One line longer than the whole budget: its start, marked as cut.
  assert.deepEqual(lastLines(["0123456789"], 4), ["0123…"]);
  assert.deepEqual(lastLines([1, null], 10), ["1", "null"]);
});

Deno.test("jobFailure() stores a sandbox error's code, kind, bar and bounded logs; unknown errors get none", () => {
  const logs = Array.from({ length: 1000 }, (_, i) => `line ${i} ${"x".repeat(40)}`);
  const f = jobFailure(new SandboxError("runtime", "OnData threw on bar 7", { bar: 7, logs }))!;
  assert.equal(f.message, "OnData threw on bar 7");
  assert.equal(f.details?.code, "strategy_runtime_error");
  assert.equal(f.details?.kind, "runtime");
  assert.equal(f.details?.bar, 7);
  const kept = f.details?.logs as string[];
  assert.equal(kept.at(-1), logs.at(-1));
  assert.match(kept[0], /^\[\d+ earlier lines not kept\]$/);
  // Small enough for the job record (one KV value of at most 64 KiB).
  assert.ok(JSON.stringify(f.details).length < 16_000);
  assert.equal(jobFailure(new TypeError("boom")), null);
});
