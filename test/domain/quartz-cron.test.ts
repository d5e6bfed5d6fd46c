import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseQuartzCron, QuartzCronError, isValidTimeZone } from '../../src/domain/quartz-cron.js'

const from = new Date('2026-01-01T00:00:00Z')

function next(expr: string, zone = 'UTC', after = from): string | undefined {
  return parseQuartzCron(expr, zone).nextRun(after)?.toISOString()
}

test('daily and every-15-minutes expressions', () => {
  assert.equal(next('0 0 12 * * ?'), '2026-01-01T12:00:00.000Z')
  assert.equal(next('0 */15 * * * ?'), '2026-01-01T00:15:00.000Z')
  assert.equal(next('30 0 0 * * ?'), '2026-01-01T00:00:30.000Z')
})

test('next run is strictly after the given time', () => {
  assert.equal(next('0 0 12 * * ?', 'UTC', new Date('2026-01-01T12:00:00Z')), '2026-01-02T12:00:00.000Z')
})

test('Quartz day-of-week counts 1-7 from Sunday', () => {
  // 2026-01-05 is a Monday; Quartz 2 = MON.
  assert.equal(next('0 0 12 ? * 2'), '2026-01-05T12:00:00.000Z')
  assert.equal(next('0 0 12 ? * MON'), '2026-01-05T12:00:00.000Z')
  assert.equal(next('0 0 12 ? * 1'), '2026-01-04T12:00:00.000Z')
  assert.equal(next('0 0 12 ? * L'), '2026-01-03T12:00:00.000Z')
})

test('time zone shifts the fire time', () => {
  assert.equal(next('0 0 12 ? * MON-FRI', 'Europe/Paris'), '2026-01-01T11:00:00.000Z')
  assert.equal(next('0 0 9 * * ?', 'America/New_York'), '2026-01-01T14:00:00.000Z')
})

test('L, W, # and year forms', () => {
  assert.equal(next('0 0 12 ? * 6L'), '2026-01-30T12:00:00.000Z')
  assert.equal(next('0 0 12 ? * 6#3'), '2026-01-16T12:00:00.000Z')
  assert.equal(next('0 0 12 L * ?'), '2026-01-31T12:00:00.000Z')
  assert.equal(next('0 0 12 L-2 * ?'), '2026-01-29T12:00:00.000Z')
  // 2026-01-31 is a Saturday: LW is Friday the 30th; 2026-02-15 is a Sunday: 15W is Monday the 16th.
  assert.equal(next('0 0 12 LW * ?'), '2026-01-30T12:00:00.000Z')
  assert.equal(next('0 0 12 15W * ?', 'UTC', new Date('2026-02-01T00:00:00Z')), '2026-02-16T12:00:00.000Z')
  assert.equal(next('0 0 0 1 1 ? 2028'), '2028-01-01T00:00:00.000Z')
  // Every second, but only on the weekday nearest the 15th: the filter skips whole days quickly.
  assert.equal(next('* * * 15W * ?', 'UTC', new Date('2026-02-01T00:00:00Z')), '2026-02-16T00:00:00.000Z')
  assert.equal(next('* * * 15W * ?', 'Asia/Kolkata', new Date('2026-02-01T00:00:00Z')), '2026-02-15T18:30:00.000Z')
  assert.equal(parseQuartzCron('0 0 0 1 1 ? 2028').nextRun(new Date('2028-01-01T00:00:00Z')), undefined)
})

test('invalid expressions name the field', () => {
  const bad: Array<[string, string, RegExp]> = [
    ['bad', 'UTC', /expected 6 or 7 fields/],
    ['0 0 12 * * *', 'UTC', /exactly one of day-of-month and day-of-week/],
    ['0 0 12 1 * 2', 'UTC', /exactly one of day-of-month and day-of-week/],
    ['0 0 25 * * ?', 'UTC', /hour/],
    ['0 0 12 ? * 8', 'UTC', /1-7/],
    ['0 ? 12 * * ?', 'UTC', /only allowed in day-of-month or day-of-week/],
    ['0 0 0 1 1 ? 2020', 'UTC', /never fires/],
  ]
  for (const [expr, zone, message] of bad) {
    assert.throws(() => parseQuartzCron(expr, zone), (e: unknown) => {
      assert.ok(e instanceof QuartzCronError)
      assert.equal(e.field, 'cronExpression')
      assert.match(e.message, message)
      return true
    }, expr)
  }
  assert.throws(() => parseQuartzCron('0 0 12 * * ?', 'Mars/Base'), (e: unknown) => e instanceof QuartzCronError && e.field === 'cronTimeZone')
  assert.equal(isValidTimeZone('Asia/Tokyo'), true)
  assert.equal(isValidTimeZone(''), false)
})
