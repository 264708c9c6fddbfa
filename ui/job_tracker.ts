/**
 * Job lifecycle on the page: starting backtests and optimizations, following them over the
 * WebSockets (`/ws/backtests` for every job, `/ws/backtest/{id}` for the live equity of the
 * jobs this tab started), cancelling, and merging `snapshot` messages after a reconnect.
 *
 * @module
 */
import { batch } from "@preact/signals";
import type { BacktestResult, TradeRecord } from "../engine/types.ts";
import { ApiError, apiRequest, listFrom } from "./api_client.ts";
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
import { ReconnectingSocket, type WsMessage } from "./reconnecting_socket.ts";
import { comboKey, type ScatterPoint, toScatterPoint } from "./scatter_point.ts";
import { gridValues } from "./grid_values.ts";

const FINAL: ReadonlySet<string> = new Set(["completed", "failed", "cancelled"]);
const jobSockets = new Map<string, ReconnectingSocket>();
/** Live curves are capped so a million-bar job cannot grow the page without bound. */
const MAX_LIVE_POINTS = 2000;

function toStatus(s: unknown): JobStatus | null {
  switch (s) {
    case "queued":
    case "running":
    case "completed":
    case "failed":
    case "cancelled":
      return s;
    case "done":
    case "complete":
      return "completed";
    case "canceled":
      return "cancelled";
    case "error":
      return "failed";
    default:
      return null;
  }
}

/** Progress arrives as 0..1 or as a percentage; the page keeps 0..1. */
function toFraction(p: unknown): number | null {
  if (typeof p !== "number" || !Number.isFinite(p)) return null;
  return Math.min(1, Math.max(0, p > 1 ? p / 100 : p));
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

function asResult(r: unknown): BacktestResult | null {
  if (!r || typeof r !== "object") return null;
  const res = r as BacktestResult;
  return Array.isArray(res.equity) && res.metrics ? res : null;
}

/** Applies a job-shaped object (status answer, list row, snapshot) to the tracked job. */
function applyJobObject(id: string, o: Record<string, unknown>, kindHint?: JobView["kind"]): void {
  const kind = kindHint ??
    (o.kind === "optimization" || o.type === "optimization" || "grid" in o
      ? "optimization"
      : "backtest");
  ensureJob(id, kind);
  const data = (o.data && typeof o.data === "object") ? o.data as Record<string, unknown> : o;
  update(id, (j) => {
    const status = toStatus(o.status ?? data.status) ?? j.status;
    const progress = toFraction(o.progress ?? data.progress) ?? j.progress;
    const result = asResult(o.result ?? data.result) ?? j.result;
    const err = o.error ?? data.error;
    let liveEquity = j.liveEquity;
    const eq = data.equity;
    if (Array.isArray(eq) && eq.length > 0 && typeof eq[0] === "object") {
      liveEquity = (eq as { time: number; equity: number }[]).slice(-MAX_LIVE_POINTS);
    }
    const optResult = (o.result && typeof o.result === "object")
      ? o.result as Record<string, unknown>
      : {};
    const points = mergePoints(
      mergePoints(j.points, data.points ?? data.combos ?? data.new_points ?? data.newPoints),
      optResult.combos,
    );
    return {
      ...j,
      status,
      progress: status === "completed" ? 1 : progress,
      result: kind === "backtest" ? result : null,
      error: err !== undefined && err !== null ? errorText(err) : j.error,
      liveEquity,
      points,
      done: typeof data.done === "number" ? data.done : j.done,
      total: typeof data.total === "number" ? data.total : j.total,
    };
  });
}

/** Applies one WebSocket message to the job list. */
export function applyMessage(msg: WsMessage): void {
  const data = (msg.data ?? {}) as Record<string, unknown>;
  if (msg.type === "snapshot" && Array.isArray(data.jobs)) {
    batch(() => {
      for (const raw of data.jobs as Record<string, unknown>[]) {
        const id = String(raw.job_id ?? raw.id ?? "");
        if (id) applyJobObject(id, raw);
      }
    });
    return;
  }
  const id = msg.job_id;
  if (!id) return;
  const known = jobs.value.find((j) => j.id === id);
  switch (msg.type) {
    case "snapshot":
      applyJobObject(id, { ...data, ...(msg as Record<string, unknown>) }, known?.kind);
      break;
    case "progress": {
      ensureJob(id, known?.kind ?? "backtest");
      update(id, (j) => {
        const p = toFraction(data.progress) ?? j.progress;
        let liveEquity = j.liveEquity;
        const t = data.time ?? data.timestamp;
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
      const t = (data.trade ?? data) as TradeRecord;
      update(id, (j) => ({ ...j, liveTrades: [...j.liveTrades, t].slice(-500) }));
      break;
    }
    case "optimization_progress":
      ensureJob(id, "optimization");
      applyJobObject(id, { ...data, status: data.status ?? "running" }, "optimization");
      break;
    case "complete": {
      ensureJob(id, known?.kind ?? "backtest");
      // the server puts the result beside `data` (serialized once for every subscriber)
      const rawResult = msg.result ?? data.result;
      const result = asResult(rawResult);
      update(id, (j) => ({
        ...j,
        status: "completed",
        progress: 1,
        result: j.kind === "backtest" ? (result ?? j.result) : null,
        points: mergePoints(
          j.points,
          (rawResult as Record<string, unknown> | undefined)?.combos ?? data.points,
        ),
      }));
      // a client that fell behind gets `result_url` instead of the result: fetch it
      const j = jobs.value.find((x) => x.id === id);
      if (j && !rawResult && (j.kind === "optimization" || !j.result)) void refreshJob(id);
      closeJobSocket(id);
      break;
    }
    case "error":
      ensureJob(id, known?.kind ?? "backtest");
      update(id, (j) => ({
        ...j,
        status: toStatus(data.status) ?? "failed",
        error: errorText(data.error ?? msg.error ?? "failed"),
      }));
      closeJobSocket(id);
      break;
    case "cancelled":
      update(id, (j) => ({ ...j, status: "cancelled" }));
      closeJobSocket(id);
      break;
    default:
      // heartbeats and message types this page does not know; a status field still counts
      if (toStatus(data.status)) update(id, (j) => ({ ...j, status: toStatus(data.status)! }));
  }
}

/** Fetches a job's status (and result) once, e.g. after `complete` without a result. */
export async function refreshJob(id: string): Promise<void> {
  const j = jobs.value.find((x) => x.id === id);
  if (!j) return;
  try {
    if (j.kind === "optimization") {
      const st = await apiRequest<Record<string, unknown>>(
        `/api/optimization/${encodeURIComponent(id)}/status`,
      );
      applyJobObject(id, st, "optimization");
    } else {
      const st = await apiRequest<Record<string, unknown>>(
        `/api/backtest/${encodeURIComponent(id)}/status`,
      );
      applyJobObject(id, st, "backtest");
      const now = jobs.value.find((x) => x.id === id);
      if (now && now.status === "completed" && !now.result) {
        const res = await apiRequest<unknown>(`/api/backtest/${encodeURIComponent(id)}/result`);
        const r = asResult(res) ?? asResult((res as Record<string, unknown>)?.result);
        if (r) update(id, (x) => ({ ...x, result: r }));
      }
    }
  } catch (err) {
    showError(err);
  }
}

function closeJobSocket(id: string): void {
  jobSockets.get(id)?.close();
  jobSockets.delete(id);
}

function watchJob(id: string): void {
  if (jobSockets.has(id)) return;
  const sock = new ReconnectingSocket(`/ws/backtest/${encodeURIComponent(id)}`, applyMessage, {
    isDone: () => FINAL.has(jobs.value.find((j) => j.id === id)?.status ?? ""),
  });
  jobSockets.set(id, sock);
}

/** Shows an action's error in the banner. */
export function showError(err: unknown): void {
  const text = err instanceof ApiError
    ? `${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`
    : errorText(err);
  banner.value = { kind: "error", text };
}

/** The strategy part of a request: the template id when the editor still holds it verbatim. */
export function strategySpec(): { template: string } | { code: string } {
  const t = templates.value.find((x) => x.id === selectedTemplate.value);
  return t && t.code === code.value ? { template: t.id } : { code: code.value };
}

/** The data part of a request, from the run settings. */
export function dataSpec(): Record<string, unknown> {
  const s = settings.value;
  if (s.source === "exchange") {
    const d: Record<string, unknown> = {
      exchange: s.exchange,
      symbol: s.symbol,
      timeframe: s.timeframe,
    };
    if (s.since) d.since = s.since;
    if (s.until) d.until = s.until;
    return d;
  }
  // the API's dataset spec has no date range (yet): the From/To fields apply to exchange data
  return { dataset: s.dataset };
}

/** The config part of a request. */
export function configSpec(): Record<string, unknown> {
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
  const t = selectedTemplate.value || "custom";
  const p = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(" ");
  return p ? `${t} ${p}` : t;
}

/** Starts a backtest with the table's values (or `override`, e.g. a clicked scatter point). */
export async function startBacktest(override?: Record<string, number>): Promise<string | null> {
  const params = { ...singleParams(), ...override };
  banner.value = null;
  try {
    const res = await apiRequest<{ job_id?: string; id?: string }>("/api/backtest/start", {
      body: { strategy: strategySpec(), data: dataSpec(), params, config: configSpec() },
    });
    const id = res.job_id ?? res.id;
    if (!id) throw new Error("The server did not answer a job_id");
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
    const res = await apiRequest<{ job_id?: string; id?: string; optimization_id?: string }>(
      "/api/optimization/start",
      {
        body: {
          strategy: strategySpec(),
          data: dataSpec(),
          params: fixed,
          grid: { params: grid, ...(cons.length ? { constraints: cons } : {}) },
          objective: settings.value.objective,
          backend: settings.value.backend,
          config: configSpec(),
        },
      },
    );
    const id = res.job_id ?? res.optimization_id ?? res.id;
    if (!id) throw new Error("The server did not answer a job_id");
    batch(() => {
      ensureJob(id, "optimization");
      update(id, (j) => ({
        ...j,
        kind: "optimization",
        label: `${selectedTemplate.value || "custom"} grid ×${count}`,
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
    const kind = jobs.value.find((j) => j.id === id)?.kind === "optimization"
      ? "optimization"
      : "backtest";
    await apiRequest(`/api/${kind}/${encodeURIComponent(id)}/cancel`, { method: "POST" });
    update(id, (j) => FINAL.has(j.status) ? j : { ...j, status: "cancelled" });
    closeJobSocket(id);
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
    const list = await apiRequest<unknown>("/api/backtests?limit=50");
    batch(() => {
      const rows = listFrom<Record<string, unknown>>(list, "jobs", "backtests").slice().reverse();
      for (const raw of rows) {
        const id = String(raw.job_id ?? raw.id ?? "");
        if (id) applyJobObject(id, { ...raw, result: undefined });
      }
    });
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
  let opened = 0;
  new ReconnectingSocket("/ws/backtests", (msg) => {
    // the firehose carries every job; equity growth comes from the per-job sockets
    if (msg.type === "progress" && msg.job_id && jobSockets.has(msg.job_id)) return;
    applyMessage(msg);
    if (msg.type === "complete" && msg.job_id && !jobSockets.has(msg.job_id)) {
      const j = jobs.value.find((x) => x.id === msg.job_id);
      if (j && j.kind === "backtest" && !j.result && selectedRunId.value === j.id) {
        void refreshJob(j.id);
      }
    }
  }, {
    onState: (s) => {
      liveState.value = s;
      if (s === "open" && opened++ > 0) void syncJobs();
    },
  });
}
