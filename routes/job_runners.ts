/**
 * What each job kind does when the queue runs it. A backtest job resolves its request (bars,
 * strategy source) and runs it through the sandbox (a separate process and a permission-less
 * Worker per job), forwarding progress and trades to the queue.
 *
 * @module
 */
import type { BacktestResult } from "../engine/types.ts";
import type { JobOutcome, JobRunner } from "../jobs/job_queue.ts";
import type { JobKind } from "../jobs/job_store.ts";
import { runInSandbox } from "../jobs/sandbox.ts";
import type { AppServices } from "./app_services.ts";
import { prepareBacktest } from "./backtest_input.ts";
import { resultSummary } from "./backtest_routes.ts";
import type { BacktestRequest } from "./schemas.ts";
import { optimizationRunner } from "./optimization_routes.ts";

/** Runs a stored backtest request. */
export function backtestRunner(s: AppServices): JobRunner {
  return async (ctx): Promise<JobOutcome> => {
    const p = await prepareBacktest(ctx.request as BacktestRequest, {
      limits: s.options.limits,
      datasetsDir: s.options.datasetsDir,
      exchange: s.exchange,
    });
    const result: BacktestResult = await runInSandbox(
      { code: p.code, bars: p.bars, params: p.params, config: p.config },
      {
        signal: ctx.signal,
        onProgress: (q) =>
          ctx.progress({
            progress: q.total > 0 ? (q.index + 1) / q.total : 1,
            equity: q.equity,
            index: q.index,
            total: q.total,
            time: q.time,
          }),
        onTrade: (t) => ctx.trade(t),
      },
    );
    return { result, summary: resultSummary(result), bars: p.bars.length };
  };
}

/** The runners of every job kind. */
export function createRunners(s: AppServices): Partial<Record<JobKind, JobRunner>> {
  return { backtest: backtestRunner(s), optimization: optimizationRunner(s) };
}
