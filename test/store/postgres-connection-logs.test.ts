import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { PostgresDatabase, type StoreLogger } from '../../src/store/postgres/postgres-database.js'
import { PostgresJobEvents } from '../../src/store/postgres/postgres-job-events.js'
import { createTestDatabase, PG_ADMIN_URL } from '../scale/pg-test-database.js'

function memoryLogger(): StoreLogger & { lines: string[] } {
  const lines: string[] = []
  return { lines, warn: (fields, message) => void lines.push(`${message} ${fields.err instanceof Error ? fields.err.message : ''}`) }
}

test('a LISTEN that cannot be set up is logged and retried', async () => {
  const logger = memoryLogger()
  // A loopback port nothing listens on.
  const db = new PostgresDatabase({ url: 'postgres://postgres@127.0.0.1:9/none' })
  const events = new PostgresJobEvents(db, { logger, retryBaseMs: 60_000 })
  try {
    await events.subscribe(() => undefined)
    assert.equal(events.listening, false)
    assert.equal(logger.lines.length, 1)
    assert.match(logger.lines[0]!, /could not LISTEN for job events; retrying/)
  } finally {
    await events.close()
    await db.close()
  }
})

test('an idle pooled connection the server ends is logged, and the next query works', async () => {
  const tdb = await createTestDatabase('connlogs')
  const logger = memoryLogger()
  const db = new PostgresDatabase({ url: tdb.url, applicationName: 'sluice-connlogs', logger })
  try {
    await db.query('SELECT 1')
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
    await admin.connect()
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sluice-connlogs'`)
    await admin.end()
    while (logger.lines.length === 0) await new Promise((r) => setTimeout(r, 10))
    assert.match(logger.lines[0]!, /idle connection to the PostgreSQL store failed/)
    assert.deepEqual(await db.query<{ n: number }>('SELECT 1 AS n'), [{ n: 1 }])
  } finally {
    await db.close()
    await tdb.drop()
  }
})
