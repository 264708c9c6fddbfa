/**
 * Uploaded datasets kept in Deno KV (the deploy profile: no writable disk). Their catalog
 * path is `kv://datasets/<name>`, which `loadBars` reads like a file.
 *
 * @module
 */
import { KvBlobStore } from "./kv_blob_store.ts";
import { sharedKv } from "./storage_profile.ts";

/** Path prefix of datasets stored in KV. */
export const KV_DATASET_PREFIX = "kv://datasets/";

let store: Promise<KvBlobStore> | null = null;

/** The process's KV dataset store (`sharedKv()`, key prefix ["wagyu", "datasets"]). */
export function kvDatasets(): Promise<KvBlobStore> {
  store ??= sharedKv().then((kv) => new KvBlobStore(kv, ["wagyu", "datasets"]));
  store.catch(() => store = null);
  return store;
}

/** True for a `kv://datasets/<name>` path. */
export function isKvDatasetPath(path: string): boolean {
  return path.startsWith(KV_DATASET_PREFIX);
}
