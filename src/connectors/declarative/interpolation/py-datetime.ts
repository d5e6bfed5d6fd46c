/**
 * Python `datetime`/`timedelta` look-alikes for manifest templates and cursors. Manifests call
 * `.strftime()`, subtract `duration('P1D')` and compare datetimes, so these objects carry the
 * Python methods and print the way Python does (`2024-01-01 00:00:00+00:00`).
 */

const US_PER_MS = 1000
const US_PER_S = 1_000_000

/** A timezone-aware instant with microsecond precision (epoch microseconds + display offset). */
export class PyDateTime {
  /** Epoch microseconds (UTC). Doubles hold microseconds exactly until year ~2255. */
  readonly us: number
  /** Display offset in minutes east of UTC (Python's tzinfo; UTC by default). */
  readonly offsetMin: number
  /** A date without time (`today_utc()`) prints as YYYY-MM-DD. */
  readonly dateOnly: boolean

  constructor(us: number, offsetMin = 0, dateOnly = false) {
    this.us = us
    this.offsetMin = offsetMin
    this.dateOnly = dateOnly
  }

  static fromMs(ms: number): PyDateTime {
    return new PyDateTime(Math.round(ms * US_PER_MS))
  }

  static now(): PyDateTime {
    return PyDateTime.fromMs(Date.now())
  }

  /** Wall-clock fields in the display offset. */
  fields(): { year: number; month: number; day: number; hour: number; minute: number; second: number; micro: number; weekday: number; yday: number } {
    const localUs = this.us + this.offsetMin * 60 * US_PER_S
    const ms = Math.floor(localUs / US_PER_MS)
    const micro = ((localUs % US_PER_S) + US_PER_S) % US_PER_S
    const d = new Date(ms)
    const start = Date.UTC(d.getUTCFullYear(), 0, 1)
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      micro,
      weekday: (d.getUTCDay() + 6) % 7,
      yday: Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - start) / 86_400_000) + 1,
    }
  }

  strftime(fmt: string): string {
    return strftime(this, fmt)
  }

  isoformat(): string {
    if (this.dateOnly) return strftime(this, '%Y-%m-%d')
    const f = this.fields()
    return strftime(this, f.micro ? '%Y-%m-%dT%H:%M:%S.%f' : '%Y-%m-%dT%H:%M:%S') + offsetText(this.offsetMin, true)
  }

  /** Python's `datetime.timestamp()`: float epoch seconds. */
  timestamp(): number {
    return this.us / US_PER_S
  }

  weekday(): number {
    return this.fields().weekday
  }

  date(): PyDateTime {
    const f = this.fields()
    return new PyDateTime(Date.UTC(f.year, f.month - 1, f.day) * US_PER_MS, 0, true)
  }

  /** `dt.replace(tzinfo=...)`-style calls are accepted and keep the instant (UTC only). */
  replace(): PyDateTime {
    return this
  }

  astimezone(): PyDateTime {
    return this
  }

  add(d: PyDuration): PyDateTime {
    if (d.months) {
      const f = this.fields()
      const total = f.year * 12 + (f.month - 1) + d.months
      const y = Math.floor(total / 12)
      const m = total - y * 12
      const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate()
      const ms = Date.UTC(y, m, Math.min(f.day, lastDay), f.hour, f.minute, f.second)
      const us = ms * US_PER_MS + f.micro - this.offsetMin * 60 * US_PER_S
      return new PyDateTime(us + d.us, this.offsetMin, this.dateOnly)
    }
    return new PyDateTime(this.us + d.us, this.offsetMin, this.dateOnly)
  }

  valueOf(): number {
    return this.us
  }

  toString(): string {
    if (this.dateOnly) return strftime(this, '%Y-%m-%d')
    const f = this.fields()
    return strftime(this, f.micro ? '%Y-%m-%d %H:%M:%S.%f' : '%Y-%m-%d %H:%M:%S') + offsetText(this.offsetMin, true)
  }
}

/** A `timedelta` (plus calendar months, which ISO-8601 `P1M`/`P1Y` need). */
export class PyDuration {
  readonly us: number
  readonly months: number

  constructor(us: number, months = 0) {
    this.us = us
    this.months = months
  }

  total_seconds(): number {
    return this.us / US_PER_S
  }

  negate(): PyDuration {
    return new PyDuration(-this.us, -this.months)
  }

  valueOf(): number {
    return this.us
  }

  toString(): string {
    const s = Math.floor(Math.abs(this.us) / US_PER_S)
    const days = Math.floor(s / 86400)
    const rest = s % 86400
    const hms = `${Math.floor(rest / 3600)}:${pad(Math.floor((rest % 3600) / 60), 2)}:${pad(rest % 60, 2)}`
    return (this.us < 0 ? '-' : '') + (days ? `${days} day${days === 1 ? '' : 's'}, ${hms}` : hms)
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

function offsetText(offsetMin: number, colon: boolean): string {
  const sign = offsetMin < 0 ? '-' : '+'
  const a = Math.abs(offsetMin)
  return `${sign}${pad(Math.floor(a / 60), 2)}${colon ? ':' : ''}${pad(a % 60, 2)}`
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']

/** Python `strftime` plus the CDK's special whole-string formats (`%s`, `%ms`, ...). */
export function strftime(dt: PyDateTime, fmt: string): string {
  switch (fmt) {
    case '%s':
      return String(Math.floor(dt.us / US_PER_S))
    case '%ms':
      return String(Math.floor(dt.us / US_PER_MS))
    case '%s_as_float':
      return String(dt.us / US_PER_S)
    case '%epoch_microseconds':
      return String(dt.us)
  }
  const f = dt.fields()
  return fmt.replace(/%(_ms|[a-zA-Z%])/g, (_m, c: string) => {
    switch (c) {
      case 'Y': return pad(f.year, 4)
      case 'y': return pad(f.year % 100, 2)
      case 'm': return pad(f.month, 2)
      case 'd': return pad(f.day, 2)
      case 'H': return pad(f.hour, 2)
      case 'I': return pad(f.hour % 12 || 12, 2)
      case 'p': return f.hour < 12 ? 'AM' : 'PM'
      case 'M': return pad(f.minute, 2)
      case 'S': return pad(f.second, 2)
      case 'f': return pad(f.micro, 6)
      case '_ms': return pad(Math.floor(f.micro / 1000), 3)
      case 'z': return offsetText(dt.offsetMin, false)
      case 'Z': return dt.offsetMin === 0 ? 'UTC' : offsetText(dt.offsetMin, true)
      case 'j': return pad(f.yday, 3)
      case 'a': return (DAYS[f.weekday] ?? '').slice(0, 3)
      case 'A': return DAYS[f.weekday] ?? ''
      case 'b': return (MONTHS[f.month - 1] ?? '').slice(0, 3)
      case 'B': return MONTHS[f.month - 1] ?? ''
      case 'w': return String((f.weekday + 1) % 7)
      case 's': return String(Math.floor(dt.us / US_PER_S))
      case '%': return '%'
      default: return `%${c}`
    }
  })
}

const PARSE_PARTS: Record<string, string> = {
  Y: '(?<Y>\\d{4})', y: '(?<y>\\d{2})', m: '(?<m>\\d{1,2})', d: '(?<d>\\d{1,2})', H: '(?<H>\\d{1,2})',
  I: '(?<I>\\d{1,2})', p: '(?<p>AM|PM|am|pm)', M: '(?<M>\\d{1,2})', S: '(?<S>\\d{1,2})', f: '(?<f>\\d{1,6})',
  z: '(?<z>Z|[+-]\\d{2}:?\\d{2})', Z: '(?<Z>[A-Za-z]+)', j: '(?<j>\\d{1,3})', a: '[A-Za-z]+', A: '[A-Za-z]+',
  b: '(?<b>[A-Za-z]{3})', B: '(?<B>[A-Za-z]+)', '%': '%',
}
const patternCache = new Map<string, RegExp>()

function patternFor(fmt: string): RegExp {
  let re = patternCache.get(fmt)
  if (!re) {
    let src = ''
    for (let i = 0; i < fmt.length; i++) {
      const ch = fmt[i] as string
      if (ch === '%' && i + 1 < fmt.length) {
        const c = fmt[++i] as string
        const part = PARSE_PARTS[c]
        if (part === undefined) throw new Error(`unsupported datetime directive %${c}`)
        src += part
      } else src += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    }
    re = new RegExp(`^${src}$`)
    patternCache.set(fmt, re)
  }
  return re
}

/** Python `strptime` (plus `%s`, `%ms`, ...). Naive results are UTC. Returns undefined on mismatch. */
export function strptime(text: string, fmt: string): PyDateTime | undefined {
  const s = String(text).trim()
  switch (fmt) {
    case '%s':
    case '%s_as_float':
      return /^-?\d+(\.\d+)?$/.test(s) ? new PyDateTime(Math.round(Number(s) * US_PER_S)) : undefined
    case '%ms':
      return /^-?\d+$/.test(s) ? new PyDateTime(Number(s) * US_PER_MS) : undefined
    case '%epoch_microseconds':
      return /^-?\d+$/.test(s) ? new PyDateTime(Number(s)) : undefined
  }
  const m = patternFor(fmt.replace('%_ms', '%f')).exec(s)
  if (!m) return undefined
  const g = m.groups ?? {}
  let year = g.Y ? Number(g.Y) : g.y ? 2000 + Number(g.y) : 1900
  const month = g.m ? Number(g.m) : g.b || g.B ? MONTHS.findIndex((n) => n.toLowerCase().startsWith((g.b ?? g.B ?? '').toLowerCase().slice(0, 3))) + 1 : 1
  let day = g.d ? Number(g.d) : 1
  let hour = g.H ? Number(g.H) : g.I ? Number(g.I) % 12 : 0
  if (g.p && g.p.toUpperCase() === 'PM') hour += 12
  if (g.j) {
    day = Number(g.j)
    year = year || 1900
  }
  const micro = g.f ? Number(g.f.padEnd(6, '0')) : 0
  const ms = Date.UTC(year, g.j ? 0 : month - 1, day, hour, g.M ? Number(g.M) : 0, g.S ? Number(g.S) : 0)
  if (Number.isNaN(ms)) return undefined
  let offset = 0
  if (g.z && g.z !== 'Z') {
    const z = g.z.replace(':', '')
    offset = (z.startsWith('-') ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5)))
  }
  return new PyDateTime(ms * US_PER_MS + micro - offset * 60 * US_PER_S, offset)
}

/**
 * Parses an ISO-8601 date/time string the way the CDK's `str_to_datetime` (dateutil) does for the
 * shapes APIs return. Naive values are UTC.
 */
export function parseIsoDateTime(text: string): PyDateTime | undefined {
  const s = String(text).trim()
  const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/.exec(s)
  if (!m) return undefined
  const [, y, mo, d, h, mi, se, frac, z] = m
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(se ?? 0))
  if (Number.isNaN(ms)) return undefined
  const micro = frac ? Number(frac.slice(0, 6).padEnd(6, '0')) : 0
  let offset = 0
  if (z && z.toUpperCase() !== 'Z') {
    const zz = z.replace(':', '')
    offset = (zz.startsWith('-') ? -1 : 1) * (Number(zz.slice(1, 3)) * 60 + Number(zz.slice(3, 5) || 0))
  }
  return new PyDateTime(ms * US_PER_MS + micro - offset * 60 * US_PER_S, offset)
}

/** Parses an ISO-8601 duration (`P1D`, `PT1H`, `P1M`, `P1Y2M`, `P2W`, `-P1D`). */
export function parseIsoDuration(text: string): PyDuration | undefined {
  const m = /^([+-])?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(String(text).trim())
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) return undefined
  const n = (i: number): number => Number(m[i] ?? 0)
  const sign = m[1] === '-' ? -1 : 1
  const seconds = n(4) * 7 * 86400 + n(5) * 86400 + n(6) * 3600 + n(7) * 60 + n(8)
  return new PyDuration(sign * Math.round(seconds * US_PER_S), sign * (n(2) * 12 + n(3)))
}
