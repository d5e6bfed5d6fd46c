import { parseQuartzCron } from '../../src/domain/quartz-cron.js'

/** Airbyte's schedule of a connection (ConnectionRead / list item fields). */
export interface ScheduleFields {
  scheduleType?: 'manual' | 'basic' | 'cron'
  scheduleData?: {
    basicSchedule?: { units: number; timeUnit: string }
    cron?: { cronExpression: string; cronTimeZone?: string }
  }
}

const UNIT_MS: Record<string, number> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000, weeks: 604_800_000 }

/** "Every 24 hours", "Cron 0 0 12 * * ? (UTC)", "Manual". */
export function describeSchedule(s: ScheduleFields): string {
  if (s.scheduleType === 'basic' && s.scheduleData?.basicSchedule) {
    const { units, timeUnit } = s.scheduleData.basicSchedule
    return `Every ${units} ${units === 1 ? timeUnit.replace(/s$/, '') : timeUnit}`
  }
  if (s.scheduleType === 'cron' && s.scheduleData?.cron) return `Cron ${s.scheduleData.cron.cronExpression} (${s.scheduleData.cron.cronTimeZone ?? 'UTC'})`
  return 'Manual'
}

/**
 * The next `n` fire times of a Quartz cron expression after `after`, computed by the same code
 * the scheduler runs (src/domain/quartz-cron.ts). Throws the scheduler's message when the
 * expression or the time zone is wrong.
 */
export function nextCronRuns(expression: string, timeZone: string, n: number, after = new Date()): Date[] {
  const cron = parseQuartzCron(expression, timeZone)
  const out: Date[] = []
  let from = after
  while (out.length < n) {
    const next = cron.nextRun(from)
    if (next === undefined) break
    out.push(next)
    from = next
  }
  return out
}

/**
 * When the scheduler will start the next sync (epoch ms), as docs/jobs.md describes it: basic
 * = the interval after the last sync started (10 s after creation when it never ran), cron =
 * the next fire time. Undefined for manual or inactive connections.
 */
export function nextRun(s: ScheduleFields & { status?: string; latestSyncJobCreatedAt?: number; createdAt?: number }, now = Date.now()): number | undefined {
  if (s.status !== 'active') return undefined
  if (s.scheduleType === 'basic' && s.scheduleData?.basicSchedule) {
    const { units, timeUnit } = s.scheduleData.basicSchedule
    const base = s.latestSyncJobCreatedAt ?? s.createdAt
    if (base === undefined) return undefined
    if (timeUnit === 'months') {
      const d = new Date(base * 1000)
      d.setMonth(d.getMonth() + units)
      return Math.max(d.getTime(), now)
    }
    return Math.max(base * 1000 + units * (UNIT_MS[timeUnit] ?? 0), now)
  }
  if (s.scheduleType === 'cron' && s.scheduleData?.cron) {
    try {
      return nextCronRuns(s.scheduleData.cron.cronExpression, s.scheduleData.cron.cronTimeZone ?? 'UTC', 1, new Date(now))[0]?.getTime()
    } catch {
      return undefined
    }
  }
  return undefined
}
