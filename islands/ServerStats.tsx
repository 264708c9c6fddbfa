/**
 * Server statistics island: what `GET /api/stats` reports (jobs by status, queue, workers,
 * uptime, memory, throughput), refreshed every two seconds.
 *
 * @module
 */
import { serverStats } from "../ui/app_state.ts";

function flatten(obj: Record<string, unknown>, prefix = "", out: [string, unknown][] = []) {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      flatten(v as Record<string, unknown>, key, out);
    } else out.push([key, v]);
  }
  return out;
}

function show(key: string, v: unknown): string {
  if (typeof v !== "number") return v === null || v === undefined ? "—" : String(v);
  const k = key.toLowerCase();
  if (/(bytes|memory|rss|heap|external)/.test(k) && v > 4096) {
    return `${(v / 1048576).toFixed(1)} MB`;
  }
  if (k.includes("uptime")) {
    const s = k.endsWith("ms") ? v / 1000 : v;
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return `${h}h ${m}m ${Math.floor(s % 60)}s`;
  }
  return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(2);
}

/** The figures worth a glance, in display order (others are left to /api/stats). */
const PREFERRED = [
  "uptime_s",
  "jobs.running",
  "jobs.queued",
  "jobs.completed",
  "jobs.failed",
  "workers.busy",
  "workers.total",
  "queue.length",
  "backtests_completed",
  "optimizations_completed",
  "bars_processed",
  "bars_per_second",
  "bars_per_second_recent",
  "memory.rss",
  "memory.heap_used",
  "websockets.clients",
];

function rows(stats: Record<string, unknown>): [string, unknown][] {
  const all = flatten(stats);
  const byKey = new Map(all);
  const picked = PREFERRED.filter((k) => byKey.has(k)).map((k) =>
    [k, byKey.get(k)] as [
      string,
      unknown,
    ]
  );
  return picked.length >= 4 ? picked : all.slice(0, 16);
}

/** The live server statistics panel. */
export default function ServerStats() {
  const stats = serverStats.value;
  return (
    <section class="panel" aria-labelledby="stats-title">
      <header class="panel-head">
        <h2 id="stats-title">Server</h2>
        <span class={stats ? "live-dot open" : "live-dot closed"}>
          {stats ? "online" : "offline"}
        </span>
      </header>
      {stats
        ? (
          <dl class="stats" id="server-stats">
            {rows(stats).map(([k, v]) => (
              <div key={k}>
                <dt title={k}>{k.replace(/[._]/g, " ")}</dt>
                <dd>{show(k, v)}</dd>
              </div>
            ))}
          </dl>
        )
        : <p class="hint">Waiting for /api/stats…</p>}
    </section>
  );
}
