import type { ColumnarRecords, PgCopyText, RecordBatch, RecordChange, RecordData, StreamDescriptor } from '../protocol/index.js'
import { wholeCopyShape } from '../protocol/index.js'

const TAB = 0x09
const NEWLINE = 0x0a

/**
 * COPY text with only the kept columns. Tabs and newlines inside values are escaped in COPY
 * text (`\t`, `\n`), so every raw tab ends a field and every raw newline a row: the kept
 * fields are copied byte for byte, nothing is decoded.
 */
export function projectCopyText(copy: PgCopyText, keep: ReadonlySet<string>): PgCopyText {
  const kept = copy.columns.map((c) => keep.has(c))
  const data = copy.data
  const out = Buffer.allocUnsafe(data.length)
  let written = 0
  let rowStart = 0
  while (rowStart < data.length) {
    const newline = data.indexOf(NEWLINE, rowStart)
    const rowEnd = newline === -1 ? data.length : newline
    let fieldStart = rowStart
    let firstInRow = true
    for (let column = 0; fieldStart <= rowEnd; column++) {
      const tab = data.indexOf(TAB, fieldStart)
      const fieldEnd = tab === -1 || tab > rowEnd ? rowEnd : tab
      if (kept[column] === true) {
        if (!firstInRow) out[written++] = TAB
        written += data.copy(out, written, fieldStart, fieldEnd)
        firstInRow = false
      }
      fieldStart = fieldEnd + 1
    }
    if (newline !== -1) out[written++] = NEWLINE
    rowStart = rowEnd + 1
  }
  const indexes = kept.flatMap((k, i) => (k ? [i] : []))
  return {
    columns: indexes.map((i) => copy.columns[i]!),
    pgTypes: indexes.map((i) => copy.pgTypes[i]!),
    data: out.subarray(0, written),
  }
}

/** The rows with only the kept fields; the same array when no row has another field. */
function projectRows(rows: RecordData[], keep: ReadonlySet<string>): RecordData[] {
  if (!rows.some((row) => hasOtherKey(row, keep))) return rows
  const keys = [...keep]
  return rows.map((row) => {
    const out: RecordData = {}
    for (const key of keys) if (Object.prototype.hasOwnProperty.call(row, key)) out[key] = row[key]
    return out
  })
}

function hasOtherKey(row: RecordData, keep: ReadonlySet<string>): boolean {
  for (const key in row) if (!keep.has(key)) return true
  return false
}

function projectColumns(records: ColumnarRecords, keep: ReadonlySet<string>): ColumnarRecords {
  if (records.names.every((n) => keep.has(n))) return records
  const names: string[] = []
  const columns: ColumnarRecords['columns'] = []
  records.names.forEach((n, i) => {
    if (!keep.has(n)) return
    names.push(n)
    columns.push(records.columns[i]!)
  })
  return { names, columns }
}

function projectChanges(changes: ReadonlyMap<number, RecordChange[]>, keep: ReadonlySet<string>): ReadonlyMap<number, RecordChange[]> | undefined {
  const out = new Map<number, RecordChange[]>()
  for (const [row, list] of changes) {
    const kept = list.filter((c) => keep.has(c.field))
    if (kept.length > 0) out.set(row, kept)
  }
  return out.size > 0 ? out : undefined
}

/**
 * The batch the destination gets: under the destination's stream descriptor and, when `keep`
 * is given (a field selection), with only those top-level fields in every view. Nothing is
 * copied up front: rows and columns are projected when the destination asks for them, COPY
 * text when it reads `pgCopyText` (and passed as is when it has no other column, with its
 * constant columns apart when the batch has them). The
 * producer's Airbyte RECORD lines travel only when the stream keeps its name and every field,
 * since they name the stream and carry every field.
 */
export function mapBatch(batch: RecordBatch, stream: StreamDescriptor, keep: ReadonlySet<string> | undefined): RecordBatch {
  const mapped: RecordBatch = {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: batch.emittedAt,
    count: batch.count,
    bytes: batch.bytes,
    rows: () => batch.rows(),
  }
  // The snapshot's promise holds under any name, while its key columns are kept.
  const hint = batch.initialSnapshot
  if (hint !== undefined && (keep === undefined || hint.uniqueKey.every((c) => keep.has(c)))) mapped.initialSnapshot = hint
  const columns = batch.columns
  const split = batch.pgCopyTextWithConstants
  // A batch with constants builds its pgCopyText when first read: read only when needed.
  const copyColumns = split ? wholeCopyShape(split).columns : batch.pgCopyText?.columns
  const passCopyText = (): void => {
    Object.defineProperty(mapped, 'pgCopyText', { enumerable: true, get: () => batch.pgCopyText })
    if (split !== undefined) mapped.pgCopyTextWithConstants = split
  }
  if (keep === undefined) {
    if (columns !== undefined) mapped.columns = () => columns.call(batch)
    if (copyColumns !== undefined) passCopyText()
    if (batch.changes !== undefined) mapped.changes = batch.changes
    return mapped
  }
  let rows: RecordData[] | undefined
  mapped.rows = () => (rows ??= projectRows(batch.rows(), keep))
  if (columns !== undefined) {
    let projected: ColumnarRecords | undefined
    mapped.columns = () => (projected ??= projectColumns(columns.call(batch), keep))
  }
  if (copyColumns !== undefined) {
    if (copyColumns.every((c) => keep.has(c))) passCopyText()
    else if (copyColumns.some((c) => keep.has(c))) {
      let projected: PgCopyText | undefined
      Object.defineProperty(mapped, 'pgCopyText', { enumerable: true, get: () => (projected ??= projectCopyText(batch.pgCopyText!, keep)) })
    }
  }
  if (batch.changes !== undefined) {
    const changes = projectChanges(batch.changes, keep)
    if (changes !== undefined) mapped.changes = changes
  }
  return mapped
}
