import { Cron } from 'croner'

/**
 * Quartz cron expressions (the syntax Airbyte accepts in `scheduleData.cron.cronExpression`),
 * evaluated with croner underneath.
 *
 * Quartz differs from the Unix/croner dialect in ways that matter, so the expression is
 * translated field by field instead of being handed to croner as is:
 * - 6 or 7 fields: seconds, minutes, hours, day-of-month, month, day-of-week, optional year.
 * - Day-of-week counts 1-7 from SUNDAY (croner: 0-6 from Sunday); `L` alone means Saturday.
 * - Exactly one of day-of-month / day-of-week is `?` ("no specific value"); croner reads `?`
 *   as "the current time", so it becomes `*` here.
 * - `nL` (last weekday n of the month) becomes croner's `n#L`; `L-n`, `nW` and `LW` in
 *   day-of-month and the year field are not known to croner and are applied as filters.
 */
export interface QuartzCron {
  /** The expression as given (trimmed). */
  readonly expression: string
  readonly timeZone: string
  /** The first fire time strictly after `after`, or undefined when there is none. */
  nextRun(after: Date): Date | undefined
}

/** Thrown by {@link parseQuartzCron}; `field` says which input was wrong. */
export class QuartzCronError extends Error {
  readonly field: 'cronExpression' | 'cronTimeZone'
  constructor(field: 'cronExpression' | 'cronTimeZone', message: string) {
    super(message)
    this.name = 'QuartzCronError'
    this.field = field
  }
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']
const MIN_YEAR = 1970
const MAX_YEAR = 2199
const QUARTER_HOUR_MS = 15 * 60_000
/** Upper bound on croner candidates examined by the day-of-month / year filters. */
const MAX_FILTER_STEPS = 200_000

/** True when `zone` is an IANA time zone known to this Node (Intl). */
export function isValidTimeZone(zone: string): boolean {
  if (zone.trim() === '') return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/**
 * Validates and compiles a Quartz cron expression in an IANA time zone (default UTC).
 * @throws QuartzCronError naming the bad field, with a message a user can act on.
 */
export function parseQuartzCron(expression: string, timeZone = 'UTC'): QuartzCron {
  const zone = timeZone.trim() === '' ? 'UTC' : timeZone.trim()
  if (!isValidTimeZone(zone)) {
    throw new QuartzCronError('cronTimeZone', `Unknown time zone '${timeZone}': use an IANA name such as 'UTC' or 'Europe/Paris'.`)
  }
  const expr = expression.trim().replace(/\s+/g, ' ')
  const fields = expr === '' ? [] : expr.toUpperCase().split(' ')
  if (fields.length !== 6 && fields.length !== 7) {
    throw cronError(expression, `expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got ${fields.length}`)
  }
  const [sec, min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string, string | undefined]
  for (const [name, value] of [['seconds', sec], ['minutes', min], ['hours', hour], ['month', month]] as const) {
    if (value.includes('?')) throw cronError(expression, `'?' is only allowed in day-of-month or day-of-week, not in ${name}`)
  }
  const domSpecified = dom !== '?'
  const dowSpecified = dow !== '?'
  if (domSpecified === dowSpecified) {
    throw cronError(expression, "exactly one of day-of-month and day-of-week must be '?'")
  }

  const domPlan = translateDayOfMonth(dom, expression)
  const cronDow = dowSpecified ? translateDayOfWeek(dow, expression) : '*'
  const years = year === undefined || year === '*' ? undefined : parseYears(year, expression)
  const pattern = [sec, min, hour, domPlan.pattern, month, cronDow].join(' ')

  let cron: Cron
  try {
    cron = new Cron(pattern, { timezone: zone, paused: true, legacyMode: true })
  } catch (e) {
    throw cronError(expression, (e as Error).message.replace(/^CronPattern: /, ''))
  }
  const dayFilter = domPlan.filter
  const compiled: QuartzCron = {
    expression: expression.trim(),
    timeZone: zone,
    nextRun(after: Date): Date | undefined {
      let from = after
      for (let steps = 0; steps < MAX_FILTER_STEPS; steps++) {
        const next = cron.nextRun(from)
        if (next === null) return undefined
        const parts = zonedParts(next, zone)
        if (years !== undefined && !years.has(parts.year)) {
          const nextYear = [...years].filter((y) => y > parts.year).sort((a, b) => a - b)[0]
          if (nextYear === undefined) return undefined
          // Jump to just before 1 January of the next allowed year (a day early covers any offset).
          from = new Date(Date.UTC(nextYear, 0, 1) - 86_400_000)
          continue
        }
        if (dayFilter !== undefined && !dayFilter(parts.year, parts.month, parts.day)) {
          // The whole day is out: skip to the next quarter hour. Every zone's day starts on a
          // quarter-hour boundary of UTC, so no fire time of the next day is skipped.
          from = new Date(Math.floor(next.getTime() / QUARTER_HOUR_MS) * QUARTER_HOUR_MS + QUARTER_HOUR_MS - 1)
          continue
        }
        return next
      }
      return undefined
    },
  }
  if (compiled.nextRun(new Date()) === undefined) {
    throw cronError(expression, 'it never fires in the future')
  }
  return compiled
}

function cronError(expression: string, reason: string): QuartzCronError {
  return new QuartzCronError('cronExpression', `Invalid cron expression '${expression}': ${reason}.`)
}

interface DayOfMonthPlan {
  pattern: string
  filter?: (year: number, month: number, day: number) => boolean
}

/** `?`, `*`, lists/ranges/steps and `L` go to croner; `L-n`, `nW`, `LW` become a day filter. */
function translateDayOfMonth(field: string, expression: string): DayOfMonthPlan {
  if (field === '?') return { pattern: '*' }
  const lastOffset = /^L-(\d{1,2})$/.exec(field)
  if (lastOffset !== null) {
    const offset = Number(lastOffset[1])
    if (offset > 30) throw cronError(expression, "the offset in 'L-n' must be at most 30")
    return { pattern: '*', filter: (y, m, d) => d === daysInMonth(y, m) - offset }
  }
  if (field === 'LW') {
    return { pattern: '*', filter: (y, m, d) => d === nearestWeekday(y, m, daysInMonth(y, m)) }
  }
  const weekday = /^(\d{1,2})W$/.exec(field)
  if (weekday !== null) {
    const target = Number(weekday[1])
    if (target < 1 || target > 31) throw cronError(expression, "the day in 'nW' must be between 1 and 31")
    return { pattern: '*', filter: (y, m, d) => target <= daysInMonth(y, m) && d === nearestWeekday(y, m, target) }
  }
  if (/[W#]/.test(field)) throw cronError(expression, `unsupported day-of-month '${field}'`)
  return { pattern: field }
}

/** Maps Quartz day-of-week (1-7 = SUN-SAT, names, `nL`, `n#k`, `L`) onto croner's 0-6. */
function translateDayOfWeek(field: string, expression: string): string {
  if (field === '*') return '*'
  if (field === 'L') return '6'
  return field
    .split(',')
    .map((item) => {
      const [range, step] = item.split('/') as [string, string | undefined]
      if (step !== undefined && !/^\d+$/.test(step)) throw cronError(expression, `bad step in day-of-week '${item}'`)
      const suffix = step === undefined ? '' : `/${step}`
      if (range === '*') return `*${suffix}`
      const last = /^([A-Z]{3}|\d)L$/.exec(range)
      if (last !== null) return `${quartzDay(last[1] as string, expression)}#L`
      const nth = /^([A-Z]{3}|\d)#([1-5])$/.exec(range)
      if (nth !== null) return `${quartzDay(nth[1] as string, expression)}#${nth[2]}`
      const bounds = range.split('-')
      if (bounds.length > 2) throw cronError(expression, `bad range in day-of-week '${item}'`)
      return bounds.map((b) => quartzDay(b, expression)).join('-') + suffix
    })
    .join(',')
}

function quartzDay(token: string, expression: string): number {
  const named = DAY_NAMES.indexOf(token)
  if (named >= 0) return named
  if (!/^\d+$/.test(token)) throw cronError(expression, `unknown day-of-week '${token}'`)
  const n = Number(token)
  if (n < 1 || n > 7) throw cronError(expression, `day-of-week values are 1-7 (1 = SUN), got ${n}`)
  return n - 1
}

/** Parses the optional Quartz year field (`2027`, `2026-2030`, `2026/2`, lists). */
function parseYears(field: string, expression: string): Set<number> {
  const years = new Set<number>()
  for (const item of field.split(',')) {
    const m = /^(\d{4})(?:-(\d{4}))?(?:\/(\d+))?$/.exec(item)
    if (m === null) throw cronError(expression, `bad year '${item}'`)
    const from = Number(m[1])
    const to = m[2] !== undefined ? Number(m[2]) : m[3] !== undefined ? MAX_YEAR : from
    const step = m[3] !== undefined ? Number(m[3]) : 1
    if (from < MIN_YEAR || to > MAX_YEAR || from > to || step < 1) {
      throw cronError(expression, `years must be within ${MIN_YEAR}-${MAX_YEAR}, got '${item}'`)
    }
    for (let y = from; y <= to; y += step) years.add(y)
  }
  return years
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** Quartz `W`: the weekday nearest to `day`, never crossing into another month. */
function nearestWeekday(year: number, month: number, day: number): number {
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay()
  const last = daysInMonth(year, month)
  if (weekday === 6) return day === 1 ? 3 : day - 1
  if (weekday === 0) return day === last ? day - 2 : day + 1
  return day
}

/** Calendar year, month (1-12) and day of `date` in `zone`. */
function zonedParts(date: Date, zone: string): { year: number; month: number; day: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(date)
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value)
  return { year: get('year'), month: get('month'), day: get('day') }
}
