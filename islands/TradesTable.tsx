/**
 * Trades island: the selected run's closed (and open) trades, sortable by any column and paged.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import type { TradeRecord } from "../engine/types.ts";
import { selectedRun } from "../ui/app_state.ts";
import { formatMetric, formatMoney, formatTime } from "../ui/format_value.ts";
import { pageOf, type SortDir, sortRows } from "../ui/sort_rows.ts";

const PAGE = 20;

const COLUMNS: { key: keyof TradeRecord; label: string; fmt: (t: TradeRecord) => string }[] = [
  { key: "side", label: "Side", fmt: (t) => t.side },
  { key: "entryTime", label: "Entry", fmt: (t) => formatTime(t.entryTime) },
  { key: "entryPrice", label: "Entry price", fmt: (t) => formatMoney(t.entryPrice) },
  { key: "exitTime", label: "Exit", fmt: (t) => formatTime(t.exitTime) },
  {
    key: "exitPrice",
    label: "Exit price",
    fmt: (t) => t.exitPrice === null ? "—" : formatMoney(t.exitPrice),
  },
  { key: "quantity", label: "Qty", fmt: (t) => Number(t.quantity.toPrecision(6)).toString() },
  { key: "pnl", label: "P&L", fmt: (t) => formatMoney(t.pnl) },
  { key: "returnPct", label: "Return", fmt: (t) => formatMetric("returnPct", t.returnPct) },
  { key: "fees", label: "Fees", fmt: (t) => formatMoney(t.fees) },
  { key: "exitReason", label: "Exit reason", fmt: (t) => t.exitReason ?? "open" },
];

/** The trades table. */
export default function TradesTable() {
  const sortKey = useSignal<keyof TradeRecord>("entryTime");
  const sortDir = useSignal<SortDir>("asc");
  const page = useSignal(0);
  const run = selectedRun.value;
  const trades = run?.result?.trades ?? [];
  const sorted = sortRows(trades, sortKey.value, sortDir.value);
  const view = pageOf(sorted, page.value, PAGE);

  const sortBy = (k: keyof TradeRecord) => {
    if (sortKey.value === k) sortDir.value = sortDir.value === "asc" ? "desc" : "asc";
    else {
      sortKey.value = k;
      sortDir.value = "asc";
    }
    page.value = 0;
  };

  return (
    <section class="panel" aria-labelledby="trades-title">
      <header class="panel-head">
        <h2 id="trades-title">Trades</h2>
        <span class="hint">{run ? `${trades.length} trades · ${run.label}` : ""}</span>
      </header>
      {trades.length === 0 ? <p class="hint">No trades to show.</p> : (
        <>
          <div class="table-wrap">
            <table class="trades" id="trades-table">
              <thead>
                <tr>
                  {COLUMNS.map((c) => (
                    <th
                      scope="col"
                      key={c.key}
                      aria-sort={sortKey.value === c.key
                        ? (sortDir.value === "asc" ? "ascending" : "descending")
                        : "none"}
                    >
                      <button type="button" class="sort" onClick={() => sortBy(c.key)}>
                        {c.label}
                        {sortKey.value === c.key ? (sortDir.value === "asc" ? " ▲" : " ▼") : ""}
                      </button>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {view.rows.map((t, i) => (
                  <tr key={`${t.entryTime}-${i}`} class={t.pnl >= 0 ? "win" : "loss"}>
                    {COLUMNS.map((c) => <td key={c.key}>{c.fmt(t)}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Trades pages">
            <button
              type="button"
              class="btn small"
              disabled={view.page === 0}
              onClick={() => (page.value = view.page - 1)}
            >
              Previous
            </button>
            <span id="trades-page">Page {view.page + 1} of {view.pages}</span>
            <button
              type="button"
              class="btn small"
              disabled={view.page >= view.pages - 1}
              onClick={() => (page.value = view.page + 1)}
            >
              Next
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
