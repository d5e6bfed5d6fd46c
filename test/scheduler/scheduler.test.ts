import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { newWorkspaceRecord } from '../../src/api/workspace-records.js'
import { addInterval, dueSlot, NEW_CONNECTION_GRACE_MS, Scheduler } from '../../src/scheduler/scheduler.js'
import type { ConnectionRecord, ScheduleRecord } from '../../src/store/config-store.js'
import { openSqliteDatabase, type SqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'

const T0 = Date.UTC(2026, 2, 2, 10, 30, 0)
const MIN = 60_000
const HOUR = 60 * MIN

describe('scheduler (fake clock)', () => {
  let clock = T0
  const now = (): number => clock
  let db: SqliteDatabase
  let configStore: SqliteConfigStore
  let jobStore: SqliteJobStore
  let workspaceId: string

  before(async () => {
    db = openSqliteDatabase(':memory:')
    configStore = new SqliteConfigStore(db)
    jobStore = new SqliteJobStore(db, { now })
    const ws = newWorkspaceRecord({ name: 'default', slug: 'default' })
    await configStore.putWorkspace(ws)
    workspaceId = ws.workspaceId
  })
  after(() => {
    db.close()
  })

  /** A fresh scheduler each time: everything it needs is derived from the stores (restart-safe). */
  function scheduler(): Scheduler {
    return new Scheduler({ configStore, jobStore, now, newConnectionGraceMs: NEW_CONNECTION_GRACE_MS })
  }

  async function connection(schedule: ScheduleRecord, status: ConnectionRecord['status'] = 'active'): Promise<ConnectionRecord> {
    const conn: ConnectionRecord = {
      connectionId: randomUUID(),
      workspaceId,
      name: 'c',
      sourceId: randomUUID(),
      destinationId: randomUUID(),
      status,
      namespaceDefinition: 'source',
      prefix: '',
      syncCatalog: { streams: [{ stream: { name: 'items', supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
      schedule,
      operationIds: [],
      extra: {},
      createdAt: Math.floor(clock / 1000),
      updatedAt: Math.floor(clock / 1000),
    }
    return configStore.putConnection(conn)
  }

  async function jobsOf(connectionId: string) {
    return (await jobStore.listJobs({ configId: connectionId, orderByMethod: 'ASC' })).jobs
  }

  /** Runs the connection's pending job to success, as a worker would. */
  async function finish(connectionId: string): Promise<void> {
    const active = await jobStore.activeJob(connectionId)
    assert.ok(active, 'an active job to finish')
    for (;;) {
      const claimed = await jobStore.claimNext('w', HOUR)
      assert.ok(claimed)
      await jobStore.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
      if (claimed.job.id === active.id) return
    }
  }

  async function tickFor(connectionId: string): Promise<number> {
    return (await scheduler().tick()).filter((j) => j.configId === connectionId).length
  }

  test('addInterval: fixed units and calendar months', () => {
    assert.equal(addInterval(T0, 90, 'minutes'), T0 + 90 * MIN)
    assert.equal(addInterval(T0, 2, 'weeks'), T0 + 14 * 24 * HOUR)
    assert.equal(addInterval(Date.UTC(2026, 0, 31), 1, 'months'), Date.UTC(2026, 1, 28))
    assert.equal(addInterval(Date.UTC(2026, 0, 15, 6), 3, 'months'), Date.UTC(2026, 3, 15, 6))
  })

  test('basic: a new connection syncs at once (after a short grace), then every interval after the last start', async () => {
    clock = T0
    const conn = await connection({ type: 'basic', units: 1, timeUnit: 'hours' })
    assert.equal(await tickFor(conn.connectionId), 0, 'a script may still call connections/sync itself')
    clock = T0 + NEW_CONNECTION_GRACE_MS
    assert.equal(await tickFor(conn.connectionId), 1)
    const [first] = await jobsOf(conn.connectionId)
    assert.equal(first?.configType, 'sync')
    assert.equal(first?.scheduledFor, conn.createdAt * 1000 + NEW_CONNECTION_GRACE_MS)
    assert.deepEqual(first?.streams, [{ name: 'items' }])
    assert.equal(await tickFor(conn.connectionId), 0, 'one job at a time')
    clock = T0 + 5 * MIN
    await finish(conn.connectionId)
    const started = T0 + NEW_CONNECTION_GRACE_MS
    clock = started + 59 * MIN
    assert.equal(await tickFor(conn.connectionId), 0)
    clock = started + HOUR
    assert.equal(await tickFor(conn.connectionId), 1)
    assert.equal((await jobsOf(conn.connectionId)).length, 2)
  })

  test('basic: a manual sync counts as the last start; a run missed while down runs once', async () => {
    clock = T0
    const conn = await connection({ type: 'basic', units: 1, timeUnit: 'hours' })
    await jobStore.createJob({ configType: 'sync', configId: conn.connectionId, streams: [] })
    await finish(conn.connectionId)
    clock = T0 + 30 * MIN
    assert.equal(await tickFor(conn.connectionId), 0, 'the manual sync started the interval')
    // Down for 5 hours: five slots were missed, one job runs.
    clock = T0 + 5 * HOUR + 30 * MIN
    assert.equal(await tickFor(conn.connectionId), 1)
    await finish(conn.connectionId)
    assert.equal(await tickFor(conn.connectionId), 0)
    assert.equal((await jobsOf(conn.connectionId)).length, 2)
  })

  test('a schedule change applies at once', async () => {
    clock = T0
    const conn = await connection({ type: 'basic', units: 24, timeUnit: 'hours' })
    clock = T0 + NEW_CONNECTION_GRACE_MS
    assert.equal(await tickFor(conn.connectionId), 1)
    await finish(conn.connectionId)
    clock = T0 + 10 * MIN
    assert.equal(await tickFor(conn.connectionId), 0)
    await configStore.putConnection({ ...conn, schedule: { type: 'basic', units: 5, timeUnit: 'minutes' }, updatedAt: Math.floor(clock / 1000) })
    assert.equal(await tickFor(conn.connectionId), 1, 'due under the new 5-minute interval')
  })

  test('manual, inactive and deleted connections are not scheduled', async () => {
    clock = T0
    const manual = await connection({ type: 'manual' })
    const inactive = await connection({ type: 'basic', units: 1, timeUnit: 'minutes' }, 'inactive')
    const deleted = await connection({ type: 'basic', units: 1, timeUnit: 'minutes' }, 'deprecated')
    clock = T0 + 10 * HOUR
    for (const c of [manual, inactive, deleted]) {
      assert.equal(await tickFor(c.connectionId), 0)
      assert.deepEqual(await jobsOf(c.connectionId), [])
    }
  })

  test('cron: fires at the slot in its time zone; a missed run while down runs once', async () => {
    clock = T0 // 10:30 UTC = 11:30 in Paris
    const conn = await connection({ type: 'cron', cronExpression: '0 0 * * * ?', cronTimeZone: 'Europe/Paris' })
    assert.equal(await tickFor(conn.connectionId), 0, 'a cron connection waits for its first slot')
    clock = Date.UTC(2026, 2, 2, 10, 59, 59)
    assert.equal(await tickFor(conn.connectionId), 0)
    clock = Date.UTC(2026, 2, 2, 11, 0, 0)
    assert.equal(await tickFor(conn.connectionId), 1)
    assert.equal((await jobsOf(conn.connectionId))[0]?.scheduledFor, Date.UTC(2026, 2, 2, 11, 0, 0))
    clock = Date.UTC(2026, 2, 2, 11, 2, 0)
    await finish(conn.connectionId)
    // Down from 11:02 to 14:30: slots 12:00, 13:00 and 14:00 missed, one job.
    clock = Date.UTC(2026, 2, 2, 14, 30, 0)
    assert.equal(await tickFor(conn.connectionId), 1)
    assert.equal((await jobsOf(conn.connectionId))[1]?.scheduledFor, Date.UTC(2026, 2, 2, 12, 0, 0))
    await finish(conn.connectionId)
    assert.equal(await tickFor(conn.connectionId), 0)
    clock = Date.UTC(2026, 2, 2, 15, 0, 0)
    assert.equal(await tickFor(conn.connectionId), 1)
    assert.equal((await jobsOf(conn.connectionId))[2]?.scheduledFor, Date.UTC(2026, 2, 2, 15, 0, 0))
  })

  test('two schedulers on one store never make two jobs for one slot', async () => {
    clock = T0
    const conn = await connection({ type: 'cron', cronExpression: '0 */15 * * * ?', cronTimeZone: 'UTC' })
    let total = 0
    for (let step = 0; step < 12; step++) {
      clock = T0 + step * 5 * MIN
      const [a, b] = await Promise.all([scheduler().tick(), scheduler().tick()])
      total += [...a, ...b].filter((j) => j.configId === conn.connectionId).length
      if (await jobStore.activeJob(conn.connectionId)) await finish(conn.connectionId)
    }
    const jobs = await jobsOf(conn.connectionId)
    assert.equal(total, jobs.length)
    // 10:30 .. 11:25: slots 10:45, 11:00, 11:15.
    assert.deepEqual(
      jobs.map((j) => new Date(j.scheduledFor as number).toISOString().slice(11, 16)),
      ['10:45', '11:00', '11:15'],
    )
  })

  test('dueSlot is pure: derived from the connection and its history only', () => {
    const conn = { schedule: { type: 'basic', units: 2, timeUnit: 'hours' } as ScheduleRecord, createdAt: T0 / 1000, updatedAt: T0 / 1000 }
    assert.equal(dueSlot(conn, {}, T0), T0, 'without a grace a new connection is due at once')
    assert.equal(dueSlot(conn, {}, T0, { newConnectionGraceMs: 10_000 }), undefined)
    assert.equal(dueSlot(conn, {}, T0 + 10_000, { newConnectionGraceMs: 10_000 }), T0 + 10_000)
    assert.equal(dueSlot(conn, { lastSyncStart: T0 }, T0 + HOUR), undefined)
    assert.equal(dueSlot(conn, { lastSyncStart: T0 }, T0 + 3 * HOUR), T0 + 2 * HOUR)
    assert.equal(dueSlot({ ...conn, schedule: { type: 'manual' } }, {}, T0), undefined)
  })

  test('start/stop: the timer ticks and stops cleanly', async () => {
    clock = T0
    const conn = await connection({ type: 'basic', units: 1, timeUnit: 'hours' })
    const created: number[] = []
    clock = T0 + NEW_CONNECTION_GRACE_MS
    const s = new Scheduler({ configStore, jobStore, now, tickMs: 20, newConnectionGraceMs: NEW_CONNECTION_GRACE_MS, onJobCreated: (j) => created.push(j.id) })
    s.start()
    await new Promise((r) => setTimeout(r, 100))
    await s.stop()
    const jobs = await jobsOf(conn.connectionId)
    assert.equal(jobs.length, 1)
    assert.ok(created.includes(jobs[0]!.id))
  })
})
