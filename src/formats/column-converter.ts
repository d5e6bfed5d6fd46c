import type { RecordBatch, RecordChange, RecordValue } from '../protocol/index.js'
import type { DataColumn } from './stream-columns.js'
import { toBoolean, toDouble, toEpochDays, toEpochMicros, toInt64, toTimeMicros, toUnscaledDecimal } from './value-conversions.js'

/**
 * A record value converted to the physical value of its typed column; `undefined` is null.
 * integer, timestamp: number or (beyond 2^53) bigint; time: µs; date: days; decimal: the unscaled
 * bigint; string, json: text.
 */
export type ColumnValue = number | bigint | boolean | string | undefined

/**
 * Converts the values of typed columns (Parquet, Avro) and notes the ones it had to null: each
 * becomes an `_airbyte_meta.changes` entry of its row, as Airbyte does. One per batch.
 */
export class ColumnConverter {
  readonly changes = new Map<number, RecordChange[]>()

  fail(row: number, field: string): undefined {
    const list = this.changes.get(row)
    const change: RecordChange = { field, change: 'NULLED', reason: 'DESTINATION_SERIALIZATION_ERROR' }
    if (list) list.push(change)
    else this.changes.set(row, [change])
    return undefined
  }

  /** The values of one column converted to its kind; unconvertible ones are undefined and noted. */
  convert(c: DataColumn, values: readonly RecordValue[]): ColumnValue[] {
    const n = values.length
    const convert = <T>(fn: (v: unknown) => T | undefined): (T | undefined)[] => {
      const out = new Array<T | undefined>(n)
      for (let i = 0; i < n; i++) {
        const v = values[i]
        out[i] = v === null || v === undefined ? undefined : (fn(v) ?? this.fail(i, c.name))
      }
      return out
    }
    switch (c.kind) {
      case 'integer':
        return convert(toInt64)
      case 'timestamp_tz':
      case 'timestamp':
        return convert(toEpochMicros)
      case 'time':
        return convert(toTimeMicros)
      case 'number':
        return convert(toDouble)
      case 'date':
        return convert(toEpochDays)
      case 'boolean':
        return convert(toBoolean)
      case 'decimal':
        return convert((v) => toUnscaledDecimal(v, c.precision ?? 38, c.scale ?? 0))
      case 'string':
        return convert((v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)))
      case 'json':
        return convert((v) => JSON.stringify(v))
    }
  }
}

/**
 * One value array per data column, from `columns()` when the batch has it, else from `rows()`.
 * A column missing from the batch is all nulls.
 */
export function columnValues(batch: RecordBatch, columns: readonly DataColumn[]): RecordValue[][] {
  const columnar = batch.columns?.()
  if (columnar) {
    const index = new Map(columnar.names.map((name, i) => [name, i]))
    return columns.map((c) => {
      const i = index.get(c.name)
      return i === undefined ? new Array<RecordValue>(batch.count).fill(null) : columnar.columns[i]!
    })
  }
  const rows = batch.rows()
  return columns.map((c) => {
    const out = new Array<RecordValue>(rows.length)
    for (let r = 0; r < rows.length; r++) out[r] = rows[r]![c.name]
    return out
  })
}
