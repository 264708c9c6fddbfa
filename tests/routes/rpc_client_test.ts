import assert from "node:assert/strict";
import { hc } from "hono/client";
import type { AppType } from "../../main.ts";
import { googRows, startTestServer } from "./_test_server.ts";

Deno.test("hc<AppType> derives a typed client that talks to the real server", async () => {
  const srv = await startTestServer();
  try {
    const client = hc<AppType>(srv.url);
    const health = await client.api.health.$get();
    const h = await health.json();
    assert.equal(h.status, "ok");
    const start = await client.api.backtest.start.$post({
      json: { strategy: { template: "sma_cross" }, data: { bars: await googRows(200) } },
    });
    assert.equal(start.status, 202);
    const { job_id } = await start.json();
    assert.match(job_id, /^[0-9a-z]{17}$/);
    const status = await client.api.backtest[":id"].status.$get({ param: { id: job_id } });
    assert.equal(status.status, 200);
  } finally {
    await srv.shutdown();
  }
});
