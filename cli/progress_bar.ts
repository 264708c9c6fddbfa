/**
 * A one-line progress bar with an ETA for the CLI tasks, drawn in place on stderr. It draws
 * only when stderr is a terminal and the run is not `--quiet`, so scripts and logs that
 * capture stderr never see carriage returns or half-drawn lines.
 *
 * @module
 */

/**
 * Estimated milliseconds left, assuming the remaining work goes at the average rate so far.
 * `null` while nothing is done yet (no rate to extrapolate from); 0 once done >= total.
 */
export function estimateEtaMs(done: number, total: number, elapsedMs: number): number | null {
  if (total <= 0 || done >= total) return 0;
  if (done <= 0 || !(elapsedMs >= 0)) return null;
  return (elapsedMs / done) * (total - done);
}

/** A duration as `45s`, `3m05s` or `1h02m`; `--` for an unknown one. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "--";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The text of one progress line (no control characters). */
export function renderProgressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  opts: { width?: number; unit?: string; detail?: string } = {},
): string {
  const width = opts.width ?? 30;
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(frac * width);
  const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
  const unit = opts.unit ? ` ${opts.unit}` : "";
  const detail = opts.detail ? `, ${opts.detail}` : "";
  const eta = formatDuration(estimateEtaMs(done, total, elapsedMs));
  return `${label} [${"#".repeat(filled)}${
    ".".repeat(width - filled)
  }] ${pct} ${done}/${total}${unit}${detail} ETA ${eta}`;
}

/** Options of {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Text before the bar, e.g. `backtest` or `binance BTC/USDT 1h`. */
  label: string;
  /** Draw at all (see {@link progressEnabled}). */
  enabled: boolean;
  /** Unit after the counts, e.g. `bars`. */
  unit?: string;
  /** Where the bytes go (default stderr). */
  write?: (bytes: Uint8Array) => void;
  /** Clock in ms (default performance.now). */
  now?: () => number;
  /** Minimum ms between redraws, so a fast loop does not spend its time drawing (default 50). */
  minIntervalMs?: number;
}

/** True when a progress bar should be drawn: stderr is a terminal and not `--quiet`. */
export function progressEnabled(quiet: boolean): boolean {
  return !quiet && Deno.stderr.isTerminal();
}

/** A progress bar redrawn in place (`\r` + erase to end of line); a no-op when disabled. */
export class ProgressBar {
  #opts: ProgressBarOptions;
  #now: () => number;
  #start: number;
  #last = -Infinity;
  #drawn = false;
  #enc = new TextEncoder();

  constructor(opts: ProgressBarOptions) {
    this.#opts = opts;
    // performance.now must be called on `performance`, hence the arrow.
    this.#now = opts.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Redraws with `done` of `total` finished; `detail` is extra text after the counts. */
  update(done: number, total: number, detail?: string): void {
    if (!this.#opts.enabled) return;
    const now = this.#now();
    if (done < total && now - this.#last < (this.#opts.minIntervalMs ?? 50)) return;
    this.#last = now;
    const line = renderProgressLine(this.#opts.label, done, total, now - this.#start, {
      unit: this.#opts.unit,
      detail,
    });
    this.#write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  /** Ends the bar's line, so the next output starts on a fresh line. */
  finish(): void {
    if (this.#drawn) this.#write("\n");
    this.#drawn = false;
  }

  #write(s: string): void {
    const bytes = this.#enc.encode(s);
    if (this.#opts.write) this.#opts.write(bytes);
    else Deno.stderr.writeSync(bytes);
  }
}
