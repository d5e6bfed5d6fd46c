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
 * newline (extra fields, each with its leading tab). Each line is built as one string and
 * written into `scratch` (a bigger buffer replaces it when full): no string or Buffer per
 * field outlives its line. The result is a view of `scratch` or of its replacement, so the
 * caller may pass it (its `.buffer`) as the next call's scratch once the bytes are used.
 */
export function encodeCopyColumns(
  columns: ReadonlyArray<readonly RecordValue[] | undefined>,
  asJson: readonly boolean[],
  rows: number,
  lineEnd: (row: number) => string,
  scratch?: Buffer,
): Buffer {
  const n = columns.length
  let out = scratch ?? Buffer.allocUnsafeSlow(1 << 20)
  let pos = 0
  for (let r = 0; r < rows; r++) {
    let line = ''
    for (let i = 0; i < n; i++) {
      const column = columns[i]
      if (i > 0) line += '\t'
      line += column === undefined ? '\\N' : copyTextValue(column[r], asJson[i]!)
    }
    line += lineEnd(r)
    line += '\n'
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (pos + line.length * 3 > out.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, pos + line.length * 3))
      out.copy(bigger, 0, 0, pos)
      out = bigger
    }
    pos += out.write(line, pos)
  }
  return out.subarray(0, pos)
}
