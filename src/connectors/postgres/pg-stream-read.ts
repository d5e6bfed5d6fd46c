import type { ConfiguredStream, RunOptions, StreamDescriptor } from '../../protocol/index.js'
import type { PgClient } from './pg-client.js'
import type { PgColumn } from './pg-source-types.js'
import type { RelationInfo, SelectedColumn } from './pg-relations.js'

/** Tuning knobs of the source (tests lower them to exercise batching and checkpoints). */
export interface PostgresSourceOptions {
  /** Target size of one record batch in COPY text bytes. */
  batchBytes: number
  /** Minimum rows between intermediate checkpoints (cursor reads; CDC changes, cut at commits). */
  checkpointRows: number
  /** Heap bytes per chunk of a CDC initial snapshot: chunks are page ranges (a STATE after each). */
  snapshotChunkBytes: number
  /** WAL held by the CDC slot above which a sync logs a warning. */
  cdcLagWarnBytes: number
}

/**
 * What every read method gets for one configured stream: the source shell has checked that
 * the relation and its selected columns still exist. A read method adds its own state.
 */
export interface PgStreamRead {
  client: PgClient
  configured: ConfiguredStream
  stream: StreamDescriptor
  relation: RelationInfo
  /** `"schema"."name"`, for messages. */
  label: string
  /** The quoted, qualified table name for SQL. */
  table: string
  selected: SelectedColumn[]
  /** The columns as read, in select-list order. */
  columns: PgColumn[]
  /** The select list (`"a", "b"::numeric AS "b"`). */
  selectList: string
  options: PostgresSourceOptions
  run: RunOptions
}
