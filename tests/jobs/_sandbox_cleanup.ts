/**
 * The last test of a sandbox test file: the pooled processes and worker mode's spare Worker
 * (which may still be warming up) end with the module rather than at process exit, where a
 * thread still running in a torn-down runtime can crash the test runner after every test
 * passed (seen once in CI: "double free or corruption" after the summary).
 */
import assert from "node:assert/strict";
import { closeSandboxPool, sandboxPoolStats } from "../../jobs/sandbox.ts";

/** Whether process `pid` still runs (a zombie counts as ended). */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Registers the closing test; `expectProcesses`: the file's jobs left pooled processes. */
export function closeSandboxAfterFile(expectProcesses: boolean): void {
  Deno.test("closeSandboxPool() ends every pooled process the file left running", async () => {
    const { pids } = sandboxPoolStats();
    if (expectProcesses) assert.ok(pids.length > 0, "the file's jobs left no pooled process");
    assert.ok(pids.every(running));
    await closeSandboxPool();
    assert.deepEqual(pids.filter(running), [], "pooled processes still running after close");
    assert.equal(sandboxPoolStats().alive, 0);
  });
}
