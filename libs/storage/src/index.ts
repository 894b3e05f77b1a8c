// @drover/storage: one URL-addressed storage interface over memory, local files, S3, GCS
// and rsync (daemon or ssh). Exports are chosen by hand; backends load lazily via openStorage.
export { openStorage } from "./open.ts";
export { StoragePool, type PooledStorage, type StoragePoolOptions } from "./pool.ts";
export type { OpenStorageOptions, S3Options, GcsOptions, RsyncOptions, LocalFileOptions } from "./options.ts";
export { parseStorageUrl, redact as redactStorageUrl, type ParsedUrl } from "./url.ts";
export { StorageError, STORAGE_ERROR_KINDS, STORAGE_ERROR_DOCS, isStorageError, toStorageError, type StorageErrorKind } from "./errors.ts";
export type {
  Storage,
  StorageScheme,
  Capabilities,
  ObjectInfo,
  PrefixEntry,
  ListEntry,
  ListOptions,
  ReadOptions,
  ByteRange,
  WriteBody,
  WriteOptions,
  OpOptions,
  PresignOptions,
} from "./types.ts";
export { clearMemoryBucket } from "./backends/memory.ts";
export { uploadDir, sha256Of, type DirTransferOptions, type DirTransferSummary } from "./transfer/upload-dir.ts";
export { downloadDir } from "./transfer/download-dir.ts";
export { walkLocalTree, type LocalFile } from "./transfer/local-tree.ts";
export { downloadFile, type DownloadFileOptions, type DownloadFileResult } from "./transfer/download-file.ts";
export { copyObject, copyPrefix, type CopyObjectOptions } from "./transfer/copy.ts";
export { withRetry, type RetryOptions } from "./transfer/retry.ts";
export type { TransferProgress, ProgressListener } from "./transfer/progress.ts";
export { sha256Hex, hashFile, toNodeReadable } from "./streams.ts";
