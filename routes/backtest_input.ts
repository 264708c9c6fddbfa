/**
 * Turns a validated backtest request (`{ strategy, data, params, config }`) into what the
 * sandbox runs: the strategy source, the bars and the engine configuration; and maps the
 * errors of those steps and of the run to API errors.
 *
 * @module
 */
import type { Bars } from "../engine/types.ts";
import { BarsError, barsFromRows } from "../engine/bars.ts";
import { type ConfigInput, parseSizing, resolveConfig } from "../engine/config.ts";
import { TEMPLATES } from "../examples/index.ts";
import { DataFileError, loadBars } from "../market/load_bars.ts";
import { SandboxError } from "../jobs/sandbox.ts";
import { OptimizationMemoryError } from "../optimizer/backends/isolated_pool.ts";
import { ComboTimeoutError } from "../optimizer/backends/pool_protocol.ts";
import { StrategyError } from "../engine/backtest.ts";
import type { JobFailure } from "../jobs/job_queue.ts";
import type { JobErrorDetails } from "../jobs/job_store.ts";
import { ApiError, limitError } from "./api_error.ts";
import type { BacktestRequest } from "./schemas.ts";
import type { ServerLimits } from "./server_options.ts";
import { DatasetError, resolveDataset } from "../market/datasets.ts";
import {
  type CcxtLoaderOptions,
  loadExchangeBars,
  SUPPORTED_EXCHANGES,
  timeframeMs,
} from "../market/ccxt_loader.ts";
import { MarketDataError } from "../market/market_data_error.ts";
import { BackendUnavailableError } from "../gpu/backend_unavailable_error.ts";

/** What the sandbox needs for one run. */
export interface PreparedBacktest {
  code: string;
  /** Template id, or null for user code. */
  template: string | null;
  bars: Bars;
  /** Where the bars came from (dataset name, "inline", exchange spec). */
  source: string;
  params: Record<string, number | string | boolean>;
  config: ConfigInput;
}

/** Dependencies of {@link prepareBacktest}. */
export interface PrepareOptions {
  limits: ServerLimits;
  /** Folder of uploaded datasets. */
  datasetsDir: string;
  /** Caches of exchange data (opened on first use). */
  exchange?: () => Promise<Pick<CcxtLoaderOptions, "cache" | "memory">>;
}

function timeMs(field: string, v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === "number" ? v : Date.parse(v);
  if (!Number.isFinite(t)) {
    throw new ApiError(
      400,
      "invalid_request",
      `data.${field}: expected ms or an ISO date, got ${JSON.stringify(v)}`,
      {
        field: `data.${field}`,
      },
    );
  }
  return t;
}

const ROOT = new URL("../", import.meta.url);

/** The source of a template, or 404. */
export async function templateSource(id: string): Promise<string> {
  const t = TEMPLATES.find((t) => t.id === id);
  if (!t) {
    throw new ApiError(404, "template_not_found", `Unknown strategy template "${id}"`, {
      template: id,
      available: TEMPLATES.map((t) => t.id),
    });
  }
  return await Deno.readTextFile(new URL(t.file, ROOT));
}

/** The strategy source of a request. */
export async function strategyCode(
  spec: BacktestRequest["strategy"],
): Promise<{ code: string; template: string | null }> {
  if ("template" in spec) {
    return { code: await templateSource(spec.template), template: spec.template };
  }
  return { code: spec.code, template: null };
}

/** Converts the API's config (sizing as "fraction:1") into the engine's, validating it. */
export function configInput(config: BacktestRequest["config"]): ConfigInput {
  if (!config) return {};
  const { sizing, ...rest } = config;
  try {
    const out: ConfigInput = { ...rest };
    if (sizing !== undefined) {
      out.sizing = typeof sizing === "string" ? parseSizing(sizing) : sizing;
    }
    resolveConfig(out);
    return out;
  } catch (err) {
    if (err instanceof RangeError) {
      throw new ApiError(400, "invalid_config", err.message, { field: "config" });
    }
    throw err;
  }
}

/**
 * Checks an exchange data spec without any network or ccxt work, for the start routes: the
 * exchange is one of the supported, the timeframe parses, `since` / `until` are times in
 * order. What only the exchange knows (its symbols, its timeframes) is the job's to find.
 */
export function checkExchangeData(data: BacktestRequest["data"]): void {
  if (!("exchange" in data)) return;
  if (!(SUPPORTED_EXCHANGES as readonly string[]).includes(data.exchange)) {
    throw toApiError(
      new MarketDataError(
        "unknown_exchange",
        `Unknown exchange "${data.exchange}" (supported: ${SUPPORTED_EXCHANGES.join(", ")})`,
      ),
    )!;
  }
  if (!(timeframeMs(data.timeframe) > 0)) {
    throw toApiError(
      new MarketDataError("unknown_timeframe", `Unknown timeframe "${data.timeframe}"`),
    )!;
  }
  const since = timeMs("since", data.since), until = timeMs("until", data.until);
  if (since !== undefined && until !== undefined && !(since < until)) {
    throw new ApiError(
      400,
      "invalid_request",
      `data.since (${new Date(since).toISOString()}) must be before data.until (${
        new Date(until).toISOString()
      })`,
      { field: "data.since" },
    );
  }
}

/** Loads the bars a request names, enforcing `maxBars`. */
export async function requestBars(
  data: BacktestRequest["data"],
  opts: PrepareOptions,
): Promise<{ bars: Bars; source: string }> {
  const { maxBars } = opts.limits;
  if ("bars" in data) {
    if (data.bars.length > maxBars) {
      throw limitError(413, "maxBars", maxBars, data.bars.length, "Inline bars");
    }
    try {
      return { bars: barsFromRows(data.bars as number[][]), source: "inline" };
    } catch (err) {
      if (err instanceof BarsError) {
        throw new ApiError(400, "invalid_bars", `data.bars: ${err.message}`, { row: err.row });
      }
      throw err;
    }
  }
  if ("dataset" in data) {
    const path = await resolveDataset(data.dataset, { uploadDir: opts.datasetsDir });
    const { bars } = await loadBars(path);
    if (bars.length > maxBars) {
      throw limitError(413, "maxBars", maxBars, bars.length, `Dataset ${data.dataset}`);
    }
    return { bars, source: data.dataset };
  }
  checkExchangeData(data);
  const req = {
    exchange: data.exchange,
    symbol: data.symbol,
    timeframe: data.timeframe,
    since: timeMs("since", data.since),
    until: timeMs("until", data.until),
  };
  const { bars, source } = await loadExchangeBars(req, (await opts.exchange?.()) ?? {});
  if (bars.length > maxBars) {
    throw limitError(413, "maxBars", maxBars, bars.length, `Exchange data ${source}`);
  }
  return { bars, source };
}

/** Resolves a validated request into what the sandbox runs. */
export async function prepareBacktest(
  req: BacktestRequest,
  opts: PrepareOptions,
): Promise<PreparedBacktest> {
  const config = configInput(req.config);
  const { code, template } = await strategyCode(req.strategy);
  const { bars, source } = await requestBars(req.data, opts);
  return { code, template, bars, source, params: req.params ?? {}, config };
}

/**
 * Most characters of console output an error's details keep (the API's answer, and a failed
 * job's record, which is one KV value of at most 64 KiB with its notes and summary).
 */
export const ERROR_LOG_CHARS = 8000;

/**
 * Maps an error from preparing or running a backtest to the API error a client should see,
 * or null for an unexpected (internal) error.
 */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof SandboxError) {
    const details = {
      kind: err.kind,
      bar: err.bar,
      diagnostics: err.diagnostics,
      logs: lastLines(err.logs, ERROR_LOG_CHARS),
    };
    if (err.kind === "compile") {
      return new ApiError(422, "strategy_compile_error", err.message, details);
    }
    if (err.kind === "cancelled") return new ApiError(409, "cancelled", err.message, details);
    return new ApiError(422, `strategy_${err.kind}_error`, err.message, details);
  }
  // An optimization's combination failed in the strategy's code (sandboxed backtests come
  // as SandboxError above).
  if (err instanceof StrategyError) {
    return new ApiError(422, "strategy_runtime_error", err.message, {
      kind: "runtime",
      bar: err.bar >= 0 ? err.bar : null,
    });
  }
  if (err instanceof ComboTimeoutError) {
    return new ApiError(422, "strategy_timeout_error", err.message, { kind: "timeout" });
  }
  if (err instanceof OptimizationMemoryError) {
    return new ApiError(422, "strategy_memory_error", err.message, { kind: "memory" });
  }
  if (err instanceof BackendUnavailableError) {
    return new ApiError(422, "backend_unavailable", err.message, { backend: err.backend });
  }
  if (err instanceof DataFileError) {
    return new ApiError(400, "invalid_data", err.message, { file: err.file, row: err.row });
  }
  if (err instanceof BarsError) {
    return new ApiError(400, "invalid_bars", err.message, { row: err.row });
  }
  if (err instanceof DatasetError) {
    const status = err.code === "not_found" ? 404 : err.code === "exists" ? 409 : 400;
    const code = err.code === "not_found"
      ? "dataset_not_found"
      : err.code === "exists"
      ? "dataset_exists"
      : "invalid_dataset_name";
    return new ApiError(status, code, err.message, null);
  }
  if (err instanceof MarketDataError) {
    const unavailable = err.code === "offline" || err.code === "exchange";
    return new ApiError(
      unavailable ? 422 : 400,
      unavailable ? "data_unavailable" : err.code,
      err.message,
      {
        reason: err.code,
      },
    );
  }
  return null;
}

/**
 * What a failed job stores for a known error: the API error's message, code and details
 * (their logs already cut to {@link ERROR_LOG_CHARS}). Null for an unexpected (internal)
 * error.
 */
export function jobFailure(err: unknown): JobFailure | null {
  const known = toApiError(err);
  if (known === null) return null;
  const details: JobErrorDetails = { code: known.code };
  if (known.details !== null && typeof known.details === "object") {
    Object.assign(details, known.details, { code: known.code });
  }
  if (Array.isArray(details.diagnostics)) details.diagnostics = details.diagnostics.slice(0, 20);
  return { message: known.message, details };
}

/**
 * The last of `lines` that fit in `chars` characters, in order; the oldest kept line is cut
 * at its end when it alone does not fit, and a first line says how many were left out.
 */
export function lastLines(lines: readonly unknown[], chars: number): string[] {
  const kept: string[] = [];
  let left = chars;
  let i = lines.length - 1;
  for (; i >= 0 && left > 0; i--) {
    const line = String(lines[i]);
    if (line.length > left) {
      kept.push(line.slice(0, left) + "…");
      left = 0;
    } else {
      kept.push(line);
      left -= line.length;
    }
  }
  if (i >= 0) kept.push(`[${i + 1} earlier line${i === 0 ? "" : "s"} not kept]`);
  return kept.reverse();
}
