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
  /** Absolute path on disk. */
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

/** Lists the samples, then the uploads, each sorted by name. */
export async function listDatasets(dirs: DatasetDirs | string = {}): Promise<DatasetInfo[]> {
  const d = dirsOf(dirs);
  return [...await listDir(d.sampleDir, "sample"), ...await listDir(d.uploadDir, "upload")];
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
  const d = dirsOf(dirs);
  for (const dir of [d.sampleDir, d.uploadDir]) {
    const path = `${dir}/${name}`;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
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
  const path = `${d.uploadDir}/${name}`;
  if (!opts.overwrite) {
    try {
      await Deno.stat(path);
      throw new DatasetError("exists", `Dataset ${name} already exists`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  // Parse a copy: the Parquet reader may convert values in place.
  const loaded = await loadBarsFromBytes(bytes.slice(), name);
  await Deno.mkdir(d.uploadDir, { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  await Deno.writeFile(tmp, bytes);
  await Deno.rename(tmp, path);
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
  const path = `${dirsOf(dirs).uploadDir}/${name}`;
  try {
    await Deno.remove(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new DatasetError("not_found", `No uploaded dataset named ${JSON.stringify(name)}`);
    }
    throw e;
  }
}
