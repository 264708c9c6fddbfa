/**
 * Child script of tests/jobs/sandbox_pool_test.ts: runs one strategy through `runInSandbox`
 * under the Deno Deploy profile's permissions (no run, no write, no ffi), then prints the
 * mode it ran in and the result as JSON on stdout.
 */
import { closeSandboxPool, runInSandbox, sandboxMode } from "../../jobs/sandbox.ts";
import { barsFromRows } from "../../engine/bars.ts";

const rows = JSON.parse(Deno.args[0]) as number[][];
const code = Deno.args[1];
const bars = barsFromRows(rows);
const mode = sandboxMode();
const result = await runInSandbox({ code, bars }, { limits: { timeoutMs: 60_000 } });
let failure = "";
try {
  await runInSandbox({
    code:
      `export default class S { OnData() { Deno.readTextFileSync("/etc/hostname"); return 0; } }`,
    bars,
  });
} catch (e) {
  failure = `${(e as { kind?: string }).kind}: ${(e as Error).message}`;
}
console.log(JSON.stringify({ mode, result, failure }));
await closeSandboxPool(); // worker mode keeps a spare Worker, which would hold the process a while
