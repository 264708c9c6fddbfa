/**
 * Run settings island: data source (dataset or exchange/symbol/timeframe), date range, capital,
 * fees, slippage, mode and sizing.
 *
 * @module
 */
import type { ComponentChildren } from "preact";
import { useSignal } from "@preact/signals";
import { datasets, type RunSettings as Settings, settings } from "../ui/app_state.ts";
import { uploadDataset } from "../ui/strategy_session.ts";

/** The objectives offered; typed against the server's request schema, so none goes stale. */
const OBJECTIVES = [
  "sharpe",
  "sortino",
  "calmar",
  "cagr",
  "totalReturn",
  "maxDrawdown",
  "profitFactor",
] as const satisfies readonly Settings["objective"][];
/** The optimizer backends offered (the server's `backend` enum). */
const BACKENDS = ["auto", "workers", "webgpu", "gpujs", "cpu"] as const satisfies readonly Settings[
  "backend"
][];

function set<K extends keyof Settings>(key: K, value: Settings[K]): void {
  settings.value = { ...settings.value, [key]: value };
}

function Field(props: { label: string; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={props.wide ? "field wide" : "field"}>
      <span>{props.label}</span>
      {props.children}
    </label>
  );
}

function NumberInput(
  props: { k: keyof Settings; step?: string; min?: string; id?: string },
) {
  const v = settings.value[props.k] as number;
  return (
    <input
      type="number"
      id={props.id ?? `set-${props.k}`}
      value={String(v)}
      step={props.step ?? "any"}
      min={props.min}
      onChange={(e) => {
        const n = Number((e.currentTarget as HTMLInputElement).value);
        if (Number.isFinite(n)) set(props.k, n as never);
      }}
    />
  );
}

/** The run settings panel. */
export default function RunSettings() {
  const s = settings.value;
  const uploading = useSignal(false);
  return (
    <section class="panel" aria-labelledby="settings-title">
      <header class="panel-head">
        <h2 id="settings-title">Run settings</h2>
      </header>
      <div class="form-grid">
        <Field label="Data source">
          <select
            id="set-source"
            value={s.source}
            onChange={(e) =>
              set("source", (e.currentTarget as HTMLSelectElement).value as Settings["source"])}
          >
            <option value="dataset">Dataset</option>
            <option value="exchange">Exchange</option>
          </select>
        </Field>
        {s.source === "dataset"
          ? (
            <Field label="Dataset" wide>
              <select
                id="set-dataset"
                value={s.dataset}
                onChange={(e) => set("dataset", (e.currentTarget as HTMLSelectElement).value)}
              >
                {datasets.value.length === 0 && <option value="">(no datasets)</option>}
                {datasets.value.map((d) => <option key={d.name} value={d.name}>{d.label}</option>)}
              </select>
            </Field>
          )
          : (
            <>
              <Field label="Exchange">
                <input
                  id="set-exchange"
                  value={s.exchange}
                  onChange={(e) => set("exchange", (e.currentTarget as HTMLInputElement).value)}
                />
              </Field>
              <Field label="Symbol">
                <input
                  id="set-symbol"
                  value={s.symbol}
                  onChange={(e) => set("symbol", (e.currentTarget as HTMLInputElement).value)}
                />
              </Field>
              <Field label="Timeframe">
                <select
                  id="set-timeframe"
                  value={s.timeframe}
                  onChange={(e) => set("timeframe", (e.currentTarget as HTMLSelectElement).value)}
                >
                  {["1m", "5m", "15m", "1h", "4h", "1d", "1w"].map((tf) => (
                    <option key={tf} value={tf}>{tf}</option>
                  ))}
                </select>
              </Field>
            </>
          )}
        {s.source === "dataset" && (
          <Field label={uploading.value ? "Uploading…" : "Upload CSV / JSON / Parquet"} wide>
            <input
              type="file"
              id="dataset-upload"
              accept=".csv,.json,.parquet"
              disabled={uploading.value}
              onChange={async (e) => {
                const input = e.currentTarget as HTMLInputElement;
                const file = input.files?.[0];
                if (!file) {
                  return;
                }
                uploading.value = true;
                try {
                  await uploadDataset(file);
                } finally {
                  uploading.value = false;
                  input.value = "";
                }
              }}
            />
          </Field>
        )}
        <Field label="From">
          <input
            type="date"
            id="set-since"
            value={s.since}
            disabled={s.source !== "exchange"}
            title={s.source !== "exchange" ? "The date range applies to exchange data" : undefined}
            onChange={(e) => set("since", (e.currentTarget as HTMLInputElement).value)}
          />
        </Field>
        <Field label="To">
          <input
            type="date"
            id="set-until"
            value={s.until}
            disabled={s.source !== "exchange"}
            title={s.source !== "exchange" ? "The date range applies to exchange data" : undefined}
            onChange={(e) => set("until", (e.currentTarget as HTMLInputElement).value)}
          />
        </Field>
        <Field label="Capital">
          <NumberInput k="cash" min="0" step="100" />
        </Field>
        <Field label="Taker fee (rate)">
          <NumberInput k="feeTaker" min="0" step="0.0001" />
        </Field>
        <Field label="Maker fee (rate)">
          <NumberInput k="feeMaker" min="0" step="0.0001" />
        </Field>
        <Field label="Fixed fee / order">
          <NumberInput k="feeFixed" min="0" step="0.01" />
        </Field>
        <Field label="Slippage (bps)">
          <NumberInput k="slippageBps" min="0" step="1" />
        </Field>
        <Field label="Mode">
          <select
            id="set-mode"
            value={s.mode}
            onChange={(e) =>
              set("mode", (e.currentTarget as HTMLSelectElement).value as Settings["mode"])}
          >
            <option value="long_only">Long only</option>
            <option value="long_short">Long / short</option>
          </select>
        </Field>
        <Field label="Sizing">
          <select
            id="set-sizing"
            value={s.sizingKind}
            onChange={(e) =>
              set(
                "sizingKind",
                (e.currentTarget as HTMLSelectElement).value as Settings["sizingKind"],
              )}
          >
            <option value="fraction">Fraction of equity</option>
            <option value="units">Units</option>
            <option value="notional">Notional</option>
          </select>
        </Field>
        <Field label="Size">
          <NumberInput k="sizingValue" min="0" step="any" />
        </Field>
        <Field label="Objective">
          <select
            id="set-objective"
            value={s.objective}
            onChange={(e) =>
              set(
                "objective",
                (e.currentTarget as HTMLSelectElement).value as Settings["objective"],
              )}
          >
            {OBJECTIVES.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </Field>
        <Field label="Optimizer backend">
          <select
            id="set-backend"
            value={s.backend}
            onChange={(e) =>
              set("backend", (e.currentTarget as HTMLSelectElement).value as Settings["backend"])}
          >
            {BACKENDS.map((b) => <option key={b} value={b}>{b}</option>)}
          </select>
        </Field>
        <label class="field check">
          <input
            type="checkbox"
            id="set-closeAtEnd"
            checked={s.closeAtEnd}
            onChange={(e) => set("closeAtEnd", (e.currentTarget as HTMLInputElement).checked)}
          />
          <span>Close at end</span>
        </label>
      </div>
    </section>
  );
}
