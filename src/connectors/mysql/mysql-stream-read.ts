import type { ConfiguredStream, RunOptions, StreamDescriptor } from '../../protocol/index.js'
import type { MysqlConnection } from './mysql-client.js'
import type { MysqlRelation } from './mysql-relations.js'
import type { MysqlColumn } from './mysql-types.js'

/** Tuning knobs of the source (tests lower them to exercise batching and checkpoints). */
export interface MysqlSourceOptions {
  /** Most rows in one record batch. */
  batchRows: number
  /** Target size of one record batch (text bytes of the values). */
  batchBytes: number
  /** Rows per primary-key range of a resumable full refresh, and between cursor checkpoints. */
  checkpointRows: number
  /**
   * Standard reads send COPY text batches built from the row packets (`mysql-copy-text.ts`)
   * when every column allows it; false keeps the row-array path (tests compare the two).
   */
  copyText: boolean
}

/**
 * What every read method gets for one configured stream: the source shell has checked that
 * the relation and its selected columns still exist.
 */
export interface MysqlStreamRead {
  conn: MysqlConnection
  configured: ConfiguredStream
  stream: StreamDescriptor
  relation: MysqlRelation
  /** `` `db`.`name` `` for messages and SQL (quoted). */
  table: string
  /** The selected columns, in select-list order. */
  columns: MysqlColumn[]
  options: MysqlSourceOptions
  run: RunOptions
}

/**
 * A SQL expression that turns a saved (text) value back into the column's type, so
 * comparisons are exact: 64-bit integers and decimals never pass through a double.
 */
export function boundExpression(col: MysqlColumn): string {
  const unsigned = col.columnType.toLowerCase().includes('unsigned')
  switch (col.kind) {
    case 'integer':
    case 'big_integer':
      if (col.dataType === 'decimal' || col.dataType === 'numeric') return `CAST(? AS DECIMAL(65,0))`
      return unsigned ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)'
    case 'decimal':
      return 'CAST(? AS DECIMAL(65,30))'
    case 'float':
      return 'CAST(? AS DOUBLE)'
    case 'binary':
      return 'FROM_BASE64(?)'
    case 'datetime':
    case 'timestamp':
      return 'CAST(? AS DATETIME(6))'
    case 'date':
      return 'CAST(? AS DATE)'
    case 'boolean':
      return 'CAST(? AS SIGNED)'
    default:
      return '?'
  }
}

/** The text a raw value (as mysql2 returns it) is saved as, for `boundExpression`. */
export function boundText(col: MysqlColumn, raw: unknown): string {
  if (Buffer.isBuffer(raw)) return raw.toString('base64')
  if ((col.kind === 'datetime' || col.kind === 'timestamp') && typeof raw === 'string') return raw.replace('T', ' ').replace(/Z$/, '')
  return String(raw)
}
