/**
 * The Deno Deploy profile (`deno task start:deploy`): the server runs with exactly the task's
 * permission flags (no --allow-run, no --allow-ffi, writes only to data/deploy/) and
 * `WAGYU_PROFILE=deploy`, and every API endpoint answers correctly against it: health, stats,
 * strategies, datasets (list and upload, kept in KV), compile, execute, backtest jobs (start,
 * WebSocket watch to complete, status, result, list, cancel), optimizations (start, status,
 * result, cancel; the WebGPU and gpu.js backends too), the OpenAPI document and the UI pages.
 *
 * The server's working directory is a private root (symlinks to the repository's folders, its
 * own `data/` with a copy of the samples), so the listing of everything it could write is
 * exact: after the run, the only new files are under data/deploy/. Deno enforces the rest: any
 * write elsewhere, subprocess or FFI call would be a NotCapable error, which the test sees as a
 * 5xx, a failed job or an error line in the server log. No subprocess may ever appear under
 * the server's pid.
 */
import assert from "node:assert/strict";
import { barsFromRows } from "../../engine/bars.ts";
import { runBacktest } from "../../engine/backtest.ts";
import SmaCross from "../../examples/sma_cross.ts";
import { loadBars } from "../../market/load_bars.ts";
import { BUNDLE_URL } from "../../ui/build_bundle.ts";
import { descendants, syntheticRows } from "../../bench/load_bench.ts";
import { spawnServer } from "../server/_server_process.ts";
import { createApp, DEPLOY_KV_PATH, serverProfile } from "../../main.ts";
import { collectWs, json, slowStrategy } from "../routes/_test_server.ts";

const REPO = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const GOOG = decodeURIComponent(new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname);

/** The permission flags of `deno task start:deploy`, read from deno.json (not copied). */
async function deployTask(): Promise<{ flags: string[]; env: Record<string, string> }> {
  const cfg = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const task: string = cfg.tasks["start:deploy"];
  assert.ok(task, "deno.json has a start:deploy task");
  const words = task.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0])) {
    const [k, v] = words.shift()!.split("=");
    env[k] = v;
  }
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.equal(words.at(-1), "main.ts");
  return { flags: words.slice(2, -1), env };
}

/** Every path under `dir` (not following symlinks), with size and mtime. */
function listing(dir: string, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Deno.readDirSync(dir)) {
    const rel = prefix + e.name;
    const st = Deno.lstatSync(`${dir}/${e.name}`);
    // A folder's own mtime changes when an entry is added: its entries are what count.
    out.set(
      rel,
      e.isSymlink ? "link" : e.isDirectory ? "dir" : `${st.size}@${st.mtime?.getTime()}`,
    );
    if (e.isDirectory && !e.isSymlink) {
      for (const [k, v] of listing(`${dir}/${e.name}`, rel + "/")) out.set(k, v);
    }
  }
  return out;
}

/** A private server root: symlinks to the repository's entries, its own data/ with samples. */
async function makeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "wagyu_deploy_" });
  for (const e of Deno.readDirSync(REPO)) {
    if (e.name === "data" || e.name === ".git") continue;
    await Deno.symlink(`${REPO}${e.name}`, `${root}/${e.name}`);
  }
  await Deno.mkdir(`${root}/data/sample`, { recursive: true });
  for (const e of Deno.readDirSync(`${REPO}data/sample`)) {
    if (e.isFile) {
      await Deno.copyFile(`${REPO}data/sample/${e.name}`, `${root}/data/sample/${e.name}`);
    }
  }
  return root;
}

const MOMENTUM = `export default class Momentum {
  OnData(data) {
    const n = data.length;
    if (n < 6) return 0;
    return data.close[n - 1] > data.close[n - 6] ? 1 : -1;
  }
}`;

/** The same strategy, as the reference run in this process. */
class Momentum {
  OnData(data: { length: number; close: ArrayLike<number> }) {
    const n = data.length;
    if (n < 6) return 0;
    return data.close[n - 1] > data.close[n - 6] ? 1 : -1;
  }
}

Deno.test({
  name: "Deploy profile: every API endpoint works with no subprocess, no FFI, writes only to KV",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const { flags, env } = await deployTask();
  assert.ok(!flags.some((f) => f === "-A" || f.startsWith("--allow-all")), "no -A");
  assert.ok(!flags.some((f) => f.startsWith("--allow-run")), "no --allow-run");
  assert.ok(!flags.some((f) => f.startsWith("--allow-ffi")), "no --allow-ffi");
  assert.deepEqual(flags.filter((f) => f.startsWith("--allow-write")), [
    "--allow-write=data/deploy",
  ]);
  assert.equal(env.WAGYU_PROFILE, "deploy");

  const root = await makeRoot();
  const before = listing(root);
  const server = await spawnServer("", {
    cwd: root,
    permissions: flags,
    env: { ...env, WAGYU_WORKERS: "2" },
  });
  let maxChildren = 0;
  const watch = setInterval(() => {
    maxChildren = Math.max(maxChildren, descendants(server.child.pid).length);
  }, 25);
  const url = server.url;
  const get = async (path: string) => await json(await fetch(url + path));
  const post = async (path: string, body: unknown) =>
    await json(
      await fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
  const waitFinal = async (kind: "backtest" | "optimization", id: string) => {
    const end = Date.now() + 60_000;
    while (Date.now() < end) {
      const r = await get(`/api/${kind}/${id}/status?result=false`);
      assert.equal(r.status, 200);
      if (["completed", "failed", "cancelled"].includes(r.body.status)) return r.body;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`${kind} ${id} did not finish`);
  };
  const goog = (await loadBars(GOOG)).bars;
  const googReturn = runBacktest(goog, SmaCross).metrics.totalReturn as number;
  const rows = syntheticRows(300);

  try {
    await t.step("health, stats, openapi", async () => {
      const h = await get("/api/health");
      assert.equal(h.status, 200);
      assert.equal(h.body.status, "ok");
      assert.equal(h.body.kv.path, "data/deploy/wagyu.kv", "the profile's KV file");
      const s = await get("/api/stats");
      assert.equal(s.status, 200);
      assert.ok(s.body.memory.rss > 0);
      const o = await get("/api/openapi.json");
      assert.equal(o.status, 200);
      assert.ok(Object.keys(o.body.paths).includes("/api/backtest/start"));
    });

    await t.step("strategies and compile", async () => {
      const s = await get("/api/strategies");
      assert.equal(s.status, 200);
      const sma = s.body.templates.find((x: { id: string }) => x.id === "sma_cross");
      assert.ok(sma && sma.source.includes("class"));
      const ok = await post("/api/strategy/compile", { code: MOMENTUM });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.ok, true);
      const bad = await post("/api/strategy/compile", { code: "export default class {" });
      assert.equal(bad.status, 200);
      assert.equal(bad.body.ok, false);
      assert.ok(bad.body.diagnostics.length > 0);
    });

    await t.step("datasets: list, upload into KV, backtest on the upload", async () => {
      const list = await get("/api/datasets");
      assert.equal(list.status, 200);
      const names = list.body.datasets.map((d: { name: string }) => d.name);
      assert.ok(names.includes("SAMPLE_USD_1d.csv"), `samples listed: ${names}`);
      const up = await json(
        await fetch(`${url}/api/datasets?name=goog_deploy.csv`, {
          method: "POST",
          headers: { "content-type": "text/csv" },
          body: await Deno.readFile(GOOG),
        }),
      );
      assert.equal(up.status, 201, JSON.stringify(up.body));
      assert.equal(up.body.bars, 2148);
      const after = await get("/api/datasets");
      assert.ok(
        after.body.datasets.some((d: { name: string; kind: string }) =>
          d.name === "goog_deploy.csv" && d.kind === "upload"
        ),
      );
      const exec = await post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { dataset: "goog_deploy.csv" },
      });
      assert.equal(exec.status, 200, JSON.stringify(exec.body));
      assert.equal(exec.body.metrics.totalReturn, googReturn);
    });

    await t.step("execute user code, and the sandbox still has no permissions", async () => {
      const r = await post("/api/strategy/execute", {
        strategy: { code: MOMENTUM },
        data: { bars: rows },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(
        r.body.metrics.totalReturn,
        runBacktest(barsFromRows(rows), Momentum).metrics.totalReturn,
      );
      const hostile = await post("/api/strategy/execute", {
        strategy: {
          code: `export default class Evil {
  OnData() { Deno.readTextFileSync("/etc/hostname"); return 1; }
}`,
        },
        data: { bars: rows },
      });
      assert.equal(hostile.status, 422, JSON.stringify(hostile.body));
      assert.match(hostile.body.error.message, /not allowed|no permissions|requires read/i);
    });

    await t.step("exchange data: a clear answer, never a 5xx (no network here)", async () => {
      // Offline this is 422 data_unavailable; with a network, 200 and the cache written to KV.
      const r = await json(
        await fetch(`${url}/api/strategy/execute`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            strategy: { template: "sma_cross" },
            data: { exchange: "binance", symbol: "BTC/USDT", timeframe: "1d", since: "2024-01-01" },
          }),
          signal: AbortSignal.timeout(30_000),
        }),
      );
      assert.ok(r.status === 200 || r.status === 422, JSON.stringify(r.body).slice(0, 300));
      if (r.status === 422) assert.equal(r.body.error.code, "data_unavailable");
    });

    await t.step("backtest job: start, watch to complete, status, result, list", async () => {
      const s = await post("/api/backtest/start", {
        strategy: { template: "sma_cross" },
        data: { dataset: "goog_deploy.csv" },
      });
      assert.equal(s.status, 202, JSON.stringify(s.body));
      const id = s.body.job_id;
      const ws = await collectWs(`${url.replace(/^http/, "ws")}/ws/backtest/${id}`);
      assert.equal(ws.code, 1000);
      const last = ws.messages.at(-1)!;
      assert.equal(last.type, "complete", JSON.stringify(last).slice(0, 500));
      const st = await waitFinal("backtest", id);
      assert.equal(st.status, "completed");
      const res = await get(`/api/backtest/${id}/result`);
      assert.equal(res.status, 200);
      assert.equal(res.body.metrics.totalReturn, googReturn);
      const list = await get("/api/backtests?limit=100");
      assert.equal(list.status, 200);
      assert.ok(
        list.body.jobs.some((j: { job_id: string }) => j.job_id === id),
        JSON.stringify(list.body).slice(0, 1000),
      );
    });

    await t.step("backtest job: cancel", async () => {
      const s = await post("/api/backtest/start", {
        strategy: { code: slowStrategy(20) },
        data: { bars: rows },
      });
      assert.equal(s.status, 202);
      const c = await post(`/api/backtest/${s.body.job_id}/cancel`, {});
      assert.equal(c.status, 200, JSON.stringify(c.body));
      assert.equal((await waitFinal("backtest", s.body.job_id)).status, "cancelled");
    });

    await t.step("optimization on each backend; status, result, cancel", async () => {
      const grid = { params: { fast: { values: [5, 10] }, slow: { values: [20, 30] } } };
      for (const backend of ["auto", "workers", "cpu", "webgpu", "gpujs"]) {
        const s = await post("/api/optimization/start", {
          strategy: { template: "sma_cross" },
          data: { dataset: "goog_deploy.csv" },
          grid,
          backend,
        });
        assert.equal(s.status, 202, JSON.stringify(s.body));
        const st = await waitFinal("optimization", s.body.job_id);
        assert.equal(st.status, "completed", `${backend}: ${JSON.stringify(st)}`);
        const r = await get(`/api/optimization/${s.body.job_id}/result`);
        assert.equal(r.status, 200);
        assert.equal(r.body.total, 4);
        console.log(
          `optimization backend ${backend}: ran on ${r.body.backend} (${r.body.backendInfo})`,
        );
        for (const combo of r.body.combos) {
          const want = runBacktest(goog, SmaCross, { params: combo.params }).metrics
            .totalReturn as number;
          assert.ok(
            Math.abs(combo.metrics.totalReturn - want) <= 1e-9 * Math.max(1, Math.abs(want)),
            `${backend} ${JSON.stringify(combo.params)}: ${combo.metrics.totalReturn} vs ${want}`,
          );
        }
      }
      const slow = await post("/api/optimization/start", {
        strategy: { code: slowStrategy(20) },
        data: { bars: rows },
        grid: { params: { x: { min: 1, max: 20, step: 1 } } },
      });
      assert.equal(slow.status, 202, JSON.stringify(slow.body));
      const c = await post(`/api/optimization/${slow.body.job_id}/cancel`, {});
      assert.equal(c.status, 200, JSON.stringify(c.body));
      assert.equal((await waitFinal("optimization", slow.body.job_id)).status, "cancelled");
    });

    await t.step("UI pages", async () => {
      // Before the first page request, the first to look at the bundle.
      const existed = await Deno.stat(BUNDLE_URL).then(() => true, () => false);
      // Made stale on purpose (as after a source edit): an older mtime than every source.
      if (existed) await Deno.utime(BUNDLE_URL, new Date("2001-01-01"), new Date("2001-01-01"));
      const page = await fetch(`${url}/app/quant-testing`);
      assert.equal(page.status, 200);
      await page.body?.cancel();
      const css = await fetch(`${url}/static/styles.css`);
      assert.equal(css.status, 200);
      await css.body?.cancel();
      // A prebuilt bundle is served, even a stale one (this process may not rebuild it: no
      // subprocess, no write to static/build); with none at all the answer is a clear 503.
      const js = await fetch(`${url}/static/build/islands_entry.js`);
      const text = await js.text();
      if (existed) {
        assert.equal(js.status, 200, text.slice(0, 300));
        assert.match(server.output.join(""), /serving it as it is/);
      } else if (js.status !== 200) {
        assert.equal(js.status, 503, text.slice(0, 300));
        assert.equal(JSON.parse(text).error.code, "bundle_failed");
      }
    });

    const health = await get("/api/health");
    assert.equal(health.status, 200, "still up");
  } finally {
    clearInterval(watch);
    server.child.kill("SIGTERM");
    await server.child.status;
  }
  const log = server.output.join("");
  assert.equal(maxChildren, 0, "the server never started a subprocess");
  assert.ok(!/NotCapable|internal error/i.test(log), `server log: ${log.slice(-3000)}`);
  const after = listing(root);
  const changed = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
  const removed = [...before.keys()].filter((k) => !after.has(k));
  assert.deepEqual(removed, []);
  assert.ok(changed.length > 0, "the KV file was written");
  for (const k of changed) {
    assert.ok(k === "data/deploy" || k.startsWith("data/deploy/"), `written outside KV: ${k}`);
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("serverProfile() accepts deploy and local and names WAGYU_PROFILE on anything else", () => {
  assert.equal(serverProfile({}), "local");
  assert.equal(serverProfile({ WAGYU_PROFILE: "" }), "local");
  assert.equal(serverProfile({ WAGYU_PROFILE: "local" }), "local");
  assert.equal(serverProfile({ WAGYU_PROFILE: "deploy" }), "deploy");
  assert.throws(() => serverProfile({ WAGYU_PROFILE: "Deploy" }), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /WAGYU_PROFILE.*Deploy/);
    return true;
  });
  assert.equal(DEPLOY_KV_PATH, "data/deploy/wagyu.kv");
});

Deno.test("createApp() under the deploy profile keeps an explicit KV path; /api/debug/gc is opt-in", async () => {
  const a = await createApp({ kvPath: ":memory:" }, { WAGYU_PROFILE: "deploy" });
  try {
    assert.equal(a.options.kvPath, ":memory:");
    const res = await a.app.request("/api/debug/gc", { method: "POST" });
    assert.equal(res.status, 404, "no debug endpoint without WAGYU_DEBUG_GC=1");
    await res.body?.cancel();
  } finally {
    await a.close();
  }
  const b = await createApp({ kvPath: ":memory:" }, { WAGYU_DEBUG_GC: "1" });
  try {
    const res = await b.app.request("/api/debug/gc", { method: "POST" });
    const body = await res.json();
    if (typeof (globalThis as { gc?: unknown }).gc === "function") {
      assert.equal(res.status, 200);
      assert.ok(body.heap_used > 0 && body.rss > 0);
    } else {
      assert.equal(res.status, 409);
      assert.equal(body.error.code, "gc_unavailable");
    }
  } finally {
    await b.close();
  }
});
