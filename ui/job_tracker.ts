/**
 * Job lifecycle on the page: starting backtests and optimizations, following them over the
 * WebSockets (`watchAll()` for every job, `watch(id)` for the live equity and trades of the
 * jobs this tab started), cancelling, and merging `snapshot` messages after a reconnect.
 * Every call goes through the typed client (`client/mod.ts`), so a changed route or message
 * breaks `deno check` here rather than the page at run time.
 *
 * @module
 */
import { batch } from "@preact/signals";
import type { BacktestResult } from "../engine/types.ts";
import {
  ApiClientError,
  type BacktestRequest,
  type JobKind,
  type OptimizationRequest,
  type OptimizationResult,
  type WatchMessage,
} from "../client/mod.ts";
import {
  banner,
  code,
  constraints,
  hiddenRuns,
  jobs,
  type JobStatus,
  type JobView,
  liveState,
  nextColor,
  paramRows,
  selectedOptimizationId,
  selectedRunId,
  selectedTemplate,
  settings,
  templates,
} from "./app_state.ts";
import { pageClient } from "./page_client.ts";
import { comboKey, type ScatterPoint, toScatterPoint } from "./scatter_point.ts";
import { gridValues } from "./grid_values.ts";

const FINAL: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);
/** The per-job watches this tab runs, by job id (aborting one ends its `watch()`). */
const jobWatches = new Map<string, AbortController>();
/** Live curves are capped so a million-bar job cannot grow the page without bound. */
const MAX_LIVE_POINTS = 2000;
/** Reconnect for as long as the page is open: 0.5 s doubling to 10 s. */
const RECONNECT = { retries: Infinity, backoffMs: 500, maxBackoffMs: 10_000 } as const;

function toStatus(s: unknown): JobStatus | null {
  return typeof s === "string" && ["queued", "running", "completed", "failed", "cancelled"]
      .includes(s)
    ? s as JobStatus
    : null;
}

/** Progress is 0..1; anything else (a snapshot of an unknown job) leaves it unchanged. */
function toFraction(p: unknown): number | null {
  if (typeof p !== "number" || !Number.isFinite(p)) return null;
  return Math.min(1, Math.max(0, p));
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** A readable error line: server messages may carry terminal colour codes from a child process. */
function errorText(e: unknown): string {
  let text: string;
  if (typeof e === "string") text = e;
  else if (e && typeof e === "object" && "message" in e) text = String((e as Error).message);
  else text = e === undefined || e === null ? "failed" : JSON.stringify(e);
  return text.replace(ANSI, "");
}

/** The console lines in a failure's details (`error_details` or a WebSocket error's `details`). */
function failureLogs(details: unknown): string[] | null {
  if (details === null || typeof details !== "object") return null;
  const logs = (details as { logs?: unknown }).logs;
  return Array.isArray(logs) ? logs.map((l) => String(l).replace(ANSI, "")) : null;
}

function update(id: string, fn: (j: JobView) => JobView): void {
  const list = jobs.value;
  const i = list.findIndex((j) => j.id === id);
  if (i < 0) return;
  const next = list.slice();
  next[i] = fn(list[i]);
  jobs.value = next;
}

function ensureJob(id: string, kind: JobView["kind"], label?: string): void {
  if (jobs.value.some((j) => j.id === id)) return;
  jobs.value = [...jobs.value, {
    id,
    kind,
    label: label ?? `${kind === "optimization" ? "Grid" : "Run"} ${id.slice(0, 6)}`,
    status: "queued",
    progress: 0,
    liveEquity: [],
    liveTrades: [],
    result: null,
    error: null,
    errorLogs: [],
    points: [],
    done: null,
    total: null,
    color: nextColor(),
    createdAt: Date.now(),
  }];
}

function mergePoints(old: ScatterPoint[], raw: unknown): ScatterPoint[] {
  if (!Array.isArray(raw) || raw.length === 0) return old;
  const seen = new Map(old.map((p, i) => [comboKey(p.params), i]));
  const out = old.slice();
  for (const r of raw) {
    const p = toScatterPoint(r);
    if (!p) continue;
    const k = comboKey(p.params);
    const at = seen.get(k);
    if (at === undefined) {
      seen.set(k, out.length);
      out.push(p);
    } else out[at] = p;
  }
  return out;
}

type AnyResult = BacktestResult | OptimizationResult;

function backtestResult(r: AnyResult | null | undefined): BacktestResult | null {
  return r && "equity" in r && Array.isArray(r.equity) ? r : null;
}

function optimizationCombos(r: AnyResult | null | undefined): unknown {
  return r && "combos" in r ? r.combos : undefined;
}

/** What a status answer, a list row or a snapshot says about a job. */
interface JobPatch {
  kind?: JobKind | null;
  status?: unknown;
  progress?: unknown;
  error?: string | null;
  error_details?: unknown;
  result?: AnyResult | null;
  /** Optimization combinations finished so far (scatter points). */
  points?: unknown;
  done?: unknown;
  total?: unknown;
}

/** Applies what the server says about a job (status answer, list row, snapshot). */
function applyPatch(id: string, p: JobPatch, kindHint?: JobView["kind"]): void {
  const kind = kindHint ?? (p.kind === "optimization" ? "optimization" : "backtest");
  ensureJob(id, kind);
  update(id, (j) => {
    const status = toStatus(p.status) ?? j.status;
    const progress = toFraction(p.progress) ?? j.progress;
    return {
      ...j,
      status,
      progress: status === "completed" ? 1 : progress,
      result: kind === "backtest" ? (backtestResult(p.result) ?? j.result) : null,
      error: p.error !== undefined && p.error !== null ? errorText(p.error) : j.error,
      errorLogs: failureLogs(p.error_details) ?? j.errorLogs,
      points: mergePoints(mergePoints(j.points, p.points), optimizationCombos(p.result)),
      done: typeof p.done === "number" ? p.done : j.done,
      total: typeof p.total === "number" ? p.total : j.total,
    };
  });
}

/** Applies one message of `watch()` / `watchAll()` to the job list. */
export function applyMessage(msg: WatchMessage): void {
  if (msg.type === "snapshot" && msg.data.jobs) {
    const active = msg.data.jobs;
    batch(() => {
      for (const j of active) applyPatch(j.job_id, j);
    });
    return;
  }
  const id = msg.job_id;
  if (!id || id === "*") return;
  const known = jobs.value.find((j) => j.id === id);
  switch (msg.type) {
    case "snapshot":
      applyPatch(id, msg.data, known?.kind);
      break;
    case "progress": {
      const data = msg.data;
      ensureJob(id, known?.kind ?? "backtest");
      update(id, (j) => {
        const p = toFraction(data.progress) ?? j.progress;
        let liveEquity = j.liveEquity;
        const t = data.time;
        if (typeof data.equity === "number" && typeof t === "number") {
          const last = liveEquity[liveEquity.length - 1];
          if (!last || t > last.time) {
            liveEquity = [...liveEquity, { time: t, equity: data.equity }];
            if (liveEquity.length > MAX_LIVE_POINTS) {
              liveEquity = liveEquity.filter((_, i) => i % 2 === 0); // halve, keep the shape
            }
          }
        }
        return { ...j, status: "running", progress: p, liveEquity };
      });
      break;
    }
    case "trade": {
      const closed = msg.data.trades;
      update(id, (j) => ({ ...j, liveTrades: [...j.liveTrades, ...closed].slice(-500) }));
      break;
    }
    case "optimization_progress":
      applyPatch(id, { ...msg.data, status: msg.data.status ?? "running" }, "optimization");
      break;
    case "complete": {
      ensureJob(id, known?.kind ?? "backtest");
      const rawResult = msg.data.result;
      const result = backtestResult(rawResult);
      update(id, (j) => ({
        ...j,
        status: "completed",
        progress: 1,
        result: j.kind === "backtest" ? (result ?? j.result) : null,
        points: mergePoints(j.points, optimizationCombos(rawResult)),
      }));
      // a client that fell behind gets `result_url` instead of the result: fetch it
      const j = jobs.value.find((x) => x.id === id);
      if (j && !rawResult && (j.kind === "optimization" || !j.result)) void refreshJob(id);
      stopWatch(id);
      break;
    }
    case "error":
      ensureJob(id, known?.kind ?? "backtest");
      update(id, (j) => ({
        ...j,
        status: toStatus(msg.data.status) ?? "failed",
        error: errorText(msg.data.error ?? "failed"),
        errorLogs: failureLogs(msg.data.details) ?? j.errorLogs,
      }));
      stopWatch(id);
      break;
  }
}

/** Fetches a job's status (and result) once, e.g. after `complete` without a result. */
export async function refreshJob(id: string): Promise<void> {
  const j = jobs.value.find((x) => x.id === id);
  if (!j) return;
  const api = pageClient();
  try {
    if (j.kind === "optimization") {
      applyPatch(id, await api.optimizationStatus(id), "optimization");
    } else {
      applyPatch(id, await api.backtestStatus(id), "backtest");
      const now = jobs.value.find((x) => x.id === id);
      if (now && now.status === "completed" && !now.result) {
        // a result over the server's embedding limit is left out of the status answer
        const r = await api.backtestResult(id);
        update(id, (x) => ({ ...x, result: r }));
      }
    }
  } catch (err) {
    showError(err);
  }
}

function stopWatch(id: string): void {
  jobWatches.get(id)?.abort();
  jobWatches.delete(id);
}

/** Follows one job over `/ws/backtest/{id}` (equity, trades) until it ends or is stopped. */
function watchJob(id: string): void {
  if (jobWatches.has(id)) return;
  const stop = new AbortController();
  jobWatches.set(id, stop);
  void (async () => {
    try {
      for await (const m of pageClient().watch(id, { ...RECONNECT, signal: stop.signal })) {
        applyMessage(m);
      }
    } catch (err) {
      // e.g. the job vanished (a server restarted on a fresh store): say so, show its status
      if (!stop.signal.aborted) {
        showError(err);
        void refreshJob(id);
      }
    } finally {
      if (jobWatches.get(id) === stop) jobWatches.delete(id);
    }
  })();
}

/** Shows an action's error in the banner. */
export function showError(err: unknown): void {
  const text = err instanceof ApiClientError
    ? `${errorText(err)}${err.status ? ` (HTTP ${err.status})` : ""}`
    : errorText(err);
  banner.value = { kind: "error", text };
}

/** The strategy part of a request: the template id when the editor still holds it verbatim. */
export function strategySpec(): BacktestRequest["strategy"] {
  const t = templates.value.find((x) => x.id === selectedTemplate.value);
  return t && t.code === code.value ? { template: t.id } : { code: code.value };
}

/**
 * What a run is labelled with: the template's id while the editor holds its code verbatim,
 * "<id> (edited)" once the code was changed, "custom" for code of no template.
 */
export function strategyLabel(): string {
  const t = templates.value.find((x) => x.id === selectedTemplate.value);
  if (!t) return "custom";
  return t.code === code.value ? t.id : `${t.id} (edited)`;
}

/** The data part of a request, from the run settings. */
export function dataSpec(): BacktestRequest["data"] {
  const s = settings.value;
  if (s.source === "exchange") {
    return {
      exchange: s.exchange,
      symbol: s.symbol,
      timeframe: s.timeframe,
      ...(s.since ? { since: s.since } : {}),
      ...(s.until ? { until: s.until } : {}),
    };
  }
  // the API's dataset spec has no date range (yet): the From/To fields apply to exchange data
  return { dataset: s.dataset };
}

/** The config part of a request. */
export function configSpec(): NonNullable<BacktestRequest["config"]> {
  const s = settings.value;
  return {
    cash: s.cash,
    feeTaker: s.feeTaker,
    feeMaker: s.feeMaker,
    feeFixed: s.feeFixed,
    slippageBps: s.slippageBps,
    mode: s.mode,
    sizing: `${s.sizingKind}:${s.sizingValue}`,
    closeAtEnd: s.closeAtEnd,
  };
}

function singleParams(): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  for (const r of paramRows.value) out[r.name] = r.value;
  return out;
}

function describe(params: Record<string, unknown>): string {
  const t = strategyLabel();
  const p = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ");
  return p ? `${t} ${p}` : t;
}

/** Starts a backtest with the table's values (or `override`, e.g. a clicked scatter point). */
export async function startBacktest(override?: Record<string, number>): Promise<string | null> {
  const params = { ...singleParams(), ...override };
  banner.value = null;
  try {
    const { job_id: id } = await pageClient().startBacktest({
      strategy: strategySpec(),
      data: dataSpec(),
      params,
      config: configSpec(),
    });
    batch(() => {
      // the firehose may have announced the job before this answer arrived
      ensureJob(id, "backtest");
      update(id, (j) => ({ ...j, label: describe(params) }));
      selectedRunId.value = id;
    });
    watchJob(id);
    return id;
  } catch (err) {
    showError(err);
    return null;
  }
}

/** The grid the parameter table describes: swept numeric rows as min/max/step. */
export function gridSpec(): Record<string, { min: number; max: number; step: number }> {
  const grid: Record<string, { min: number; max: number; step: number }> = {};
  for (const r of paramRows.value) {
    if (r.sweep && typeof r.value === "number") {
      grid[r.name] = { min: r.min, max: r.max, step: r.step };
    }
  }
  return grid;
}

/** The constraints field as a list ("fast < slow, k >= 1" → two constraints). */
export function constraintList(): string[] {
  return constraints.value.split(/[,;\n]/).map((c) => c.trim()).filter((c) => c.length > 0);
}

/** Number of combinations of the current grid (RangeError naming the bad row). */
export function gridCount(): number {
  let n = 1;
  for (const [name, g] of Object.entries(gridSpec())) {
    try {
      n *= gridValues(g.min, g.max, g.step).length;
    } catch (err) {
      throw new RangeError(`Parameter ${name}: ${(err as Error).message}`);
    }
  }
  return n;
}

/** Starts an optimization over the swept parameters. */
export async function startOptimization(): Promise<string | null> {
  banner.value = null;
  try {
    const grid = gridSpec();
    if (Object.keys(grid).length === 0) {
      throw new RangeError("Tick “sweep” on at least one numeric parameter to optimize");
    }
    const count = gridCount();
    const cons = constraintList();
    const fixed = singleParams();
    for (const k of Object.keys(grid)) delete fixed[k];
    const req: OptimizationRequest = {
      strategy: strategySpec(),
      data: dataSpec(),
      params: fixed,
      grid: { params: grid, ...(cons.length ? { constraints: cons } : {}) },
      objective: settings.value.objective,
      backend: settings.value.backend,
      config: configSpec(),
    };
    const { job_id: id } = await pageClient().startOptimization(req);
    batch(() => {
      ensureJob(id, "optimization");
      update(id, (j) => ({
        ...j,
        kind: "optimization",
        label: `${strategyLabel()} grid ×${count}`,
        total: j.total ?? count,
      }));
      selectedOptimizationId.value = id;
    });
    watchJob(id);
    return id;
  } catch (err) {
    showError(err);
    return null;
  }
}

/** Asks the server to cancel a queued or running job. */
export async function cancelJob(id: string): Promise<void> {
  try {
    const api = pageClient();
    if (jobs.value.find((j) => j.id === id)?.kind === "optimization") {
      await api.cancelOptimization(id);
    } else await api.cancelBacktest(id);
    update(id, (j) => FINAL.has(j.status) ? j : { ...j, status: "cancelled" });
    stopWatch(id);
  } catch (err) {
    showError(err);
  }
}

/** Shows or hides a run's curve in the overlay. */
export function toggleRun(id: string): void {
  const next = new Set(hiddenRuns.value);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  hiddenRuns.value = next;
}

/** Loads the newest jobs (statuses only; results are fetched when a run is selected). */
async function syncJobs(): Promise<void> {
  try {
    const { jobs: rows } = await pageClient().listBacktests({ limit: 50 });
    batch(() => {
      for (const row of rows.slice().reverse()) applyPatch(row.job_id, row);
    });
  } catch (err) {
    showError(err);
  }
}

/** Follows `/ws/backtests` for as long as the page is open. */
async function followAll(): Promise<void> {
  let opened = 0;
  try {
    const all = pageClient().watchAll({
      ...RECONNECT,
      onState: (s) => {
        liveState.value = s;
        if (s === "open" && opened++ > 0) void syncJobs();
      },
    });
    for await (const msg of all) {
      // the firehose carries every job; equity and trades come from the per-job watches
      const own = msg.job_id !== "*" && jobWatches.has(msg.job_id);
      if (own && (msg.type === "progress" || msg.type === "trade")) continue;
      applyMessage(msg);
      if (msg.type === "complete" && !own) {
        const j = jobs.value.find((x) => x.id === msg.job_id);
        if (j && j.kind === "backtest" && !j.result && selectedRunId.value === j.id) {
          void refreshJob(j.id);
        }
      }
    }
  } catch (err) {
    showError(err);
  }
}

/**
 * Loads recent jobs and subscribes to `/ws/backtests`. After a reconnect the list is loaded
 * again: the snapshot only names active jobs, so jobs that ended while the page was cut off
 * get their final status from the list.
 */
export async function connectJobs(): Promise<void> {
  await syncJobs();
  void followAll();
}
