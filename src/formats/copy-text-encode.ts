import type { RecordValue } from '../protocol/index.js'
import { escapeCopy } from './copy-text.js'

/**
 * Record values to Postgres COPY text: the one encoding the Postgres destination uses for row
 * objects and for column batches, so both paths hand Postgres the same text.
 */

/**
 * One value as a COPY text field: NULL for null/undefined and non-finite numbers, strings
 * escaped, numbers and big integers in their shortest form, booleans as `true`/`false`, dates
 * in ISO form, anything else (and every value of a JSON column) as escaped JSON.
 */
export function copyTextValue(v: RecordValue, asJson: boolean): string {
  if (v === null || v === undefined) return '\\N'
  if (asJson) return escapeCopy(JSON.stringify(v))
  switch (typeof v) {
    case 'string':
      return escapeCopy(v)
    case 'number':
      return Number.isFinite(v) ? String(v) : '\\N'
    case 'bigint':
      return v.toString()
    case 'boolean':
      return v ? 'true' : 'false'
    default:
      return v instanceof Date ? v.toISOString() : escapeCopy(JSON.stringify(v))
  }
}

/**
 * COPY text of `rows` rows from column-major values: field i of row r is `columns[i][r]`
 * (`undefined` column: NULL in every row), `lineEnd(r)` is appended to row r before its
 * newline (extra fields, each with its leading tab). One string per batch, converted once:
 * cheaper than a Buffer write per field.
 */
export function encodeCopyColumns(
  columns: ReadonlyArray<readonly RecordValue[] | undefined>,
  asJson: readonly boolean[],
  rows: number,
  lineEnd: (row: number) => string,
): Buffer {
  const n = columns.length
  let text = ''
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      const column = columns[i]
      if (i > 0) text += '\t'
      text += column === undefined ? '\\N' : copyTextValue(column[r], asJson[i]!)
    }
    text += lineEnd(r)
    text += '\n'
  }
  return Buffer.from(text, 'utf8')
}
