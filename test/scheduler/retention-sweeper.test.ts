import { after, describe, mock, test } from 'node:test'
import assert from 'node:assert/strict'
import { retentionFromEnv, RetentionSweeper } from '../../src/scheduler/retention-sweeper.js'
import type { JobStore } from '../../src/store/job-store.js'
import { openPostgresStores } from '../../src/store/postgres/index.js'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { createTestDatabase } from '../scale/pg-test-database.js'

const T0 = Date.UTC(2026, 0, 1)
const DAY = 86_400_000
const HOUR = 3_600_000

/** A job store that only records the cutoffs it is asked to delete before. */
function recordingStore(): { store: Pick<JobStore, 'deleteLogsEndedBefore' | 'deleteJobsFinishedBefore'>; calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    store: {
      deleteLogsEndedBefore: async (t) => {
        calls.push(`logs<${(t - T0) / DAY}d`)
        return 0
      },
      deleteJobsFinishedBefore: async (t) => {
        calls.push(`jobs<${(t - T0) / DAY}d`)
        return 0
      },
    },
  }
}

describe('retention sweeper schedule', () => {
  test('sweeps at start, then every interval, until stopped', async () => {
    mock.timers.enable({ apis: ['setInterval'] })
    try {
      const { store, calls } = recordingStore()
      const clock = T0 + 100 * DAY
      const sweeper = new RetentionSweeper({ jobStore: store, logRetentionDays: 30, jobRetentionDays: 90, intervalMs: HOUR, now: () => clock })
      sweeper.start()
      await sweeper.stop()
      assert.deepEqual(calls, ['logs<70d', 'jobs<10d'])
      calls.length = 0
      sweeper.start()
      mock.timers.tick(HOUR - 1)
      await new Promise((resolve) => setImmediate(resolve))
      assert.deepEqual(calls, ['logs<70d', 'jobs<10d'], 'only the sweep at start before an interval has passed')
      mock.timers.tick(1)
      await sweeper.stop()
      assert.deepEqual(calls, ['logs<70d', 'jobs<10d', 'logs<70d', 'jobs<10d'])
      mock.timers.tick(10 * HOUR)
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(calls.length, 4, 'nothing after stop()')
    } finally {
      mock.timers.reset()
    }
  })

  test('0 days keeps forever: that delete is never asked for', async () => {
    const { store, calls } = recordingStore()
    const clock = T0 + 100 * DAY
    await new RetentionSweeper({ jobStore: store, logRetentionDays: 0, jobRetentionDays: 90, now: () => clock }).sweep()
    await new RetentionSweeper({ jobStore: store, logRetentionDays: 30, jobRetentionDays: 0, now: () => clock }).sweep()
    const never = new RetentionSweeper({ jobStore: store, logRetentionDays: 0, jobRetentionDays: 0, now: () => clock })
    never.start()
    await never.stop()
    assert.deepEqual(calls, ['jobs<10d', 'logs<70d'])
  })

  test('settings from the environment: defaults 30 and 90 days, hourly; garbage names the variable', () => {
    assert.deepEqual(retentionFromEnv({}), { logRetentionDays: 30, jobRetentionDays: 90, intervalMs: HOUR })
    assert.deepEqual(retentionFromEnv({ SLUICE_LOG_RETENTION_DAYS: '0', SLUICE_JOB_RETENTION_DAYS: '7', SLUICE_RETENTION_SWEEP_MS: '60000' }), {
      logRetentionDays: 0,
      jobRetentionDays: 7,
      intervalMs: 60_000,
    })
    assert.throws(() => retentionFromEnv({ SLUICE_JOB_RETENTION_DAYS: '-1' }), /SLUICE_JOB_RETENTION_DAYS must be an integer >= 0/)
  })
})

const databases: Array<{ drop(): Promise<void> }> = []
after(async () => {
  for (const d of databases) await d.drop()
})

const backends: Array<{ name: string; open: (now: () => number) => Promise<{ store: JobStore; close(): Promise<void> }> }> = [
  {
    name: 'sqlite',
    open: async (now) => {
      const db = openSqliteDatabase(':memory:')
      return {
        store: new SqliteJobStore(db, { now }),
        close: async () => {
          db.close()
        },
      }
    },
  },
  {
    name: 'postgres',
    open: async (now) => {
      const tdb = await createTestDatabase('retention')
      databases.push(tdb)
      const stores = await openPostgresStores({ url: tdb.url, now })
      return { store: stores.jobStore, close: () => stores.close() }
    },
  },
]

for (const backend of backends) {
  test(`retention on ${backend.name}: logs go after 30 days, jobs after 90, the connection's latest job stays`, async () => {
    let clock = T0
    const { store, close } = await backend.open(() => clock)
    try {
      const ended: number[] = []
      for (const day of [0, 1]) {
        clock = T0 + day * DAY
        const job = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
        assert.equal((await store.claimNext('w', 60_000))?.job.id, job.id)
        await store.appendLogs(job.id, 0, [`job ${day}`])
        await store.finishAttempt(job.id, 0, 'w', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
        ended.push(job.id)
      }
      const [first, latest] = ended as [number, number]
      const sweeper = new RetentionSweeper({ jobStore: store, logRetentionDays: 30, jobRetentionDays: 90, now: () => clock })

      clock = T0 + 29 * DAY
      assert.deepEqual(await sweeper.sweep(), { logLines: 0, jobs: 0 })
      clock = T0 + 30.5 * DAY
      assert.deepEqual(await sweeper.sweep(), { logLines: 1, jobs: 0 })
      assert.deepEqual(await store.readLogs(first, 0), [])
      assert.deepEqual(await store.readLogs(latest, 0), ['job 1'])
      assert.notEqual(await store.getJob(first), undefined)

      clock = T0 + 91 * DAY
      assert.deepEqual(await sweeper.sweep(), { logLines: 1, jobs: 1 })
      assert.equal(await store.getJob(first), undefined)
      assert.equal((await store.getJob(latest))?.status, 'succeeded', 'the latest job of the connection stays')
      assert.equal((await store.listAttempts(latest)).length, 1)
    } finally {
      await close()
    }
  })
}
