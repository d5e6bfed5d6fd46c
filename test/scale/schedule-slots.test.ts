import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Scheduler } from '../../src/scheduler/scheduler.js'
import type { ConnectionRecord, ScheduleRecord } from '../../src/store/config-store.js'
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

/** On the hour, so cron slots fall on round minutes. */
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0)
const HOUR = 3_600_000
const STEP = 30_000

let tdb: TestDatabase
let api1: PostgresStores
let api2: PostgresStores
let clock = T0

before(async () => {
  tdb = await createTestDatabase('slots')
  // Two API processes: separate pools, each with its own scheduler, one shared database.
  api1 = await openPostgresStores({ url: tdb.url, now: () => clock })
  api2 = await openPostgresStores({ url: tdb.url, now: () => clock })
})

after(async () => {
  await api1?.close()
  await api2?.close()
  await tdb?.drop()
})

function connection(id: string, schedule: ScheduleRecord): ConnectionRecord {
  return {
    connectionId: id,
    workspaceId: 'ws',
    name: id,
    sourceId: 'src',
    destinationId: 'dst',
    status: 'active',
    namespaceDefinition: 'source',
    prefix: '',
    syncCatalog: { streams: [{ stream: { name: 'users', supportedSyncModes: ['full_refresh'] }, config: { selected: true } }] },
    schedule,
    operationIds: [],
    extra: {},
    createdAt: T0 / 1000,
    updatedAt: T0 / 1000,
  }
}

test('two API processes with the same schedules over an hour of fake time create each slot once', async () => {
  const basic: ScheduleRecord = { type: 'basic', units: 5, timeUnit: 'minutes' }
  const cron: ScheduleRecord = { type: 'cron', cronExpression: '0 0/10 * * * ?', cronTimeZone: 'UTC' }
  const ids = { basic: ['b1', 'b2', 'b3', 'b4', 'b5'], cron: ['c1', 'c2', 'c3', 'c4', 'c5'] }
  for (const id of ids.basic) await api1.configStore.putConnection(connection(id, basic))
  for (const id of ids.cron) await api1.configStore.putConnection(connection(id, cron))

  const schedulers = [api1, api2].map((s) => new Scheduler({ configStore: s.configStore, jobStore: s.jobStore, now: () => clock }))
  const createdBy = [0, 0]
  for (clock = T0; clock <= T0 + HOUR; clock += STEP) {
    // Both schedulers tick at the same moment, as two processes whose timers line up would.
    const results = await Promise.all(schedulers.map((s) => s.tick()))
    results.forEach((jobs, i) => (createdBy[i] = (createdBy[i] ?? 0) + jobs.length))
    // A worker runs every due job to completion before the next step.
    for (;;) {
      const claim = await api1.jobStore.claimNext('worker', 60_000)
      if (!claim) break
      await api1.jobStore.finishAttempt(claim.job.id, 0, 'worker', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
    }
  }

  const { jobs, totalJobCount } = await api2.jobStore.listJobs({ orderByMethod: 'ASC' })
  assert.equal(totalJobCount, (createdBy[0] ?? 0) + (createdBy[1] ?? 0), 'every job was created by exactly one scheduler')
  for (const id of ids.basic) {
    const slots = jobs.filter((j) => j.configId === id).map((j) => j.scheduledFor)
    // Every 5 minutes from the connection's creation, both ends included: 13 runs.
    assert.deepEqual(slots, Array.from({ length: 13 }, (_, i) => T0 + i * 300_000), `basic ${id}`)
  }
  for (const id of ids.cron) {
    const slots = jobs.filter((j) => j.configId === id).map((j) => j.scheduledFor)
    assert.deepEqual(slots, Array.from({ length: 6 }, (_, i) => T0 + (i + 1) * 600_000), `cron ${id}`)
  }
  assert.equal(totalJobCount, 5 * 13 + 5 * 6)
  assert.ok(jobs.every((j) => j.status === 'succeeded'))
})
