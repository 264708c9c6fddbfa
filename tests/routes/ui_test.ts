import assert from "node:assert/strict";
import { Hono } from "hono";
import { staticFileUrl, uiRoutes } from "../../routes/ui.ts";

async function withServer(fn: (base: string) => Promise<void>): Promise<void> {
  const app = new Hono();
  app.route("/", uiRoutes);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("uiRoutes GET / redirects to /app/quant-testing", async () => {
  await withServer(async (base) => {
    const res = await fetch(`${base}/`, { redirect: "manual" });
    await res.body?.cancel();
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get("location")!, base).pathname, "/app/quant-testing");
  });
});

Deno.test("uiRoutes GET /app/quant-testing serves the shell with every island and no CDN", async () => {
  await withServer(async (base) => {
    const res = await fetch(`${base}/app/quant-testing`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /text\/html/);
    const html = await res.text();
    for (
      const island of [
        "StrategyEditor",
        "ParamTable",
        "RunSettings",
        "EquityChart",
        "JobStatus",
        "ServerStats",
        "OptimizationScatter",
        "MetricsTable",
        "TradesTable",
      ]
    ) {
      assert.ok(html.includes(`data-island="${island}"`), `missing island ${island}`);
    }
    // every asset is local: no absolute http(s) URL in src/href
    assert.doesNotMatch(html, /(src|href)="https?:/);
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    assert.ok(script?.startsWith("/static/build/islands_entry.js"));
  });
});

Deno.test("uiRoutes serves the bundle and CSS with types, ETag revalidation and gzip", async () => {
  await withServer(async (base) => {
    const js = await fetch(`${base}/static/build/islands_entry.js`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(js.status, 200);
    assert.match(js.headers.get("content-type")!, /javascript/);
    assert.equal(js.headers.get("content-encoding"), "gzip");
    const body = await js.text(); // fetch decodes gzip
    assert.ok(body.length > 10_000, "bundle is suspiciously small");
    const etag = js.headers.get("etag")!;
    const again = await fetch(`${base}/static/build/islands_entry.js`, {
      headers: { "if-none-match": etag },
    });
    await again.body?.cancel();
    assert.equal(again.status, 304);
    const css = await fetch(`${base}/static/styles.css`);
    assert.match(css.headers.get("content-type")!, /text\/css/);
    assert.match(await css.text(), /--accent/);
  });
});

Deno.test("uiRoutes answers 404 for missing files and never serves files outside static/", async () => {
  await withServer(async (base) => {
    for (
      const p of [
        "/static/nope.css",
        "/static/%2e%2e/deno.json",
        "/static/..%2fdeno.json",
        "/static/build/",
        "/static/.hidden",
      ]
    ) {
      const res = await fetch(`${base}${p}`);
      assert.equal(res.status, 404, p);
      // fetch itself folds "%2e%2e/" into "../", so some of these never reach /static/*
      assert.doesNotMatch(await res.text(), /"imports"/, p);
    }
  });
});

Deno.test("staticFileUrl() keeps paths inside static/ and refuses escapes", () => {
  assert.ok(staticFileUrl("styles.css")?.href.endsWith("/static/styles.css"));
  assert.ok(staticFileUrl("build/app.js")?.href.endsWith("/static/build/app.js"));
  for (const bad of ["../deno.json", "%2e%2e/x", "a/../../x", "a\\..\\x", "x%00", "%E0%A4%A"]) {
    assert.equal(staticFileUrl(bad), null, bad);
  }
});
