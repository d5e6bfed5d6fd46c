import type { RecordBatch, RecordChange } from '../protocol/index.js'

/** Per-sync values written into the Airbyte metadata columns. */
export interface EncodeContext {
  syncId: number
  generationId: number
}

/** Where an encoder sends its bytes; resolves once the bytes were accepted (backpressure). */
export type ChunkOutput = (chunk: Uint8Array) => Promise<void>

/**
 * Turns record batches of one stream into the bytes of one file (one part). An encoder holds at
 * most one row group in memory; `end` writes the trailer (Parquet footer).
 */
export interface RecordEncoder {
  /** Batches accepted by `write` and not yet encoded (encoder threads); 0 when `write` encodes at once. */
  readonly backlog: number
  write(batch: RecordBatch): Promise<void>
  end(): Promise<void>
  /** Releases resources after a failure; the part is discarded. */
  destroy(): void
}

/** `_airbyte_meta` of one row: the sync id plus source-side and conversion changes. */
export function airbyteMeta(syncId: number, changes: readonly RecordChange[] | undefined): string {
  return JSON.stringify({ sync_id: syncId, changes: changes ?? [] })
}

/** Merges two optional change lists. */
export function mergeChanges(a: readonly RecordChange[] | undefined, b: readonly RecordChange[] | undefined): RecordChange[] | undefined {
  if (!a?.length) return b?.length ? [...b] : undefined
  if (!b?.length) return [...a]
  return [...a, ...b]
}
