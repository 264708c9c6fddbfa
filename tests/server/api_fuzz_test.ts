/**
 * Hostile-input fuzz test of the HTTP API (issue 8): every endpoint listed in
 * /api/openapi.json gets seeded random JSON bodies (random types, deep nesting, long strings,
 * mutations of a valid request), invalid JSON, wrong content types and random path ids. Every
 * answer must be a 2xx (the input happened to be valid) or a 4xx with the
 * `{ error: { code, message } }` envelope: never a 5xx, never a hang. Afterwards the server
 * must still answer /api/health.
 */
import assert from "node:assert/strict";
import { googRows, startTestServer, type TestServer } from "../routes/_test_server.ts";

/** Seeded PRNG (mulberry32), so a failing request reproduces from the seed in the message. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Extra seed for exploring beyond the fixed seeds: `WAGYU_FUZZ_SEED=7 deno test -A ...`. */
const SEED = Number(Deno.env.get("WAGYU_FUZZ_SEED") ?? 0);

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

const WEIRD_STRINGS = [
  "",
  " ",
  "sma_cross",
  "../../etc/passwd",
  "..%2F..%2Fetc",
  "\u0000",
  "💥",
  "<script>",
  "export default class S { OnData() { return 1 } }",
  "export default class S { OnData() { throw new Error('x') } }",
  "while(true){}",
  "null",
  "NaN",
  "fraction:0.5",
  "units:-1",
  "long_short",
  "next_open",
  "GOOG",
];
const WEIRD_NUMBERS = [0, -0, 1, -1, 0.5, 2, 5, 15, 1e308, -1e308, 5e-324, 2 ** 53, 1e9, -7, 3.7];

function randomString(r: () => number): string {
  const k = r();
  if (k < 0.5) return pick(r, WEIRD_STRINGS);
  if (k < 0.9) {
    let s = "";
    const n = Math.floor(r() * 40);
    for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(r() * 0x3000));
    return s;
  }
  return "x".repeat(Math.floor(r() * 200_000)); // long, still under the body limit
}

function randomValue(r: () => number, depth = 0): unknown {
  const k = r();
  if (depth > 4 || k < 0.15) return pick(r, WEIRD_NUMBERS);
  if (k < 0.3) return randomString(r);
  if (k < 0.35) return null;
  if (k < 0.4) return r() < 0.5;
  if (k < 0.6) {
    const n = Math.floor(r() * 5);
    return Array.from({ length: n }, () => randomValue(r, depth + 1));
  }
  const keys = [
    "strategy",
    "data",
    "params",
    "config",
    "code",
    "template",
    "bars",
    "dataset",
    "grid",
    "search",
    "kind",
    "samples",
    "objective",
    "top",
    "backend",
    "cash",
    "sizing",
    "mode",
    "fast",
    "slow",
    "values",
    "min",
    "max",
    "step",
    "__proto__",
    "constructor",
  ];
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 5);
  for (let i = 0; i < n; i++) o[pick(r, keys)] = randomValue(r, depth + 1);
  return o;
}

/** A deeply nested array or object as JSON text (built as text: no recursion here). */
function deepJson(r: () => number, depth: number): string {
  return r() < 0.5
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}

/** Replaces one random leaf/field of a valid request by a random value. */
function mutate(r: () => number, valid: Record<string, unknown>): unknown {
  const copy = structuredClone(valid) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (let d = 0; d < 3; d++) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = pick(r, keys);
    const child = node[key];
    if (r() < 0.4 || child === null || typeof child !== "object") {
      node[key] = r() < 0.2 ? undefined : randomValue(r);
      return copy;
    }
    node = child as Record<string, unknown>;
  }
  node[pick(r, ["extra", "fast", "cash", "0"])] = randomValue(r);
  return copy;
}

interface Sent {
  label: string;
  init: RequestInit;
  path: string;
}

/** Sends one request and checks the answer; returns its status. */
async function send(srv: TestServer, s: Sent): Promise<number> {
  let res: Response;
  try {
    res = await fetch(srv.url + s.path, { ...s.init, signal: AbortSignal.timeout(15_000) });
  } catch (e) {
    assert.fail(`${s.label}: no answer (${(e as Error).name}: ${(e as Error).message})`);
  }
  const text = await res.text();
  assert.ok(res.status < 500, `${s.label}: got ${res.status}: ${text.slice(0, 300)}`);
  if (res.status >= 400) {
    let body: { error?: { code?: unknown; message?: unknown } };
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`${s.label}: ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    assert.equal(typeof body.error?.code, "string", `${s.label}: envelope code: ${text}`);
    assert.equal(typeof body.error?.message, "string", `${s.label}: envelope message: ${text}`);
    assert.ok(!/\n\s+at /.test(text), `${s.label}: stack trace leaked: ${text.slice(0, 300)}`);
  }
  return res.status;
}

function randomId(r: () => number): string {
  const ids = [
    "0",
    "nope",
    "..",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "%E2%98%83",
    "%ZZ",
    encodeURIComponent("a".repeat(2000)),
    crypto.randomUUID(),
    "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    encodeURIComponent(randomString(r).slice(0, 100)),
    "-1",
    "1e309",
  ];
  return pick(r, ids) || "x";
}

Deno.test("every /api endpoint answers seeded random input with 2xx or a 4xx error envelope, never 5xx or a hang", async () => {
  const srv = await startTestServer({
    workers: 1,
    limits: { maxBodyBytes: 1024 * 1024 },
  });
  try {
    const spec = await (await srv.get("/api/openapi.json")).json();
    const paths = Object.entries(spec.paths as Record<string, Record<string, unknown>>);
    assert.ok(paths.length >= 10, "openapi.json lists the endpoints");
    const rows = (await googRows(80)) as unknown[];
    const validBacktest = {
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      params: { fast: 5, slow: 15 },
      config: { cash: 10_000, feeTaker: 0.001, mode: "long_only" },
    };
    const validOptimization = {
      strategy: { template: "sma_cross" },
      data: { bars: rows },
      grid: { params: { fast: { values: [3, 5] }, slow: { values: [10, 20] } } },
      search: { kind: "grid" },
      top: 3,
    };
    const validFor: Record<string, Record<string, unknown>> = {
      "/api/strategy/compile": { code: "export default class S { OnData() { return 1 } }" },
      "/api/strategy/execute": validBacktest,
      "/api/backtest/start": validBacktest,
      "/api/optimization/start": validOptimization,
    };
    // A real job id, so "{id}" paths also see an existing job.
    const started = await srv.post("/api/backtest/start", validBacktest);
    assert.equal(started.status, 202);
    const realId = (await started.json()).job_id as string;

    let count = 0;
    let ok2xx = 0;
    const byStatus: Record<number, number> = {};
    for (const [template, methods] of paths) {
      for (const method of Object.keys(methods)) {
        const r = rng(count * 7919 + 1 + SEED * 104729);
        for (let i = 0; i < 30; i++) {
          const id = i === 0 ? realId : randomId(r);
          let path = template.replace("{id}", id);
          if (method === "get" && r() < 0.5) {
            path += "?" + pick(r, [
              "result=false",
              "result=maybe",
              "limit=0",
              "limit=1e9",
              "limit=abc",
              "status=bogus",
              "kind=optimization&limit=2",
              "cursor=" + "z".repeat(2000),
              "cursor=%FF",
              "status=queued&status=running",
            ]);
          }
          const label = `${method.toUpperCase()} ${path.slice(0, 120)} #${i}`;
          let init: RequestInit;
          if (method === "get") init = { method: "GET" };
          else {
            const k = r();
            const valid = validFor[template];
            let body: string;
            let type = "application/json";
            if (valid && k < 0.35) body = JSON.stringify(mutate(r, valid));
            else if (k < 0.6) body = JSON.stringify(randomValue(r));
            else if (k < 0.7) body = deepJson(r, 1 + Math.floor(r() * 200_000));
            else if (k < 0.8) {
              body = pick(r, ["", "{", "[1,", '{"a":}', "nul", "\u0000", '"\\ud800"', "{}}"]);
            } else if (k < 0.9) {
              body = JSON.stringify(valid ?? randomValue(r));
              type = pick(r, ["text/plain", "application/xml", "", "multipart/form-data"]);
            } else {
              body = new TextDecoder().decode(
                Uint8Array.from({ length: 200 }, () => Math.floor(r() * 256)),
              );
              type = pick(r, ["application/json", "application/octet-stream"]);
            }
            const headers: Record<string, string> = type ? { "content-type": type } : {};
            init = { method: "POST", headers, body };
          }
          const status = await send(srv, { label, init, path });
          if (status < 300) ok2xx++;
          byStatus[status] = (byStatus[status] ?? 0) + 1;
          count++;
        }
      }
    }
    assert.ok(count >= 30 * 15, `sent ${count} requests`);
    // Some inputs are valid (status/health/list endpoints at least): 2xx must occur too.
    assert.ok(ok2xx > 0, "some requests succeeded");
    console.log(`api fuzz: ${count} requests, by status ${JSON.stringify(byStatus)}`);
    const health = await fetch(srv.url + "/api/health", { signal: AbortSignal.timeout(5_000) });
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await srv.shutdown();
  }
});

/** `at`, or the end of the last whole line before it (so the cut file is valid CSV). */
function cutAtLine(bytes: Uint8Array, at: number, wholeLines: boolean): number {
  if (!wholeLines) return at;
  const nl = bytes.lastIndexOf(10, at);
  return nl > 0 ? nl + 1 : at;
}

Deno.test("POST /api/datasets answers random, truncated and hostile uploads with 201 or a 4xx envelope", async () => {
  const srv = await startTestServer({ limits: { maxUploadBytes: 512 * 1024 } });
  try {
    const r = rng(0xda7a + SEED);
    const goog = await Deno.readFile(
      decodeURIComponent(new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname),
    );
    const byStatus: Record<number, number> = {};
    const names = ["f.csv", "f.json", "f.parquet", "F.CSV", "a b.csv", "x.txt", "..%2Fx.csv"];
    for (let i = 0; i < 60; i++) {
      const k = r();
      const body = k < 0.4
        ? goog.slice(0, cutAtLine(goog, Math.floor(r() * goog.length), r() < 0.5))
        : k < 0.8
        ? Uint8Array.from({ length: Math.floor(r() * 3000) }, () => r() * 256)
        : new TextEncoder().encode(
          `[[1,2,3,1,2,5],[${pick(r, ["1e309", "NaN", '"x"', "null", "-1", "[[[]]]"])},2,3,1,2,5]]`,
        );
      const name = `${i}${pick(r, names)}`;
      let init: RequestInit;
      let traversal = false;
      let path = `/api/datasets?name=${encodeURIComponent(name)}`;
      if (r() < 0.3) {
        // Multipart: the name comes from the part's file name, which the query schema
        // never sees; a traversal attempt must still be refused with a 4xx.
        const form = new FormData();
        const fileName = pick(r, ["../../evil.csv", "/etc/x.csv", "ok.csv", "..\\y.json", ""]);
        traversal = /[/\\]/.test(fileName);
        form.append("file", new File([body], fileName));
        init = { method: "POST", body: form };
        path = "/api/datasets";
      } else {
        init = { method: "POST", headers: { "content-type": "application/octet-stream" }, body };
      }
      const status = await send(srv, { label: `upload #${i} ${name}`, init, path });
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      if (traversal) assert.equal(status, 400, `upload #${i}: a path in the file name is refused`);
    }
    console.log(`upload fuzz: 60 uploads, by status ${JSON.stringify(byStatus)}`);
    assert.ok((byStatus[201] ?? 0) > 0, "some truncated GOOG.csv uploads are valid");
    await send(srv, { label: "health", init: { method: "GET" }, path: "/api/health" });
  } finally {
    await srv.shutdown();
  }
});

Deno.test("deeply nested JSON inside otherwise valid request fields answers 4xx, never 5xx", async () => {
  const srv = await startTestServer();
  try {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const deepObj = '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000);
    const rows = JSON.stringify(await googRows(40));
    const bodies = [
      `{"strategy":{"template":"sma_cross"},"data":{"bars":${rows}},"params":{"fast":${deep}}}`,
      `{"strategy":{"template":"sma_cross"},"data":{"bars":[${deep}]}}`,
      `{"strategy":{"template":"sma_cross"},"data":{"bars":${rows}},"config":${deepObj}}`,
      `{"strategy":${deepObj},"data":{"bars":${rows}}}`,
    ];
    for (
      const path of ["/api/strategy/execute", "/api/backtest/start", "/api/optimization/start"]
    ) {
      for (const [i, body] of bodies.entries()) {
        const status = await send(srv, {
          label: `${path} deep #${i}`,
          path,
          init: { method: "POST", headers: { "content-type": "application/json" }, body },
        });
        assert.ok(status >= 400 && status < 500, `${path} deep #${i}: ${status}`);
      }
    }
    await send(srv, { label: "health", init: { method: "GET" }, path: "/api/health" });
  } finally {
    await srv.shutdown();
  }
});
