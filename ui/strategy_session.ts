/**
 * Strategy-side actions: templates, compile with diagnostics, the parameter table, datasets
 * and the server statistics poll, all through the typed client (`client/mod.ts`).
 *
 * @module
 */
import { batch } from "@preact/signals";
import { ApiClientError, type StrategyList } from "../client/mod.ts";
import { pageClient } from "./page_client.ts";
import {
  banner,
  code,
  compileState,
  constraints,
  type Dataset,
  datasets,
  type Diagnostic,
  diagnostics,
  type ParamRow,
  paramRows,
  selectedTemplate,
  serverStats,
  settings,
  type Template,
  templates,
} from "./app_state.ts";
import { showError } from "./job_tracker.ts";

/** Default sweep range for a numeric parameter: half to double its value, four steps. */
export function defaultRow(name: string, value: number | string | boolean): ParamRow {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return { name, value, min: 0, max: 0, step: 1, sweep: false };
  }
  const integer = Number.isInteger(value);
  const half = value / 2;
  const min = integer ? Math.max(1, Math.round(half)) : Number(half.toPrecision(6));
  const max = integer ? Math.max(min, value * 2) : Number((value * 2).toPrecision(6));
  const step = integer ? Math.max(1, Math.round(half)) : Number((half || 1).toPrecision(6));
  return { name, value, min, max, step, sweep: true };
}

/** Rebuilds the table for new params, keeping rows the user already edited. */
export function setParams(params: Record<string, unknown>): void {
  const old = new Map(paramRows.value.map((r) => [r.name, r]));
  paramRows.value = Object.entries(params)
    .filter(([, v]) => ["number", "string", "boolean"].includes(typeof v))
    .map(([k, v]) => old.get(k) ?? defaultRow(k, v as number | string | boolean));
}

function toTemplate(t: StrategyList["templates"][number]): Template {
  return {
    id: t.id,
    name: t.name,
    description: t.description,
    code: t.source,
    params: t.params,
  };
}

/** Puts a template's source in the editor and its params in the table. */
export function selectTemplate(id: string): void {
  const t = templates.value.find((x) => x.id === id);
  if (!t) return;
  batch(() => {
    selectedTemplate.value = id;
    code.value = t.code;
    diagnostics.value = [];
    compileState.value = { kind: "idle", message: "" };
    paramRows.value = [];
    setParams(t.params);
    // the usual cross-over rule: a "fast" average shorter than the "slow" one
    constraints.value = "fast" in t.params && "slow" in t.params ? "fast < slow" : "";
  });
}

/** Loads templates; selects the first one when the editor is empty. */
export async function loadTemplates(): Promise<void> {
  try {
    const list = (await pageClient().strategies()).templates.map(toTemplate);
    templates.value = list;
    if (!code.value && list.length > 0) {
      selectTemplate((list.find((t) => t.id === "sma_cross") ?? list[0]).id);
    }
  } catch (err) {
    showError(err);
  }
}

/** Loads datasets and picks the first one when none is chosen. */
export async function loadDatasets(): Promise<void> {
  try {
    const list: Dataset[] = (await pageClient().datasets()).datasets.map((d) => ({
      name: d.name,
      label: d.timeframe ? `${d.name} (${d.timeframe})` : d.name,
    }));
    datasets.value = list;
    if (!settings.value.dataset && list.length > 0) {
      settings.value = { ...settings.value, dataset: list[0].name };
    }
  } catch (err) {
    showError(err);
  }
}

/** A file name the API accepts as a dataset name (letters, digits, _ . - only). */
export function datasetNameOf(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  const clean = base.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/\.{2,}/g, ".").replace(
    /^[^A-Za-z0-9]+/,
    "",
  );
  return clean.slice(-128) || "dataset.csv";
}

/** Uploads a CSV / JSON / Parquet file as a dataset and selects it. */
export async function uploadDataset(file: File): Promise<boolean> {
  const name = datasetNameOf(file.name);
  try {
    const res = await pageClient().uploadDataset(name, file, { overwrite: true });
    await loadDatasets();
    const stored = res.dataset.name;
    settings.value = { ...settings.value, source: "dataset", dataset: stored };
    banner.value = { kind: "info", text: `Uploaded ${stored}: ${res.bars} bars` };
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

/** The compiler's diagnostics as the editor shows them (warnings never block a run). */
function toDiagnostics(
  list: readonly { line: number; column: number; message: string; severity: string }[],
  asWarnings = false,
): Diagnostic[] {
  return list.map((d) => ({
    line: d.line,
    column: d.column,
    message: d.message,
    severity: asWarnings || d.severity === "warning" ? "warning" : "error",
  }));
}

/** Compiles the editor's code; diagnostics go to the editor, params to the table. */
export async function compile(): Promise<boolean> {
  const source = code.value;
  compileState.value = { kind: "pending", message: "Compiling…", source };
  try {
    const res = await pageClient().compile(source);
    if (!res.ok) {
      const diags = toDiagnostics(res.diagnostics);
      batch(() => {
        diagnostics.value = diags;
        compileState.value = { kind: "error", message: `${diags.length} problem(s)`, source };
      });
      return false;
    }
    const warnings = toDiagnostics(res.warnings, true);
    batch(() => {
      diagnostics.value = warnings;
      setParams(res.params);
      compileState.value = {
        kind: "ok",
        message: warnings.length ? `Compiled with ${warnings.length} warning(s)` : "Compiled",
        source,
      };
    });
    return true;
  } catch (err) {
    // an error answer (e.g. code over the size limit) is shown as the compile state
    batch(() => {
      diagnostics.value = [];
      compileState.value = {
        kind: "error",
        message: err instanceof ApiClientError ? err.message : String(err),
        source,
      };
    });
    return false;
  }
}

/** Polls `GET /api/stats` every `everyMs` while the page is visible. */
export function pollStats(everyMs = 2000): void {
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try {
        serverStats.value = await pageClient().stats();
      } catch {
        serverStats.value = null; // the header shows "offline"; no banner spam every 2 s
      }
    }
    setTimeout(tick, everyMs);
  };
  void tick();
}
