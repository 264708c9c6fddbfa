/**
 * Parameter table island: the value each parameter takes in a single backtest, and the
 * min/max/step of the optimization grid; with the Backtest and Optimize buttons.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { constraints, type ParamRow, paramRows } from "../ui/app_state.ts";
import { gridCount, startBacktest, startOptimization } from "../ui/job_tracker.ts";

function setRow(name: string, patch: Partial<ParamRow>): void {
  paramRows.value = paramRows.value.map((r) => r.name === name ? { ...r, ...patch } : r);
}

function num(e: Event): number {
  return Number((e.currentTarget as HTMLInputElement).value);
}

/** The parameter table and run buttons. */
export default function ParamTable() {
  const busy = useSignal<"" | "backtest" | "optimize">("");
  const rows = paramRows.value;
  let combos = "";
  try {
    const n = gridCount();
    combos = rows.some((r) => r.sweep)
      ? `${n.toLocaleString("en-US")} combinations${
        constraints.value.trim() ? " before constraints" : ""
      }`
      : "";
  } catch (err) {
    combos = (err as Error).message;
  }

  const run = async (kind: "backtest" | "optimize") => {
    busy.value = kind;
    try {
      await (kind === "backtest" ? startBacktest() : startOptimization());
    } finally {
      busy.value = "";
    }
  };

  return (
    <section class="panel" aria-labelledby="params-title">
      <header class="panel-head">
        <h2 id="params-title">Parameters</h2>
        <span class="hint" id="grid-count">{combos}</span>
      </header>
      {rows.length === 0
        ? <p class="hint">Compile a strategy to list its parameters.</p>
        : (
          <div class="table-wrap">
            <table class="params" id="param-table">
              <thead>
                <tr>
                  <th scope="col">Parameter</th>
                  <th scope="col">Value</th>
                  <th scope="col">Sweep</th>
                  <th scope="col">Min</th>
                  <th scope="col">Max</th>
                  <th scope="col">Step</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const numeric = typeof r.value === "number";
                  return (
                    <tr key={r.name}>
                      <th scope="row">{r.name}</th>
                      <td>
                        {typeof r.value === "boolean"
                          ? (
                            <input
                              type="checkbox"
                              aria-label={`${r.name} value`}
                              checked={r.value}
                              onChange={(e) =>
                                setRow(r.name, {
                                  value: (e.currentTarget as HTMLInputElement).checked,
                                })}
                            />
                          )
                          : numeric
                          ? (
                            <input
                              type="number"
                              step="any"
                              aria-label={`${r.name} value`}
                              value={String(r.value)}
                              onChange={(e) => setRow(r.name, { value: num(e) })}
                            />
                          )
                          : (
                            <input
                              type="text"
                              aria-label={`${r.name} value`}
                              value={String(r.value)}
                              onChange={(e) =>
                                setRow(r.name, {
                                  value: (e.currentTarget as HTMLInputElement).value,
                                })}
                            />
                          )}
                      </td>
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Sweep ${r.name}`}
                          disabled={!numeric}
                          checked={r.sweep}
                          onChange={(e) =>
                            setRow(r.name, {
                              sweep: (e.currentTarget as HTMLInputElement).checked,
                            })}
                        />
                      </td>
                      {(["min", "max", "step"] as const).map((f) => (
                        <td key={f}>
                          <input
                            type="number"
                            step="any"
                            aria-label={`${r.name} ${f}`}
                            disabled={!numeric || !r.sweep}
                            value={String(r[f])}
                            onChange={(e) => setRow(r.name, { [f]: num(e) })}
                          />
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      {rows.length > 0 && (
        <label class="field constraints">
          <span>Constraints (comma-separated, e.g. fast &lt; slow)</span>
          <input
            id="grid-constraints"
            value={constraints.value}
            placeholder="fast < slow"
            onChange={(e) => (constraints.value = (e.currentTarget as HTMLInputElement).value)}
          />
        </label>
      )}
      <div class="actions">
        <button
          type="button"
          id="backtest-btn"
          class="btn primary"
          disabled={busy.value !== ""}
          onClick={() => void run("backtest")}
        >
          Backtest
        </button>
        <button
          type="button"
          id="optimize-btn"
          class="btn"
          disabled={busy.value !== "" || !rows.some((r) => r.sweep)}
          onClick={() => void run("optimize")}
        >
          Optimize
        </button>
      </div>
    </section>
  );
}
