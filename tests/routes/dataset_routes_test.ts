import assert from "node:assert/strict";
import { failure, startTestServer } from "./_test_server.ts";

const GOOG = new URL("../../../shared/data/GOOG.csv", import.meta.url);

Deno.test("POST /api/datasets stores a valid CSV that backtests then run on by name", async () => {
  const srv = await startTestServer();
  try {
    const api = srv.api;
    const bytes = await Deno.readFile(GOOG);
    // The typed RPC call, to see the status code (201) as well as the typed body.
    const upload = (query: { name: string; overwrite?: "true" }) =>
      api.rpc.api.datasets.$post({ query }, {
        headers: { "content-type": "text/csv" },
        init: { body: bytes },
      });
    const up = await upload({ name: "GOOG_USD_1d.csv" });
    assert.equal(up.status, 201);
    const body = await up.json();
    assert.ok("bars" in body, JSON.stringify(body));
    assert.equal(body.bars, 2148);
    assert.equal(body.dataset.name, "GOOG_USD_1d.csv");
    assert.equal((body.dataset as Record<string, unknown>).path, undefined); // no server paths leak
    const names = (await api.datasets()).datasets.map((d) => d.name);
    assert.ok(names.includes("GOOG_USD_1d.csv"));
    assert.ok(names.includes("SAMPLE_USD_1d.csv")); // shipped samples are listed too
    const run = await api.execute({
      strategy: { template: "sma_cross" },
      data: { dataset: "GOOG_USD_1d.csv" },
    });
    assert.equal(run.bars.count, 2148);
    // Same name again: 409 unless overwrite=true.
    const again = await failure(api.uploadDataset("GOOG_USD_1d.csv", bytes));
    assert.equal(again.status, 409);
    const over = await upload({ name: "GOOG_USD_1d.csv", overwrite: "true" });
    assert.equal(over.status, 201);
    await over.text();
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/datasets accepts a multipart upload named by its file", async () => {
  const srv = await startTestServer();
  try {
    const form = new FormData();
    form.append("file", new File([await Deno.readFile(GOOG)], "goog.csv", { type: "text/csv" }));
    // No `name` in the query: the server takes the file's name (fetch sets the boundary).
    const res = await srv.api.rpc.api.datasets.$post({ query: {} }, { init: { body: form } });
    const body = await res.json();
    assert.equal(res.status, 201, JSON.stringify(body));
    assert.ok("bars" in body);
    assert.equal(body.dataset.name, "goog.csv");
    assert.equal(body.bars, 2148);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("POST /api/datasets rejects a bad file naming the row, and a too large one naming the limit", async () => {
  const srv = await startTestServer({ limits: { maxUploadBytes: 1000 } });
  try {
    const api = srv.api;
    const csv =
      ",Open,High,Low,Close,Volume\n2020-01-02,10,11,9,10.5,100\n2020-01-03,10,11,9,abc,100\n";
    const bad = await failure(api.uploadDataset("bad.csv", csv));
    assert.equal(bad.status, 400);
    assert.equal(bad.code, "invalid_data");
    const details = bad.details as { file: string; row: number };
    assert.equal(details.file, "bad.csv");
    assert.equal(details.row, 3);
    assert.match(bad.message, /bad\.csv line 3/);
    assert.ok(!(await api.datasets()).datasets.some((d) => d.name === "bad.csv"));
    const big = await failure(api.uploadDataset("big.csv", "x".repeat(5000)));
    assert.equal(big.status, 413);
    assert.equal((big.details as { limit: string }).limit, "maxUploadBytes");
    // A raw body without a name (nothing to name the dataset by).
    const noName = await srv.api.rpc.api.datasets.$post({ query: {} }, { init: { body: "abc" } });
    assert.equal(noName.status, 400);
    await noName.text();
    const wrongExt = await failure(api.uploadDataset("x.exe", "abc"));
    assert.equal(wrongExt.status, 400);
  } finally {
    await srv.shutdown();
  }
});
