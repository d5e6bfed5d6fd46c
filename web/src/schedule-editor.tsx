import { useId } from 'react'
import { nextCronRuns, type ScheduleFields } from './schedule.js'

const TIME_UNITS = ['minutes', 'hours', 'days', 'weeks', 'months']

/** Next runs of a cron schedule, or the reason it is wrong. */
function cronPreview(expression: string, zone: string): { runs: Date[]; error?: string } {
  try {
    return { runs: nextCronRuns(expression, zone, 5) }
  } catch (e) {
    return { runs: [], error: (e as Error).message }
  }
}

/** Manual, basic (every N units) or Quartz cron with the next five runs shown as you type. */
export function ScheduleEditor({ value, onChange }: { value: ScheduleFields; onChange(v: ScheduleFields): void }) {
  const id = useId()
  const type = value.scheduleType ?? 'manual'
  const basic = value.scheduleData?.basicSchedule ?? { units: 24, timeUnit: 'hours' }
  const cron = value.scheduleData?.cron ?? { cronExpression: '0 0 12 * * ?', cronTimeZone: 'UTC' }
  const preview = type === 'cron' ? cronPreview(cron.cronExpression, cron.cronTimeZone ?? 'UTC') : undefined
  return (
    <fieldset className="schedule">
      <legend>Schedule</legend>
      <div className="field">
        <label htmlFor={`${id}-type`}>Schedule type</label>
        <select
          id={`${id}-type`}
          value={type}
          onChange={(e) => {
            const t = e.target.value as 'manual' | 'basic' | 'cron'
            onChange(t === 'manual' ? { scheduleType: t } : t === 'basic' ? { scheduleType: t, scheduleData: { basicSchedule: basic } } : { scheduleType: t, scheduleData: { cron } })
          }}
        >
          <option value="manual">Manual (only when you press Sync now)</option>
          <option value="basic">Every N minutes, hours, days…</option>
          <option value="cron">Cron expression</option>
        </select>
      </div>
      {type === 'basic' ? (
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-units`}>Every</label>
            <input
              id={`${id}-units`}
              type="number"
              min={1}
              value={basic.units}
              onChange={(e) => onChange({ scheduleType: 'basic', scheduleData: { basicSchedule: { ...basic, units: Number(e.target.value) } } })}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-unit`}>Unit</label>
            <select id={`${id}-unit`} value={basic.timeUnit} onChange={(e) => onChange({ scheduleType: 'basic', scheduleData: { basicSchedule: { ...basic, timeUnit: e.target.value } } })}>
              {TIME_UNITS.map((u) => (
                <option key={u} value={u}>
                  {u}
                </option>
              ))}
            </select>
          </div>
        </div>
      ) : null}
      {type === 'cron' ? (
        <>
          <div className="field-row">
            <div className="field grow">
              <label htmlFor={`${id}-cron`}>Cron expression (Quartz: sec min hour day month weekday)</label>
              <input
                id={`${id}-cron`}
                value={cron.cronExpression}
                aria-invalid={preview?.error !== undefined}
                aria-describedby={`${id}-runs`}
                onChange={(e) => onChange({ scheduleType: 'cron', scheduleData: { cron: { ...cron, cronExpression: e.target.value } } })}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-tz`}>Time zone</label>
              <input id={`${id}-tz`} value={cron.cronTimeZone ?? 'UTC'} onChange={(e) => onChange({ scheduleType: 'cron', scheduleData: { cron: { ...cron, cronTimeZone: e.target.value } } })} />
            </div>
          </div>
          <div id={`${id}-runs`} className="next-runs" aria-live="polite">
            {preview?.error ? (
              <p className="field-error">{preview.error}</p>
            ) : (
              <>
                <p>Next runs:</p>
                <ol>
                  {preview?.runs.map((d) => (
                    <li key={d.getTime()}>{d.toLocaleString()}</li>
                  ))}
                </ol>
              </>
            )}
          </div>
        </>
      ) : null}
    </fieldset>
  )
}
