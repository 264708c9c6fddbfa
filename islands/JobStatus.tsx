/**
 * Status island: Completed / Failed / Running / Queued counts and the job list with progress
 * bars, cancel buttons, and selection of the run shown below.
 *
 * @module
 */
import {
  jobs,
  liveState,
  selectedOptimizationId,
  selectedRunId,
  serverStats,
} from "../ui/app_state.ts";
import { cancelJob, refreshJob } from "../ui/job_tracker.ts";

const ORDER = ["completed", "failed", "running", "queued"] as const;

/** The status panel. */
export default function JobStatus() {
  const list = jobs.value;
  const local: Record<string, number> = { completed: 0, failed: 0, running: 0, queued: 0 };
  for (const j of list) if (j.status in local) local[j.status]++;
  // the server's totals cover every job, not only the ones this page has listed; the local
  // tally stands in until the first /api/stats answer (and is ahead of it by up to a poll)
  const server = serverStats.value?.jobs;
  const counts: Record<string, number> = {};
  for (const k of ORDER) {
    const v = server?.[k];
    if (v === undefined) counts[k] = local[k];
    // finished counts only grow, so the larger is the fresher; live ones come from the server
    else counts[k] = k === "completed" || k === "failed" ? Math.max(v, local[k]) : v;
  }
  const shown = list.slice().reverse().slice(0, 30);

  return (
    <section class="panel" aria-labelledby="status-title">
      <header class="panel-head">
        <h2 id="status-title">Jobs</h2>
        <span class={`live-dot ${liveState.value}`} title={`Live updates: ${liveState.value}`}>
          {liveState.value === "open" ? "live" : liveState.value}
        </span>
      </header>
      <dl class="counts" id="job-counts">
        {ORDER.map((k) => (
          <div key={k} class={`count ${k}`}>
            <dt>{k[0].toUpperCase() + k.slice(1)}</dt>
            <dd data-count={k}>{counts[k]}</dd>
          </div>
        ))}
      </dl>
      {shown.length === 0 ? <p class="hint">No jobs yet.</p> : (
        <ul class="job-list" id="job-list">
          {shown.map((j) => {
            const pct = Math.round(j.progress * 100);
            const active = j.status === "queued" || j.status === "running";
            const selected = j.id === selectedRunId.value || j.id === selectedOptimizationId.value;
            return (
              <li key={j.id} class={`job ${j.status}${selected ? " selected" : ""}`}>
                <button
                  type="button"
                  class="job-name link"
                  title={j.id}
                  onClick={() => {
                    if (j.kind === "optimization") selectedOptimizationId.value = j.id;
                    else {
                      selectedRunId.value = j.id;
                      if (!j.result && j.status === "completed") void refreshJob(j.id);
                    }
                  }}
                >
                  <span class="swatch" style={{ background: j.color }} />
                  {j.label}
                </button>
                <span class={`badge ${j.status}`}>{j.status}</span>
                <progress
                  max={100}
                  value={pct}
                  aria-label={`${j.label} progress`}
                />
                <span class="pct">
                  {j.done !== null && j.total !== null ? `${j.done}/${j.total}` : `${pct} %`}
                </span>
                {active
                  ? (
                    <button
                      type="button"
                      class="btn small"
                      aria-label={`Cancel ${j.label}`}
                      onClick={() => void cancelJob(j.id)}
                    >
                      Cancel
                    </button>
                  )
                  : <span />}
                {j.error && <p class="job-error">{j.error}</p>}
                {j.errorLogs.length > 0 && (
                  <details class="job-logs">
                    <summary>
                      Strategy output ({j.errorLogs.length}{" "}
                      line{j.errorLogs.length === 1 ? "" : "s"})
                    </summary>
                    <pre>{j.errorLogs.join("\n")}</pre>
                  </details>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
