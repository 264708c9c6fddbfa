/**
 * Datasets: list the shipped samples and uploads, and upload a CSV, JSON or Parquet file.
 * An upload is validated by loading it with the market readers before anything is written;
 * a bad file gets 400 naming the row and the problem.
 *
 * @module
 */
import { Hono } from "hono";
import { type DatasetInfo, listDatasets, saveDataset } from "../market/datasets.ts";
import { ApiError, limitError } from "./api_error.ts";
import type { AppServices } from "./app_services.ts";
import { toApiError } from "./backtest_input.ts";
import { queryParams } from "./json_body.ts";
import { UploadQuerySchema } from "./schemas.ts";

/** A catalog entry as the API shows it (no server paths). */
function publicInfo(d: DatasetInfo) {
  const { path: _path, ...rest } = d;
  return rest;
}

/** Reads a request body up to `max` bytes, 413 beyond (checked while streaming). */
export async function readLimited(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) throw limitError(413, "maxUploadBytes", max, declared, "Upload");
  if (req.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw limitError(413, "maxUploadBytes", max, null, "Upload");
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** The dataset routes. */
export function datasetRoutes(s: AppServices) {
  const uploadDir = s.options.datasetsDir;
  return new Hono()
    .get("/api/datasets", async (c) => {
      const list = await listDatasets({ uploadDir });
      return c.json({ datasets: list.map(publicInfo) });
    })
    .post("/api/datasets", queryParams(UploadQuerySchema), async (c) => {
      const q = c.req.valid("query");
      const max = s.options.limits.maxUploadBytes;
      let bytes = await readLimited(c.req.raw, max);
      let name = q.name;
      const type = c.req.header("content-type") ?? "";
      if (type.startsWith("multipart/form-data")) {
        const form = await new Response(bytes as BodyInit, { headers: { "content-type": type } })
          .formData()
          .catch(() => {
            throw new ApiError(400, "invalid_upload", "Malformed multipart body", null);
          });
        const file = form.get("file");
        if (!(file instanceof File)) {
          throw new ApiError(400, "invalid_upload", 'Multipart upload needs a "file" field', null);
        }
        bytes = new Uint8Array(await file.arrayBuffer());
        name ??= file.name;
      }
      if (!name) {
        throw new ApiError(
          400,
          "invalid_upload",
          "Name the dataset: ?name=<file>.csv|json|parquet",
          {
            field: "name",
          },
        );
      }
      if (bytes.length === 0) {
        throw new ApiError(400, "invalid_upload", "The uploaded file is empty", null);
      }
      try {
        const { info, loaded } = await saveDataset(name, bytes, {
          uploadDir,
          overwrite: q.overwrite === "true",
          maxBytes: max,
        });
        const b = loaded.bars;
        return c.json({
          dataset: publicInfo(info),
          bars: b.length,
          start: b.length ? b.timestamp[0] : null,
          end: b.length ? b.timestamp[b.length - 1] : null,
          quality: loaded.quality,
        }, 201);
      } catch (err) {
        throw toApiError(err) ?? err;
      }
    });
}
