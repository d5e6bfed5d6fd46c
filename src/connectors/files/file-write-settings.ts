import type { FormatConfig } from '../../formats/format-config.js'

/** Part rotation and state flush bounds. */
export interface FileLimits {
  /** A part is completed once it holds this many (compressed) bytes... */
  maxPartBytes: number
  /** ...or this many rows. */
  maxPartRows: number
  /** A STATE waits at most this long for its stream's part to complete before the part is cut. */
  stateFlushMs: number
  /**
   * Encode Parquet/JSONL from Postgres COPY text in encoder threads (default true); false keeps
   * all encoding on the main thread.
   */
  encodeInThreads?: boolean
  /**
   * COPY bytes a stream sends to encoder threads before a second concurrent part may open
   * (default 32 MB): smaller streams stay one file per rotation, as on the main thread.
   */
  parallelPartsAfterBytes?: number
}

/** How a file destination lays out and rotates its files. */
export interface FileWriteSettings extends FileLimits {
  /** Key prefix of everything written (S3 bucket path); '' for none. */
  basePath: string
  pathFormat: string
  fileNamePattern: string
  format: FormatConfig
}

/** Airbyte's S3 docs aim at files of about 200 MB; the row bound keeps Parquet parts sane. */
export const DEFAULT_FILE_LIMITS: FileLimits = { maxPartBytes: 200 * 1024 * 1024, maxPartRows: 10_000_000, stateFlushMs: 60_000, encodeInThreads: true, parallelPartsAfterBytes: 32 * 1024 * 1024 }
