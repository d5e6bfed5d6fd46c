import type { RecordBatch, RecordChange, StreamDescriptor } from '../../protocol/index.js'
import { ByteSink } from '../../formats/byte-sink.js'
import { copyTextBatch as lazyCopyTextBatch, fieldDecoder, type FieldDecoder } from '../../formats/copy-text-values.js'
import type { RowPacket } from './mysql-client.js'
import type { MysqlStreamRead } from './mysql-stream-read.js'
import type { MysqlColumn, MysqlValueKind } from './mysql-types.js'

/**
 * The fast read path: text-protocol row packets turned straight into Postgres COPY text, one
 * pass over the bytes, no JS value per field. The text protocol already sends every value as
 * text, so most fields are copied as they are (numbers without zero padding); strings are escaped, booleans become `t`/`f`,
 * temporal values get Airbyte's six fractional digits (TIMESTAMP an explicit `+00`), binary
 * values base64. The `pgTypes` are chosen so the COPY text decoders (`formats/copy-text-*`)
 * give exactly the values `convertColumn` gives on the row path.
 */

/** How one column's field bytes become COPY text. */
type FieldEncoding = 'number' | 'bool' | 'date' | 'datetime' | 'timestamp' | 'text' | 'binary'

/** The columns of a read on the COPY text path: per column its encoding and Postgres type. */
export interface CopyTextPlan {
  encodings: FieldEncoding[]
  pgTypes: string[]
  decoders: FieldDecoder[]
}

const PLAN: Partial<Record<MysqlValueKind, { encoding: FieldEncoding; pgType: string; typname: string }>> = {
  integer: { encoding: 'number', pgType: 'bigint', typname: 'int8' },
  big_integer: { encoding: 'number', pgType: 'bigint', typname: 'int8' },
  decimal: { encoding: 'number', pgType: 'numeric', typname: 'numeric' },
  float: { encoding: 'number', pgType: 'double precision', typname: 'float8' },
  boolean: { encoding: 'bool', pgType: 'boolean', typname: 'bool' },
  date: { encoding: 'date', pgType: 'date', typname: 'date' },
  datetime: { encoding: 'datetime', pgType: 'timestamp without time zone', typname: 'timestamp' },
  timestamp: { encoding: 'timestamp', pgType: 'timestamp with time zone', typname: 'timestamptz' },
  text: { encoding: 'text', pgType: 'text', typname: 'text' },
  binary: { encoding: 'binary', pgType: 'text', typname: 'text' },
}

/**
 * The COPY text plan of a read's columns, or undefined when a column needs a conversion COPY
 * text cannot carry as sent (BIT(1) booleans, TIME beyond 24 hours) or no column is selected:
 * such reads keep the row path.
 */
export function copyTextPlan(columns: readonly MysqlColumn[]): CopyTextPlan | undefined {
  const encodings: FieldEncoding[] = []
  const pgTypes: string[] = []
  const decoders: FieldDecoder[] = []
  if (columns.length === 0) return undefined
  for (const c of columns) {
    const p = PLAN[c.kind]
    if (!p) return undefined
    encodings.push(p.encoding)
    pgTypes.push(p.pgType)
    decoders.push(fieldDecoder({ baseType: p.typname, isArray: false }))
  }
  return { encodings, pgTypes, decoders }
}

/** The COPY text plan of a standard read, unless the source's options turn the path off. */
export function readPlan(read: MysqlStreamRead): CopyTextPlan | undefined {
  return read.options.copyText ? copyTextPlan(read.columns) : undefined
}

/**
 * True when a key or cursor column's raw value is kept as bytes (a Buffer, as mysql2 returns
 * binary strings and bits), so `boundText` saves it as base64 like the row path does.
 */
export function capturesBytes(col: MysqlColumn): boolean {
  return col.kind === 'binary' || col.kind === 'bit_boolean'
}

/** Airbyte's reason for a value the source could not represent (zero dates). */
const ZERO_DATE_REASON = 'SOURCE_SERIALIZATION_ERROR'
const NULL_FIELD = Buffer.from('\\N')
const ZEROS = Buffer.from('.000000')
const UTC_SUFFIX = Buffer.from('+00')

/** A growable output buffer of COPY text. */
class CopySink extends ByteSink {
  /** Field bytes with COPY's escapes for backslash, tab, newline and carriage return. */
  escaped(src: Buffer, start: number, end: number): void {
    this.reserve((end - start) * 2)
    const buf = this.buf
    let pos = this.pos
    for (let i = start; i < end; i++) {
      const b = src[i]!
      if (b > 13 && b !== 92) {
        buf[pos++] = b
        continue
      }
      if (b === 92) {
        buf[pos++] = 92
        buf[pos++] = 92
      } else if (b === 9) {
        buf[pos++] = 92
        buf[pos++] = 116
      } else if (b === 10) {
        buf[pos++] = 92
        buf[pos++] = 110
      } else if (b === 13) {
        buf[pos++] = 92
        buf[pos++] = 114
      } else buf[pos++] = b
    }
    this.pos = pos
  }
  /** The bytes written so far; later writes go to a new buffer (no copy of the batch). */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos)
    this.buf = Buffer.allocUnsafe(this.buf.length)
    this.pos = 0
    return out
  }
}

/** `0000-..`, `..-00-..`, `..-..-00`: MySQL stores such dates, no calendar has them. */
function isZeroDate(b: Buffer, s: number): boolean {
  return (b[s] === 48 && b[s + 1] === 48 && b[s + 2] === 48 && b[s + 3] === 48) || (b[s + 5] === 48 && b[s + 6] === 48) || (b[s + 8] === 48 && b[s + 9] === 48)
}

/**
 * Encodes text-protocol rows into COPY text lines of the first `plan.encodings.length` fields
 * (fields after them, e.g. key columns read for the state only, are not written). Fields at
 * `capture` indexes are kept as raw values (text, or a Buffer when `captureBinary`): of every
 * row when `captureEachRow` (cursor reads, with each line's end offset), else of the last row.
 */
export class CopyTextRowEncoder {
  readonly #plan: CopyTextPlan
  readonly #names: string[]
  readonly #capture: number[]
  readonly #captureBinary: boolean[]
  readonly #eachRow: boolean
  #sink = new CopySink(1 << 16)
  count = 0
  /** Changes (zero dates nulled) by row index of the current chunk. */
  changes: Map<number, RecordChange[]> | undefined
  /** Last row mode: the captured fields' bytes (reused buffers; null for NULL) and lengths. */
  #lastBytes: (Buffer | null)[]
  #lastLengths: number[]
  /** With `captureEachRow`: per row, the captured values and the end offset of its line. */
  rowValues: unknown[][] = []
  lineEnds: number[] = []

  constructor(plan: CopyTextPlan, columns: readonly MysqlColumn[], capture: number[], captureBinary: boolean[], captureEachRow: boolean) {
    this.#plan = plan
    this.#names = columns.map((c) => c.name)
    this.#capture = capture
    this.#captureBinary = captureBinary
    this.#eachRow = captureEachRow
    this.#lastBytes = capture.map(() => null)
    this.#lastLengths = capture.map(() => 0)
  }

  /** Captured raw values of the last row, in `capture` order (text, or a Buffer when `captureBinary`). */
  get last(): unknown[] {
    return this.#lastBytes.map((bytes, c) => {
      if (bytes === null) return null
      const len = this.#lastLengths[c]!
      return this.#captureBinary[c] ? Buffer.from(bytes.subarray(0, len)) : bytes.toString('utf8', 0, len)
    })
  }

  /** Keeps field `c`'s bytes for `last` (no string per row: a full refresh needs only the last key). */
  #keep(c: number, b: Buffer, s: number, e: number, isNull: boolean): void {
    if (isNull) {
      this.#lastBytes[c] = null
      return
    }
    let into = this.#lastBytes[c]
    if (!into || into.length < e - s) into = this.#lastBytes[c] = Buffer.allocUnsafe(Math.max(64, e - s))
    b.copy(into, 0, s, e)
    this.#lastLengths[c] = e - s
  }

  /** Bytes of COPY text held so far. */
  get bytes(): number {
    return this.#sink.pos
  }

  /** Appends one row packet as a COPY text line. */
  row(packet: RowPacket): void {
    const b = packet.buffer
    let p = packet.offset
    const encodings = this.#plan.encodings
    const emitted = encodings.length
    const sink = this.#sink
    const capture = this.#capture
    const eachRow = this.#eachRow
    const captured: unknown[] | undefined = eachRow ? new Array(capture.length) : undefined
    for (let i = 0; p < packet.end; i++) {
      let len = b[p++]!
      let isNull = false
      if (len === 0xfb) {
        isNull = true
        len = 0
      } else if (len === 0xfc) {
        len = b[p]! | (b[p + 1]! << 8)
        p += 2
      } else if (len === 0xfd) {
        len = b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)
        p += 3
      } else if (len === 0xfe) {
        len = b.readUInt32LE(p) + b.readUInt32LE(p + 4) * 0x100000000
        p += 8
      }
      const s = p
      const e = p + len
      p = e
      const c = capture.length === 0 ? -1 : capture.indexOf(i)
      if (c >= 0) {
        if (captured) captured[c] = isNull ? null : this.#captureBinary[c] ? Buffer.from(b.subarray(s, e)) : b.toString('utf8', s, e)
        else this.#keep(c, b, s, e, isNull)
      }
      if (i >= emitted) continue
      if (i > 0) sink.byte(9)
      if (isNull) {
        sink.bytes(NULL_FIELD, 0, 2)
        continue
      }
      switch (encodings[i]!) {
        case 'number': {
          // ZEROFILL columns and YEAR 0000 come zero-padded; JSON numbers have no leading zeros.
          let k = s
          while (b[k] === 48 && k + 1 < e && b[k + 1]! >= 48 && b[k + 1]! <= 57) k++
          sink.bytes(b, k, e)
          break
        }
        case 'text':
          sink.escaped(b, s, e)
          break
        case 'bool': {
          let zero = true
          for (let k = s; k < e; k++) if (b[k] !== 48 && b[k] !== 45) zero = false
          sink.byte(zero ? 102 : 116)
          break
        }
        case 'date':
          if (isZeroDate(b, s)) this.#zero(i)
          else sink.bytes(b, s, e)
          break
        case 'datetime':
        case 'timestamp':
          if (isZeroDate(b, s)) {
            this.#zero(i)
            break
          }
          sink.bytes(b, s, e)
          // `YYYY-MM-DD HH:MM:SS[.f]`: the fraction padded to six digits.
          if (len === 19) sink.bytes(ZEROS, 0, 7)
          else if (len < 26) sink.bytes(ZEROS, 1, 1 + 26 - len)
          if (encodings[i] === 'timestamp') sink.bytes(UTC_SUFFIX, 0, 3)
          break
        case 'binary': {
          const text = b.toString('base64', s, e)
          sink.reserve(text.length)
          sink.pos += sink.buf.write(text, sink.pos, 'latin1')
          break
        }
      }
    }
    sink.byte(10)
    if (captured) {
      this.rowValues.push(captured)
      this.lineEnds.push(sink.pos)
    }
    this.count++
  }

  #zero(field: number): void {
    this.#sink.bytes(NULL_FIELD, 0, 2)
    this.changes ??= new Map()
    const change: RecordChange = { field: this.#names[field]!, change: 'NULLED', reason: ZERO_DATE_REASON }
    const list = this.changes.get(this.count)
    if (list) list.push(change)
    else this.changes.set(this.count, [change])
  }

  /** Hands over the rows encoded so far and starts a new chunk. */
  take(): CopyTextChunk {
    const chunk: CopyTextChunk = { data: this.#sink.take(), count: this.count, changes: this.changes, rowValues: this.rowValues, lineEnds: this.lineEnds }
    this.count = 0
    this.changes = undefined
    this.rowValues = []
    this.lineEnds = []
    return chunk
  }
}

/** A run of rows as COPY text. */
export interface CopyTextChunk {
  data: Buffer
  count: number
  changes: Map<number, RecordChange[]> | undefined
  /** Captured values per row (cursor reads only). */
  rowValues: unknown[][]
  /** End offset of each row's line in `data` (cursor reads only). */
  lineEnds: number[]
}

/** A RecordBatch over the COPY text of MySQL rows (`copyTextBatch` of formats/). */
export function copyTextBatch(
  stream: StreamDescriptor,
  columns: readonly MysqlColumn[],
  plan: CopyTextPlan,
  data: Buffer,
  count: number,
  changes: ReadonlyMap<number, RecordChange[]> | undefined,
): RecordBatch {
  return lazyCopyTextBatch(stream, columns.map((c) => c.name), plan.pgTypes, plan.decoders, data, count, changes)
}
