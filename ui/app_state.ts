/**
 * The page's shared state as signals. Islands read these (and re-render when they change);
 * only the action modules (`job_tracker.ts`, `strategy_session.ts`) write them, so every
 * mutation of jobs and strategy state lives in one place.
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import type { BacktestResult, TradeRecord } from "../engine/types.ts";
import type { OptimizationRequest, ServerStatsResponse } from "../client/mod.ts";
import type { ScatterPoint } from "./scatter_point.ts";

/** An optimization objective the server accepts (from the request schema). */
export type Objective = NonNullable<OptimizationRequest["objective"]>;
/** An optimizer backend the server accepts: auto | workers | webgpu | gpujs | cpu. */
export type Backend = NonNullable<OptimizationRequest["backend"]>;

/** A strategy template from `GET /api/strategies`. */
export interface Template {
  id: string;
  name: string;
  description: string;
  code: string;
  params: Record<string, number | string | boolean>;
}

/** A dataset from `GET /api/datasets`. */
export interface Dataset {
  name: string;
  label: string;
}

/** A compile diagnostic (1-based line and column). */
export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  severity: "error" | "warning" | "info";
}

/** One row of the parameter table. */
export interface ParamRow {
  name: string;
  /** The value a single backtest uses. */
  value: number | string | boolean;
  min: number;
  max: number;
  step: number;
  /** Whether Optimize sweeps this parameter (numbers only). */
  sweep: boolean;
}

/** Job states as the server names them. */
export type JobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

/** A job as the page tracks it. */
export interface JobView {
  id: string;
  kind: "backtest" | "optimization";
  label: string;
  status: JobStatus;
  /** 0..1 */
  progress: number;
  /** Equity points received while running (replaced by the result's curve when done). */
  liveEquity: { time: number; equity: number }[];
  liveTrades: TradeRecord[];
  result: BacktestResult | null;
  error: string | null;
  /** The strategy's last console lines before it failed (from the error's details). */
  errorLogs: string[];
  /** Optimization points so far. */
  points: ScatterPoint[];
  done: number | null;
  total: number | null;
  color: string;
  createdAt: number;
}

/** Run settings panel. */
export interface RunSettings {
  source: "dataset" | "exchange";
  dataset: string;
  exchange: string;
  symbol: string;
  timeframe: string;
  since: string;
  until: string;
  cash: number;
  feeTaker: number;
  feeMaker: number;
  feeFixed: number;
  slippageBps: number;
  mode: "long_only" | "long_short";
  sizingKind: "fraction" | "units" | "notional";
  sizingValue: number;
  closeAtEnd: boolean;
  objective: Objective;
  backend: Backend;
}

export const templates = signal<Template[]>([]);
export const selectedTemplate = signal<string>("");
/** The editor's current text (the editor writes it; compile and run read it). */
export const code = signal<string>("");
export const diagnostics = signal<Diagnostic[]>([]);
/** What the last compile said, and of which text (`source`: the editor's code it compiled). */
export interface CompileState {
  kind: "idle" | "pending" | "ok" | "error";
  message: string;
  source?: string;
}
export const compileState = signal<CompileState>({ kind: "idle", message: "" });
/**
 * The compile state as the editor shows it: a verdict on an older text is stale once the code
 * is edited (a "Compiled" next to code that no longer compiles would mislead).
 */
export const compileStatus = computed<CompileState>(() => {
  const s = compileState.value;
  if ((s.kind === "ok" || s.kind === "error") && s.source !== code.value) {
    return { kind: "idle", message: "Edited since the last compile" };
  }
  return s;
});
export const paramRows = signal<ParamRow[]>([]);
/** Grid constraints, comma-separated, e.g. "fast < slow". */
export const constraints = signal<string>("");
export const datasets = signal<Dataset[]>([]);
export const settings = signal<RunSettings>({
  source: "dataset",
  dataset: "",
  exchange: "binance",
  symbol: "BTC/USDT",
  timeframe: "1d",
  since: "",
  until: "",
  cash: 10000,
  feeTaker: 0.001,
  feeMaker: 0.0005,
  feeFixed: 0,
  slippageBps: 0,
  mode: "long_only",
  sizingKind: "fraction",
  sizingValue: 1,
  closeAtEnd: false,
  objective: "sharpe",
  backend: "auto",
});
export const jobs = signal<JobView[]>([]);
/** Jobs whose curves are hidden in the overlay (legend toggles). */
export const hiddenRuns = signal<Set<string>>(new Set());
/** The run whose metrics and trades are shown. */
export const selectedRunId = signal<string | null>(null);
/** The optimization whose scatter is shown. */
export const selectedOptimizationId = signal<string | null>(null);
export const logScale = signal(false);
/** The last `GET /api/stats` answer; null while the server does not answer. */
export const serverStats = signal<ServerStatsResponse | null>(null);
/** Last error from any action, shown in the header banner. */
export const banner = signal<{ kind: "error" | "info"; text: string } | null>(null);
export const liveState = signal<"connecting" | "open" | "closed">("connecting");

/** Backtests with a curve to draw, newest last. */
export const equityRuns = computed(() =>
  jobs.value.filter((j) => j.kind === "backtest" && (j.result !== null || j.liveEquity.length > 0))
);

/** The run shown in the metrics and trades panels. */
export const selectedRun = computed(() => {
  const runs = equityRuns.value.filter((j) => j.result !== null);
  return runs.find((j) => j.id === selectedRunId.value) ?? runs[runs.length - 1] ?? null;
});

/** The optimization shown in the scatter panel. */
export const selectedOptimization = computed(() => {
  const opts = jobs.value.filter((j) => j.kind === "optimization");
  return opts.find((j) => j.id === selectedOptimizationId.value) ?? opts[opts.length - 1] ??
    null;
});

const PALETTE = [
  "#f5a623",
  "#4aa3ff",
  "#3ecf8e",
  "#e2557a",
  "#b57bff",
  "#ffd84a",
  "#33d1d1",
  "#ff7f50",
];

/** A stable colour per job, assigned in creation order. */
export function nextColor(): string {
  return PALETTE[jobs.value.length % PALETTE.length];
}
