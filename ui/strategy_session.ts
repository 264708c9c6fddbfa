/**
 * Strategy-side actions: templates, compile with diagnostics, the parameter table, datasets
 * and the server statistics poll.
 *
 * @module
 */
import { batch } from "@preact/signals";
import { ApiError, apiRequest, listFrom } from "./api_client.ts";
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

function toTemplate(raw: Record<string, unknown>): Template | null {
  const id = String(raw.id ?? raw.name ?? "");
  const src = raw.code ?? raw.source ?? raw.src;
  if (!id || typeof src !== "string") return null;
  return {
    id,
    name: String(raw.name ?? id),
    description: String(raw.description ?? ""),
    code: src,
    params: (raw.params && typeof raw.params === "object") ? raw.params as Template["params"] : {},
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
    const json = await apiRequest<unknown>("/api/strategies");
    const list = listFrom<Record<string, unknown>>(json, "strategies", "templates")
      .map(toTemplate)
      .filter((t): t is Template => t !== null);
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
    const json = await apiRequest<unknown>("/api/datasets");
    const list: Dataset[] = listFrom<unknown>(json, "datasets").map((raw) => {
      if (typeof raw === "string") return { name: raw, label: raw };
      const o = raw as Record<string, unknown>;
      const name = String(o.name ?? o.id ?? "");
      const bars = o.bars ?? o.count ?? o.rows;
      const extra = [o.timeframe, typeof bars === "number" ? `${bars} bars` : null]
        .filter(Boolean).join(", ");
      return { name, label: extra ? `${name} (${extra})` : name };
    }).filter((d) => d.name);
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
    const res = await apiRequest<{ bars?: number; dataset?: { name?: string } }>(
      `/api/datasets?name=${encodeURIComponent(name)}&overwrite=true`,
      { rawBody: file },
    );
    await loadDatasets();
    const stored = res.dataset?.name ?? name;
    settings.value = { ...settings.value, source: "dataset", dataset: stored };
    banner.value = {
      kind: "info",
      text: `Uploaded ${stored}${typeof res.bars === "number" ? `: ${res.bars} bars` : ""}`,
    };
    return true;
  } catch (err) {
    showError(err);
    return false;
  }
}

function toDiagnostics(raw: unknown): Diagnostic[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((d) => {
    const o = (d ?? {}) as Record<string, unknown>;
    const sev = o.severity === "warning" || o.severity === "info" ? o.severity : "error";
    return {
      line: Number(o.line) || 1,
      column: Number(o.column) || 1,
      message: String(o.message ?? o.messageText ?? "unknown problem"),
      severity: sev,
    } as Diagnostic;
  });
}

/** Compiles the editor's code; diagnostics go to the editor, params to the table. */
export async function compile(): Promise<boolean> {
  compileState.value = { kind: "pending", message: "Compiling…" };
  try {
    const res = await apiRequest<Record<string, unknown>>("/api/strategy/compile", {
      body: { code: code.value },
    });
    if (res.ok === false) {
      const diags = toDiagnostics(res.diagnostics);
      batch(() => {
        diagnostics.value = diags;
        compileState.value = { kind: "error", message: `${diags.length} problem(s)` };
      });
      return false;
    }
    const warnings = toDiagnostics(res.warnings).map((d) => ({
      ...d,
      severity: d.severity === "error" ? "warning" as const : d.severity,
    }));
    batch(() => {
      diagnostics.value = warnings;
      if (res.params && typeof res.params === "object") {
        setParams(res.params as Record<string, unknown>);
      }
      compileState.value = {
        kind: "ok",
        message: warnings.length ? `Compiled with ${warnings.length} warning(s)` : "Compiled",
      };
    });
    return true;
  } catch (err) {
    // a 422 carries the diagnostics in the error details
    const details = err instanceof ApiError ? err.details as Record<string, unknown> : null;
    const diags = toDiagnostics(
      Array.isArray(details) ? details : details?.diagnostics,
    );
    batch(() => {
      diagnostics.value = diags;
      compileState.value = {
        kind: "error",
        message: diags.length ? `${diags.length} problem(s)` : (err as Error).message,
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
        serverStats.value = await apiRequest<Record<string, unknown>>("/api/stats");
      } catch {
        serverStats.value = null; // the header shows "offline"; no banner spam every 2 s
      }
    }
    setTimeout(tick, everyMs);
  };
  void tick();
}
