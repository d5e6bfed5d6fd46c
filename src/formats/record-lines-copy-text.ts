import type { RecordData, RecordValue } from '../protocol/index.js'
import { RecordLineScanner, forEachLine } from './airbyte-record-lines.js'
import { copyTextValue } from './copy-text-encode.js'

/** One target column of `encodeRecordLinesCopyText`, in the table's column order. */
export interface RecordLinesCopyColumn {
  /** The property of `data` the column takes. */
  source: string
  /** Every non-null value is written as JSON text (a jsonb column). */
  json: boolean
  /**
   * The values the column accepts besides null: an object or array column's other values need
   * typing (NULL with a change), so a batch holding one is not encoded here.
   */
  shape?: 'object' | 'array'
}

/** The per-row Airbyte fields: `idPrefix` + a 12-hex-digit row number + `tail`, before the newline. */
export interface RecordLinesCopyRowEnd {
  /** A tab and the first 24 characters of the batch's raw ids (ASCII). */
  idPrefix: string
  /** The fields after the raw id, each with its leading tab. */
  tail: string
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const TAB = 0x09
const NL = 0x0a
const CR = 0x0d
const HEX = Buffer.from('0123456789abcdef')

function hexValue(b: number): number {
  return b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10
}

/**
 * COPY text of Airbyte RECORD lines in a table's column order, straight from the lines' bytes:
 * the same bytes `encodeCopyColumns` writes from the batch's `columns()` (the column path of
 * the Postgres destination), raw ids aside, without a JS value per field.
 *
 * A line whose `data` bytes are what JSON.stringify prints (`RecordLineScanner`) is read in
 * place: keys in any order, extra keys ignored, missing ones NULL; strings are unescaped from
 * JSON and escaped for COPY (NUL dropped, as `escapeCopy` does); numbers are already their
 * shortest form, so they are copied, as are `true`/`false`; objects and arrays, and every value
 * of a JSON column, are their JSON text, COPY-escaped. Any other line takes its row from
 * `rows()` (which also fails on invalid JSON, as the column path does) and `copyTextValue`.
 *
 * Returns undefined when the batch cannot be loaded this way as a whole, as `columnsCopyAllowed`
 * decides for column batches (a value of an object or array column that is not one), or the
 * line count is not `count`: the caller takes its other paths. The result is a view of
 * `scratch` or of a bigger buffer replacing it.
 */
export function encodeRecordLinesCopyText(
  lines: Buffer,
  count: number,
  columns: readonly RecordLinesCopyColumn[],
  rowEnd: RecordLinesCopyRowEnd,
  rows: () => RecordData[],
  scratch?: Buffer,
): Buffer | undefined {
  const n = columns.length
  const keys = columns.map((c) => Buffer.from(c.source, 'utf8'))
  const prefix = Buffer.from(rowEnd.idPrefix, 'latin1')
  const tail = Buffer.from(rowEnd.tail, 'utf8')
  // Where each column's value lies in the current line, and the line that set it.
  const valueStart = new Int32Array(n)
  const valueEnd = new Int32Array(n)
  const valueLine = new Int32Array(n).fill(-1)
  const valueEscaped = new Uint8Array(n)
  // Of the k-th key of the previous line, the column it named: lines of one source usually
  // repeat their key order, so the guess saves a search.
  const guess = new Int32Array(64).fill(-1)
  const perRow = prefix.length + 12 + tail.length + 1
  let out = scratch ?? Buffer.allocUnsafeSlow(1 << 20)
  let pos = 0
  const reserve = (size: number): void => {
    if (pos + size <= out.length) return
    const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, pos + size))
    out.copy(bigger, 0, 0, pos)
    out = bigger
  }
  const scanner = new RecordLineScanner(lines, true)
  let row = 0
  let fits = true

  /** The column named by the key [s, e) (no escapes), or -1; `k` is the key's position. */
  const columnOf = (s: number, e: number, k: number): number => {
    const len = e - s
    const g = k < guess.length ? guess[k]! : -1
    if (g >= 0 && sameBytes(keys[g]!, lines, s, len)) return g
    for (let i = 0; i < n; i++) {
      if (sameBytes(keys[i]!, lines, s, len)) {
        if (k < guess.length) guess[k] = i
        return i
      }
    }
    return -1
  }

  /** The fields of a line whose `data` the scanner found canonical, from the entries it recorded. */
  const fromFields = (): void => {
    const { fieldCount, fieldKeyStart, fieldKeyEnd, fieldKeyEscaped, fieldValueStart, fieldValueEnd, fieldValueEscaped } = scanner
    for (let k = 0; k < fieldCount; k++) {
      const ks = fieldKeyStart[k]!
      const ke = fieldKeyEnd[k]!
      // An escaped key is compared decoded (rare).
      const col = fieldKeyEscaped[k] === 1 ? escapedKeyColumn(ks, ke) : columnOf(ks, ke, k)
      if (col < 0) continue
      valueStart[col] = fieldValueStart[k]!
      valueEnd[col] = fieldValueEnd[k]!
      valueLine[col] = row
      valueEscaped[col] = fieldValueEscaped[k]!
    }
    for (let i = 0; i < n; i++) {
      if (i > 0) out[pos++] = TAB
      const s = valueStart[i]!
      const e = valueEnd[i]!
      const first = lines[s]!
      if (valueLine[i] !== row || first === 0x6e) {
        out[pos++] = BACKSLASH
        out[pos++] = 0x4e
        continue
      }
      const c = columns[i]!
      if (c.shape !== undefined && first !== (c.shape === 'object' ? 0x7b : 0x5b)) {
        fits = false
        return
      }
      if (first === QUOTE && valueEscaped[i] === 0) pos = c.json ? put(lines, s, e, out, pos) : put(lines, s + 1, e - 1, out, pos)
      else if (first === QUOTE && !c.json) pos = unescapeString(lines, s + 1, e - 1, out, pos)
      else if (first === QUOTE || first === 0x7b || first === 0x5b) pos = escapeJsonText(lines, s, e, out, pos)
      else pos = put(lines, s, e, out, pos)
    }
  }

  const escapedKeyColumn = (ks: number, ke: number): number => {
    const name = JSON.parse(lines.toString('utf8', ks - 1, ke + 1)) as string
    return columns.findIndex((c) => c.source === name)
  }

  /** A line the scanner left to JSON.parse: the column path's encoding of its parsed row. */
  const fromRow = (data: unknown): void => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      fits = false
      return
    }
    const record = data as Record<string, RecordValue>
    let line = ''
    for (let i = 0; i < n; i++) {
      const c = columns[i]!
      const v = Object.hasOwn(record, c.source) ? record[c.source] : undefined
      if (c.shape !== undefined && v !== null && v !== undefined && !hasShape(v, c.shape)) {
        fits = false
        return
      }
      if (i > 0) line += '\t'
      line += copyTextValue(v, c.json)
    }
    reserve(line.length * 3 + perRow)
    pos += out.write(line, pos)
  }

  forEachLine(lines, (start, end) => {
    if (!fits) return
    if (row >= count) {
      fits = false
      return
    }
    // A field's text is at most twice its JSON (escaped backslashes), a missing one `\N` and a tab.
    reserve(2 * (end - start) + 3 * n + perRow)
    if (scanner.scan(start, end)) fromFields()
    else fromRow(rows()[row])
    if (!fits) return
    pos = put(prefix, 0, prefix.length, out, pos)
    for (let d = 11, r = row; d >= 0; d--, r = Math.floor(r / 16)) out[pos + d] = HEX[r % 16]!
    pos += 12
    pos = put(tail, 0, tail.length, out, pos)
    out[pos++] = NL
    row++
  })
  return fits && row === count ? out.subarray(0, pos) : undefined
}

/** Whether a parsed JSON value is an object (array) for an object (array) column. */
function hasShape(v: RecordValue, shape: 'object' | 'array'): boolean {
  return shape === 'array' ? Array.isArray(v) : typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The canonical JSON string body [s, e) as a COPY text field: JSON escapes undone (the scanner
 * allows only `\" \\ \b \f \n \r \t` and `\u00xx`), then backslash, newline, carriage return
 * and tab escaped and NUL dropped, as `escapeCopy` does. Raw bytes (valid UTF-8) are copied.
 */
function unescapeString(buf: Buffer, s: number, e: number, out: Buffer, pos: number): number {
  let from = s
  for (let i = s; i < e; i++) {
    if (buf[i] !== BACKSLASH) continue
    pos = put(buf, from, i, out, pos)
    const c = buf[++i]!
    switch (c) {
      case 0x6e: // n
        out[pos++] = BACKSLASH
        out[pos++] = 0x6e
        break
      case 0x74: // t
        out[pos++] = BACKSLASH
        out[pos++] = 0x74
        break
      case 0x72: // r
        out[pos++] = BACKSLASH
        out[pos++] = 0x72
        break
      case 0x5c:
        out[pos++] = BACKSLASH
        out[pos++] = BACKSLASH
        break
      case 0x62: // b
        out[pos++] = 0x08
        break
      case 0x66: // f
        out[pos++] = 0x0c
        break
      case 0x75: {
        // \u00xx: a control character without a short escape.
        const code = hexValue(buf[i + 3]!) * 16 + hexValue(buf[i + 4]!)
        if (code === TAB || code === NL || code === CR) {
          out[pos++] = BACKSLASH
          out[pos++] = code === TAB ? 0x74 : code === NL ? 0x6e : 0x72
        } else if (code !== 0) out[pos++] = code
        i += 4
        break
      }
      default: // " and /
        out[pos++] = c
    }
    from = i + 1
  }
  return put(buf, from, e, out, pos)
}

/** Canonical JSON text [s, e) COPY-escaped: it has no raw control characters, so only backslashes double. */
function escapeJsonText(buf: Buffer, s: number, e: number, out: Buffer, pos: number): number {
  let from = s
  for (let i = s; i < e; i++) {
    if (buf[i] !== BACKSLASH) continue
    pos = put(buf, from, i + 1, out, pos)
    out[pos++] = BACKSLASH
    from = i + 1
  }
  return put(buf, from, e, out, pos)
}

/** Whether `key` is the `len` bytes at `s` of `buf`. */
function sameBytes(key: Buffer, buf: Buffer, s: number, len: number): boolean {
  if (key.length !== len) return false
  for (let i = 0; i < len; i++) if (key[i] !== buf[s + i]) return false
  return true
}

/**
 * Copies [s, e) of `src` to `out` at `pos`; returns the new position. Short ranges (most
 * fields) go byte by byte: a `Buffer.copy` call costs more than copying a few dozen bytes.
 */
function put(src: Buffer, s: number, e: number, out: Buffer, pos: number): number {
  if (e - s > 64) return pos + src.copy(out, pos, s, e)
  for (let i = s; i < e; i++) out[pos++] = src[i]!
  return pos
}
