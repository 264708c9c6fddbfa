/**
 * The typed client covers the whole REST API: every operation of /api/openapi.json is called
 * by some client method (seen on the wire through the client's `fetch` option), every request
 * the client sends is a documented operation, and every method of the client was exercised.
 */
import assert from "node:assert/strict";
import { ApiClientError, createClient, type WagyuClient } from "../../client/mod.ts";
import { googRows, startTestServer } from "../routes/_test_server.ts";

interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
}

const HTTP_METHODS = new Set(["get", "post", "put", "patch", "delete"]);

/** `METHOD /api/backtest/{id}/status` → a matcher of concrete request paths. */
function operations(doc: OpenApiDoc): { op: string; method: string; re: RegExp }[] {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const pattern = path.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))
        .join("[^/]+");
      out.push({
        op: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        re: new RegExp(`^${pattern}$`),
      });
    }
  }
  return out;
}

/** Settles a call that may be refused (409 on a finished job is still the endpoint answering). */
async function settle(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiClientError) || err.status === 0) throw err;
  }
}

Deno.test("createClient() has a call for every OpenAPI operation and sends nothing undocumented", async () => {
  const srv = await startTestServer({ workers: 1 });
  const sent: { method: string; path: string }[] = [];
  const recording: typeof fetch = (input, init) => {
    const req = new Request(input, init);
    sent.push({ method: req.method, path: new URL(req.url).pathname });
    return fetch(req);
  };
  const client = createClient(srv.url, { fetch: recording });
  // Which methods the scenario below called, to check none is left out.
  const called = new Set<string>();
  const api = new Proxy(client, {
    get(target, key, recv) {
      const v = Reflect.get(target, key, recv);
      if (typeof key === "string" && typeof v === "function") called.add(key);
      return v;
    },
  }) as WagyuClient;
  try {
    const rows = await googRows(120);
    const doc = await api.openapi() as unknown as OpenApiDoc;
    await api.health();
    await api.stats();
    await api.strategies();
    await api.compile("export default class S { OnData() { return 0; } }");
    const req = { strategy: { template: "rsi" }, data: { bars: rows } };
    await api.execute(req);
    const bt = await api.startBacktest(req);
    for await (const _ of api.watch(bt.job_id)) { /* to its end */ }
    await api.backtestStatus(bt.job_id);
    await api.backtestStatus(bt.job_id, { result: false });
    await api.backtestResult(bt.job_id);
    await api.backtestReport(bt.job_id);
    await settle(api.cancelBacktest(bt.job_id)); // 409: already completed
    await api.listBacktests({ status: "completed", limit: 5 });
    const opt = await api.startOptimization({
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      grid: { params: { fast: { values: [5, 10] }, slow: { values: [20, 30] } } },
      backend: "cpu",
    });
    for await (const _ of api.watch(opt.job_id)) { /* to its end */ }
    const optStatus = await api.optimizationStatus(opt.job_id);
    assert.equal(optStatus.status, "completed", optStatus.error ?? "");
    await api.optimizationResult(opt.job_id);
    await settle(api.cancelOptimization(opt.job_id)); // 409: already completed
    await api.datasets();
    await settle(api.uploadDataset("coverage.csv", "Date,Open,High,Low,Close,Volume\n"));
    const abort = new AbortController();
    for await (const m of api.watchAll({ signal: abort.signal })) {
      assert.equal(m.type, "snapshot");
      abort.abort();
    }

    const ops = operations(doc);
    assert.ok(ops.length >= 18, `only ${ops.length} operations in openapi.json`);
    const restSent = sent.filter((s) => s.path.startsWith("/api/"));
    const missing = ops.filter((o) =>
      !restSent.some((s) => s.method === o.method && o.re.test(s.path))
    ).map((o) => o.op);
    assert.deepEqual(missing, [], "operations no client call reached");
    const undocumented = restSent.filter((s) =>
      !ops.some((o) => s.method === o.method && o.re.test(s.path))
    );
    assert.deepEqual(undocumented, [], "requests to paths openapi.json does not list");
    // Only WebSocket probes (none on a healthy server) may go elsewhere.
    assert.deepEqual(sent.filter((s) => !s.path.startsWith("/api/")), []);
    // `rpc` is hono's raw client (a callable proxy), not one of the typed calls.
    const methods = Object.entries(client)
      .filter(([k, v]) => typeof v === "function" && k !== "rpc")
      .map(([k]) => k);
    assert.ok(methods.length >= 20, methods.join(", "));
    assert.deepEqual(methods.filter((m) => !called.has(m)), [], "client methods not exercised");
  } finally {
    await srv.shutdown();
  }
});
