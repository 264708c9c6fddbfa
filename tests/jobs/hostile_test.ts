/**
 * Hostile strategies: each case runs real malicious or broken code through the real sandbox
 * and checks that the error says what happened; each test then checks that the host still
 * works: another sandboxed job gives the in-process engine's answer, and this process still
 * reads files, runs timers and has clean prototypes.
 *
 * Every case runs in both modes: "process" (pooled subprocesses, each job in a fresh
 * permission-less Worker) and "worker" (the permission-less Worker in this process, the Deno
 * Deploy profile). The memory bombs run in process mode only: a Worker takes no heap cap, so
 * in worker mode memory is bounded by the platform's isolate limit, not per job.
 */
import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import type { Bars } from "../../engine/types.ts";
import {
  runInSandbox as runInSandboxAnyMode,
  SandboxError,
  type SandboxErrorKind,
  type SandboxLimits,
  type SandboxMode,
  type SandboxOptions,
  type SandboxRequest,
} from "../../jobs/sandbox.ts";
import { closeSandboxAfterFile } from "./_sandbox_cleanup.ts";

function zigzag(n: number): Bars {
  const rows: number[][] = [];
  let p = 100;
  for (let i = 0; i < n; i++) {
    const o = p;
    p = p * (1 + Math.sin(i / 5) * 0.03);
    rows.push([
      Date.UTC(2022, 0, 1) + i * 86_400_000,
      o,
      Math.max(o, p) * 1.01,
      Math.min(o, p) * 0.99,
      p,
      1000,
    ]);
  }
  return barsFromRows(rows);
}

const bars = zigzag(60);
// The job limit is only a backstop here (each case trips a per-call limit or fails fast); it
// is generous because a loaded 2-core machine can take seconds to start a Worker.
const FAST: Partial<SandboxLimits> = { timeoutMs: 30_000, onDataTimeoutMs: 1000, memoryMb: 128 };
const NORMAL = `export default class S { OnData(data) { return data.length % 5 === 0 ? 1 : -1; } }`;
const normalExpected = JSON.stringify(
  runBacktest(bars, { OnData: (d: { length: number }) => (d.length % 5 === 0 ? 1 : -1) }),
);
const THIS_FILE = new URL(import.meta.url);
const ENGINE_FILE = new URL("../../engine/backtest.ts", import.meta.url);
const COMPILE_FILE = new URL("../../jobs/compile.ts", import.meta.url);

/** A strategy module with `body` as OnData and `top` as module top-level code. */
function strategy(body: string, top = ""): string {
  return `${top}\nexport default class S { OnData(data, ctx) { ${body} } }`;
}

const MEMORY_SKIP = "skipped in worker mode: a Worker takes no heap cap, memory is bounded " +
  "by the platform's isolate limit";

for (const mode of ["process", "worker"] as SandboxMode[]) {
  const runInSandbox = (req: SandboxRequest, opts: SandboxOptions = {}) =>
    runInSandboxAnyMode(req, { ...opts, mode });
  const test = (name: string, fn: () => Promise<void>, opts: { memory?: boolean } = {}) => {
    const skip = opts.memory === true && mode === "worker";
    if (skip) console.log(`sandbox (worker): ${name}: ${MEMORY_SKIP}`);
    Deno.test({
      name: `sandbox (${mode}): ${name}${skip ? ` (${MEMORY_SKIP})` : ""}`,
      ignore: skip,
      fn,
    });
  };

  const assertHostHealthy = async (): Promise<void> => {
    const r = await runInSandbox({ code: NORMAL, bars }, { limits: FAST });
    assert.equal(JSON.stringify(r), normalExpected, "a normal job after the hostile one");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal([1, 2].map((x) => x * 2).join(), "2,4");
    assert.ok((await Deno.readTextFile(THIS_FILE)).includes("assertHostHealthy"));
    await new Promise((resolve) => setTimeout(resolve, 1));
  };

  const expectFailure = async (
    code: string,
    kind: SandboxErrorKind,
    pattern: RegExp,
    limits: Partial<SandboxLimits> = {},
  ): Promise<SandboxError> => {
    const err = await runInSandbox({ code, bars }, { limits: { ...FAST, ...limits } }).then(
      () => new Error("the hostile job succeeded"),
      (e) => e,
    );
    assert.ok(err instanceof SandboxError, `expected a SandboxError, got ${err}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return err;
  };

  test("an infinite loop in OnData fails with a per-call timeout naming the bar", async () => {
    const err = await expectFailure(
      strategy("if (data.length === 8) { for (;;) {} } return 0;"),
      "timeout",
      /OnData on bar 7 did not return within the per-call limit of 1000 ms/,
    );
    assert.equal(err.bar, 7);
    await assertHostHealthy();
  });

  test("an infinite loop at module top level fails with a timeout", async () => {
    await expectFailure(
      strategy("return 0;", "for (;;) {}"),
      "timeout",
      /top-level code did not finish within 1000 ms/,
    );
    await assertHostHealthy();
  });

  test("an infinite loop in the constructor fails with a timeout", async () => {
    await expectFailure(
      "export default class S { constructor() { while (true) {} } OnData() { return 0; } }",
      "timeout",
      /constructor or Initialize\(\) did not return within 1000 ms/,
    );
    await assertHostHealthy();
  });

  test("a JavaScript heap bomb fails with a memory limit error", async () => {
    await expectFailure(
      strategy("const a = []; for (;;) a.push(new Array(1e5).fill(data.length + Math.random()));"),
      "memory",
      /memory limit/,
      { memoryMb: 128, onDataTimeoutMs: 20_000, timeoutMs: 30_000 },
    );
    await assertHostHealthy();
  }, { memory: true });

  test("an ArrayBuffer bomb outside the JS heap fails with a memory limit error", async () => {
    await expectFailure(
      strategy("const a = []; for (;;) a.push(new Uint8Array(5e7).fill(1));"),
      "memory",
      /exceeded the memory limit: process memory reached \d+ MB \(limit 384 MB\)/,
      { memoryMb: 64, onDataTimeoutMs: 20_000, timeoutMs: 30_000 },
    );
    await assertHostHealthy();
  }, { memory: true });

  test("reading a file is refused", async () => {
    const err = await expectFailure(
      strategy(`Deno.readTextFileSync(${JSON.stringify(THIS_FILE.pathname)}); return 0;`),
      "permission",
      /Requires read access to ".*hostile_test\.ts"/,
    );
    assert.equal(err.bar, 0);
    await expectFailure(
      strategy("return 0;", `await Deno.readTextFile("/etc/hostname");`),
      "permission",
      /Requires read access/,
    );
    await assertHostHealthy();
  });

  test("fetch to a loopback server is refused and the server sees no request", async () => {
    let hits = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      hits++;
      return new Response("secret");
    });
    try {
      const url = `http://127.0.0.1:${server.addr.port}/steal`;
      // The server is real: a request from this process gets through.
      assert.equal(await (await fetch(url)).text(), "secret");
      assert.equal(hits, 1);
      await expectFailure(
        strategy("return 0;", `await fetch(${JSON.stringify(url)});`),
        "permission",
        /Requires net access to "127\.0\.0\.1:\d+"/,
      );
      assert.equal(hits, 1, "the sandboxed fetch never reached the server");
      await assertHostHealthy();
    } finally {
      await server.shutdown();
    }
  });

  test("Deno.env is refused", async () => {
    await expectFailure(
      strategy(`ctx.log(Deno.env.get("HOME")); return 0;`),
      "permission",
      /Requires env access to "HOME"/,
    );
    await expectFailure(strategy(`Deno.env.toObject(); return 0;`), "permission", /env access/);
    await assertHostHealthy();
  });

  test("Deno.exit and self.close are refused", async () => {
    await expectFailure(strategy("Deno.exit(0);"), "permission", /Deno\.exit\(\) is not allowed/);
    await expectFailure(
      strategy("self.close(); return 0;"),
      "permission",
      /self\.close\(\) is not allowed/,
    );
    await expectFailure(
      strategy("return 0;", "globalThis.close();"),
      "permission",
      /self\.close\(\) is not allowed/,
    );
    await assertHostHealthy();
  });

  test("importing a local file is refused and loaded engine modules are frozen", async () => {
    await expectFailure(
      strategy("return 0;", `await import(${JSON.stringify(COMPILE_FILE.href)});`),
      "permission",
      /Requires read access to ".*jobs\/compile\.ts"/,
    );
    await expectFailure(
      strategy("return 0;", `await import("file:///etc/hostname");`),
      "permission",
      /Requires read access/,
    );
    // The engine's own modules are already loaded in the Worker, so import() returns them
    // without a permission check: their classes must not be patchable.
    await expectFailure(
      strategy(
        "return 0;",
        `const m = await import(${JSON.stringify(ENGINE_FILE.href)});
         m.StrategyError.prototype.toString = () => "patched";`,
      ),
      "runtime",
      /object is not extensible/,
    );
    await assertHostHealthy();
  });

  test("prototype pollution is refused and never reaches another job", async () => {
    await expectFailure(
      strategy("Object.prototype.polluted = 1; return 0;"),
      "runtime",
      /not extensible.*built-in objects and prototypes are frozen/,
    );
    await expectFailure(
      strategy("Array.prototype.push = function () { return 0; }; return 0;"),
      "runtime",
      /read only property 'push'.*frozen/,
    );
    // A getter on Object.prototype would see every object the engine reads a missing key of.
    await expectFailure(
      strategy(
        "return 0;",
        "Object.defineProperty(Object.prototype, 'x', { get() { return this; } });",
      ),
      "runtime",
      /Cannot define property x, object is not extensible/,
    );
    // A job that swallows the errors runs, and a job beside it sees clean built-ins.
    const polluter = strategy(
      "return 0;",
      `try { Object.prototype.polluted = 1; } catch {}
       try { Array.prototype.map = () => []; } catch {}
       try { Math.max = () => 42; } catch {}`,
    );
    const observer = strategy(
      `if (data.length === 1) console.log(({}).polluted, [1, 2].map((x) => x + 1).join(), Math.max(1, 2)); return 0;`,
    );
    const [a, b] = await Promise.all([
      runInSandbox({ code: polluter, bars }, { limits: FAST }),
      runInSandbox({ code: observer, bars }, { limits: FAST }),
    ]);
    assert.deepEqual(a.logs, []);
    assert.equal(b.logs.length, 1);
    assert.match(b.logs[0], / undefined 2,3 2$/);
    await assertHostHealthy();
  });

  test("throwing non-Error values fails with the value in the message", async () => {
    const err = await expectFailure(
      strategy("if (data.length === 3) throw 42; return 0;"),
      "runtime",
      /OnData threw at bar 2 .*threw a non-Error value: 42/,
    );
    assert.equal(err.bar, 2);
    await expectFailure(
      strategy("throw { code: 7 };"),
      "runtime",
      /non-Error value: \{ code: 7 \}/,
    );
    await expectFailure(strategy("throw null;"), "runtime", /non-Error value: null/);
    await expectFailure(
      "export default class S { constructor() { throw 'nope'; } OnData() { return 0; } }",
      "runtime",
      /Strategy constructor threw: threw a non-Error value: "nope"/,
    );
    await assertHostHealthy();
  });

  test("NaN, strings and objects as a signal fail naming the bar", async () => {
    const err = await expectFailure(
      strategy("return data.length === 4 ? NaN : 0;"),
      "runtime",
      /invalid signal at bar 3 .*NaN/,
    );
    assert.equal(err.bar, 3);
    await expectFailure(strategy(`return "1";`), "runtime", /invalid signal at bar 0 .*"1"/);
    await expectFailure(strategy(`return { buy: true };`), "runtime", /invalid signal at bar 0/);
    await expectFailure(strategy(`return 2;`), "runtime", /invalid signal at bar 0 .*: 2 /);
    await assertHostHealthy();
  });

  test("huge console output is bounded and the job still completes", async () => {
    const r = await runInSandbox({
      code: strategy(`for (let i = 0; i < 20000; i++) console.log("y".repeat(100)); return 0;`),
      bars,
    }, { limits: { ...FAST, logBytes: 4096 } });
    const kept = r.logs.slice(0, -1);
    assert.ok(kept.reduce((s, l) => s + l.length + 1, 0) <= 4096);
    assert.ok(kept.length > 0);
    assert.equal(
      r.logs.at(-1),
      `[log truncated: ${60 * 20000 - kept.length} more lines dropped (log limit 4096 characters)]`,
    );
    assert.equal(r.bars.count, 60);
    await assertHostHealthy();
  });

  test("stdout and stderr are out of reach", async () => {
    await expectFailure(
      strategy("return 0;", `Deno.stdout.writeSync(new TextEncoder().encode("forged"));`),
      "runtime",
      /Cannot read properties of undefined \(reading 'writeSync'\)/,
    );
    await assertHostHealthy();
  });

  test("the Cache API, blob URLs, BroadcastChannel, Web Locks, WebGPU, Deno.openKv and signal listeners are refused (state beyond the job)", async () => {
    // Without this, a job's cache entry outlived it: the next job in the same process read it.
    await expectFailure(
      strategy("return 0;", `await caches.open("x");`),
      "permission",
      /The Cache API \(caches\) is not allowed/,
    );
    await expectFailure(
      strategy("return 0;", `typeof CacheStorage;`),
      "permission",
      /The Cache API \(CacheStorage\) is not allowed/,
    );
    await expectFailure(
      strategy(`new BroadcastChannel("jobs").postMessage(data.length); return 0;`),
      "permission",
      /BroadcastChannel is not allowed/,
    );
    // Without this, the Blob outlived the job: a later job fetched it by its URL.
    await expectFailure(
      strategy("return 0;", `URL.createObjectURL(new Blob(["left behind"]));`),
      "permission",
      /URL\.createObjectURL\(\) is not allowed/,
    );
    await expectFailure(
      strategy("return 0;", `await navigator.locks.request("held", () => new Promise(() => {}));`),
      "permission",
      /navigator\.locks is not allowed/,
    );
    await expectFailure(
      strategy("return 0;", `await navigator.gpu?.requestAdapter();`),
      "permission",
      /navigator\.gpu is not allowed/,
    );
    await expectFailure(
      strategy("return 0;", `Deno.addSignalListener("SIGTERM", () => {});`),
      "permission",
      /Deno\.addSignalListener\(\) is not allowed/,
    );
    // Worker mode shares this process' unstable KV API; the sandbox process has none.
    const kv = strategy(
      "return 0;",
      `if (typeof Deno.openKv !== "function") throw new Error("absent");
      await Deno.openKv();`,
    );
    if (mode === "worker") await expectFailure(kv, "permission", /Deno\.openKv\(\) is not allowed/);
    else await expectFailure(kv, "runtime", /absent/);
    await assertHostHealthy();
  });

  test("creating a Worker is refused", async () => {
    await expectFailure(
      strategy(`new Worker("data:text/javascript,1", { type: "module" }); return 0;`),
      "permission",
      /Creating a Worker is not allowed/,
    );
    await assertHostHealthy();
  });

  test("a promise that never resolves fails with a timeout or a clear error", async () => {
    await expectFailure(
      strategy("return 0;", "await new Promise(() => {});"),
      "timeout",
      /top-level code did not finish within 1000 ms .*promise that never settles/,
    );
    await expectFailure(
      "export default class S { async OnData() { await new Promise(() => {}); return 1; } }",
      "runtime",
      /OnData returned a Promise: OnData must be synchronous/,
    );
    await assertHostHealthy();
  });

  test("Atomics.wait on a SharedArrayBuffer fails with a per-call timeout", async () => {
    const err = await expectFailure(
      strategy("Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0;"),
      "timeout",
      /OnData on bar 0 did not return within the per-call limit/,
    );
    assert.equal(err.bar, 0);
    await assertHostHealthy();
  });

  test("a strategy cannot post messages to the host to forge its result", async () => {
    await expectFailure(
      strategy(
        "return 0;",
        `postMessage({ type: "result", json: new TextEncoder().encode("{}"), orders: new Uint8Array(0),
           equityTime: new Float64Array(0), equityValue: new Float64Array(0) });`,
      ),
      "permission",
      /postMessage\(\) is not allowed/,
    );
    await assertHostHealthy();
  });
}

// Last in this file: nothing of the sandbox outlives the module (see _sandbox_cleanup.ts).
closeSandboxAfterFile(true);
