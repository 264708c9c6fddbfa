import assert from "node:assert/strict";
import { json, startTestServer } from "./_test_server.ts";

const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url);

Deno.test("POST /api/datasets stores a valid CSV that backtests then run on by name", async () => {
  const srv = await startTestServer();
  try {
    const bytes = await Deno.readFile(GOOG);
    const up = await fetch(`${srv.url}/api/datasets?name=GOOG_USD_1d.csv`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: bytes,
    });
    const body = await up.json();
    assert.equal(up.status, 201, JSON.stringify(body));
    assert.equal(body.bars, 2148);
    assert.equal(body.dataset.name, "GOOG_USD_1d.csv");
    assert.equal(body.dataset.path, undefined); // no server paths leak
    const list = await json(await srv.get("/api/datasets"));
    const names = list.body.datasets.map((d: { name: string }) => d.name);
    assert.ok(names.includes("GOOG_USD_1d.csv"));
    assert.ok(names.includes("SAMPLE_USD_1d.csv")); // shipped samples are listed too
    const run = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { dataset: "GOOG_USD_1d.csv" },
      }),
    );
    assert.equal(run.status, 200);
    assert.equal(run.body.bars.count, 2148);
    // Same name again: 409 unless overwrite=true.
    const again = await fetch(`${srv.url}/api/datasets?name=GOOG_USD_1d.csv`, {
      method: "POST",
      body: bytes,
    });
    assert.equal(again.status, 409);
    await again.body?.cancel();
    const over = await fetch(`${srv.url}/api/datasets?name=GOOG_USD_1d.csv&overwrite=true`, {
      method: "POST",
      body: bytes,
    });
    assert.equal(over.status, 201);
    await over.body?.cancel();
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/datasets accepts a multipart upload named by its file", async () => {
  const srv = await startTestServer();
  try {
    const form = new FormData();
    form.append("file", new File([await Deno.readFile(GOOG)], "goog.csv", { type: "text/csv" }));
    const res = await fetch(`${srv.url}/api/datasets`, { method: "POST", body: form });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.equal(body.dataset.name, "goog.csv");
    assert.equal(body.bars, 2148);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/datasets rejects a bad file naming the row, and a too large one naming the limit", async () => {
  const srv = await startTestServer({ limits: { maxUploadBytes: 1000 } });
  try {
    const csv =
      ",Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10,11,9,abc,100\n";
    const bad = await fetch(`${srv.url}/api/datasets?name=bad.csv`, { method: "POST", body: csv });
    const body = await bad.json();
    assert.equal(bad.status, 400);
    assert.equal(body.error.code, "invalid_data");
    assert.equal(body.error.details.file, "bad.csv");
    assert.equal(body.error.details.row, 3);
    assert.match(body.error.message, /bad\.csv line 3/);
    const list = await json(await srv.get("/api/datasets"));
    assert.ok(!list.body.datasets.some((d: { name: string }) => d.name === "bad.csv"));
    const big = await fetch(`${srv.url}/api/datasets?name=big.csv`, {
      method: "POST",
      body: "x".repeat(5000),
    });
    const bigBody = await big.json();
    assert.equal(big.status, 413);
    assert.equal(bigBody.error.details.limit, "maxUploadBytes");
    const noName = await fetch(`${srv.url}/api/datasets`, { method: "POST", body: "abc" });
    assert.equal(noName.status, 400);
    await noName.body?.cancel();
    const wrongExt = await fetch(`${srv.url}/api/datasets?name=x.exe`, {
      method: "POST",
      body: "abc",
    });
    assert.equal(wrongExt.status, 400);
    await wrongExt.body?.cancel();
  } finally {
    await srv.shutdown();
  }
});
