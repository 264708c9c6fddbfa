/**
 * `/api/strategy/execute` answers with the same JSON as `deno task backtest … --json -` for
 * the same data, strategy, parameters and configuration.
 */
import assert from "node:assert/strict";
import { json, startTestServer } from "../routes/_test_server.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const GOOG = decodeURIComponent(new URL("../../../shared/data/GOOG.csv", import.meta.url).pathname);

async function cli(args: string[]): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "backtest", ...args, "--json", "-"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(stdout);
}

Deno.test("/api/strategy/execute equals the CLI's --json for the same inputs", async () => {
  const srv = await startTestServer();
  try {
    const up = await fetch(`${srv.url}/api/datasets?name=GOOG.csv`, {
      method: "POST",
      body: await Deno.readFile(GOOG),
    });
    assert.equal(up.status, 201);
    await up.body?.cancel();
    const cases: { args: string[]; body: Record<string, unknown> }[] = [
      {
        args: [GOOG, "examples/sma_cross.ts"],
        body: { strategy: { template: "sma_cross" }, data: { dataset: "GOOG.csv" } },
      },
      {
        args: [
          GOOG,
          "examples/donchian_breakout.ts",
          "--cash",
          "25000",
          "--fee-taker",
          "0.001",
          "--slippage-bps",
          "5",
          "--mode",
          "long_short",
          "--sizing",
          "fraction:0.5",
          "--param",
          "period=30",
        ],
        body: {
          strategy: { template: "donchian_breakout" },
          data: { dataset: "GOOG.csv" },
          params: { period: 30 },
          config: {
            cash: 25000,
            feeTaker: 0.001,
            slippageBps: 5,
            mode: "long_short",
            sizing: "fraction:0.5",
          },
        },
      },
      {
        args: [
          "data/sample/SAMPLE_USD_1d.csv",
          "examples/rsi.ts",
          "--whole-units",
          "--close-at-end",
        ],
        body: {
          strategy: {
            code: await Deno.readTextFile(new URL("../../examples/rsi.ts", import.meta.url)),
          },
          data: { dataset: "SAMPLE_USD_1d.csv" },
          config: { wholeUnits: true, closeAtEnd: true },
        },
      },
    ];
    const results = await Promise.all(cases.map(async ({ args, body }) => {
      const [fromCli, fromApi] = await Promise.all([
        cli(args),
        srv.post("/api/strategy/execute", body).then(json),
      ]);
      return { fromCli, fromApi };
    }));
    for (const { fromCli, fromApi } of results) {
      assert.equal(fromApi.status, 200, JSON.stringify(fromApi.body));
      assert.deepEqual(fromApi.body, fromCli);
    }
  } finally {
    await srv.shutdown();
  }
});
