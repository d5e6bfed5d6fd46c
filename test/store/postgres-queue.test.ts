import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { isSluiceError } from '../../src/errors.js'
import { streamKey } from '../../src/protocol/index.js'
import {
  MIGRATION_LOCK_KEY,
  PostgresDatabase,
  migratePostgres,
  openPostgresStores,
  POSTGRES_MIGRATIONS,
  type JobEvent,
  type PostgresStores,
} from '../../src/store/postgres/index.js'
import { createTestDatabase, type TestDatabase } from '../scale/pg-test-database.js'

const STATS = { recordsEmitted: 1, bytesEmitted: 2, recordsCommitted: 1, bytesCommitted: 2, stateMessagesEmitted: 1 }

let tdb: TestDatabase
let a: PostgresStores
let b: PostgresStores
let clock = 1_800_000_000_000
let connectionSeq = 0
const conn = (): string => `conn-${++connectionSeq}`

before(async () => {
  tdb = await createTestDatabase('queue')
  // Two "processes": separate pools on the same database, started at the same time.
  ;[a, b] = await Promise.all([
    openPostgresStores({ url: tdb.url, now: () => clock }),
    openPostgresStores({ url: tdb.url, now: () => clock }),
  ])
})

after(async () => {
  await a?.close()
  await b?.close()
  await tdb?.drop()
})

describe('migrations', () => {
  const versions = POSTGRES_MIGRATIONS.map((m) => m.version)
  const latest = versions[versions.length - 1]!

  test('concurrent starts apply each migration exactly once', async () => {
    const applied = [...a.migrations.applied, ...b.migrations.applied].sort((x, y) => x - y)
    assert.deepEqual(applied, versions)
    assert.equal(a.migrations.current, latest)
    assert.equal(b.migrations.current, latest)
    const rows = await a.db.query<{ version: number }>('SELECT version FROM sluice_schema_migrations ORDER BY version')
    assert.deepEqual(rows.map((r) => r.version), versions)
    const again = await migratePostgres(a.db.pool)
    assert.deepEqual(again, { applied: [], current: latest })
  })

  test('a process waits for the migration lock held by another', async () => {
    const holder = await a.db.pool.connect()
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
      let done = false
      const waiting = migratePostgres(b.db.pool).then((r) => {
        done = true
        return r
      })
      await new Promise((r) => setTimeout(r, 200))
      assert.equal(done, false, 'migrator must block while another process holds the lock')
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      assert.deepEqual(await waiting, { applied: [], current: latest })
    } finally {
      holder.release()
    }
  })

  test('refuses a schema newer than this build', async () => {
    const db = new PostgresDatabase({ url: tdb.url })
    try {
      await assert.rejects(migratePostgres(db.pool, [{ version: 1, name: 'config', sql: 'SELECT 1' }]), (e: unknown) => {
        assert.ok(isSluiceError(e))
        assert.equal(e.code, 'SLUICE_ERR_STORE')
        assert.ok(e.message.includes(`does not know (${versions.slice(1).join(', ')})`), e.message)
        return true
      })
    } finally {
      await db.close()
    }
  })

  test('a failing migration rolls back and is not recorded', async () => {
    const db = new PostgresDatabase({ url: tdb.url })
    try {
      const bad = { version: latest + 1, name: 'bad', sql: 'CREATE TABLE sluice_tmp_x (id int); SELECT * FROM no_such_table' }
      await assert.rejects(migratePostgres(db.pool, [...POSTGRES_MIGRATIONS, bad]), new RegExp(`migration ${latest + 1} \\(bad\\) failed`))
      const t = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'sluice_tmp_x'`)
      assert.equal(t[0]?.n, 0)
      const v = await db.query(`SELECT 1 FROM sluice_schema_migrations WHERE version = $1`, [latest + 1])
      assert.equal(v.length, 0)
    } finally {
      await db.close()
    }
  })
})

describe('jobs across processes', () => {
  test('one non-terminal job per connection, even when created from two processes at once', async () => {
    const c = conn()
    const results = await Promise.allSettled([
      a.jobStore.createJob({ configType: 'sync', configId: c, streams: [] }),
      b.jobStore.createJob({ configType: 'sync', configId: c, streams: [] }),
    ])
    const ok = results.filter((r) => r.status === 'fulfilled')
    const failed = results.filter((r) => r.status === 'rejected')
    assert.equal(ok.length, 1)
    assert.equal(failed.length, 1)
    const err = (failed[0] as PromiseRejectedResult).reason
    assert.ok(isSluiceError(err))
    assert.equal(err.code, 'SLUICE_ERR_SYNC_RUNNING')
    assert.equal(err.message, `A sync is already running for: ${c}`)
  })

  test('one job per schedule slot: racing schedulers create it once', async () => {
    const c = conn()
    const slot = 1_800_000_060_000
    const first = await a.jobStore.createJob({ configType: 'sync', configId: c, streams: [], scheduledFor: slot })
    assert.equal(first.scheduledFor, slot)
    await a.jobStore.requestCancel(first.id)
    await assert.rejects(b.jobStore.createJob({ configType: 'sync', configId: c, streams: [], scheduledFor: slot }), (e: unknown) => {
      assert.ok(isSluiceError(e))
      assert.equal(e.code, 'SLUICE_ERR_CONFLICT')
      return true
    })
  })

  test('a refresh job keeps its mode through create, read and claim', async () => {
    const c = conn()
    const job = await a.jobStore.createJob({ configType: 'refresh', configId: c, streams: [{ name: 'users' }], refreshMode: 'truncate' })
    assert.equal(job.refreshMode, 'truncate')
    assert.equal((await b.jobStore.getJob(job.id))?.refreshMode, 'truncate')
    const plain = await a.jobStore.createJob({ configType: 'sync', configId: conn(), streams: [] })
    assert.equal('refreshMode' in plain, false)
    await a.jobStore.requestCancel(plain.id)
    let claimed = await b.jobStore.claimNext('w-refresh', 10_000)
    while (claimed && claimed.job.id !== job.id) {
      await b.jobStore.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w-refresh', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
      claimed = await b.jobStore.claimNext('w-refresh', 10_000)
    }
    assert.equal(claimed?.job.refreshMode, 'truncate')
    await b.jobStore.finishAttempt(job.id, 0, 'w-refresh', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
  })

  test('claims from many concurrent claimers hand each job to exactly one worker', async () => {
    const ids = new Set<number>()
    for (let i = 0; i < 40; i++) ids.add((await a.jobStore.createJob({ configType: 'sync', configId: conn(), streams: [] })).id)
    const claimed: number[] = []
    const claimers = Array.from({ length: 8 }, (_, i) => (async () => {
      const store = i % 2 === 0 ? a.jobStore : b.jobStore
      for (;;) {
        const c = await store.claimNext(`w${i}`, 30_000)
        if (!c) return
        claimed.push(c.job.id)
        assert.equal(c.job.status, 'running')
        assert.equal(c.attempt.attemptNumber, 0)
        assert.equal(c.attempt.workerId, `w${i}`)
        assert.equal(c.attempt.leaseExpiresAt, clock + 30_000)
      }
    })())
    await Promise.all(claimers)
    const mine = claimed.filter((id) => ids.has(id))
    assert.equal(mine.length, 40)
    assert.equal(new Set(mine).size, 40, 'no job claimed twice')
    for (const id of ids) {
      const attempts = await a.jobStore.listAttempts(id)
      assert.equal(attempts.length, 1)
      assert.ok(await a.jobStore.finishAttempt(id, 0, undefined, { status: 'succeeded', failures: [] }, { status: 'succeeded' }))
    }
  })

  test('claim respects runAfter, cancelRequested and a still-running attempt of the connection', async () => {
    const c = conn()
    const job = await a.jobStore.createJob({ configType: 'sync', configId: c, streams: [{ name: 'users' }] })
    const first = await a.jobStore.claimNext('w1', 10_000)
    assert.equal(first?.job.id, job.id)
    // Retry backoff: incomplete with runAfter in the future is not claimable yet.
    assert.ok(await a.jobStore.finishAttempt(job.id, 0, 'w1', { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: clock + 5_000 }))
    assert.equal(await b.jobStore.claimNext('w2', 10_000), undefined)
    const second = await b.jobStore.claimNext('w2', 10_000, clock + 5_000)
    assert.equal(second?.job.id, job.id)
    assert.equal(second?.attempt.attemptNumber, 1)
    // A reset cancels the running job; the new job waits until the old attempt ends.
    const reset = await a.jobStore.createJob({ configType: 'reset_connection', configId: c, streams: [], cancelActive: true })
    const old = await a.jobStore.getJob(job.id)
    assert.equal(old?.status, 'cancelled')
    assert.equal(old?.cancelRequested, true)
    assert.equal(await a.jobStore.claimNext('w3', 10_000), undefined)
    assert.ok(await b.jobStore.finishAttempt(job.id, 1, 'w2', { status: 'failed', failures: [] }, { status: 'failed' }))
    assert.equal((await a.jobStore.getJob(job.id))?.status, 'cancelled', 'terminal job is not moved by finishAttempt')
    const third = await a.jobStore.claimNext('w3', 10_000)
    assert.equal(third?.job.id, reset.id)
    assert.equal(third?.job.configType, 'reset_connection')
    assert.ok(await a.jobStore.finishAttempt(reset.id, 0, 'w3', { status: 'succeeded', failures: [] }, { status: 'succeeded' }))
  })

  test('a cancel requested during a failing attempt wins over the retry', async () => {
    const job = await a.jobStore.createJob({ configType: 'sync', configId: conn(), streams: [] })
    let claimed = await b.jobStore.claimNext('w-fail', 60_000)
    while (claimed && claimed.job.id !== job.id) {
      await b.jobStore.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w-fail', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
      claimed = await b.jobStore.claimNext('w-fail', 60_000)
    }
    assert.equal(claimed?.job.id, job.id)
    await a.jobStore.requestCancel(job.id)
    assert.equal(await b.jobStore.finishAttempt(job.id, 0, 'w-fail', { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: 0 }), true)
    assert.equal((await a.jobStore.getJob(job.id))?.status, 'cancelled')
  })

  test('a cancel racing a failing attempt from another process: the job always ends cancelled', async () => {
    for (let i = 0; i < 20; i++) {
      const job = await a.jobStore.createJob({ configType: 'sync', configId: conn(), streams: [] })
      let claimed = await b.jobStore.claimNext('w-race', 60_000)
      while (claimed && claimed.job.id !== job.id) {
        await b.jobStore.finishAttempt(claimed.job.id, claimed.attempt.attemptNumber, 'w-race', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
        claimed = await b.jobStore.claimNext('w-race', 60_000)
      }
      assert.equal(claimed?.job.id, job.id)
      const [finished, cancel] = await Promise.all([
        b.jobStore.finishAttempt(job.id, 0, 'w-race', { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: 0 }),
        a.jobStore.requestCancel(job.id),
      ])
      assert.equal(finished, true)
      assert.ok(cancel)
      const after = await a.jobStore.getJob(job.id)
      assert.deepEqual([after?.status, after?.cancelRequested], ['cancelled', true], `round ${i}`)
      assert.deepEqual((await a.jobStore.listAttempts(job.id)).map((x) => x.status), ['failed'])
    }
  })

  test('heartbeat, lease expiry and finish guards', async () => {
    const c = conn()
    const job = await a.jobStore.createJob({ configType: 'sync', configId: c, streams: [] })
    const claim = await a.jobStore.claimNext('w1', 1_000)
    assert.equal(claim?.job.id, job.id)
    assert.equal(await b.jobStore.heartbeat(job.id, 0, 'intruder', 1_000), false)
    clock += 900
    assert.equal(await a.jobStore.heartbeat(job.id, 0, 'w1', 1_000), true)
    assert.equal((await b.jobStore.getAttempt(job.id, 0))?.leaseExpiresAt, clock + 1_000)
    assert.deepEqual((await b.jobStore.expiredAttempts(clock + 999)).filter((x) => x.jobId === job.id), [])
    const expired = (await b.jobStore.expiredAttempts(clock + 1_001)).filter((x) => x.jobId === job.id)
    assert.equal(expired.length, 1)
    // Two reapers race; only one moves the attempt, and the late worker cannot finish it.
    const reaped = await Promise.all([
      a.jobStore.finishAttempt(job.id, 0, undefined, { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: clock }),
      b.jobStore.finishAttempt(job.id, 0, undefined, { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: clock }),
    ])
    assert.deepEqual(reaped.sort(), [false, true])
    assert.equal(await a.jobStore.finishAttempt(job.id, 0, 'w1', { status: 'succeeded', failures: [] }, { status: 'succeeded' }), false)
    assert.equal(await a.jobStore.heartbeat(job.id, 0, 'w1', 1_000), false)
    const retry = await b.jobStore.claimNext('w2', 1_000)
    assert.equal(retry?.attempt.attemptNumber, 1)
    assert.ok(
      await b.jobStore.finishAttempt(
        job.id,
        1,
        'w2',
        { status: 'succeeded', failures: [], totalStats: STATS, streamStats: [{ streamName: 's', stats: STATS }] },
        { status: 'succeeded' },
      ),
    )
    const attempts = await a.jobStore.listAttempts(job.id)
    assert.deepEqual(attempts.map((x) => x.status), ['failed', 'succeeded'])
    assert.deepEqual(attempts[1]?.totalStats, STATS)
    assert.equal((await a.jobStore.getJob(job.id))?.status, 'succeeded')
  })

  test('cancel from another process is heard over LISTEN/NOTIFY', async () => {
    const events: JobEvent[] = []
    const unsubscribe = await a.events.subscribe((e) => {
      if (e.type !== 'reconnected') events.push(e)
    })
    try {
      const c = conn()
      const job = await b.jobStore.createJob({ configType: 'sync', configId: c, streams: [] })
      await a.jobStore.claimNext('w1', 10_000)
      const cancelled = await b.jobStore.requestCancel(job.id)
      assert.equal(cancelled?.status, 'running')
      assert.equal(cancelled?.cancelRequested, true)
      const deadline = Date.now() + 5_000
      while (!events.some((e) => e.type === 'cancel' && e.jobId === job.id) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.ok(events.some((e) => e.type === 'runnable' && e.jobId === job.id), 'creation is announced')
      assert.ok(events.some((e) => e.type === 'cancel' && e.jobId === job.id), 'cancel is announced')
      assert.ok(await a.jobStore.finishAttempt(job.id, 0, 'w1', { status: 'failed', failures: [] }, { status: 'cancelled' }))
      // Cancelling a pending job ends it at once; a terminal job is left as it is.
      const pending = await b.jobStore.createJob({ configType: 'sync', configId: c, streams: [] })
      assert.equal((await b.jobStore.requestCancel(pending.id))?.status, 'cancelled')
      assert.equal((await b.jobStore.requestCancel(pending.id))?.status, 'cancelled')
      assert.equal(await b.jobStore.requestCancel(999_999), undefined)
    } finally {
      unsubscribe()
    }
  })

  test('state, generations and logs are shared by every process', async () => {
    const c = conn()
    await a.jobStore.saveState(c, [
      { stream: { name: 'users', namespace: 'public' }, state: { cursor: 1 } },
      { stream: { name: 'orders' }, state: { cursor: 'x' } },
    ])
    await b.jobStore.saveState(c, [{ stream: { name: 'users', namespace: 'public' }, state: { cursor: 2 } }])
    const state = await a.jobStore.getState(c)
    assert.deepEqual(
      state.map((s) => [streamKey(s.stream), s.state]),
      [
        [streamKey({ name: 'orders' }), { cursor: 'x' }],
        [streamKey({ name: 'users', namespace: 'public' }), { cursor: 2 }],
      ],
    )
    await a.jobStore.clearState(c, [{ name: 'orders', namespace: '' }])
    assert.equal((await b.jobStore.getState(c)).length, 1)
    await a.jobStore.clearState(c)
    assert.deepEqual(await b.jobStore.getState(c), [])

    const s = [{ name: 'users' }, { name: 'orders', namespace: 'x' }]
    assert.deepEqual(await a.jobStore.getGenerations(c), new Map())
    await Promise.all([a.jobStore.bumpGenerations(c, s), b.jobStore.bumpGenerations(c, s)])
    const gens = await a.jobStore.getGenerations(c)
    assert.equal(gens.get(streamKey({ name: 'users' })), 2)
    assert.equal(gens.get(streamKey({ name: 'orders', namespace: 'x' })), 2)

    const job = await a.jobStore.createJob({ configType: 'sync', configId: c, streams: [] })
    await a.jobStore.appendLogs(job.id, 0, ['one', 'two'])
    await b.jobStore.appendLogs(job.id, 0, ['three'])
    await b.jobStore.appendLogs(job.id, 0, [])
    assert.deepEqual(await b.jobStore.readLogs(job.id, 0), ['one', 'two', 'three'])
    assert.deepEqual(await b.jobStore.readLogs(job.id, 1), [])
    await a.jobStore.requestCancel(job.id)
  })

  test('worker registry lists live workers with their running attempts', async () => {
    await a.workers.register({ workerId: 'live', hostname: 'h1', pid: 1, concurrency: 4 })
    await b.workers.register({ workerId: 'dead', hostname: 'h2', pid: 2, concurrency: 1 })
    const job = await a.jobStore.createJob({ configType: 'sync', configId: conn(), streams: [] })
    const claim = await a.jobStore.claimNext('live', 10_000)
    assert.equal(claim?.job.id, job.id)
    clock += 20_000
    await a.workers.beat('live', 'stopping')
    const list = await b.workers.list(15_000)
    assert.deepEqual(list.map((w) => w.workerId), ['live'])
    assert.equal(list[0]?.status, 'stopping')
    assert.equal(list[0]?.concurrency, 4)
    assert.deepEqual(list[0]?.runningAttempts.map((r) => [r.jobId, r.attemptNumber]), [[job.id, 0]])
    await a.workers.deregister('live')
    assert.deepEqual((await b.workers.list(60_000)).map((w) => w.workerId), ['dead'])
    // A day later, the next worker to start sweeps the dead worker's row.
    clock += 24 * 3_600_000
    await b.workers.register({ workerId: 'next', hostname: 'h3', pid: 3, concurrency: 1 })
    const rows = await a.db.query<{ worker_id: string }>('SELECT worker_id FROM sluice_workers ORDER BY worker_id')
    assert.deepEqual(rows.map((r) => r.worker_id), ['next'])
    await b.workers.deregister('next')
    await a.jobStore.finishAttempt(job.id, 0, 'live', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
  })
})

describe('driver errors', () => {
  test('an unreachable database is a transient store error without the password', async () => {
    const db = new PostgresDatabase({ url: 'postgres://u:hunter2@127.0.0.1:1/none' })
    try {
      await assert.rejects(db.query('SELECT 1'), (e: unknown) => {
        assert.ok(isSluiceError(e))
        assert.equal(e.code, 'SLUICE_ERR_STORE_UNAVAILABLE')
        assert.equal(e.failureType, 'transient_error')
        assert.doesNotMatch(e.message, /hunter2/)
        return true
      })
      assert.equal(await db.healthy(), false)
    } finally {
      await db.close()
    }
  })

  test('a SQL error is a store error', async () => {
    await assert.rejects(a.db.query('SELECT * FROM sluice_nope'), (e: unknown) => {
      assert.ok(isSluiceError(e))
      assert.equal(e.code, 'SLUICE_ERR_STORE')
      assert.match(e.message, /42P01/)
      return true
    })
  })
})
