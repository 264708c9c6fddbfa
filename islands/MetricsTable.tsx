/**
 * Metrics island: the selected run's metrics next to up to three other visible runs, for
 * comparison.
 *
 * @module
 */
import { equityRuns, hiddenRuns, selectedRun } from "../ui/app_state.ts";
import { formatMetric, metricLabel } from "../ui/format_value.ts";
import { METRIC_KEYS as KEYS } from "../engine/trade_stats.ts";

/** The metrics table. */
export default function MetricsTable() {
  const sel = selectedRun.value;
  const others = equityRuns.value.filter((j) =>
    j.result && j.id !== sel?.id && !hiddenRuns.value.has(j.id)
  ).slice(-3);
  const cols = sel ? [sel, ...others] : [];
  const extra = sel?.result ? Object.keys(sel.result.metrics).filter((k) => !KEYS.includes(k)) : [];
  return (
    <section class="panel" aria-labelledby="metrics-title">
      <header class="panel-head">
        <h2 id="metrics-title">Metrics</h2>
      </header>
      {cols.length === 0 ? <p class="hint">No completed run yet.</p> : (
        <div class="table-wrap">
          <table class="metrics" id="metrics-table">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                {cols.map((j) => (
                  <th scope="col" key={j.id}>
                    <span class="swatch" style={{ background: j.color }} />
                    {j.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...KEYS, ...extra].map((k) => (
                <tr key={k}>
                  <th scope="row">{metricLabel(k)}</th>
                  {cols.map((j) => (
                    <td key={j.id} data-metric={k}>{formatMetric(k, j.result?.metrics[k])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
