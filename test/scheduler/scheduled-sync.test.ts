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

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value !== undefined) return value
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`)
    await sleep(50)
  }
}

test('the server schedules syncs: basic runs a new connection, a change to cron applies at once', async () => {
  const connectionId = await s.connection({
    source: { records: 5 },
    destination: { path: `${s.outDir}/scheduled` },
    extra: { scheduleType: 'basic', scheduleData: { basicSchedule: { units: 1, timeUnit: 'hours' } } },
  })
  const first = await until('the first scheduled job', async () => (await jobsOf(connectionId))[0])
  await s.waitFor(first.id, ['succeeded'])
  // The next basic run is an hour away.
  await sleep(500)
  assert.equal((await jobsOf(connectionId)).length, 1)

  // Every second (Quartz syntax): runs keep coming without anyone calling connections/sync.
  const updated = await s.post('connections/update', {
    connectionId,
    scheduleType: 'cron',
    scheduleData: { cron: { cronExpression: '* * * * * ?', cronTimeZone: 'UTC' } },
  })
  assert.equal(updated.status, 200, JSON.stringify(updated.body))
  const three = await until('two cron runs', async () => {
    const jobs = await jobsOf(connectionId)
    return jobs.length >= 3 ? jobs : undefined
  })
  for (const job of three) assert.ok(['pending', 'running', 'succeeded'].includes(job.status), job.status)

  // Inactive: no more runs.
  assert.equal((await s.post('connections/update', { connectionId, status: 'inactive' })).status, 200)
  // Let a tick that read the connection before the change finish.
  await sleep(1000)
  const settled = (await jobsOf(connectionId)).length
  await sleep(1500)
  assert.equal((await jobsOf(connectionId)).length, settled, 'an inactive connection is not scheduled')
})
