/**
 * The dataset catalog: the samples WagYu ships (`data/sample/`) and files users upload
 * (`data/datasets/`). Names are plain file names — `[A-Za-z0-9_.-]+`, no leading dot — so a
 * name can never reach outside these folders.
 *
 * @module
 */
import { DataFileError } from "./data_file_error.ts";
import { formatOf, loadBarsFromBytes, type LoadedBars } from "./load_bars.ts";
import { SAMPLE_SPECS } from "./generate_samples.ts";
import { sweepTempFiles, writeFileAtomic } from "./atomic_file.ts";
import { KV_DATASET_PREFIX, kvDatasets } from "./kv_datasets.ts";
import { storageFor } from "./storage_profile.ts";

/** Where datasets live. */
export interface DatasetDirs {
  /** Shipped samples. @default "<repo>/data/sample" */
  sampleDir?: string;
  /** User uploads. @default "<repo>/data/datasets" */
  uploadDir?: string;
}

/** One dataset in the catalog. */
export interface DatasetInfo {
  /** File name, the dataset's id in the API. */
  name: string;
  kind: "sample" | "upload";
  /** Absolute path on disk, or `kv://datasets/<name>` for an upload kept in Deno KV (deploy
   * profile); `loadBars` reads either. */
  path: string;
  format: "csv" | "json" | "parquet";
  /** Size in bytes. */
  size: number;
  /** Symbol guessed from a `<BASE>_<QUOTE>_<tf>.ext` name ("SAMPLE/USD"), or null. */
  symbol: string | null;
  /** Timeframe guessed from the name ("1d"), or null. */
  timeframe: string | null;
  /** Description (samples), or null. */
  description: string | null;
}

/** The dataset name is not allowed, or no dataset has it. */
export class DatasetError extends Error {
  /** "invalid" for a refused name, "not_found" for an unknown one, "exists" when taken. */
  readonly code: "invalid" | "not_found" | "exists";
  constructor(code: "invalid" | "not_found" | "exists", message: string) {
    super(message);
    this.name = "DatasetError";
    this.code = code;
  }
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** True for names that are safe file names: `[A-Za-z0-9_.-]+`, ≤ 128 chars, no leading dot. */
export function isValidDatasetName(name: string): boolean {
  return typeof name === "string" && name.length <= 128 && NAME_RE.test(name) &&
    !name.startsWith(".");
}

function dirsOf(dirs: DatasetDirs | string = {}): Required<DatasetDirs> {
  const d = typeof dirs === "string" ? { uploadDir: dirs } : dirs;
  return {
    sampleDir: d.sampleDir ?? new URL("../data/sample", import.meta.url).pathname,
    uploadDir: d.uploadDir ?? new URL("../data/datasets", import.meta.url).pathname,
  };
}

function guess(name: string): { symbol: string | null; timeframe: string | null } {
  const m = name.match(/^([A-Za-z0-9]+)_([A-Za-z0-9]+)_(\d+[smhdwM])\.[a-z]+$/);
  return m ? { symbol: `${m[1]}/${m[2]}`, timeframe: m[3] } : { symbol: null, timeframe: null };
}

async function listDir(dir: string, kind: "sample" | "upload"): Promise<DatasetInfo[]> {
  const out: DatasetInfo[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !isValidDatasetName(e.name)) continue;
      const format = formatOf(e.name);
      if (!format) continue;
      const path = `${dir}/${e.name}`;
      const size = (await Deno.stat(path)).size;
      const spec = kind === "sample" ? SAMPLE_SPECS.find((s) => s.file === e.name) : undefined;
      out.push({
        name: e.name,
        kind,
        path,
        format,
        size,
        ...guess(e.name),
        description: spec?.description ?? null,
      });
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const prepared = new Set<string>();

/**
 * Where uploads go: the folder, or Deno KV when the process may not write it (deploy profile,
 * `--allow-write` elsewhere). The first call for a folder also sweeps temp files that a
 * writer killed mid-write left there (or orphaned KV chunks).
 */
async function uploadStorage(uploadDir: string): Promise<"file" | "kv"> {
  const where = storageFor(uploadDir);
  const key = `${where}:${uploadDir}`;
  if (!prepared.has(key)) {
    prepared.add(key);
    if (where === "file") await sweepTempFiles(uploadDir);
    else await (await kvDatasets()).sweep().catch(() => 0);
  }
  return where;
}

async function listKv(): Promise<DatasetInfo[]> {
  const out: DatasetInfo[] = [];
  for (const b of await (await kvDatasets()).list()) {
    const format = formatOf(b.name);
    if (!format || !isValidDatasetName(b.name)) continue;
    out.push({
      name: b.name,
      kind: "upload",
      path: KV_DATASET_PREFIX + b.name,
      format,
      size: b.size,
      ...guess(b.name),
      description: null,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Lists the samples, then the uploads, each sorted by name. */
export async function listDatasets(dirs: DatasetDirs | string = {}): Promise<DatasetInfo[]> {
  const d = dirsOf(dirs);
  const kv = (await uploadStorage(d.uploadDir)) === "kv";
  const uploads = await listDir(d.uploadDir, "upload");
  if (kv) {
    const onDisk = new Set(uploads.map((u) => u.name));
    uploads.push(...(await listKv()).filter((u) => !onDisk.has(u.name)));
    uploads.sort((a, b) => a.name.localeCompare(b.name));
  }
  return [...await listDir(d.sampleDir, "sample"), ...uploads];
}

/** Throws `DatasetError("invalid")` unless `name` passes `isValidDatasetName`. */
export function checkDatasetName(name: string): void {
  if (!isValidDatasetName(name)) {
    throw new DatasetError(
      "invalid",
      `Invalid dataset name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-" only`,
    );
  }
}

/**
 * Returns the path of dataset `name` (samples first, then uploads); `DatasetError` for an
 * invalid or unknown name.
 */
export async function resolveDataset(
  name: string,
  dirs: DatasetDirs | string = {},
): Promise<string> {
  checkDatasetName(name);
  // Only what the listing shows: other files of the folders (README.md) are no datasets.
  if (!formatOf(name)) {
    throw new DatasetError(
      "not_found",
      `No dataset named ${JSON.stringify(name)} (datasets are .csv, .txt, .json or .parquet files)`,
    );
  }
  const d = dirsOf(dirs);
  for (const dir of [d.sampleDir, d.uploadDir]) {
    const path = `${dir}/${name}`;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  if ((await uploadStorage(d.uploadDir)) === "kv" && await (await kvDatasets()).stat(name)) {
    return KV_DATASET_PREFIX + name;
  }
  throw new DatasetError("not_found", `No dataset named ${JSON.stringify(name)}`);
}

/** Options of `saveDataset`. */
export interface SaveDatasetOptions extends DatasetDirs {
  /** Replace an existing upload of the same name. @default false */
  overwrite?: boolean;
  /** Largest accepted file. @default 200 MiB */
  maxBytes?: number;
}

/**
 * Validates an uploaded file by loading it (bad files throw `DataFileError`, nothing is
 * written), then stores it under the uploads folder atomically (temp file + rename).
 * Returns the catalog entry and the loaded bars with their quality report.
 */
export async function saveDataset(
  name: string,
  bytes: Uint8Array,
  opts: SaveDatasetOptions = {},
): Promise<{ info: DatasetInfo; loaded: LoadedBars }> {
  checkDatasetName(name);
  const format = formatOf(name);
  if (!format) {
    throw new DatasetError("invalid", `Dataset ${name} needs a .csv, .txt, .json or .parquet name`);
  }
  const max = opts.maxBytes ?? 200 * 1024 * 1024;
  if (bytes.length > max) {
    throw new DataFileError(
      name,
      -1,
      `${name}: file is ${bytes.length} bytes, over the ${max}-byte limit`,
    );
  }
  const d = dirsOf(opts);
  if (SAMPLE_SPECS.some((s) => s.file === name)) {
    throw new DatasetError("exists", `Dataset ${name} is a shipped sample; choose another name`);
  }
  const kv = (await uploadStorage(d.uploadDir)) === "kv";
  const path = kv ? KV_DATASET_PREFIX + name : `${d.uploadDir}/${name}`;
  if (!opts.overwrite) {
    const exists = kv ? (await (await kvDatasets()).stat(name)) !== null : await Deno.stat(path)
      .then(() => true, (e) => {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      });
    if (exists) throw new DatasetError("exists", `Dataset ${name} already exists`);
  }
  // Parse a copy: the Parquet reader may convert values in place.
  const loaded = await loadBarsFromBytes(bytes.slice(), name);
  // Atomic either way: temp file + fsync + rename, or KV chunks + one index commit.
  if (kv) await (await kvDatasets()).put(name, bytes);
  else await writeFileAtomic(path, bytes);
  return {
    info: {
      name,
      kind: "upload",
      path,
      format,
      size: bytes.length,
      ...guess(name),
      description: null,
    },
    loaded,
  };
}

/** Deletes an uploaded dataset (samples cannot be deleted). */
export async function deleteDataset(name: string, dirs: DatasetDirs = {}): Promise<void> {
  checkDatasetName(name);
  const uploadDir = dirsOf(dirs).uploadDir;
  const path = `${uploadDir}/${name}`;
  try {
    await Deno.remove(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotCapable) {
      if ((await uploadStorage(uploadDir)) === "kv" && await (await kvDatasets()).delete(name)) {
        return;
      }
      throw new DatasetError("not_found", `No uploaded dataset named ${JSON.stringify(name)}`);
    }
    throw e;
  }
}
