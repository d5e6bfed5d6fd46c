/**
 * PostgreSQL COPY text, the one place that knows the format: one row per `\n`, fields separated
 * by `\t`, `\N` for NULL, backslash escapes inside values (newlines and tabs in values are always
 * escaped). The Postgres source reads and writes it, `copy-text-values` decodes it to record
 * values, `copy-text-columns` to typed columns (Parquet) and `copy-text-jsonl` to JSON Lines.
 */

const TAB = 9
const NL = 10
const BACKSLASH = 92

/** Whether the field [s, e) is `\\N`, COPY text's NULL. */
export function isCopyNull(data: Buffer, s: number, e: number): boolean {
  return e - s === 2 && data[s] === BACKSLASH && data[s + 1] === 78
}

/** Field boundaries of a COPY text buffer: field (r, c) is `data[starts[r*n+c], ends[r*n+c])`. */
export interface CopyFields {
  data: Buffer
  columnCount: number
  rows: number
  starts: Int32Array
  ends: Int32Array
  /** Backslash positions, found on first use by the text columns. */
  backslashes?: Int32Array
}

/** Boundary arrays reused from batch to batch (allocating them per batch kept the GC busy). */
let scratch = { starts: new Int32Array(0), ends: new Int32Array(0) }

/**
 * One pass over the bytes; returns undefined if a row does not have `columnCount` fields. The
 * result's boundary arrays are reused by the next call: use it before the next batch is split.
 */
export function splitCopyFields(data: Buffer, columnCount: number, rowCount: number): CopyFields | undefined {
  const size = rowCount * columnCount
  if (scratch.starts.length < size) scratch = { starts: new Int32Array(size), ends: new Int32Array(size) }
  const starts = scratch.starts.subarray(0, size)
  const ends = scratch.ends.subarray(0, size)
  let field = 0
  let start = 0
  // The field count at which the current row must end with a NL.
  let rowEnd = columnCount
  const n = data.length
  // Four bytes at a time: per-byte flags of TAB and NL from the zero-byte bit trick (exact: no
  // carry crosses bytes), so words without a delimiter, most of them in text, cost one test, and
  // each delimiter is found from its flag without a byte loop. `lead` bytes before the first
  // 4-byte aligned word and the tail after the last go one by one.
  const lead = Math.min(n, (4 - (data.byteOffset & 3)) & 3)
  const words = new Uint32Array(data.buffer, data.byteOffset + lead, (n - lead) >> 2)
  let counters = splitBytes(data, 0, lead, starts, ends, field, start, rowEnd, columnCount)
  if (counters === undefined) return undefined
  ;[field, start, rowEnd] = counters
  // Writes past the arrays' end are dropped by typed arrays; the final count check catches them.
  for (let w = 0; w < words.length; w++) {
    const word = words[w]!
    const t = word ^ 0x09090909
    const l = word ^ 0x0a0a0a0a
    const nls = ~(((l & 0x7f7f7f7f) + 0x7f7f7f7f) | l | 0x7f7f7f7f) & 0x80808080
    let m = (~(((t & 0x7f7f7f7f) + 0x7f7f7f7f) | t | 0x7f7f7f7f) & 0x80808080) | nls
    while (m !== 0) {
      const bit = m & -m
      const i = lead + w * 4 + ((31 - Math.clz32(bit)) >> 3)
      starts[field] = start
      ends[field] = i
      field++
      start = i + 1
      if ((nls & bit) !== 0) {
        if (field !== rowEnd) return undefined
        rowEnd += columnCount
      } else if (field === rowEnd) return undefined
      m ^= bit
    }
  }
  counters = splitBytes(data, lead + words.length * 4, n, starts, ends, field, start, rowEnd, columnCount)
  if (counters === undefined) return undefined
  field = counters[0]
  if (field !== rowCount * columnCount) return undefined
  return { data, columnCount, rows: rowCount, starts, ends }
}

/** The byte-by-byte form of splitCopyFields' loop for [from, to); returns the new counters. */
function splitBytes(
  data: Buffer,
  from: number,
  to: number,
  starts: Int32Array,
  ends: Int32Array,
  field: number,
  start: number,
  rowEnd: number,
  columnCount: number,
): [number, number, number] | undefined {
  for (let i = from; i < to; i++) {
    const b = data[i]!
    if (b !== TAB && b !== NL) continue
    starts[field] = start
    ends[field] = i
    field++
    start = i + 1
    if (b === NL) {
      if (field !== rowEnd) return undefined
      rowEnd += columnCount
    } else if (field === rowEnd) return undefined
  }
  return [field, start, rowEnd]
}

/** Undoes COPY escapes of one field into `out` at `pos`; returns the new position. */
export function unescapeCopyInto(data: Buffer, s: number, e: number, out: Buffer, pos: number): number {
  for (let i = s; i < e; i++) {
    const b = data[i]!
    if (b !== BACKSLASH || i + 1 >= e) {
      out[pos++] = b
      continue
    }
    const c = data[++i]!
    switch (c) {
      case 110: // n
        out[pos++] = 10
        break
      case 116: // t
        out[pos++] = 9
        break
      case 114: // r
        out[pos++] = 13
        break
      case 98: // b
        out[pos++] = 8
        break
      case 102: // f
        out[pos++] = 12
        break
      case 118: // v
        out[pos++] = 11
        break
      case 120: {
        // \xHH
        let v = 0
        let k = 0
        for (; k < 2 && i + 1 < e; k++) {
          const h = String.fromCharCode(data[i + 1]!)
          if (!/[0-9a-fA-F]/.test(h)) break
          v = v * 16 + parseInt(h, 16)
          i++
        }
        out[pos++] = k === 0 ? 120 : v
        break
      }
      default:
        if (c >= 48 && c <= 55) {
          // \ooo octal
          let v = c - 48
          for (let k = 0; k < 2 && i + 1 < e && data[i + 1]! >= 48 && data[i + 1]! <= 55; k++) v = v * 8 + (data[++i]! - 48)
          out[pos++] = v & 0xff
        } else out[pos++] = c
    }
  }
  return pos
}

/** Undoes COPY text escaping of one field (`\N` is handled by the caller). */
export function unescapeCopy(field: string): string {
  if (!field.includes('\\')) return field
  return field.replace(/\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)/g, (_m, c: string) => {
    switch (c) {
      case 'b':
        return '\b'
      case 'f':
        return '\f'
      case 'n':
        return '\n'
      case 'r':
        return '\r'
      case 't':
        return '\t'
      case 'v':
        return '\v'
      default:
        if (c.length > 1 && c[0] === 'x') return String.fromCharCode(parseInt(c.slice(1), 16))
        if (/^[0-7]+$/.test(c)) return String.fromCharCode(parseInt(c, 8))
        return c
    }
  })
}

/** Escapes a string for COPY text format (NUL characters are dropped: Postgres cannot store them). */
export function escapeCopy(value: string): string {
  let v = value
  if (v.includes('\u0000')) v = v.replace(/\u0000/g, '')
  if (!/[\\\n\r\t]/.test(v)) return v
  return v.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
}

/** Counts rows (newline bytes) in COPY text: newlines inside values are always escaped. */
export function countCopyRows(data: Buffer): number {
  let n = 0
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++
  return n
}

/** The escaped bytes of field `index` of the line [start, end). */
export function copyFieldAt(data: Buffer, start: number, end: number, index: number): Buffer {
  let s = start
  for (let k = 0; k < index; k++) s = data.indexOf(TAB, s) + 1
  let e = data.indexOf(TAB, s)
  if (e === -1 || e > end) e = end
  return data.subarray(s, e)
}
