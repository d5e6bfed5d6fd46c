import type { ColumnarRecords, RecordBatch, RecordChange, RecordData, StateMessage, StreamDescriptor } from '../../protocol/index.js'
import { convertColumn, type MysqlColumn } from './mysql-types.js'

/** A STATE message of one stream. */
export function stateMessage(stream: StreamDescriptor, data: Record<string, unknown>): StateMessage {
  return { type: 'STATE', stream: { name: stream.name, namespace: stream.namespace ?? null }, data }
}

/**
 * Turns row arrays (select-list order) into a column-major batch: each column converted once
 * with a tight loop; `columns()` hands the arrays to columnar writers (Parquet, Avro) and
 * `rows()` builds row objects only if a destination asks. `extra` adds constant-per-row
 * columns (the CDC metadata) already in column form.
 */
export function columnBatch(
  stream: StreamDescriptor,
  columns: readonly MysqlColumn[],
  rows: unknown[][],
  bytes: number,
  extra?: ColumnarRecords,
): RecordBatch {
  const count = rows.length
  const raw: unknown[][] = columns.map(() => new Array(count))
  for (let r = 0; r < count; r++) {
    const row = rows[r]!
    for (let i = 0; i < raw.length; i++) raw[i]![r] = row[i] ?? null
  }
  let changes: Map<number, RecordChange[]> | undefined
  const note = (row: number, change: RecordChange): void => {
    changes ??= new Map()
    const list = changes.get(row)
    if (list) list.push(change)
    else changes.set(row, [change])
  }
  const names = columns.map((c) => c.name)
  const values = columns.map((c, i) => convertColumn(c.kind, c.name, raw[i]!, note))
  if (extra) {
    names.push(...extra.names)
    values.push(...extra.columns)
  }
  const columnar: ColumnarRecords = { names, columns: values }
  let rowsCache: RecordData[] | undefined
  const batch: RecordBatch = {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: Date.now(),
    count,
    bytes,
    rows() {
      if (!rowsCache) {
        const out: RecordData[] = new Array(count)
        for (let r = 0; r < count; r++) {
          const row: RecordData = {}
          for (let i = 0; i < names.length; i++) row[names[i]!] = values[i]![r]
          out[r] = row
        }
        rowsCache = out
      }
      return rowsCache
    },
    columns: () => columnar,
  }
  if (changes) batch.changes = changes
  return batch
}
