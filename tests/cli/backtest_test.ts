/**
 * The `backtest` CLI, spawned as a subprocess on ../shared/data/GOOG.csv and
 * examples/sma_cross.ts.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const GOOG = new URL("../shared/data/GOOG.csv", ROOT).pathname;
const CLI = new URL("cli/backtest.ts", ROOT).pathname;
const SMA = new URL("examples/sma_cross.ts", ROOT).pathname;

async function cli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("backtest CLI prints a metrics table and writes JSON and CSV files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli(
      GOOG,
      SMA,
      "--cash",
      "5000",
      "--fee-taker",
      "0.001",
      "--param",
      "fast=5",
      "--param",
      "slow=20",
      "--close-at-end",
      "--json",
      `${dir}/r.json`,
      "--csv-equity",
      `${dir}/eq.csv`,
      "--csv-trades",
      `${dir}/tr.csv`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /sharpeRatio/);
    assert.match(r.stdout, /totalReturn\s+-?\d+\.\d\d %/);
    assert.match(r.stdout, /Bars: 2148/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    assert.equal(json.config.cash, 5000);
    assert.equal(json.config.feeTaker, 0.001);
    assert.equal(json.config.closeAtEnd, true);
    assert.deepEqual(json.params, { fast: 5, slow: 20 });
    assert.equal(json.equity.length, 2148);
    assert.ok(json.trades.length > 10);
    assert.ok(json.trades.every((t: { exitTime: number | null }) => t.exitTime !== null));
    assert.equal(
      json.trades.at(-1).exitReason === "end" || json.trades.at(-1).exitReason === "signal",
      true,
    );
    assert.ok(json.orders[0].history.length >= 2);
    assert.equal(typeof json.metrics.sharpeRatio, "number");
    const eq = (await Deno.readTextFile(`${dir}/eq.csv`)).trim().split("\n");
    assert.equal(eq[0], "time,equity");
    assert.equal(eq.length, 2149);
    assert.match(eq[1], /^2004-08-19T00:00:00\.000Z,5000$/);
    const tr = (await Deno.readTextFile(`${dir}/tr.csv`)).trim().split("\n");
    assert.equal(tr.length, json.trades.length + 1);
    assert.match(tr[0], /^side,quantity,entryTime,entryPrice,exitTime,exitPrice,pnl/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backtest CLI --json - writes the result to stdout and the table to stderr", async () => {
  const r = await cli(GOOG, SMA, "--json", "-", "--mode", "long_short", "--sizing", "units:10");
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout);
  assert.equal(json.config.mode, "long_short");
  assert.deepEqual(json.config.sizing, { kind: "units", value: 10 });
  assert.ok(json.trades.some((t: { side: string }) => t.side === "short"));
  assert.match(r.stderr, /finalEquity/);
});

Deno.test("backtest CLI exits 2 with one clear line on a bad file or option", async () => {
  const cases: [string[], RegExp][] = [
    [[GOOG, SMA, "--mode", "sideways"], /--mode expects long_only or long_short/],
    [[GOOG, SMA, "--cash", "lots"], /--cash expects a number/],
    [[GOOG, SMA, "--frobnicate"], /unknown option --frobnicate/],
    [[GOOG, SMA, "--sizing", "pct:5"], /--sizing/],
    [[GOOG], /expected <data-file> <strategy-file>/],
    [["/nonexistent/x.csv", SMA], /x\.csv.*file not found/],
    [[GOOG, "/nonexistent/s.ts"], /s\.ts: cannot read strategy file/],
    [[GOOG, SMA, "--trusted", "--param", "fsat=3"], /Unknown parameter "fsat"/],
    [[GOOG, SMA, "--cash", "-5"], /config\.cash/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
});

Deno.test("backtest CLI --help prints usage and exits 0", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage: deno task backtest/);
  assert.match(r.stdout, /--slippage-bps/);
});

async function cliEnv(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: ROOT.pathname,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[/;

Deno.test("backtest CLI --quiet prints only the requested output", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await cli(GOOG, SMA, "--trusted", "--quiet", "--json", "-");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(JSON.parse(r.stdout).equity.length, 2148);
    r = await cli(GOOG, SMA, "--trusted", "-q", "--json", `${dir}/r.json`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, "");
    assert.equal(JSON.parse(await Deno.readTextFile(`${dir}/r.json`)).equity.length, 2148);
    // With no other output asked for, the table is the output: stdout only.
    r = await cli(GOOG, SMA, "--trusted", "--quiet");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /totalReturn\s+-?\d+\.\d\d %/);
    // Errors still get through.
    r = await cli(GOOG, SMA, "--quiet", "--cash", "lots");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--cash expects a number/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backtest CLI colours the table only when asked and never under NO_COLOR", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Piped stdout, no colour variables: plain.
    let r = await cliEnv({ NO_COLOR: "", FORCE_COLOR: "" }, GOOG, SMA, "--trusted");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, ANSI);
    r = await cliEnv({ NO_COLOR: "1", FORCE_COLOR: "1" }, GOOG, SMA, "--trusted");
    assert.doesNotMatch(r.stdout + r.stderr, ANSI);
    r = await cliEnv({ FORCE_COLOR: "1" }, GOOG, SMA, "--trusted", "--color=never");
    assert.doesNotMatch(r.stdout + r.stderr, ANSI);
    // FORCE_COLOR, or --color=always even under NO_COLOR: the values are coloured by sign.
    r = await cliEnv(
      { FORCE_COLOR: "1", NO_COLOR: "" },
      GOOG,
      SMA,
      "--trusted",
      "--json",
      `${dir}/r.json`,
    );
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(await Deno.readTextFile(`${dir}/r.json`)).metrics;
    const line = (k: string) => r.stdout.split("\n").find((l) => l.startsWith(`${k} `)) ?? "";
    assert.ok(m.maxDrawdown !== 0);
    assert.ok(line("maxDrawdown").includes("\x1b[31m"), line("maxDrawdown"));
    assert.ok(line("maxDrawdown").includes("%\x1b[0m"), line("maxDrawdown"));
    assert.ok(line("totalReturn").includes(m.totalReturn > 0 ? "\x1b[32m" : "\x1b[31m"));
    assert.doesNotMatch(line("numTrades"), ANSI);
    r = await cliEnv({ NO_COLOR: "1" }, GOOG, SMA, "--trusted", "--color", "always");
    assert.ok(r.stdout.includes("\x1b[31m") || r.stdout.includes("\x1b[32m"), r.stdout);
    r = await cli(GOOG, SMA, "--color", "sometimes");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--color expects auto, always or never/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
