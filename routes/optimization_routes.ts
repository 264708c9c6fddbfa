/**
 * Parameter optimization jobs: start, status, result, cancel. The work is
 * `runOptimization` (optimizer/run_optimization.ts), run by the job queue as job kind
 * "optimization", with `optimization_progress` messages on the WebSockets.
 *
 * @module
 */
import { Hono } from "hono";
import type { JobOutcome, JobRunner } from "../jobs/job_queue.ts";
import { isFamilyId } from "../gpu/families.ts";
import { gridSize } from "../optimizer/grid.ts";
import {
  checkOptimizationRequest,
  type OptimizationRequest as OptimizerRequest,
  type OptimizationResult,
  runOptimization,
} from "../optimizer/run_optimization.ts";
import { ApiError, limitError } from "./api_error.ts";
import type { AppServices } from "./app_services.ts";
import {
  checkExchangeData,
  configInput,
  requestBars,
  templateSource,
  toApiError,
} from "./backtest_input.ts";
import { checkSyntax } from "./backtest_routes.ts";
import { jsonBody } from "./json_body.ts";
import {
  cancelJob,
  findJob,
  jobView,
  resultResponse,
  statusResponse,
  submitJob,
} from "./job_view.ts";
import { type OptimizationRequest, OptimizationRequestSchema } from "./schemas.ts";
import { resolveDataset } from "../market/datasets.ts";
import { DEFAULT_SANDBOX_LIMITS, sandboxMode } from "../jobs/sandbox.ts";

/** Number of combinations a request asks for (before constraints), for `maxGridSize`. */
export function requestedCombos(req: OptimizationRequest): number {
  try {
    // Counted, not built; for random search each axis is still checked.
    const size = gridSize(req.grid);
    return req.search?.kind === "random" ? req.search.samples : size;
  } catch (err) {
    if (err instanceof RangeError || err instanceof SyntaxError) {
      throw new ApiError(400, "invalid_grid", err.message, { field: "grid" });
    }
    throw err;
  }
}

/**
 * Refuses at start what the job would fail on after loading its data: a constraint that does
 * not parse or names no parameter, a filter or objective that does not parse, a built-in
 * family's unknown parameter or a value it cannot take.
 */
function checkRequest(req: OptimizationRequest): void {
  const id = "template" in req.strategy ? req.strategy.template : null;
  try {
    checkOptimizationRequest({
      strategy: id !== null && isFamilyId(id) ? { family: id } : { code: "" },
      grid: req.grid,
      search: req.search,
      objective: req.objective,
      filters: req.filters,
      fixed: req.params,
    });
  } catch (err) {
    if (err instanceof RangeError || err instanceof SyntaxError) {
      throw new ApiError(400, "invalid_optimization", err.message, null);
    }
    throw err;
  }
}

/** The optimizer's request for an API request. */
async function optimizerRequest(
  req: OptimizationRequest,
  s: AppServices,
): Promise<Omit<OptimizerRequest, "bars"> & { bars: OptimizerRequest["bars"] }> {
  const { bars } = await requestBars(req.data, {
    limits: s.options.limits,
    datasetsDir: s.options.datasetsDir,
    exchange: s.exchange,
  });
  let strategy: OptimizerRequest["strategy"];
  if ("template" in req.strategy) {
    const id = req.strategy.template;
    // Templates that are a GPU family run on the fast kernels; others as code.
    strategy = isFamilyId(id) ? { family: id } : { code: await templateSource(id), lang: "ts" };
  } else strategy = { code: req.strategy.code, lang: "ts" };
  return {
    bars,
    strategy,
    grid: req.grid,
    search: req.search,
    objective: req.objective,
    filters: req.filters,
    top: req.top,
    backend: req.backend,
    config: configInput(req.config),
    fixed: req.params,
  };
}

/** A short summary of an optimization result for listings. */
function optimizationSummary(r: OptimizationResult): Record<string, unknown> {
  return {
    total: r.total,
    backend: r.backend,
    objective: r.objective,
    best: r.best,
    elapsedMs: r.elapsedMs,
    barEvaluationsPerSecond: r.barEvaluationsPerSecond,
  };
}

/** Runs a stored optimization request. */
export function optimizationRunner(s: AppServices): JobRunner {
  return async (ctx): Promise<JobOutcome> => {
    const req = await optimizerRequest(ctx.request as OptimizationRequest, s);
    try {
      const result = await runOptimization(req, {
        // Never run a kernel on the server's event loop: always in a worker pool.
        poolMinBarEvaluations: 0,
        // Strategy code runs a process away where that is allowed, as backtests do: a memory
        // bomb there ends that process, not the server.
        isolate: sandboxMode() === "process"
          ? { memoryMb: DEFAULT_SANDBOX_LIMITS.memoryMb }
          : undefined,
        signal: ctx.signal,
        onProgress: (p) =>
          ctx.progress({
            progress: p.total > 0 ? p.done / p.total : 1,
            done: p.done,
            total: p.total,
            best: p.best,
            backend: p.backend,
            points: p.points,
          }),
      });
      return {
        result,
        summary: optimizationSummary(result),
        bars: result.barEvaluations,
      };
    } catch (err) {
      if (err instanceof RangeError || err instanceof SyntaxError) {
        throw new ApiError(400, "invalid_optimization", err.message, null);
      }
      throw err;
    }
  };
}

/** The optimization routes. */
export function optimizationRoutes(s: AppServices) {
  return new Hono()
    .post("/api/optimization/start", jsonBody(OptimizationRequestSchema), async (c) => {
      const req = c.req.valid("json");
      configInput(req.config);
      const n = requestedCombos(req);
      const max = s.options.limits.maxGridSize;
      if (n > max) throw limitError(413, "maxGridSize", max, n, "The parameter grid");
      checkRequest(req);
      await checkSyntax(req.strategy);
      try {
        if ("bars" in req.data) {
          await requestBars(req.data, {
            limits: s.options.limits,
            datasetsDir: s.options.datasetsDir,
          });
        } else if ("exchange" in req.data) {
          checkExchangeData(req.data);
        } else if ("dataset" in req.data) {
          await resolveDataset(req.data.dataset, { uploadDir: s.options.datasetsDir });
        }
      } catch (err) {
        throw toApiError(err) ?? err;
      }
      const job = await submitJob(s, "optimization", req);
      return c.json({ job_id: job.id, status: job.status }, 202);
    })
    .get("/api/optimization/:id/status", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "optimization");
      return await statusResponse(c, rec, s, c.req.query("result") !== "false");
    })
    .get("/api/optimization/:id/result", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "optimization");
      return await resultResponse(c, rec, s);
    })
    .post("/api/optimization/:id/cancel", async (c) => {
      const rec = await findJob(s, c.req.param("id"), "optimization");
      return c.json(jobView(await cancelJob(s, rec), s));
    });
}
