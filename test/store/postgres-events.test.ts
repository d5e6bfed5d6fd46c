import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { openPostgresStores, PostgresJobEvents, type PostgresStores } from '../../src/store/postgres/index.js'
import { createTestDatabase, type TestDatabase } from '../scale/pg-test-database.js'

let tdb: TestDatabase
let stores: PostgresStores

before(async () => {
  tdb = await createTestDatabase('events')
  stores = await openPostgresStores({ url: tdb.url })
})

after(async () => {
  await stores?.close()
  await tdb?.drop()
})

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) assert.fail('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('a dropped LISTEN connection is re-opened and listeners are told to poll', async () => {
  const events = new PostgresJobEvents(stores.db, { retryBaseMs: 50 })
  const seen: string[] = []
  try {
    await events.subscribe((e) => seen.push(e.type === 'reconnected' ? 'reconnected' : `${e.type}:${e.jobId}`))
    assert.equal(events.listening, true)
    const first = await stores.jobStore.createJob({ configType: 'sync', configId: 'c1', streams: [] })
    await until(() => seen.includes(`runnable:${first.id}`))

    // The server drops the listening session (restart, failover, idle kill...).
    const killed = await stores.db.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sluice-listen'`,
    )
    assert.ok(killed.length >= 1 && killed.every((r) => r.ok))
    await until(() => seen.includes('reconnected'))
    assert.equal(events.listening, true)

    const second = await stores.jobStore.createJob({ configType: 'sync', configId: 'c2', streams: [] })
    await stores.jobStore.requestCancel(second.id)
    await until(() => seen.includes(`cancel:${second.id}`))
    assert.ok(seen.indexOf('reconnected') < seen.indexOf(`runnable:${second.id}`))
  } finally {
    await events.close()
  }
  assert.equal(events.listening, false)
})

test('an unreachable database: subscribe resolves, nothing is heard, close stops the retries', async () => {
  const { PostgresDatabase } = await import('../../src/store/postgres/index.js')
  const dead = new PostgresDatabase({ url: 'postgres://postgres@127.0.0.1:1/none' })
  const events = new PostgresJobEvents(dead, { retryBaseMs: 20 })
  try {
    const unsubscribe = await events.subscribe(() => assert.fail('no event expected'))
    assert.equal(events.listening, false)
    await new Promise((r) => setTimeout(r, 150))
    unsubscribe()
  } finally {
    await events.close()
    await dead.close()
  }
})

test('all sessions dropped: reads in flight are re-run on fresh connections, writes fail as transient', async () => {
  const { PostgresDatabase } = await import('../../src/store/postgres/index.js')
  const { isSluiceError } = await import('../../src/errors.js')
  const db = new PostgresDatabase({ url: tdb.url, maxConnections: 8 })
  try {
    await Promise.all(Array.from({ length: 8 }, () => db.query('SELECT pg_sleep(0.02)')))
    await db.query('CREATE TABLE IF NOT EXISTS t_write (n int)')
    const reads = Array.from({ length: 3 }, () => db.query<{ one: number }>('SELECT pg_sleep(0.5), 1 AS one'))
    const write = db.query('INSERT INTO t_write SELECT 1 FROM pg_sleep(0.5)').then(
      () => 'committed',
      (e: unknown) => (isSluiceError(e) ? `${e.code}/${e.failureType}` : String(e)),
    )
    await new Promise((r) => setTimeout(r, 150))
    const killed = await stores.db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'sluice' AND pid <> pg_backend_pid()`,
    )
    assert.ok(killed.length >= 8)
    for (const rows of await Promise.all(reads)) assert.equal(rows[0]?.one, 1)
    assert.equal(await write, 'SLUICE_ERR_STORE_UNAVAILABLE/transient_error')
    // Idle dead sessions are dropped too: the next statements just work.
    for (let i = 0; i < 10; i++) assert.equal((await db.query<{ one: number }>('SELECT 1 AS one'))[0]?.one, 1)
  } finally {
    await db.close()
  }
})

test('onRunnable wakes an in-process worker for jobs created by another process', async () => {
  const other = await openPostgresStores({ url: tdb.url })
  let calls = 0
  const unsubscribe = stores.jobStore.onRunnable(() => calls++)
  try {
    await until(() => stores.events.listening)
    const job = await other.jobStore.createJob({ configType: 'sync', configId: 'c-wake', streams: [] })
    await until(() => calls >= 1)
    unsubscribe()
    const before = calls
    await other.jobStore.requestCancel(job.id)
    await other.jobStore.createJob({ configType: 'sync', configId: 'c-wake', streams: [] })
    await new Promise((r) => setTimeout(r, 200))
    assert.equal(calls, before, 'no calls after unsubscribe')
  } finally {
    unsubscribe()
    await other.close()
  }
})

test('a finished attempt announces only what became runnable (NOTIFY serialises commits)', async () => {
  const heard: number[] = []
  const unsubscribe = await stores.events.subscribe((e) => {
    if (e.type === 'runnable') heard.push(e.jobId)
  })
  const claimFor = async (jobId: number) => {
    for (;;) {
      const c = await stores.jobStore.claimNext('w-notify', 60_000)
      assert.ok(c, 'a job to claim')
      if (c.job.id === jobId) return c
      await stores.jobStore.finishAttempt(c.job.id, c.attempt.attemptNumber, 'w-notify', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
    }
  }
  try {
    // Success with nothing queued: silent.
    const plain = await stores.jobStore.createJob({ configType: 'sync', configId: 'c-n1', streams: [] })
    await claimFor(plain.id)
    await stores.jobStore.finishAttempt(plain.id, 0, 'w-notify', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
    // A retry: announced.
    const retried = await stores.jobStore.createJob({ configType: 'sync', configId: 'c-n2', streams: [] })
    await claimFor(retried.id)
    await stores.jobStore.finishAttempt(retried.id, 0, 'w-notify', { status: 'failed', failures: [] }, { status: 'incomplete', runAfter: 0 })
    // A reset queued behind a running attempt: announced when that attempt ends.
    const running = await stores.jobStore.createJob({ configType: 'sync', configId: 'c-n3', streams: [] })
    await claimFor(running.id)
    const reset = await stores.jobStore.createJob({ configType: 'reset_connection', configId: 'c-n3', streams: [], cancelActive: true })
    await until(() => heard.includes(reset.id) && heard.includes(retried.id))
    // The creation of `plain` was announced once; its success adds nothing.
    assert.equal(heard.filter((id) => id === plain.id).length, 1, 'a plain success is not announced')
    assert.equal(heard.filter((id) => id === retried.id).length, 2, 'creation and retry are announced')
    heard.length = 0
    await stores.jobStore.finishAttempt(running.id, 0, 'w-notify', { status: 'failed', failures: [] }, { status: 'cancelled' })
    await until(() => heard.includes(running.id))
    await stores.jobStore.requestCancel(retried.id)
    await stores.jobStore.requestCancel(reset.id)
  } finally {
    unsubscribe()
  }
})
