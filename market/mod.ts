/**
 * WagYu market data: readers for CSV / JSON / Parquet files with a data quality report, the
 * dataset catalog, the deterministic sample generator, the ccxt exchange loader and its
 * Parquet (or Deno KV) cache.
 *
 * @module
 */
export {
  DataFileError,
  formatOf,
  formatQuality,
  loadBars,
  loadBarsFromBytes,
  type LoadBarsOptions,
  type LoadedBars,
  parseCsv,
  parseJson,
  readCsv,
  readJson,
} from "./load_bars.ts";
export type { CleanOptions } from "./bars_builder.ts";
export type { GapInfo, GapReport, QualityReport } from "./quality.ts";
export {
  createLoader,
  type DataLoader,
  ExchangeLoader,
  FileLoader,
  getDefaultCaches,
  resolveDataSpec,
  type ResolveOptions,
  type TimeWindow,
} from "./data_loader.ts";
export {
  type CcxtLoaderOptions,
  createExchange,
  createMemoryCache,
  type ExchangeRequest,
  type FetchProgress,
  loadExchangeBars,
  parseExchangeSpec,
  SUPPORTED_EXCHANGES,
} from "./ccxt_loader.ts";
export { MarketDataError, type MarketDataErrorCode } from "./market_data_error.ts";
export {
  type CacheBackend,
  CacheCorruptError,
  type CacheEntry,
  type CacheKey,
  KvCache,
  openCache,
  type OpenCacheOptions,
  type ParquetEngine,
  ParquetFileCache,
  type ParquetFileCacheOptions,
} from "./parquet_cache.ts";
export { decodeParquet, writeParquetBytes } from "./parquet_codec.ts";
export { readParquetFile } from "./parquet_file_reader.ts";
export { isDeployProfile, storageFor } from "./storage_profile.ts";
export {
  checkDatasetName,
  DatasetError,
  type DatasetInfo,
  deleteDataset,
  isValidDatasetName,
  listDatasets,
  resolveDataset,
  saveDataset,
} from "./datasets.ts";
export { generateBars, type GenerateBarsOptions, writeCsv } from "./sample_data.ts";
export { LruCache } from "./lru_cache.ts";
