import { SluiceError, type ValidationError } from '../errors.js'
import { parseQuartzCron, QuartzCronError } from '../domain/quartz-cron.js'
import type { ScheduleRecord, ScheduleTimeUnit } from '../store/config-store.js'

export const TIME_UNITS = ['minutes', 'hours', 'days', 'weeks', 'months'] as const satisfies readonly ScheduleTimeUnit[]
export const SCHEDULE_TYPES = ['manual', 'basic', 'cron'] as const

/** Legacy `ConnectionSchedule`. */
export interface LegacySchedule {
  units?: unknown
  timeUnit?: unknown
}

/** `ConnectionScheduleData`. */
export interface ScheduleData {
  basicSchedule?: { units?: unknown; timeUnit?: unknown } | null
  cron?: { cronExpression?: unknown; cronTimeZone?: unknown } | null
}

/** The schedule inputs of a create or update body. */
export interface ScheduleInput {
  schedule?: LegacySchedule | null
  scheduleType?: string | null
  scheduleData?: ScheduleData | null
}

function invalid(errors: ValidationError[]): SluiceError {
  return new SluiceError('SLUICE_ERR_INVALID_SCHEDULE', `Invalid schedule: ${errors.map((e) => `${e.propertyPath} ${e.message}`).join('; ')}.`, {
    validationErrors: errors,
  })
}

/** The longest basic interval per unit: 100 years, beyond which dates stop being meaningful. */
const MAX_UNITS: Record<ScheduleTimeUnit, number> = { minutes: 52_596_000, hours: 876_600, days: 36_525, weeks: 5_217, months: 1_200 }

function basic(units: unknown, timeUnit: unknown, path: string): ScheduleRecord {
  const errors: ValidationError[] = []
  const unit = typeof timeUnit === 'string' ? (timeUnit.toLowerCase() as ScheduleTimeUnit) : undefined
  const most = unit !== undefined && unit in MAX_UNITS ? MAX_UNITS[unit] : undefined
  if (typeof units !== 'number' || !Number.isInteger(units) || units <= 0) {
    errors.push({ propertyPath: `${path}.units`, invalidValue: units === undefined ? 'null' : JSON.stringify(units), message: 'must be an integer greater than 0' })
  } else if (most !== undefined && units > most) {
    errors.push({ propertyPath: `${path}.units`, invalidValue: JSON.stringify(units), message: `must be at most ${most} ${unit} (a run every 100 years)` })
  }
  if (typeof timeUnit !== 'string' || !(TIME_UNITS as readonly string[]).includes(timeUnit.toLowerCase())) {
    errors.push({
      propertyPath: `${path}.timeUnit`,
      invalidValue: timeUnit === undefined ? 'null' : String(timeUnit),
      message: `must be one of ${TIME_UNITS.join(', ')}`,
    })
  }
  if (errors.length > 0) throw invalid(errors)
  return { type: 'basic', units: units as number, timeUnit: (timeUnit as string).toLowerCase() as ScheduleTimeUnit }
}

function cron(data: ScheduleData['cron']): ScheduleRecord {
  const expression = data?.cronExpression
  const zone = data?.cronTimeZone ?? 'UTC'
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw invalid([{ propertyPath: 'scheduleData.cron.cronExpression', invalidValue: 'null', message: 'is required for a cron schedule' }])
  }
  if (typeof zone !== 'string') throw invalid([{ propertyPath: 'scheduleData.cron.cronTimeZone', invalidValue: JSON.stringify(zone), message: 'must be a string' }])
  try {
    const parsed = parseQuartzCron(expression, zone)
    return { type: 'cron', cronExpression: parsed.expression, cronTimeZone: parsed.timeZone }
  } catch (e) {
    if (e instanceof QuartzCronError) {
      const value = e.field === 'cronExpression' ? expression : zone
      throw invalid([{ propertyPath: `scheduleData.cron.${e.field}`, invalidValue: value, message: e.message }])
    }
    throw e
  }
}

/** The schedule given by scheduleType + scheduleData (validated). */
function fromTyped(scheduleType: string, data: ScheduleData | null | undefined): ScheduleRecord {
  switch (scheduleType.toLowerCase()) {
    case 'manual':
      return { type: 'manual' }
    case 'basic':
      if (!data?.basicSchedule) throw invalid([{ propertyPath: 'scheduleData.basicSchedule', invalidValue: 'null', message: 'is required when scheduleType is basic' }])
      return basic(data.basicSchedule.units, data.basicSchedule.timeUnit, 'scheduleData.basicSchedule')
    case 'cron':
      if (!data?.cron) throw invalid([{ propertyPath: 'scheduleData.cron', invalidValue: 'null', message: 'is required when scheduleType is cron' }])
      return cron(data.cron)
    default:
      throw invalid([{ propertyPath: 'scheduleType', invalidValue: scheduleType, message: `must be one of ${SCHEDULE_TYPES.join(', ')}` }])
  }
}

function sameSchedule(a: ScheduleRecord, b: ScheduleRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** The schedule of a new connection: legacy `schedule`, or scheduleType/scheduleData, else manual. */
export function scheduleForCreate(input: ScheduleInput): ScheduleRecord {
  const legacy = input.schedule ? basic(input.schedule.units, input.schedule.timeUnit, 'schedule') : undefined
  if (input.scheduleType) {
    const typed = fromTyped(input.scheduleType, input.scheduleData)
    // Airbyte rejects both; the union accepts both when they agree.
    if (legacy && !sameSchedule(legacy, typed)) {
      throw invalid([{ propertyPath: 'schedule', invalidValue: JSON.stringify(input.schedule), message: 'supply old or new schedule schema but not both (they disagree)' }])
    }
    return typed
  }
  if (input.scheduleData) throw invalid([{ propertyPath: 'scheduleType', invalidValue: 'null', message: 'is required with scheduleData' }])
  return legacy ?? { type: 'manual' }
}

/**
 * The schedule after a patch (Part C row 9 of the contract): legacy `schedule` alone switches to
 * basic; when both are sent and scheduleData still equals the stored schedule but `schedule`
 * differs, the caller edited `schedule` (the seed's get-modify-update), so it wins; otherwise
 * scheduleType/scheduleData win. Nothing sent: unchanged.
 */
export function scheduleForUpdate(input: ScheduleInput, stored: ScheduleRecord): ScheduleRecord {
  const legacy = input.schedule ? basic(input.schedule.units, input.schedule.timeUnit, 'schedule') : undefined
  if (!input.scheduleType) {
    if (legacy) return legacy
    if (input.scheduleData) throw invalid([{ propertyPath: 'scheduleType', invalidValue: 'null', message: 'is required with scheduleData' }])
    return stored
  }
  const typed = fromTyped(input.scheduleType, input.scheduleData)
  if (legacy && sameSchedule(typed, stored) && !sameSchedule(legacy, stored)) return legacy
  return typed
}

/** The three schedule representations of a `ConnectionRead`, kept consistent. */
export function scheduleFields(schedule: ScheduleRecord): Record<string, unknown> {
  switch (schedule.type) {
    case 'manual':
      return { scheduleType: 'manual' }
    case 'basic':
      return {
        scheduleType: 'basic',
        scheduleData: { basicSchedule: { timeUnit: schedule.timeUnit, units: schedule.units } },
        schedule: { timeUnit: schedule.timeUnit, units: schedule.units },
      }
    case 'cron':
      return { scheduleType: 'cron', scheduleData: { cron: { cronExpression: schedule.cronExpression, cronTimeZone: schedule.cronTimeZone } } }
  }
}
