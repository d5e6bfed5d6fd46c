import type { JsonSchema, RecordChange, RecordValue } from '../../protocol/index.js'
import { decodeScalar } from '../../formats/copy-text-values.js'

/**
 * How a MySQL column's values become JSON values (Airbyte's source-mysql mapping):
 * tinyint(1) and bit(1) are booleans, other bits and binary strings base64, DECIMAL exact,
 * temporal types ISO text with six fractional digits, JSON/ENUM/SET text.
 */
export type MysqlValueKind =
  | 'boolean'
  | 'bit_boolean'
  | 'integer'
  | 'big_integer'
  | 'decimal'
  | 'float'
  | 'date'
  | 'datetime'
  | 'timestamp'
  | 'time'
  | 'binary'
  | 'text'

/** A column as discover and the reads see it (from information_schema.COLUMNS). */
export interface MysqlColumn {
  name: string
  /** `DATA_TYPE`, e.g. `int`, `varchar`, `datetime`. */
  dataType: string
  /** `COLUMN_TYPE`, e.g. `tinyint(1) unsigned`, `enum('a','b')`. */
  columnType: string
  numericScale: number | null
  kind: MysqlValueKind
}

/** The value kind of a column from its information_schema types. */
export function valueKindOf(dataType: string, columnType: string, numericScale: number | null): MysqlValueKind {
  const t = dataType.toLowerCase()
  const ct = columnType.toLowerCase()
  switch (t) {
    case 'tinyint':
      return ct.startsWith('tinyint(1)') ? 'boolean' : 'integer'
    case 'boolean':
    case 'bool':
      return 'boolean'
    case 'bit':
      return ct === 'bit(1)' ? 'bit_boolean' : 'binary'
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'year':
      return 'integer'
    case 'bigint':
      return 'big_integer'
    case 'decimal':
    case 'numeric':
      return numericScale === 0 ? 'big_integer' : 'decimal'
    case 'float':
    case 'double':
    case 'real':
      return 'float'
    case 'date':
      return 'date'
    case 'datetime':
      return 'datetime'
    case 'timestamp':
      return 'timestamp'
    case 'time':
      return 'time'
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      return 'binary'
    default:
      return 'text'
  }
}

/** JSON Schema of a value kind, as Airbyte's source-mysql declares it. */
export function jsonSchemaOf(kind: MysqlValueKind): JsonSchema {
  switch (kind) {
    case 'boolean':
    case 'bit_boolean':
      return { type: 'boolean' }
    case 'integer':
    case 'big_integer':
      return { type: 'number', airbyte_type: 'integer' }
    case 'decimal':
    case 'float':
      return { type: 'number' }
    case 'date':
      return { type: 'string', format: 'date' }
    case 'datetime':
      return { type: 'string', format: 'date-time', airbyte_type: 'timestamp_without_timezone' }
    case 'timestamp':
      return { type: 'string', format: 'date-time', airbyte_type: 'timestamp_with_timezone' }
    case 'time':
      return { type: 'string', format: 'time', airbyte_type: 'time_without_timezone' }
    case 'binary':
      return { type: 'string', contentEncoding: 'base64' }
    case 'text':
      return { type: 'string' }
  }
}

/** Airbyte's reason for a value the source could not represent (zero dates). */
const ZERO_DATE_REASON = 'SOURCE_SERIALIZATION_ERROR'

/** `.ffffff` fraction of a temporal text, padded to six digits (Airbyte's format). */
function sixDigits(text: string, fractionAt: number): string {
  if (text.length <= fractionAt) return `${text}.000000`
  return text.length >= fractionAt + 7 ? text : text.padEnd(fractionAt + 7, '0')
}

/** A zero or partly-zero date (`0000-00-00`, `2020-00-10`): MySQL stores it, no calendar has it. */
function isZeroDate(text: string): boolean {
  return text.startsWith('0000') || text.slice(5, 7) === '00' || text.slice(8, 10) === '00'
}

function toBuffer(v: unknown): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8')
}

/**
 * Converts one column's raw values (as mysql2 and the binlog client return them with
 * `dateStrings`, `jsonStrings` and big numbers as strings) in place to Airbyte's JSON values.
 * Zero dates become null; `noteChange(row, change)` records them for `_airbyte_meta`.
 */
export function convertColumn(
  kind: MysqlValueKind,
  name: string,
  values: unknown[],
  noteChange: (row: number, change: RecordChange) => void,
): RecordValue[] {
  const n = values.length
  const zero = (r: number): null => {
    noteChange(r, { field: name, change: 'NULLED', reason: ZERO_DATE_REASON })
    return null
  }
  switch (kind) {
    case 'integer':
    case 'float':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (typeof v === 'string') values[r] = Number(v)
      }
      return values
    case 'text':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (Buffer.isBuffer(v)) values[r] = v.toString('utf8')
      }
      return values
    case 'boolean':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (v !== null && v !== undefined) values[r] = Number(v) !== 0
      }
      return values
    case 'bit_boolean':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (v !== null && v !== undefined) values[r] = Buffer.isBuffer(v) ? v.some((b) => b !== 0) : Number(v) !== 0
      }
      return values
    case 'big_integer':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (v !== null && v !== undefined) values[r] = decodeScalar('int8', String(v))
      }
      return values
    case 'decimal':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (v !== null && v !== undefined) values[r] = decodeScalar('numeric', String(v))
      }
      return values
    case 'binary':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (v !== null && v !== undefined) values[r] = toBuffer(v).toString('base64')
      }
      return values
    case 'date':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (typeof v === 'string' && isZeroDate(v)) values[r] = zero(r)
      }
      return values
    case 'datetime':
    case 'timestamp': {
      const suffix = kind === 'timestamp' ? 'Z' : ''
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (typeof v !== 'string') continue
        if (isZeroDate(v)) values[r] = zero(r)
        else values[r] = `${v.slice(0, 10)}T${sixDigits(v.slice(11), 8)}${suffix}`
      }
      return values
    }
    case 'time':
      for (let r = 0; r < n; r++) {
        const v = values[r]
        if (typeof v === 'string') values[r] = sixDigits(v, v.indexOf(':') + 6)
      }
      return values
  }
}
