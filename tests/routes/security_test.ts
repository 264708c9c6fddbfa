import assert from "node:assert/strict";
import { googRows, json, startTestServer } from "./_test_server.ts";

Deno.test("With WAGYU_API_TOKEN set, mutating endpoints need the token and reads do not", async () => {
  const srv = await startTestServer({ apiToken: "s3cret" });
  try {
    const body = { strategy: { template: "sma_cross" }, data: { bars: await googRows(100) } };
    const none = await json(await srv.post("/api/backtest/start", body));
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, "unauthorized");
    const wrong = await json(
      await srv.post("/api/backtest/start", body, { authorization: "Bearer nope" }),
    );
    assert.equal(wrong.status, 401);
    const bearer = await json(
      await srv.post("/api/backtest/start", body, { authorization: "Bearer s3cret" }),
    );
    assert.equal(bearer.status, 202);
    const header = await json(
      await srv.post("/api/strategy/compile", {
        code: "export default class S { OnData() { return 0; } }",
      }, {
        "x-api-token": "s3cret",
      }),
    );
    assert.equal(header.status, 200);
    assert.equal((await srv.get("/api/stats")).status, 200);
    assert.equal((await srv.get(`/api/backtest/${bearer.body.job_id}/status`)).status, 200);
    const upload = await fetch(`${srv.url}/api/datasets?name=x.csv`, { method: "POST", body: "a" });
    assert.equal(upload.status, 401);
    await upload.body?.cancel();
  } finally {
    await srv.shutdown();
  }
});

Deno.test("CORS: allowed origins get headers, other origins cannot write", async () => {
  const srv = await startTestServer({ corsOrigins: ["http://allowed.example"] });
  try {
    const pre = await fetch(`${srv.url}/api/backtest/start`, {
      method: "OPTIONS",
      headers: {
        origin: "http://allowed.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    await pre.body?.cancel();
    assert.equal(pre.headers.get("access-control-allow-origin"), "http://allowed.example");
    const get = await fetch(`${srv.url}/api/health`, {
      headers: { origin: "http://allowed.example" },
    });
    await get.body?.cancel();
    assert.equal(get.headers.get("access-control-allow-origin"), "http://allowed.example");
    const evil = await json(
      await srv.post("/api/strategy/compile", { code: "x" }, {
        origin: "http://evil.example",
      }),
    );
    assert.equal(evil.status, 403);
    assert.equal(evil.body.error.code, "origin_not_allowed");
    const evilGet = await fetch(`${srv.url}/api/health`, {
      headers: { origin: "http://evil.example" },
    });
    await evilGet.body?.cancel();
    assert.equal(evilGet.headers.get("access-control-allow-origin"), null);
    // Same origin (the UI) is always fine.
    const same = await json(
      await srv.post("/api/strategy/compile", {
        code: "export default class S { OnData() { return 0; } }",
      }, { origin: srv.url }),
    );
    assert.equal(same.status, 200);
    // Cross-site WebSocket: refused.
    const ws = await fetch(`${srv.url}/ws/backtests`, {
      headers: { origin: "http://evil.example" },
    });
    await ws.body?.cancel();
    assert.equal(ws.status, 403);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("Dataset names cannot traverse paths", async () => {
  const srv = await startTestServer();
  try {
    for (const name of ["../x.csv", "..%2F..%2Fetc%2Fpasswd.csv", ".hidden.csv", "a/b.csv"]) {
      const res = await fetch(`${srv.url}/api/datasets?name=${name}`, {
        method: "POST",
        body: "x",
      });
      const body = await res.json();
      assert.equal(res.status, 400, name);
      assert.equal(body.error.code, "invalid_request", name);
    }
    const run = await json(
      await srv.post("/api/strategy/execute", {
        strategy: { template: "sma_cross" },
        data: { dataset: "..%2Fsample%2FSAMPLE_USD_1d.csv" },
      }),
    );
    assert.equal(run.status, 400);
  } finally {
    await srv.shutdown();
  }
});
