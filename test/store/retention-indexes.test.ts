import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'

/** SQLite's plan for a query, one detail line per step. */
function plan(db: ReturnType<typeof openSqliteDatabase>, sql: string): string {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(0) as Array<{ detail: string }>).map((r) => r.detail).join('\n')
}

test('the retention sweep finds ended attempts and old jobs through indexes, not whole-table scans', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-retention-plan-'))
  try {
    const db = openSqliteDatabase(join(dir, 'sluice.db'))
    try {
      const attempts = plan(db, `SELECT job_id, attempt_number FROM attempts WHERE ended_at < ?`)
      assert.match(attempts, /USING (COVERING )?INDEX attempts_ended/, attempts)
      const jobs = plan(db, `SELECT id FROM jobs WHERE updated_at < ?`)
      assert.match(jobs, /USING (COVERING )?INDEX jobs_updated/, jobs)
    } finally {
      db.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
