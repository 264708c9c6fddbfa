/**
 * zod schemas of every request body and answer of the API. They validate requests and are
 * the single source of the OpenAPI document (`z.toJSONSchema`), so the two cannot drift.
 *
 * @module
 */
import { z } from "zod";
import { type ObjectiveName, OBJECTIVES } from "../optimizer/objective.ts";
import type { WsMessageType } from "../jobs/ws_messages.ts";

/** A dataset name: a file name without directories (no path traversal). */
export const DatasetNameSchema = z.string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/,
    "expected letters, digits, _ . - (no slashes), starting with a letter or digit",
  )
  .refine((s) => !s.includes(".."), "must not contain '..'")
  .meta({ description: "Dataset name as listed by GET /api/datasets, e.g. GOOG.csv" });

/** Strategy source: user code or a template id. */
export const StrategySpecSchema = z.union([
  z.object({
    code: z.string().min(1).max(1_000_000).meta({
      description: "TypeScript or JavaScript module with a default-exported strategy class",
    }),
  }).strict(),
  z.object({
    template: z.string().regex(/^[a-z0-9_]{1,64}$/).meta({
      description: "Template id from GET /api/strategies, e.g. sma_cross",
    }),
  }).strict(),
], { error: 'expected { "code": "<source>" } or { "template": "<id>" }' });

/**
 * Inline bars `[[ts, open, high, low, close, volume], ...]`. Checked with a plain loop (a
 * million rows in ~80 ms, where a nested zod array takes over a second); the JSON Schema
 * still describes the row shape.
 */
export const BarRowsSchema = z.array(z.unknown()).superRefine((rows, ctx) => {
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (!Array.isArray(r) || r.length < 5 || r.length > 6) {
      ctx.addIssue({
        code: "custom",
        message: `Row ${i}: expected [timestamp, open, high, low, close, volume?]`,
        path: [i],
      });
      return;
    }
    for (let j = 0; j < r.length; j++) {
      if (typeof r[j] !== "number") {
        ctx.addIssue({
          code: "custom",
          message: `Row ${i} column ${j}: expected a number, got ${JSON.stringify(r[j])}`,
          path: [i, j],
        });
        return;
      }
    }
  }
}).meta({
  description: "ccxt-style rows: timestamp (ms UTC), open, high, low, close, volume",
  items: { type: "array", items: { type: "number" }, minItems: 5, maxItems: 6 },
});

/** Where the bars come from. */
export const DataSpecSchema = z.union([
  z.object({ dataset: DatasetNameSchema }).strict(),
  z.object({ bars: BarRowsSchema }).strict(),
  z.object({
    exchange: z.string().regex(/^[a-z0-9]{2,32}$/),
    symbol: z.string().regex(/^[A-Za-z0-9]{1,20}\/[A-Za-z0-9]{1,20}(:[A-Za-z0-9]{1,20})?$/),
    timeframe: z.string().regex(/^[0-9]{1,3}[smhdwM]$/),
    since: z.union([z.string(), z.number()]).optional(),
    until: z.union([z.string(), z.number()]).optional(),
  }).strict(),
], {
  error:
    'expected { "dataset": "<name>" }, { "bars": [[ts, o, h, l, c, v], ...] } or { "exchange", "symbol", "timeframe", "since"?, "until"? }',
});

/** Strategy parameters merged over the strategy's own. */
export const ParamsSchema = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

/** Backtest configuration (see docs/SEMANTICS.md); every field optional. */
export const ConfigSchema = z.object({
  cash: z.number().positive(),
  feeTaker: z.number().min(0).max(1),
  feeMaker: z.number().min(0).max(1),
  feeFixed: z.number().min(0),
  slippageBps: z.number().min(0).max(10_000),
  mode: z.enum(["long_only", "long_short"]),
  sizing: z.union([
    z.string().regex(/^(fraction|units|notional):\S+$/),
    z.object({ kind: z.enum(["fraction", "units", "notional"]), value: z.number().positive() }),
  ]).meta({ description: '"fraction:1" | "units:N" | "notional:N" (or { kind, value })' }),
  wholeUnits: z.boolean(),
  closeAtEnd: z.boolean(),
  annualization: z.number().positive().nullable(),
  leverage: z.number().positive(),
  maintenanceMargin: z.number().min(0).max(0.99),
  fillOn: z.enum(["next_open", "close"]),
}).partial().strict();

/** Body of /api/strategy/execute and /api/backtest/start. */
export const BacktestRequestSchema = z.object({
  strategy: StrategySpecSchema,
  data: DataSpecSchema,
  params: ParamsSchema.optional(),
  config: ConfigSchema.optional(),
}).strict();

/** Body of /api/strategy/compile. */
export const CompileRequestSchema = z.object({ code: z.string().min(1).max(1_000_000) }).strict();

/** A parameter axis of an optimization: an inclusive range or explicit values. */
export const ParamAxisSchema = z.union([
  z.object({ min: z.number(), max: z.number(), step: z.number().positive() }).strict(),
  z.object({ values: z.array(z.union([z.number(), z.string(), z.boolean()])).min(1) }).strict(),
], { error: "expected { min, max, step } or { values: [...] }" });

/**
 * Body of /api/optimization/start: what to run on (as a backtest request; `params` are held
 * fixed), the grid, and the search options of the optimizer (optimizer/run_optimization.ts).
 */
export const OptimizationRequestSchema = z.object({
  strategy: StrategySpecSchema,
  data: DataSpecSchema,
  params: ParamsSchema.optional(),
  config: ConfigSchema.optional(),
  grid: z.object({
    params: z.record(z.string().regex(/^[A-Za-z_]\w{0,63}$/), ParamAxisSchema),
    constraints: z.array(z.string().max(200)).max(50).optional().meta({
      description: 'Constraints between parameters, e.g. ["fast < slow"]',
    }),
  }).strict(),
  search: z.union([
    z.object({ kind: z.literal("grid") }).strict(),
    z.object({
      kind: z.literal("random"),
      samples: z.number().int().positive(),
      seed: z.number().int().optional(),
    }).strict(),
  ]).optional(),
  objective: z.enum(OBJECTIVES as [ObjectiveName, ...ObjectiveName[]]).optional(),
  filters: z.array(z.string().max(100)).max(20).optional().meta({
    description: 'Metric filters, e.g. ["trades>=10"]',
  }),
  top: z.number().int().positive().max(1000).optional(),
  backend: z.enum(["auto", "workers", "webgpu", "gpujs", "cpu"]).optional(),
}).strict();

/** Job statuses. */
export const JobStatusSchema = z.enum(["queued", "running", "completed", "failed", "cancelled"]);

/** Query of GET /api/backtests. */
export const ListJobsQuerySchema = z.object({
  status: JobStatusSchema.optional(),
  kind: z.enum(["backtest", "optimization"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(1000).optional(),
}).strict();

/** Query of POST /api/datasets. */
export const UploadQuerySchema = z.object({
  name: DatasetNameSchema.refine(
    (s) => /\.(csv|json|parquet)$/i.test(s),
    "must end with .csv, .json or .parquet",
  ).optional(),
  overwrite: z.enum(["true", "false"]).optional(),
}).strict();

/** The error envelope. */
export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown() }),
});

/** A job as the API shows it. */
export const JobViewSchema = z.object({
  job_id: z.string(),
  kind: z.enum(["backtest", "optimization"]),
  status: JobStatusSchema,
  progress: z.number(),
  equity: z.number().nullable().optional(),
  error: z.string().nullable(),
  error_details: z.object({ code: z.string() }).passthrough().nullable(),
  created_at: z.number(),
  started_at: z.number().nullable(),
  finished_at: z.number().nullable(),
  attempts: z.number(),
  notes: z.array(z.string()),
  summary: z.record(z.string(), z.unknown()).nullable(),
  result: z.unknown().optional(),
  result_url: z.string().optional(),
});

/** Answer of the start endpoints. */
export const JobStartedSchema = z.object({ job_id: z.string(), status: JobStatusSchema });

/** Answer of GET /api/backtests. */
export const JobListSchema = z.object({
  jobs: z.array(JobViewSchema),
  next_cursor: z.string().nullable(),
});

/** The WebSocket message (documented in the OpenAPI document's components). */
export const WsMessageSchema = z.object({
  type: z.enum(["progress", "complete", "error", "optimization_progress", "trade", "snapshot"]),
  job_id: z.string(),
  data: z.object({
    progress: z.number().optional(),
    equity: z.number().optional(),
    result: z.unknown().optional(),
    error: z.string().optional(),
    details: z.object({ code: z.string() }).passthrough().optional(),
    status: JobStatusSchema.optional(),
    result_url: z.string().optional(),
    trades: z.array(z.unknown()).optional(),
  }).passthrough(),
});

// The documented message types are exactly the ones jobs/ws_messages.ts types: a kind added
// or removed on one side only fails `deno check` here.
type DocumentedWsType = z.infer<typeof WsMessageSchema>["type"];
const _wsTypesMatch: [DocumentedWsType] extends [WsMessageType]
  ? [WsMessageType] extends [DocumentedWsType] ? true : never
  : never = true;

/** Validated backtest request. */
export type BacktestRequest = z.infer<typeof BacktestRequestSchema>;
/** Validated optimization request. */
export type OptimizationRequest = z.infer<typeof OptimizationRequestSchema>;
