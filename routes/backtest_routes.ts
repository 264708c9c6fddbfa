/**
 * Strategy and backtest endpoints: compile, synchronous execute, asynchronous jobs (start,
 * status, result, cancel, list) and the template list.
 *
 * @module
 */
import { Hono } from "hono";
import { TEMPLATES } from "../examples/index.ts";
import { compileStrategy, transpileStrategy } from "../jobs/compile.ts";
import { runInSandbox } from "../jobs/sandbox.ts";
import type { BacktestResult } from "../engine/types.ts";
import { ApiError, limitError } from "./api_error.ts";
import type { AppServices } from "./app_services.ts";
import { prepareBacktest, requestBars, templateSource, toApiError } from "./backtest_input.ts";
import { jsonBody, queryParams } from "./json_body.ts";
import {
  cancelJob,
  findJob,
  jobView,
  resultResponse,
  statusResponse,
  submitJob,
} from "./job_view.ts";
import {
  type BacktestRequest,
  BacktestRequestSchema,
  CompileRequestSchema,
  ListJobsQuerySchema,
} from "./schemas.ts";
import { checkExchangeData, configInput } from "./backtest_input.ts";
import { resolveDataset } from "../market/datasets.ts";
import { renderBacktestReport } from "../report/html_report.ts";

/** Fails with 422 when user code does not even parse (templates are trusted to). */
export async function checkSyntax(strategy: BacktestRequest["strategy"]): Promise<void> {
  if (!("code" in strategy)) {
    await templateSource(strategy.template);
    return;
  }
  const r = await transpileStrategy(strategy.code);
  if (!r.ok) {
    const first = r.diagnostics[0];
    throw new ApiError(
      422,
      "strategy_compile_error",
      first
        ? `Strategy does not compile: line ${first.line}, column ${first.column}: ${first.message}`
        : "Strategy does not compile",
      { diagnostics: r.diagnostics },
    );
  }
}

/** A small summary of a result for job listings. */
export function resultSummary(result: BacktestResult): Record<string, unknown> {
  const m = result.metrics ?? {};
  return {
    bars: result.bars?.count ?? null,
    trades: result.trades?.length ?? 0,
    totalReturn: m.totalReturn ?? null,
    sharpeRatio: m.sharpeRatio ?? null,
    maxDrawdown: m.maxDrawdown ?? null,
    finalEquity: m.finalEquity ?? null,
  };
}

/** The backtest and strategy routes. */
export function backtestRoutes(s: AppServices) {
  const prep = {
    limits: s.options.limits,
    datasetsDir: s.options.datasetsDir,
    exchange: s.exchange,
  };
  return new Hono()
    .get("/api/strategies", async (c) => {
      const templates = await Promise.all(TEMPLATES.map(async (t) => ({
        id: t.id,
        name: t.name,
        description: t.description,
        file: t.file,
        params: t.params,
        source: await templateSource(t.id),
      })));
      return c.json({ templates });
    })
    .post("/api/strategy/compile", jsonBody(CompileRequestSchema), async (c) => {
      const r = await compileStrategy(c.req.valid("json").code);
      if (r.ok) {
        return c.json({
          ok: true as const,
          params: r.params,
          warnings: r.warnings,
          diagnostics: [],
        });
      }
      return c.json({ ok: false as const, diagnostics: r.diagnostics });
    })
    .post("/api/strategy/execute", jsonBody(BacktestRequestSchema), async (c) => {
      const max = s.options.limits.maxConcurrentExecutes;
      if (s.executes.inFlight >= max) {
        throw limitError(
          429,
          "maxConcurrentExecutes",
          max,
          s.executes.inFlight,
          "Running executes",
        );
      }
      s.executes.inFlight++;
      try {
        const p = await prepareBacktest(c.req.valid("json"), prep);
        const t0 = performance.now();
        const result = await runInSandbox(
          { code: p.code, bars: p.bars, params: p.params, config: p.config },
        );
        s.stats.recordRun("execute", p.bars.length, performance.now() - t0);
        return c.json(result);
      } catch (err) {
        throw toApiError(err) ?? err;
      } finally {
        s.executes.inFlight--;
      }
    })
    .post("/api/backtest/start", jsonBody(BacktestRequestSchema), async (c) => {
      const req = c.req.valid("json");
      // Reject what cannot run now (4xx), rather than queue a job bound to fail.
      configInput(req.config);
      await checkSyntax(req.strategy);
      if ("bars" in req.data) {
        try {
          await requestBars(req.data, prep);
        } catch (err) {
          throw toApiError(err) ?? err;
        }
      } else if ("exchange" in req.data) {
        checkExchangeData(req.data);
      } else if ("dataset" in req.data) {
        // Existence only: the job loads (and checks) the file when it runs.
        await resolveDataset(req.data.dataset, { uploadDir: prep.datasetsDir }).catch((err) => {
          throw toApiError(err) ?? err;
        });
      }
      const job = await submitJob(s, "backtest", req);
      return c.json({ job_id: job.id, status: job.status }, 202);
    })
    .get("/api/backtest/:id/status", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "backtest");
      return await statusResponse(c, rec, s, c.req.query("result") !== "false");
    })
    .get("/api/backtest/:id/result", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "backtest");
      return await resultResponse(c, rec, s);
    })
    .get("/api/backtest/:id/report", async (c) => {
      // The self-contained HTML report of a completed job; the bars are loaded again from the
      // job's stored request (the result does not hold prices).
      const rec = await findJob(s, c.req.param("id"), "backtest");
      if (rec.status !== "completed") {
        throw new ApiError(
          409,
          "job_not_completed",
          `Job ${rec.id} is ${rec.status}; its report exists once it is completed`,
          { job_id: rec.id, status: rec.status },
        );
      }
      const result = JSON.parse((await s.store.getResultText(rec)) ?? "null") as BacktestResult;
      const req = (await s.store.getRequest(rec)) as BacktestRequest;
      const { bars, source } = await requestBars(req.data, prep).catch((err) => {
        throw toApiError(err) ?? err;
      });
      const strategy = "template" in req.strategy ? req.strategy.template : "custom strategy";
      return c.html(renderBacktestReport(result, bars, {
        title: `WagYu backtest ${rec.id}`,
        subtitle: `${strategy} on ${source}`,
      }));
    })
    .post("/api/backtest/:id/cancel", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "backtest");
      return c.json(jobView(await cancelJob(s, rec), s));
    })
    .get("/api/backtests", queryParams(ListJobsQuerySchema), async (c) => {
      const q = c.req.valid("query");
      const page = await s.store.list({
        status: q.status,
        kind: q.kind ?? "backtest",
        limit: q.limit ?? 50,
        cursor: q.cursor,
      }).catch((err) => {
        if (q.cursor !== undefined && err instanceof TypeError) {
          throw new ApiError(400, "invalid_cursor", "Invalid cursor", { cursor: q.cursor });
        }
        throw err;
      });
      return c.json({ jobs: page.jobs.map((j) => jobView(j, s)), next_cursor: page.cursor });
    });
}
