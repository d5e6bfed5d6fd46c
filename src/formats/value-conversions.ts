/**
 * Conversions of JSON record values to the physical values of typed columns (Parquet). Each
 * returns `undefined` when the value cannot be converted; the caller then writes null and
 * records an `_airbyte_meta.changes` entry, as Airbyte does.
 */

const TIMESTAMP_RE =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?\s*$/
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/
const MICROS_PER_DAY = 86_400_000_000

/** Offset of a `Z`, `+hh`, `+hhmm` or `+hh:mm` suffix, in minutes. */
function offsetMinutes(tz: string | undefined): number {
  if (!tz || tz === 'Z' || tz === 'z') return 0
  const sign = tz[0] === '-' ? -1 : 1
  const digits = tz.slice(1).replace(':', '')
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'))
}

/** Up to 6 fractional digits as microseconds (nanoseconds are truncated). */
function fractionMicros(fraction: string | undefined): number {
  return fraction ? Number(fraction.slice(0, 6).padEnd(6, '0')) : 0
}

/** Digit value of the char at `i`, or NaN when it is not a digit. */
function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : NaN
}

function digits(s: string, from: number, count: number): number {
  let n = 0
  for (let i = from; i < from + count; i++) n = n * 10 + digit(s, i)
  return n
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil); NaN when the
 * month or day is out of range. A day past the month's end runs into the next month, as with
 * Date.UTC; unlike Date.UTC, years 0-99 are not taken as 1900-1999.
 */
export function civilDays(year: number, month: number, day: number): number {
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31)) return NaN
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468
}

/** Epoch milliseconds of a UTC date and time of day (the time may run past midnight, as with Date.UTC). */
export function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  return dayTimeMillis(civilDays(year, month, day), hour, minute, second)
}

/** Epoch milliseconds of a time of day on the day `days` after the epoch. */
export function dayTimeMillis(days: number, hour: number, minute: number, second: number): number {
  return days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000
}

/**
 * The common shapes `YYYY-MM-DD[T ]HH:MM:SS[.f{1,6}][Z|+00|+00:00]` without a regex or any
 * allocation; anything else (other offsets, more digits, spaces) returns undefined and goes
 * through the general parser.
 */
function fastIsoMicros(s: string): number | bigint | undefined {
  const n = s.length
  if (n < 19 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return undefined
  const sep = s.charCodeAt(10)
  if (sep !== 84 && sep !== 32) return undefined
  const month = digits(s, 5, 2)
  const day = digits(s, 8, 2)
  const hour = digits(s, 11, 2)
  const minute = digits(s, 14, 2)
  const second = digits(s, 17, 2)
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return undefined
  let i = 19
  let fraction = 0
  if (s.charCodeAt(i) === 46) {
    let scale = 100_000
    for (i++; i < n && scale >= 1; i++, scale /= 10) {
      const d = digit(s, i)
      if (Number.isNaN(d)) break
      fraction += d * scale
    }
    if (scale === 100_000) return undefined
  }
  const rest = n - i
  // UTC only: "Z", "+00", "+00:00" or nothing (no zone = UTC).
  if (rest === 1 ? s.charCodeAt(i) !== 90 && s.charCodeAt(i) !== 122 : rest === 3 ? s.slice(i) !== '+00' : rest === 6 ? s.slice(i) !== '+00:00' : rest !== 0) {
    return undefined
  }
  const ms = utcMillis(digits(s, 0, 4), month, day, hour, minute, second)
  if (Number.isNaN(ms) || Number.isNaN(fraction)) return undefined
  return epochMicros(ms, fraction)
}

/**
 * Epoch microseconds from epoch milliseconds (an integer) and the microseconds within that
 * millisecond's second part: a plain number while exact (within about 285 years of 1970, the hot
 * path), else a BigInt, so sentinels such as 9999-12-31 or 0001-01-01 keep their value.
 */
export function epochMicros(ms: number, fraction: number): number | bigint {
  const micros = ms * 1000 + fraction
  return Number.isSafeInteger(micros) ? micros : BigInt(ms) * 1000n + BigInt(fraction)
}

/**
 * ISO-8601 / Postgres timestamp text (with or without zone; without zone = UTC) to epoch
 * microseconds. Numbers are taken as epoch milliseconds. A plain number when exact, else a
 * BigInt (see epochMicros).
 */
export function toEpochMicros(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? epochMicros(Math.trunc(value), 0) : undefined
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : epochMicros(value.getTime(), 0)
  if (typeof value !== 'string') return undefined
  const fast = fastIsoMicros(value)
  if (fast !== undefined) return fast
  const m = TIMESTAMP_RE.exec(value)
  if (!m) return undefined
  const ms = utcMillis(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0))
  if (Number.isNaN(ms)) return undefined
  return epochMicros(ms - offsetMinutes(m[8]) * 60_000, fractionMicros(m[7]))
}

/** A date (or the date part of a timestamp) to days since the epoch. */
export function toEpochDays(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = TIMESTAMP_RE.exec(value)
  if (!m) return undefined
  const days = civilDays(Number(m[1]), Number(m[2]), Number(m[3]))
  return Number.isNaN(days) ? undefined : days
}

/** `HH:MM[:SS[.ffffff]][zone]` to microseconds since midnight, normalised to UTC when zoned. */
export function toTimeMicros(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const m = TIME_RE.exec(value.trim())
  if (!m) return undefined
  const h = Number(m[1])
  const min = Number(m[2])
  const s = Number(m[3] ?? 0)
  if (h > 24 || min > 59 || s > 60) return undefined
  let micros = ((h * 60 + min - offsetMinutes(m[5])) * 60 + s) * 1_000_000 + fractionMicros(m[4])
  return ((micros % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY
}

/** An integer value (number, bigint or integer text) to int64: a number when it is a safe integer. */
export function toInt64(value: unknown): number | bigint | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isSafeInteger(value) ? value : Number.isInteger(value) && Math.abs(value) < 2 ** 63 ? BigInt(value) : undefined
    case 'bigint':
      return BigInt.asIntN(64, value) === value ? value : undefined
    case 'string': {
      if (!/^\s*[+-]?\d+\s*$/.test(value)) return undefined
      const n = Number(value)
      if (Number.isSafeInteger(n)) return n
      const v = BigInt(value.trim())
      return BigInt.asIntN(64, v) === v ? v : undefined
    }
    default:
      return undefined
  }
}

/** A number value (or numeric text, including NaN/Infinity) to double. */
export function toDouble(value: unknown): number | undefined {
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isNaN(n) && value.trim() !== 'NaN' ? undefined : n
  }
  return undefined
}

export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (value === 'true') return true
  if (value === 'false') return false
  return undefined
}

/**
 * A decimal (number or text) to its unscaled integer at `scale` digits, or undefined when it
 * does not fit `precision` digits. Extra fractional digits are rounded half away from zero.
 */
export function toUnscaledDecimal(value: unknown, precision: number, scale: number): bigint | undefined {
  let text: string
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined
    text = value.toFixed(Math.min(scale + 1, 100))
  } else if (typeof value === 'bigint') text = value.toString()
  else if (typeof value === 'string') text = value.trim()
  else return undefined
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text)
  if (!m || (m[2] === '' && !m[3])) return undefined
  const negative = m[1] === '-'
  const fraction = m[3] ?? ''
  let unscaled = BigInt((m[2] || '0') + fraction.slice(0, scale).padEnd(scale, '0'))
  if (fraction.length > scale && Number(fraction[scale]) >= 5) unscaled += 1n
  if (unscaled.toString().length > precision) return undefined
  return negative ? -unscaled : unscaled
}
