import type { StreamDescriptor } from './catalog.js'

/** Airbyte's record meta change (`AirbyteRecordMessageMetaChange`). */
export interface RecordChange {
  field: string
  change: 'NULLED' | 'TRUNCATED'
  reason: string
}

/** A JSON-compatible value as a source produced it (big integers and decimals may stay strings). */
export type RecordValue = unknown
export type RecordData = Record<string, RecordValue>

/**
 * Column-major view of a batch: `columns[i][r]` is the value of column `names[i]` in row r.
 * Sources that decode typed data (COPY, Parquet...) hand these to columnar writers without
 * building one object per row.
 */
export interface ColumnarRecords {
  names: string[]
  columns: RecordValue[][]
}

/**
 * PostgreSQL COPY text format bytes (tab-separated, `\N` for NULL, one row per line) with the
 * column names and Postgres type names they were produced with. A Postgres destination can
 * stream these straight into `COPY FROM STDIN`.
 */
export interface PgCopyText {
  columns: string[]
  /** Postgres type names (`format_type` output) of each column, same order. */
  pgTypes: string[]
  data: Buffer
}

/** A column holding one value in every row of a batch. */
export interface ConstantColumn {
  name: string
  /** Postgres type name (`format_type` output). */
  pgType: string
  /** The value as its COPY text field would carry it, unescaped; null for NULL. */
  value: string | null
}

/**
 * The rows of a batch's `pgCopyText` in two parts: COPY text of the leading columns, and the
 * trailing `constants`, whose values every row shares. A destination that can give a column one
 * value for many rows (a Postgres column default) loads fewer bytes from it than from
 * `pgCopyText`, which a batch carrying this builds only when asked.
 */
export interface PgCopyTextWithConstants {
  lead: PgCopyText
  constants: ConstantColumn[]
}

/** The columns and types of the whole rows (those of the batch's `pgCopyText`), without building them. */
export function wholeCopyShape(split: PgCopyTextWithConstants): Pick<PgCopyText, 'columns' | 'pgTypes'> {
  return {
    columns: [...split.lead.columns, ...split.constants.map((c) => c.name)],
    pgTypes: [...split.lead.pgTypes, ...split.constants.map((c) => c.pgType)],
  }
}

/**
 * A source's promise about the rows of an initial snapshot (a stream's first full copy before
 * its changes): batches of one read carrying the same `scope` were read in one consistent
 * database snapshot, so no value of the `uniqueKey` columns (never NULL) occurs twice among
 * them, and none of the rows is a delete. A dedup destination whose table was empty when its
 * write began may load such rows without merging them while every batch it has received
 * carries the same scope.
 */
export interface InitialSnapshotHint {
  scope: string
  /** Columns (record property names) whose values are unique and not NULL within the scope. */
  uniqueKey: string[]
}

/**
 * A batch of records of one stream: the unit that moves between source, engine and
 * destination. `rows()` is always available (materialised lazily and cached by the producer);
 * `columns()` and `pgCopyText` are optional fast representations a destination may use when it
 * understands them. `count` and `bytes` are exact counts for stats (bytes = the size of the
 * records serialised as JSON, or an equivalent measure the source documents).
 */
export interface RecordBatch {
  type: 'RECORD_BATCH'
  stream: StreamDescriptor
  /** Extraction time of the batch, epoch ms (Airbyte's `emitted_at`). */
  emittedAt: number
  count: number
  bytes: number
  rows(): RecordData[]
  columns?(): ColumnarRecords
  pgCopyText?: PgCopyText
  /** `pgCopyText` with its trailing constant columns apart (see the type); never without `pgCopyText`. */
  pgCopyTextWithConstants?: PgCopyTextWithConstants
  /**
   * Airbyte RECORD message lines (one JSON message per line, each ending in a newline) for
   * exactly these records, with the batch's stream and namespace in them. An Airbyte-protocol
   * destination process copies them to its input unchanged (external -> external without
   * re-encoding). A batch whose stream is renamed on the way must not carry it.
   */
  airbyteRecordLines?: Buffer
  /** Source-side changes per row index, when any (rare). */
  changes?: ReadonlyMap<number, RecordChange[]>
  /** Set on rows of a stream's initial snapshot read in one database snapshot (see the type). */
  initialSnapshot?: InitialSnapshotHint
}

/** STREAM-type state: the complete state of one stream. `data === null` means "reset". */
export interface StateMessage {
  type: 'STATE'
  stream: StreamDescriptor
  data: Record<string, unknown> | null
  /** Records of this stream emitted since the previous state of the stream (engine-filled). */
  recordCount?: number
}

export type LogLevel = 'FATAL' | 'ERROR' | 'WARN' | 'INFO' | 'DEBUG' | 'TRACE'

export interface LogMessage {
  type: 'LOG'
  level: LogLevel
  message: string
}

export type StreamStatus = 'STARTED' | 'RUNNING' | 'COMPLETE' | 'INCOMPLETE'

export interface StreamStatusMessage {
  type: 'STREAM_STATUS'
  stream: StreamDescriptor
  status: StreamStatus
}

export interface EstimateMessage {
  type: 'ESTIMATE'
  stream: StreamDescriptor
  rowEstimate?: number
  byteEstimate?: number
}

/** Everything a source's `read` may yield. */
export type SourceMessage = RecordBatch | StateMessage | LogMessage | StreamStatusMessage | EstimateMessage

/** Everything a destination's `write` receives: records, states, and stream completion. */
export type DestinationMessage = RecordBatch | StateMessage | StreamStatusMessage

export function isRecordBatch(m: { type: string }): m is RecordBatch {
  return m.type === 'RECORD_BATCH'
}

/** Builds a row-object batch; bytes default to the JSON size of the rows. */
export function rowBatch(
  stream: StreamDescriptor,
  rows: RecordData[],
  opts: { emittedAt?: number; bytes?: number } = {},
): RecordBatch {
  return {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: opts.emittedAt ?? Date.now(),
    count: rows.length,
    bytes: opts.bytes ?? Buffer.byteLength(JSON.stringify(rows)) - rows.length - 1,
    rows: () => rows,
  }
}
