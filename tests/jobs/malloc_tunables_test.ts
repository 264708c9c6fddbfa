/**
 * The malloc settings (jobs/malloc_tunables.ts) reach every process that runs backtests: the
 * deno.json tasks and the sandbox subprocesses.
 */
import assert from "node:assert/strict";
import { MALLOC_TUNABLES } from "../../jobs/malloc_tunables.ts";
import {
  closeSandboxPool,
  configureSandboxPool,
  runInSandbox,
  sandboxPoolStats,
} from "../../jobs/sandbox.ts";
import { randomWalk } from "../_fixtures/random_walk.ts";

const REPO = new URL("../../", import.meta.url);

Deno.test("deno.json's backtest-running tasks set GLIBC_TUNABLES to MALLOC_TUNABLES", async () => {
  const { tasks } = JSON.parse(await Deno.readTextFile(new URL("deno.json", REPO)));
  for (const name of ["start", "dev", "bench", "backtest", "optimize"]) {
    const task = String(tasks[name]);
    assert.ok(
      task.startsWith(`GLIBC_TUNABLES=${MALLOC_TUNABLES} deno run `),
      `task ${name}: ${task}`,
    );
  }
});

Deno.test("sandbox subprocesses run with MALLOC_TUNABLES in their environment", async () => {
  configureSandboxPool({ size: 1 });
  try {
    const code = "export default class S { OnData() { return 0; } }";
    await runInSandbox({ code, bars: randomWalk(20) }, { mode: "process" });
    const { pids } = sandboxPoolStats();
    assert.ok(pids.length > 0, "a pooled process is alive");
    // glibc 2.36 rewrites GLIBC_TUNABLES in its own environment once it has applied them,
    // leaving only the first: that one shows the variable arrived (the parent has none).
    const first = `GLIBC_TUNABLES=${MALLOC_TUNABLES.split(":")[0]}`;
    assert.equal(Deno.env.get("GLIBC_TUNABLES"), undefined, "the test runs without it");
    for (const pid of pids) {
      const env = (await Deno.readTextFile(`/proc/${pid}/environ`)).split("\0");
      assert.ok(
        env.some((e) => e.startsWith(first)),
        `pid ${pid}: ${env.filter((e) => e.startsWith("GLIBC"))}`,
      );
    }
  } finally {
    await closeSandboxPool();
  }
});
