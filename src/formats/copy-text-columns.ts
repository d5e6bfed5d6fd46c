import { setInt64Words } from './byte-writers.js'
import { civilDays, dayTimeMillis, epochMicros, toEpochDays, toEpochMicros, toTimeMicros, toUnscaledDecimal } from './value-conversions.js'
import type { DataColumn } from './stream-columns.js'
import { isCopyNull, unescapeCopyInto, type CopyFields } from './copy-text.js'

/**
 * Reading Postgres COPY text (`RecordBatch.pgCopyText`, split by `splitCopyFields`) straight
 * into typed column values, so a Postgres -> Parquet sync never builds a JS string or object per
 * field for the common types.
 */

const BACKSLASH = 92

/** How a COPY field of a Postgres type becomes a column value; undefined = not handled here. */
export type CopyDecoder = 'int' | 'float' | 'bool' | 'date' | 'timestamp' | 'time' | 'decimal' | 'text'

/** Picks the byte-level decoder for a column from its kind and its Postgres type name. */
export function copyDecoderFor(column: DataColumn, pgType: string): CopyDecoder | undefined {
  const t = pgType.toLowerCase()
  if (t.endsWith('[]')) return undefined
  switch (column.kind) {
    case 'integer':
      return /^(smallint|integer|bigint|oid)$/.test(t) || /^numeric\(\d+,\s*0\)$/.test(t) ? 'int' : undefined
    case 'number':
      return /^(real|double precision|numeric(\(.*\))?)$/.test(t) ? 'float' : undefined
    case 'decimal':
      return /^numeric(\(.*\))?$/.test(t) ? 'decimal' : undefined
    case 'boolean':
      return t === 'boolean' ? 'bool' : undefined
    case 'date':
      return t === 'date' ? 'date' : undefined
    case 'timestamp':
    case 'timestamp_tz':
      return t.startsWith('timestamp') ? 'timestamp' : undefined
    case 'time':
      return t.startsWith('time') && !t.startsWith('timestamp') ? 'time' : undefined
    case 'string':
      return 'text'
    case 'json':
      return t === 'json' || t === 'jsonb' ? 'text' : undefined
  }
}

function digitsAt(data: Buffer, from: number, count: number): number {
  let n = 0
  for (let i = from; i < from + count; i++) {
    const d = data[i]! - 48
    if (d < 0 || d > 9) return NaN
    n = n * 10 + d
  }
  return n
}

/** `YYYY-MM-DD` at `s` as days since the epoch; NaN when the bytes are not such a date. */
function dateDaysAt(data: Buffer, s: number): number {
  if (data[s + 4] !== 45 || data[s + 7] !== 45) return NaN
  return civilDays(digitsAt(data, s, 4), digitsAt(data, s + 5, 2), digitsAt(data, s + 8, 2))
}

/**
 * The last date a column decoded, by where its bytes are in the batch: consecutive rows often
 * share their date (timestamps in insertion order), and comparing ten bytes costs less than
 * parsing them again.
 */
interface DayCache {
  at: number
  days: number
}

/** dateDaysAt, or the cached day count when the ten bytes at `s` equal the cached date's. */
function cachedDateDaysAt(data: Buffer, s: number, cache: DayCache): number {
  const at = cache.at
  if (at >= 0) {
    let k = 9
    while (k >= 0 && data[s + k] === data[at + k]) k--
    if (k < 0) return cache.days
  }
  const days = dateDaysAt(data, s)
  if (days === days) {
    cache.at = s
    cache.days = days
  }
  return days
}

/**
 * `YYYY-MM-DD HH:MM:SS[.ffffff][+00]` as Postgres prints it in a UTC session, to epoch micros;
 * other shapes (offsets, BC, infinity, years past 9999) go through the general string parser.
 */
function timestampMicros(data: Buffer, s: number, e: number, cache: DayCache): number | bigint | undefined {
  if (e - s >= 19 && data[s + 4] === 45 && data[s + 7] === 45 && data[s + 10] === 32 && data[s + 13] === 58 && data[s + 16] === 58) {
    let i = s + 19
    let fraction = 0
    if (data[i] === 46) {
      let scale = 100_000
      for (i++; i < e && scale >= 1; i++, scale /= 10) {
        const d = data[i]! - 48
        if (d < 0 || d > 9) break
        fraction += d * scale
      }
    }
    const rest = e - i
    if (rest === 0 || (rest === 3 && data[i] === 43 && data[i + 1] === 48 && data[i + 2] === 48)) {
      const hours = digitsAt(data, s + 11, 2)
      const minutes = digitsAt(data, s + 14, 2)
      const seconds = digitsAt(data, s + 17, 2)
      const ms = dayTimeMillis(cachedDateDaysAt(data, s, cache), hours, minutes, seconds)
      if (hours < 24 && minutes < 60 && seconds < 61 && Number.isSafeInteger(ms)) return epochMicros(ms, fraction)
    }
  }
  return toEpochMicros(data.toString('latin1', s, e))
}

const POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

/**
 * A plain decimal literal (`-12.5`, `739999.63`) with at most 15 significant digits, as the
 * nearest double: the digits form an exact integer below 2^53 and the power of ten is exact, so
 * one IEEE division rounds correctly (Clinger's fast path), as `Number(text)` would. NaN for any
 * other shape (exponents, more digits, NaN/Infinity), which the caller sends to `Number`.
 */
function plainDecimal(data: Buffer, s: number, e: number): number {
  let i = s
  const negative = data[i] === 45
  if (negative) i++
  let mantissa = 0
  let digits = 0
  let fraction = -1
  for (; i < e; i++) {
    const b = data[i]!
    if (b >= 48 && b <= 57) {
      mantissa = mantissa * 10 + (b - 48)
      if (mantissa !== 0) digits++
      if (fraction >= 0) fraction++
    } else if (b === 46 && fraction < 0) fraction = 0
    else return NaN
  }
  if (digits > 15 || fraction === 0 || i === (negative ? s + 1 : s)) return NaN
  const v = fraction > 0 ? mantissa / POWERS_OF_TEN[fraction]! : mantissa
  return negative ? -v : v
}

function intValue(data: Buffer, s: number, e: number): number | bigint | undefined {
  if (e - s > 15) {
    const text = data.toString('latin1', s, e)
    if (!/^[+-]?\d+$/.test(text)) return undefined
    const v = BigInt(text)
    return BigInt.asIntN(64, v) === v ? v : undefined
  }
  let i = s
  let sign = 1
  if (data[i] === 45) {
    sign = -1
    i++
  }
  if (i === e) return undefined
  let n = 0
  for (; i < e; i++) {
    const d = data[i]! - 48
    if (d < 0 || d > 9) return undefined
    n = n * 10 + d
  }
  return sign * n
}

/**
 * The unscaled value of a plain decimal literal (`-123.4` at scale 2 -> -12340) when it is small
 * enough to be exact as a number (< 10^15) and needs no rounding; undefined sends the literal to
 * the general conversion (rounding, big values, errors), which gives the same result.
 */
function smallUnscaled(data: Buffer, s: number, e: number, precision: number, scale: number): number | undefined {
  let i = s
  const negative = data[i] === 45
  if (negative || data[i] === 43) i++
  let v = 0
  let digits = 0
  for (; i < e; i++) {
    const b = data[i]!
    if (b < 48 || b > 57) break
    v = v * 10 + (b - 48)
    digits++
  }
  let fraction = 0
  if (i < e) {
    if (data[i] !== 46) return undefined
    for (i++; i < e; i++) {
      const b = data[i]!
      if (b < 48 || b > 57 || fraction === scale) return undefined
      v = v * 10 + (b - 48)
      fraction++
    }
  }
  if (digits + fraction === 0 || digits + scale > 15) return undefined
  for (; fraction < scale; fraction++) v *= 10
  if (precision < 16 && v >= 10 ** precision) return undefined
  return negative ? -v : v
}

/** A fixed-width column decoded from COPY bytes, ready to become an Arrow buffer. */
export interface DecodedColumn {
  /** int64 / timestamp / time: BigInt64Array; decimal: 128-bit words as Uint32Array; float: Float64Array; date: Int32Array; bool: bit-packed Uint8Array. */
  data: BigInt64Array | Uint32Array | Float64Array | Int32Array | Uint8Array
  valid: Uint8Array
  nulls: number
}

/**
 * Decodes one fixed-width column straight from the COPY bytes into its typed buffer. NULL (and
 * NaN/Infinity for floats, as the Postgres source decodes them) become nulls; a value that cannot
 * be converted becomes null and is reported through `fail(row)`.
 */
export function decodeCopyColumn(
  fields: CopyFields,
  index: number,
  decoder: Exclude<CopyDecoder, 'text'>,
  column: DataColumn,
  fail: (row: number) => void,
): DecodedColumn {
  const { data, starts, ends, columnCount, rows } = fields
  const valid = new Uint8Array((rows + 7) >> 3)
  let nulls = 0
  const wide = decoder === 'int' || decoder === 'timestamp' || decoder === 'time' ? new BigInt64Array(rows) : undefined
  const words = wide ? new Uint32Array(wide.buffer) : undefined
  const decimal = decoder === 'decimal' ? new BigInt64Array(rows * 2) : undefined
  const decimalWords = decimal ? new Uint32Array(decimal.buffer) : undefined
  const doubles = decoder === 'float' ? new Float64Array(rows) : undefined
  const days = decoder === 'date' ? new Int32Array(rows) : undefined
  const bits = decoder === 'bool' ? new Uint8Array((rows + 7) >> 3) : undefined
  const dayCache: DayCache = { at: -1, days: 0 }
  for (let r = 0, f = index; r < rows; r++, f += columnCount) {
    const s = starts[f]!
    const e = ends[f]!
    if (isCopyNull(data, s, e)) {
      nulls++
      continue
    }
    let ok = true
    switch (decoder) {
      case 'int':
      case 'timestamp':
      case 'time': {
        const v = decoder === 'int' ? intValue(data, s, e) : decoder === 'timestamp' ? timestampMicros(data, s, e, dayCache) : toTimeMicros(data.toString('latin1', s, e))
        if (v === undefined) ok = false
        else if (typeof v === 'number') setInt64Words(words!, r, v)
        else wide![r] = v
        break
      }
      case 'float': {
        const plain = plainDecimal(data, s, e)
        if (plain === plain) {
          doubles![r] = plain
          break
        }
        const text = data.toString('latin1', s, e)
        const v = Number(text)
        if (Number.isFinite(v)) doubles![r] = v
        else if (text === 'NaN' || text.endsWith('Infinity')) {
          nulls++
          continue
        } else ok = false
        break
      }
      case 'bool':
        if (data[s] === 116) bits![r >> 3]! |= 1 << (r & 7)
        else ok = data[s] === 102
        break
      case 'date': {
        const fast = e - s === 10 ? cachedDateDaysAt(data, s, dayCache) : NaN
        const v = Number.isNaN(fast) ? toEpochDays(data.toString('latin1', s, e)) : fast
        if (v === undefined) ok = false
        else days![r] = v
        break
      }
      case 'decimal': {
        const small = smallUnscaled(data, s, e, column.precision ?? 38, column.scale ?? 0)
        if (small !== undefined) {
          // |small| < 10^15: the low word is the value, the high word its sign.
          setInt64Words(decimalWords!, r * 2, small)
          decimalWords![r * 4 + 2] = decimalWords![r * 4 + 3] = small < 0 ? 0xffffffff : 0
          break
        }
        const v = toUnscaledDecimal(data.toString('latin1', s, e), column.precision ?? 38, column.scale ?? 0)
        if (v === undefined) ok = false
        else {
          decimal![r * 2] = BigInt.asIntN(64, v)
          decimal![r * 2 + 1] = BigInt.asIntN(64, v >> 64n)
        }
        break
      }
    }
    if (!ok) {
      fail(r)
      nulls++
      continue
    }
    valid[r >> 3]! |= 1 << (r & 7)
  }
  const out = wide ?? (decimal ? new Uint32Array(decimal.buffer) : (doubles ?? days ?? bits!))
  return { data: out, valid, nulls }
}

/** Positions of every backslash of the batch, in order (found natively; most batches have few). */
function backslashes(fields: CopyFields): Int32Array {
  if (fields.backslashes) return fields.backslashes
  const { data } = fields
  let out = new Int32Array(64)
  let n = 0
  for (let i = data.indexOf(BACKSLASH); i !== -1; i = data.indexOf(BACKSLASH, i + 1)) {
    if (n === out.length) {
      const grown = new Int32Array(n * 2)
      grown.set(out)
      out = grown
    }
    out[n++] = i
  }
  fields.backslashes = out.subarray(0, n)
  return fields.backslashes
}

/** A UTF-8 column's offsets, bytes and validity, copied from the COPY bytes (escapes undone). */
export function copyTextColumn(fields: CopyFields, index: number): { offsets: Int32Array; bytes: Buffer; valid: Uint8Array; nulls: number } {
  const { data, starts, ends, columnCount, rows } = fields
  const escapes = backslashes(fields)
  const offsets = new Int32Array(rows + 1)
  const valid = new Uint8Array((rows + 7) >> 3)
  let total = 0
  for (let r = 0, f = index; r < rows; r++, f += columnCount) total += ends[f]! - starts[f]!
  const bytes = Buffer.allocUnsafe(total)
  // Fields without a backslash are copied four bytes at a time through DataViews (unaligned
  // access is fine there): half the time of a byte loop, and a Buffer.copy per short value costs
  // more than either (it makes a view per call).
  const from = new DataView(data.buffer, data.byteOffset, data.length)
  const to = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
  let pos = 0
  let nulls = 0
  let next = 0
  for (let r = 0, f = index; r < rows; r++, f += columnCount) {
    const s = starts[f]!
    const e = ends[f]!
    while (next < escapes.length && escapes[next]! < s) next++
    if (next < escapes.length && escapes[next]! < e) {
      if (isCopyNull(data, s, e)) nulls++
      else {
        valid[r >> 3]! |= 1 << (r & 7)
        pos = unescapeCopyInto(data, s, e, bytes, pos)
      }
    } else {
      valid[r >> 3]! |= 1 << (r & 7)
      let i = s
      for (; i + 4 <= e; i += 4, pos += 4) to.setUint32(pos, from.getUint32(i))
      for (; i < e; i++) bytes[pos++] = data[i]!
    }
    offsets[r + 1] = pos
  }
  return { offsets, bytes: bytes.subarray(0, pos), valid, nulls }
}
