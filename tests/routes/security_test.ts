import assert from "node:assert/strict";
import { createClient } from "../../client/mod.ts";
import { failure, googRows, json, startTestServer } from "./_test_server.ts";

Deno.test("With WAGYU_API_TOKEN set, mutating endpoints need the token and reads do not", async () => {
  const srv = await startTestServer({ apiToken: "s3cret" });
  try {
    const body = { strategy: { template: "sma_cross" }, data: { bars: await googRows(100) } };
    // srv.api sends no token.
    const none = await failure(srv.api.startBacktest(body));
    assert.equal(none.status, 401);
    assert.equal(none.code, "unauthorized");
    const wrong = await failure(createClient(srv.url, { token: "nope" }).startBacktest(body));
    assert.equal(wrong.status, 401);
    const authed = createClient(srv.url, { token: "s3cret" }); // Authorization: Bearer
    const bearerRes = await authed.rpc.api.backtest.start.$post({ json: body });
    assert.equal(bearerRes.status, 202);
    const bearer = await bearerRes.json();
    assert.ok("job_id" in bearer);
    // The x-api-token header is not what the client sends: a raw POST.
    const header = await json(
      await srv.post("/api/strategy/compile", {
        code: "export default class S { OnData() { return 0; } }",
      }, {
        "x-api-token": "s3cret",
      }),
    );
    assert.equal(header.status, 200);
    // The auth scheme is case-insensitive.
    const lower = await json(
      await srv.post("/api/strategy/compile", {
        code: "export default class S { OnData() { return 0; } }",
      }, { authorization: "bearer s3cret" }),
    );
    assert.equal(lower.status, 200);
    // Reads need no token.
    assert.equal((await srv.api.rpc.api.stats.$get()).status, 200);
    assert.equal((await srv.api.backtestStatus(bearer.job_id)).job_id, bearer.job_id);
    assert.equal((await failure(srv.api.uploadDataset("x.csv", "a"))).status, 401);
  } finally {
    await srv.shutdown();
  }
});

Deno.test("CORS: allowed origins get headers, other origins cannot write", async () => {
  const srv = await startTestServer({ corsOrigins: ["http://allowed.example"] });
  try {
    // Raw requests throughout: each sets an Origin header (a browser's), on purpose.
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
    // Raw POSTs: the names go into the URL unencoded on purpose (the client would encode them).
    for (const name of ["../x.csv", "..%2F..%2Fetc%2Fpasswd.csv", ".hidden.csv", "a/b.csv"]) {
      const res = await fetch(`${srv.url}/api/datasets?name=${name}`, {
        method: "POST",
        body: "x",
      });
      const body = await res.json();
      assert.equal(res.status, 400, name);
      assert.equal(body.error.code, "invalid_request", name);
    }
    const run = await failure(srv.api.execute({
      strategy: { template: "sma_cross" },
      data: { dataset: "..%2Fsample%2FSAMPLE_USD_1d.csv" },
    }));
    assert.equal(run.status, 400);
  } finally {
    await srv.shutdown();
  }
});
