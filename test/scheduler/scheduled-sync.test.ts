import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { startJobsServer, type JobsServer } from '../jobs/jobs-harness.js'

let s: JobsServer

before(async () => {
  s = await startJobsServer({ SLUICE_SCHEDULER_TICK_MS: '100', SLUICE_SCHEDULER_NEW_CONNECTION_GRACE_MS: '0' })
})

after(async () => {
  await s.close()
})

async function jobsOf(connectionId: string): Promise<any[]> {
  const res = await s.post('jobs/list', { configTypes: ['sync'], configId: connectionId })
  assert.equal(res.status, 200)
  return res.body.jobs
}

/** Polls until fn returns a value; the test's own timeout bounds the wait (no clock in assertions). */
async function until<T>(fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    await sleep(50)
  }
}

// What must NOT happen (no run before the next basic slot, none for an inactive connection) is
// proved on a fake clock in scheduler.test.ts; here the running server shows what must happen.
test('the server schedules syncs: basic runs a new connection, a change to cron applies at once', { timeout: 60_000 }, async () => {
  const connectionId = await s.connection({
    source: { records: 5 },
    destination: { path: `${s.outDir}/scheduled` },
    extra: { scheduleType: 'basic', scheduleData: { basicSchedule: { units: 1, timeUnit: 'hours' } } },
  })
  const first = await until(async () => (await jobsOf(connectionId))[0])
  await s.waitFor(first.id, ['succeeded'])

  // Every second (Quartz syntax): runs keep coming without anyone calling connections/sync.
  const updated = await s.post('connections/update', {
    connectionId,
    scheduleType: 'cron',
    scheduleData: { cron: { cronExpression: '* * * * * ?', cronTimeZone: 'UTC' } },
  })
  assert.equal(updated.status, 200, JSON.stringify(updated.body))
  const three = await until(async () => {
    const jobs = await jobsOf(connectionId)
    return jobs.length >= 3 ? jobs : undefined
  })
  for (const job of three) assert.ok(['pending', 'running', 'succeeded'].includes(job.status), job.status)
})
