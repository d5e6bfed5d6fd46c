import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { migratePostgres, openPostgresStores, PostgresDatabase, POSTGRES_MIGRATIONS } from '../../src/store/postgres/index.js'
import { migrateSqlite, openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { createTestDatabase, type TestDatabase } from '../scale/pg-test-database.js'

// A job and its two attempts as migration 005 left them: times in epoch seconds, run_after,
// leases and schedule slots already in ms.
const S = 1_767_225_600
const SLOT = 1_767_225_660_000
const LEASE = 1_767_225_700_000

/** What the store must read back after migration 006: every time in epoch ms, nothing else moved. */
function assertMigrated(job: Record<string, unknown> | undefined, attempts: Array<Record<string, unknown>>): void {
  assert.ok(job)
  assert.equal(job.createdAt, S * 1000)
  assert.equal(job.updatedAt, (S + 30) * 1000)
  assert.equal(job.startedAt, (S + 1) * 1000)
  assert.equal(job.scheduledFor, SLOT)
  assert.equal(job.runAfter, SLOT)
  assert.deepEqual(
    attempts.map((a) => [a.createdAt, a.updatedAt, a.endedAt, a.leaseExpiresAt]),
    [
      [(S + 1) * 1000, (S + 10) * 1000, (S + 10) * 1000, undefined],
      [(S + 20) * 1000, (S + 30) * 1000, undefined, LEASE],
    ],
  )
}

test('sqlite: migration 006 turns job and attempt seconds into ms', async () => {
  const db = openSqliteDatabase(
    ':memory:',
    SQLITE_MIGRATIONS.filter((m) => m.version < 6),
  )
  try {
    db.prepare(
      `INSERT INTO jobs (id, config_type, config_id, status, streams, scheduled_for, cancel_requested, run_after, created_at, updated_at, started_at)
       VALUES (1, 'sync', 'c', 'running', '[]', ?, 0, ?, ?, ?, ?)`,
    ).run(SLOT, SLOT, S, S + 30, S + 1)
    const attempt = db.prepare(
      `INSERT INTO attempts (job_id, attempt_number, status, worker_id, lease_expires_at, total_stats, stream_stats, failures, created_at, updated_at, ended_at)
       VALUES (1, ?, ?, 'w', ?, '{}', '[]', '[]', ?, ?, ?)`,
    )
    attempt.run(0, 'failed', null, S + 1, S + 10, S + 10)
    attempt.run(1, 'running', LEASE, S + 20, S + 30, null)
    assert.deepEqual(migrateSqlite(db)[0], 6, 'migration 006 ran next')
    const store = new SqliteJobStore(db)
    assertMigrated({ ...(await store.getJob(1)) }, (await store.listAttempts(1)).map((a) => ({ ...a })))
    assert.deepEqual(migrateSqlite(db), [], 'applied once')
  } finally {
    db.close()
  }
})

const databases: TestDatabase[] = []
after(async () => {
  for (const d of databases) await d.drop()
})

test('postgres: migration 006 turns job and attempt seconds into ms', async () => {
  const tdb = await createTestDatabase('jobtimes')
  databases.push(tdb)
  const db = new PostgresDatabase({ url: tdb.url })
  try {
    await migratePostgres(
      db.pool,
      POSTGRES_MIGRATIONS.filter((m) => m.version < 6),
    )
    await db.query(
      `INSERT INTO sluice_jobs (id, config_type, config_id, status, streams, scheduled_for, cancel_requested, run_after, created_at, updated_at, started_at)
       VALUES (1, 'sync', 'c', 'running', '[]', $1, false, $1, $2, $3, $4)`,
      [SLOT, S, S + 30, S + 1],
    )
    const attempt = `INSERT INTO sluice_attempts (job_id, attempt_number, status, worker_id, lease_expires_at, total_stats, stream_stats, failures, created_at, updated_at, ended_at)
       VALUES (1, $1, $2, 'w', $3, '{}', '[]', '[]', $4, $5, $6)`
    await db.query(attempt, [0, 'failed', null, S + 1, S + 10, S + 10])
    await db.query(attempt, [1, 'running', LEASE, S + 20, S + 30, null])
  } finally {
    await db.close()
  }
  const stores = await openPostgresStores({ url: tdb.url })
  try {
    assert.equal(stores.migrations.applied[0], 6, 'migration 006 ran next')
    const { jobStore } = stores
    assertMigrated({ ...(await jobStore.getJob(1)) }, (await jobStore.listAttempts(1)).map((a) => ({ ...a })))
  } finally {
    await stores.close()
  }
})
