/**
 * Counters behind `GET /api/stats`: completions, bars processed and the throughput over a
 * sliding window.
 *
 * @module
 */

/** Options of {@link ServerStats}. */
export interface ServerStatsOptions {
  /** Window of the bars-per-second figure, in ms. @default 60000 */
  windowMs?: number;
}

/** The throughput part of /api/stats. */
export interface ThroughputStats {
  backtests_completed: number;
  optimizations_completed: number;
  jobs_failed: number;
  jobs_cancelled: number;
  /** Failed and cancelled jobs by kind (jobs_failed / jobs_cancelled are their sums). */
  backtests_failed: number;
  backtests_cancelled: number;
  optimizations_failed: number;
  optimizations_cancelled: number;
  executes_completed: number;
  bars_processed: number;
  /** Bars per second of engine time, over the whole life of this process. */
  bars_per_second: number | null;
  /** Bars processed per wall-clock second over the last window. */
  bars_per_second_recent: number;
}

/** Process-local counters (since this process started). */
export class ServerStats {
  readonly startedAt = Date.now();
  #backtests = 0;
  #optimizations = 0;
  #failed = 0;
  #cancelled = 0;
  readonly #ended = {
    backtest: { failed: 0, cancelled: 0 },
    optimization: { failed: 0, cancelled: 0 },
  };
  #executes = 0;
  #bars = 0;
  #busyMs = 0;
  readonly #windowMs: number;
  // Ring of recent completions: [time, bars].
  #recent: [number, number][] = [];

  constructor(opts: ServerStatsOptions = {}) {
    this.#windowMs = opts.windowMs ?? 60_000;
  }

  /** Records one finished run over `bars` bars that took `ms` of wall time. */
  recordRun(kind: "backtest" | "optimization" | "execute", bars: number, ms: number): void {
    if (kind === "backtest") this.#backtests++;
    else if (kind === "optimization") this.#optimizations++;
    else this.#executes++;
    this.#bars += bars;
    this.#busyMs += ms;
    const now = Date.now();
    this.#recent.push([now, bars]);
    this.#trim(now);
  }

  /** Records a job (of `kind`, when known) that ended failed or cancelled. */
  recordEnd(status: "failed" | "cancelled", kind?: "backtest" | "optimization"): void {
    if (status === "failed") this.#failed++;
    else this.#cancelled++;
    if (kind) this.#ended[kind][status]++;
  }

  #trim(now: number): void {
    let i = 0;
    while (i < this.#recent.length && this.#recent[i][0] < now - this.#windowMs) i++;
    if (i > 0) this.#recent.splice(0, i);
  }

  /** Uptime in seconds. */
  uptimeSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  /** The throughput counters. */
  throughput(): ThroughputStats {
    const now = Date.now();
    this.#trim(now);
    let recentBars = 0;
    for (const [, b] of this.#recent) recentBars += b;
    const window = Math.min(this.#windowMs, Math.max(1, now - this.startedAt));
    return {
      backtests_completed: this.#backtests,
      optimizations_completed: this.#optimizations,
      jobs_failed: this.#failed,
      jobs_cancelled: this.#cancelled,
      backtests_failed: this.#ended.backtest.failed,
      backtests_cancelled: this.#ended.backtest.cancelled,
      optimizations_failed: this.#ended.optimization.failed,
      optimizations_cancelled: this.#ended.optimization.cancelled,
      executes_completed: this.#executes,
      bars_processed: this.#bars,
      bars_per_second: this.#busyMs > 0 ? this.#bars / (this.#busyMs / 1000) : null,
      bars_per_second_recent: recentBars / (window / 1000),
    };
  }
}
