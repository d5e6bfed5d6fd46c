import { randomUUID } from 'node:crypto'
import type { ColumnarRecords, RecordBatch } from '../../protocol/index.js'
import { escapeCopy } from '../../formats/copy-text.js'
import { copyTextValue, encodeCopyColumns } from '../../formats/copy-text-encode.js'
import type { PgStreamTable } from './pg-stream-table.js'

/**
 * Extends every COPY line with `_airbyte_raw_id`, `_airbyte_extracted_at` and the optional
 * `constants` (already COPY-escaped fields, each preceded by a tab). Overwrite targets take
 * meta and generation from column defaults instead: a jsonb parsed per row costs about a
 * third of the COPY.
 * Raw ids are UUID v4 shaped: a random per-batch prefix, then a 12-hex-digit row counter
 * (unique without a random call per row).
 */
export function appendAirbyteColumns(data: Buffer, emittedAt: number, constants = '', scratch?: Buffer): Buffer {
  const tail = Buffer.from(`\t${new Date(emittedAt).toISOString()}${constants}\n`, 'utf8')
  const id = Buffer.from(`\t${randomUUID().slice(0, 24)}000000000000`, 'latin1')
  const last = id.length - 1
  let rows = 0
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) rows++
  const size = data.length - rows + rows * (id.length + tail.length)
  // Reuse the caller's buffer when it is big enough; otherwise a dedicated one with headroom.
  const out = (scratch && scratch.length >= size ? scratch : Buffer.allocUnsafeSlow(Math.ceil(size * 1.25))).subarray(0, size)
  let src = 0
  let dst = 0
  for (let r = 0; r < rows; r++) {
    const nl = data.indexOf(10, src)
    dst += data.copy(out, dst, src, nl)
    dst += id.copy(out, dst)
    dst += tail.copy(out, dst)
    src = nl + 1
    // Increment the hex counter in place (carry to the left).
    for (let k = last; ; k--) {
      const c = id[k]!
      if (c === 57) {
        id[k] = 97 // '9' -> 'a'
        break
      }
      if (c !== 102) {
        id[k] = c + 1
        break
      }
      id[k] = 48 // 'f' -> '0', carry
    }
  }
  return out
}

/** Encodes row objects as COPY text in staging column order, then the row's source changes. */
export function encodeRows(w: PgStreamTable, batch: RecordBatch): Buffer {
  const rows = batch.rows()
  const cols = w.columns
  const parts: string[] = []
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    let line = ''
    for (let i = 0; i < cols.length; i++) {
      const c = cols[i]!
      line += copyTextValue(row[c.source], c.pgType === 'jsonb') + '\t'
    }
    const ch = batch.changes?.get(r)
    line += ch && ch.length > 0 ? escapeCopy(JSON.stringify(ch)) : '\\N'
    parts.push(line)
  }
  parts.push('')
  return Buffer.from(parts.join('\n'), 'utf8')
}

/**
 * True when a column batch can be COPYed into the stream's final columns as it is: no source
 * changes to record, and every value of an object (array) column is an object (array) or
 * null, which typing would otherwise turn into NULL with a change. Any other value that does
 * not fit its column makes the COPY fail, and the batch goes through staging instead.
 */
export function columnsCopyAllowed(w: PgStreamTable, batch: RecordBatch, columnar: ColumnarRecords): boolean {
  if (batch.changes) return false
  const index = new Map(columnar.names.map((n, i) => [n, i]))
  return w.columns.every((c) => {
    if (c.internal !== 'STRUCT' && c.internal !== 'ARRAY') return true
    const i = index.get(c.source)
    if (i === undefined) return true
    const fits = c.internal === 'ARRAY' ? Array.isArray : isPlainObject
    return columnar.columns[i]!.every((v) => v === null || v === undefined || fits(v))
  })
}

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function'
}

/**
 * COPY text of a column batch in the stream's final column order (a column the batch lacks is
 * NULL), each line extended with `_airbyte_raw_id`, `_airbyte_extracted_at` and `constants`
 * as `appendAirbyteColumns` does, raw ids of the same shape; written into `scratch` when it
 * is big enough (see encodeCopyColumns).
 */
export function encodeColumnsForTarget(
  w: PgStreamTable,
  columnar: ColumnarRecords,
  rows: number,
  emittedAt: number,
  constants: string,
  scratch?: Buffer,
): Buffer {
  const index = new Map(columnar.names.map((n, i) => [n, i]))
  const columns = w.columns.map((c) => {
    const i = index.get(c.source)
    return i === undefined ? undefined : columnar.columns[i]
  })
  const prefix = `\t${randomUUID().slice(0, 24)}`
  const tail = `\t${new Date(emittedAt).toISOString()}${constants}`
  return encodeCopyColumns(
    columns,
    w.columns.map((c) => c.pgType === 'jsonb'),
    rows,
    (r) => prefix + r.toString(16).padStart(12, '0') + tail,
    scratch,
  )
}
