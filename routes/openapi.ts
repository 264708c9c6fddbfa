/**
 * The OpenAPI 3.1 document of the API, generated from the zod schemas the routes validate
 * with (`z.toJSONSchema`), so the document and the validation cannot disagree.
 *
 * @module
 */
import { z } from "zod";
import {
  BacktestRequestSchema,
  CompileRequestSchema,
  ErrorSchema,
  JobListSchema,
  JobStartedSchema,
  JobViewSchema,
  ListJobsQuerySchema,
  OptimizationRequestSchema,
  UploadQuerySchema,
  WsMessageSchema,
} from "./schemas.ts";
import type { ServerOptions } from "./server_options.ts";
import { LIMIT_ENV } from "./server_options.ts";

type Json = Record<string, unknown>;

function schema(s: z.ZodType, io: "input" | "output" = "input"): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Json;
  return rest;
}

interface Op {
  method: "get" | "post";
  path: string;
  summary: string;
  body?: z.ZodType;
  bodyType?: string;
  query?: z.ZodObject;
  ok: { status: number; schema?: z.ZodType; description: string };
  errors: number[];
  mutating?: boolean;
}

const ERR = "#/components/schemas/Error";

const OPS: Op[] = [
  {
    method: "post",
    path: "/api/strategy/compile",
    summary: "Validate strategy code: diagnostics with line and column, default params",
    body: CompileRequestSchema,
    ok: { status: 200, description: "{ ok, diagnostics, params?, warnings? }" },
    errors: [400, 413],
    mutating: true,
  },
  {
    method: "post",
    path: "/api/strategy/execute",
    summary: "Run a backtest synchronously and return the result (same JSON as the CLI's --json)",
    body: BacktestRequestSchema,
    ok: { status: 200, description: "The backtest result" },
    errors: [400, 404, 413, 422, 429],
    mutating: true,
  },
  {
    method: "post",
    path: "/api/backtest/start",
    summary: "Start an asynchronous backtest job",
    body: BacktestRequestSchema,
    ok: { status: 202, schema: JobStartedSchema, description: "The job id" },
    errors: [400, 404, 413, 422, 429],
    mutating: true,
  },
  {
    method: "get",
    path: "/api/backtest/{id}/status",
    summary: "Job status, with the result once completed (?result=false leaves it out)",
    ok: { status: 200, schema: JobViewSchema, description: "The job" },
    errors: [404],
  },
  {
    method: "get",
    path: "/api/backtest/{id}/result",
    summary: "The result of a completed job",
    ok: { status: 200, description: "The backtest result" },
    errors: [404, 409],
  },
  {
    method: "get",
    path: "/api/backtest/{id}/report",
    summary: "Self-contained HTML report of a completed backtest (charts, monthly returns, " +
      "metrics, trades; chart.js inlined)",
    ok: { status: 200, description: "text/html" },
    errors: [404, 409],
  },
  {
    method: "post",
    path: "/api/backtest/{id}/cancel",
    summary: "Cancel a queued or running job",
    ok: { status: 200, schema: JobViewSchema, description: "The cancelled job" },
    errors: [404, 409],
    mutating: true,
  },
  {
    method: "get",
    path: "/api/backtests",
    summary: "List jobs, newest first (filter by status, page with next_cursor)",
    query: ListJobsQuerySchema,
    ok: { status: 200, schema: JobListSchema, description: "A page of jobs" },
    errors: [400],
  },
  {
    method: "post",
    path: "/api/optimization/start",
    summary: "Start a parameter optimization job",
    body: OptimizationRequestSchema,
    ok: { status: 202, schema: JobStartedSchema, description: "The job id" },
    errors: [400, 404, 413, 422, 429],
    mutating: true,
  },
  {
    method: "get",
    path: "/api/optimization/{id}/status",
    summary: "Optimization status, with the result once completed",
    ok: { status: 200, schema: JobViewSchema, description: "The job" },
    errors: [404],
  },
  {
    method: "get",
    path: "/api/optimization/{id}/result",
    summary: "The result of a completed optimization",
    ok: { status: 200, description: "The optimization result" },
    errors: [404, 409],
  },
  {
    method: "post",
    path: "/api/optimization/{id}/cancel",
    summary: "Cancel a queued or running optimization",
    ok: { status: 200, schema: JobViewSchema, description: "The cancelled job" },
    errors: [404, 409],
    mutating: true,
  },
  {
    method: "get",
    path: "/api/strategies",
    summary: "Strategy templates with their source and default params",
    ok: {
      status: 200,
      description: "{ templates: [{ id, name, description, file, params, source }] }",
    },
    errors: [],
  },
  {
    method: "get",
    path: "/api/datasets",
    summary: "Datasets the server can run on",
    ok: { status: 200, description: "{ datasets: [...] }" },
    errors: [],
  },
  {
    method: "post",
    path: "/api/datasets",
    summary:
      "Upload a CSV, JSON or Parquet dataset (raw body with ?name=, or multipart field file)",
    bodyType: "application/octet-stream",
    query: UploadQuerySchema,
    ok: { status: 201, description: "The stored dataset with its bar count and quality report" },
    errors: [400, 409, 413],
    mutating: true,
  },
  {
    method: "get",
    path: "/api/stats",
    summary: "Server statistics: jobs by status, queue, workers, memory, throughput",
    ok: { status: 200, description: "Statistics" },
    errors: [],
  },
  {
    method: "get",
    path: "/api/health",
    summary: "Liveness and KV store check",
    ok: { status: 200, description: "{ status: 'ok', ... }" },
    errors: [],
  },
  {
    method: "get",
    path: "/api/openapi.json",
    summary: "This document",
    ok: { status: 200, description: "OpenAPI 3.1" },
    errors: [],
  },
];

const STATUS_TEXT: Record<number, string> = {
  400: "Invalid input",
  401: "API token missing or wrong (only when WAGYU_API_TOKEN is set)",
  403: "Origin not allowed",
  404: "Unknown id or name",
  409: "Wrong state",
  413: "Too large (the limit is named in the error)",
  422: "Strategy does not compile or failed",
  429: "Queue full or too many requests (the limit is named in the error)",
  500: "Internal error (logged with the id in details)",
};

/** Builds the OpenAPI document for a server with `opts`' limits. */
export function openApiDocument(opts: ServerOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of OPS) {
    const operation: Json = { summary: op.summary, responses: {} };
    const params: Json[] = [];
    for (const m of op.path.matchAll(/\{(\w+)\}/g)) {
      params.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
    }
    if (op.query) {
      const q = schema(op.query) as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, s] of Object.entries(q.properties ?? {})) {
        params.push({
          name,
          in: "query",
          required: q.required?.includes(name) ?? false,
          schema: s,
        });
      }
    }
    if (params.length) operation.parameters = params;
    if (op.body) {
      operation.requestBody = {
        required: true,
        content: { "application/json": { schema: schema(op.body) } },
      };
    } else if (op.bodyType) {
      operation.requestBody = {
        required: true,
        content: { [op.bodyType]: { schema: { type: "string", format: "binary" } } },
      };
    }
    const responses = operation.responses as Record<string, Json>;
    responses[String(op.ok.status)] = {
      description: op.ok.description,
      content: {
        "application/json": { schema: op.ok.schema ? schema(op.ok.schema, "output") : {} },
      },
    };
    const errs = [...op.errors, 500];
    if (op.mutating) errs.push(401, 403);
    for (const code of errs.sort()) {
      responses[String(code)] = {
        description: STATUS_TEXT[code],
        content: { "application/json": { schema: { $ref: ERR } } },
      };
    }
    (paths[op.path] ??= {})[op.method] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "WagYu API",
      version: "0.1.0",
      description: "Backtests, optimizations, datasets and job streaming. WebSockets: " +
        "/ws/backtest/{job_id} (one job) and /ws/backtests (all jobs) send WsMessage " +
        "({ type, job_id, data }). Limits: " +
        Object.entries(opts.limits).map(([k, v]) =>
          `${k}=${v} (${LIMIT_ENV[k as keyof typeof LIMIT_ENV]})`
        ).join(", "),
    },
    paths,
    components: {
      schemas: {
        Error: schema(ErrorSchema, "output"),
        WsMessage: schema(WsMessageSchema, "output"),
        BacktestRequest: schema(BacktestRequestSchema),
      },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  };
}
