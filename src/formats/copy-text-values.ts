import type { ColumnarRecords, ConstantColumn, PgCopyText, RecordBatch, RecordChange, RecordData, RecordValue, StreamDescriptor } from '../protocol/index.js'
import { wholeCopyShape } from '../protocol/index.js'
import { escapeCopy, unescapeCopy } from './copy-text.js'

/**
 * COPY text fields as record values, the way the Postgres source defines them (numeric and int8
 * exact beyond 2^53 as strings, NaN/Infinity as null, timestamps in ISO form). The byte-level
 * encoders (`copy-text-columns`, `copy-text-jsonl`) produce the same values without building them.
 */

/** How a source column's COPY text is turned into a JSON value. */
export type ValueKind = 'bool' | 'int' | 'int8' | 'numeric' | 'float' | 'timestamp' | 'timestamptz' | 'text'

/** The type of a column as its decoder needs it. */
export interface CopyColumnType {
  /** `pg_type.typname` of the column (of the element for arrays), e.g. `int4`, `timestamptz`. */
  baseType: string
  isArray: boolean
}

/** The JSON value kind of a column's scalar (or element) type. */
export function valueKindOf(baseType: string): ValueKind {
  switch (baseType) {
    case 'bool':
      return 'bool'
    case 'int2':
    case 'int4':
    case 'oid':
      return 'int'
    case 'int8':
      return 'int8'
    case 'numeric':
    case 'money':
      return 'numeric'
    case 'float4':
    case 'float8':
      return 'float'
    case 'timestamp':
      return 'timestamp'
    case 'timestamptz':
      return 'timestamptz'
    default:
      return 'text'
  }
}

const SAFE_DIGITS = 15

/**
 * Significant digits of a plain decimal literal (`-0012.50` -> 3: from the first to the last
 * non-zero digit); -1 when the text has any other shape (exponent, money, NaN...).
 */
function plainSignificantDigits(text: string): number {
  let i = text.charCodeAt(0) === 45 ? 1 : 0
  let dot = false
  let digit = 0
  let first = -1
  let last = -1
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (dot) return -1
      dot = true
      continue
    }
    if (c < 48 || c > 57) return -1
    if (c !== 48) {
      if (first < 0) first = digit
      last = digit
    }
    digit++
  }
  return first < 0 ? 0 : last - first + 1
}

/** A decimal string as a JSON number when a double holds it exactly, else the exact string. */
export function decodeNumeric(text: string): RecordValue {
  // Plain literals (nearly all values) without a regular expression per value.
  const plain = plainSignificantDigits(text)
  if (plain >= 0) {
    if (plain <= SAFE_DIGITS) {
      const n = Number(text)
      if (Number.isFinite(n)) return n
    }
    return text
  }
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return null
  let t = text
  // money under a non-numeric locale output: keep digits, sign and the decimal point.
  if (/[^0-9.eE+-]/.test(t)) t = t.replace(/[^0-9.-]/g, '')
  const digits = t.replace(/^-/, '').replace('.', '').replace(/^0+/, '')
  const significant = digits.replace(/0+$/, '').length
  if (significant <= SAFE_DIGITS) {
    const n = Number(t)
    if (Number.isFinite(n)) return n
  }
  return t
}

function decodeInt8(text: string): RecordValue {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : text
}

function decodeFloat(text: string): RecordValue {
  const n = Number(text)
  return Number.isFinite(n) ? n : null
}

function decodeTimestamp(text: string): string {
  return text.length > 10 && text[10] === ' ' ? `${text.slice(0, 10)}T${text.slice(11)}` : text
}

function decodeTimestamptz(text: string): string {
  const t = decodeTimestamp(text)
  // The source session runs with TimeZone=UTC, so offsets are +00 (ISO "Z").
  return t.endsWith('+00') ? `${t.slice(0, -3)}Z` : t
}

/** Decodes one unescaped scalar text value of the given kind. */
export function decodeScalar(kind: ValueKind, text: string): RecordValue {
  switch (kind) {
    case 'bool':
      return text === 't'
    case 'int':
      return Number(text)
    case 'int8':
      return decodeInt8(text)
    case 'numeric':
      return decodeNumeric(text)
    case 'float':
      return decodeFloat(text)
    case 'timestamp':
      return decodeTimestamp(text)
    case 'timestamptz':
      return decodeTimestamptz(text)
    case 'text':
      return text
  }
}

/** Parses a Postgres array literal (`{1,2,NULL}`, nested, quoted) into nested arrays of strings. */
export function parseArrayLiteral(text: string): unknown[] {
  let i = 0
  // Optional dimension decoration: `[1:2]={...}`.
  if (text[0] === '[') i = text.indexOf('=') + 1
  const parse = (): unknown[] => {
    const out: unknown[] = []
    i++ // '{'
    if (text[i] === '}') {
      i++
      return out
    }
    for (;;) {
      if (text[i] === '{') out.push(parse())
      else if (text[i] === '"') {
        i++
        let s = ''
        while (text[i] !== '"') {
          if (text[i] === '\\') i++
          s += text[i]
          i++
        }
        i++
        out.push(s)
      } else {
        let j = i
        while (text[j] !== ',' && text[j] !== '}') j++
        const raw = text.slice(i, j)
        out.push(raw === 'NULL' ? null : raw)
        i = j
      }
      if (text[i] === ',') i++
      else {
        i++ // '}'
        return out
      }
    }
  }
  return parse()
}

function decodeArray(kind: ValueKind, text: string): RecordValue {
  const map = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(map) : v === null ? null : decodeScalar(kind, v as string)
  return map(parseArrayLiteral(text))
}

/** A decoder from one COPY text field (escaped, `\N` = NULL) to a JSON value. */
export type FieldDecoder = (field: string) => RecordValue

/** Builds the field decoder for a column. */
export function fieldDecoder(col: CopyColumnType): FieldDecoder {
  const kind = valueKindOf(col.baseType)
  if (col.isArray) return (f) => (f === '\\N' ? null : decodeArray(kind, unescapeCopy(f)))
  if (kind === 'text') return (f) => (f === '\\N' ? null : unescapeCopy(f))
  return (f) => (f === '\\N' ? null : decodeScalar(kind, f.includes('\\') ? unescapeCopy(f) : f))
}

/**
 * Decodes COPY text straight into one value array per column: one pass over the text, no
 * per-line arrays. Assumes every line has `decoders.length` fields (COPY guarantees it).
 */
export function decodeColumns(data: Buffer, decoders: readonly FieldDecoder[]): unknown[][] {
  const n = decoders.length
  // A relation without (selected) columns: its lines are empty and there is nothing to decode.
  if (n === 0) return []
  const text = data.toString('utf8')
  const cols: unknown[][] = decoders.map(() => [])
  const last = n - 1
  let pos = 0
  while (pos < text.length) {
    for (let i = 0; i < n; i++) {
      let end = text.indexOf(i === last ? '\n' : '\t', pos)
      if (end === -1) end = text.length
      cols[i]!.push(decoders[i]!(text.slice(pos, end)))
      pos = end + 1
    }
  }
  return cols
}

/**
 * A RecordBatch over COPY text bytes (`pgCopyText`: the Postgres destination COPYs them, the
 * JSONL and Parquet writers decode the bytes); rows and columns are decoded only if a
 * destination asks, then cached.
 */
export function copyTextBatch(
  stream: StreamDescriptor,
  names: string[],
  pgTypes: string[],
  decoders: readonly FieldDecoder[],
  data: Buffer,
  count: number,
  changes?: ReadonlyMap<number, RecordChange[]>,
): RecordBatch {
  const batch = decodedLazily(stream, count, data.length, () => ({ names, columns: decodeColumns(data, decoders) }))
  batch.pgCopyText = { columns: names, pgTypes, data }
  if (changes) batch.changes = changes
  return batch
}

/**
 * A RecordBatch over COPY text of its leading columns (`data`, `count` lines) whose trailing
 * `constants` hold one value in every row: `pgCopyTextWithConstants` carries the two parts;
 * `pgCopyText` (the lines with the constants' fields appended) is built on its first read, and
 * rows and columns are decoded only if a destination asks. `names`, `pgTypes` and `decoders`
 * are the leading columns'.
 */
export function copyTextBatchWithConstants(
  stream: StreamDescriptor,
  names: string[],
  pgTypes: string[],
  decoders: readonly FieldDecoder[],
  constants: ConstantColumn[],
  constantDecoders: readonly FieldDecoder[],
  data: Buffer,
  count: number,
): RecordBatch {
  const fields = constants.map((c) => (c.value === null ? '\\N' : escapeCopy(c.value)))
  const suffix = Buffer.from((names.length > 0 ? '\t' : '') + fields.join('\t'), 'utf8')
  const split = { lead: { columns: names, pgTypes, data }, constants }
  const shape = wholeCopyShape(split)
  const batch = decodedLazily(stream, count, data.length + count * suffix.length, () => ({
    names: shape.columns,
    columns: [...decodeColumns(data, decoders), ...fields.map((f, i) => new Array<unknown>(count).fill(constantDecoders[i]!(f)))],
  }))
  let whole: PgCopyText | undefined
  Object.defineProperty(batch, 'pgCopyText', {
    enumerable: true,
    get: (): PgCopyText => {
      whole ??= { ...shape, data: appendToLines(data, count, suffix) }
      return whole
    },
  })
  batch.pgCopyTextWithConstants = split
  return batch
}

/** A batch whose columns are decoded on the first ask (`decode`) and rows built from them, both cached. */
function decodedLazily(stream: StreamDescriptor, count: number, bytes: number, decode: () => ColumnarRecords): RecordBatch {
  let rowsCache: RecordData[] | undefined
  let columnsCache: ColumnarRecords | undefined
  const columns = (): ColumnarRecords => (columnsCache ??= decode())
  return {
    type: 'RECORD_BATCH',
    stream,
    emittedAt: Date.now(),
    count,
    bytes,
    rows: () => (rowsCache ??= rowsOf(columns(), count)),
    columns,
  }
}

/** One object per row of column-major records (`count` rows). */
function rowsOf(records: ColumnarRecords, count: number): RecordData[] {
  const { names, columns } = records
  const out: RecordData[] = new Array(count)
  for (let r = 0; r < count; r++) {
    const row: RecordData = {}
    for (let i = 0; i < names.length; i++) row[names[i]!] = columns[i]![r] as RecordValue
    out[r] = row
  }
  return out
}

/** COPY text lines (`count` of them) each extended by `suffix` before its newline. */
function appendToLines(data: Buffer, count: number, suffix: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + count * suffix.length)
  let src = 0
  let dst = 0
  for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, src)) {
    dst += data.copy(out, dst, src, nl)
    dst += suffix.copy(out, dst)
    out[dst++] = 10
    src = nl + 1
  }
  return out
}
