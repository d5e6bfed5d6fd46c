import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { jobRetentionContract, jobStoreContract, type JobStoreHarness } from './job-store-contract.js'

async function sqliteHarness(now: () => number): Promise<JobStoreHarness> {
  const db = openSqliteDatabase(':memory:')
  return {
    store: new SqliteJobStore(db, { now }),
    close: async () => {
      db.close()
    },
  }
}

jobStoreContract('sqlite', sqliteHarness)
jobRetentionContract('sqlite', sqliteHarness)

// Optional in the port (an adapter without it runs refreshes as merge); the SQLite store keeps it.
test('sqlite: refresh jobs keep their refresh mode', async () => {
  const db = openSqliteDatabase(':memory:')
  try {
    const store = new SqliteJobStore(db)
    const job = await store.createJob({ configType: 'refresh', configId: 'c', streams: [{ name: 'a' }], refreshMode: 'truncate' })
    assert.equal(job.refreshMode, 'truncate')
    assert.equal((await store.getJob(job.id))?.refreshMode, 'truncate')
    await store.requestCancel(job.id)
    const sync = await store.createJob({ configType: 'sync', configId: 'c', streams: [] })
    assert.equal(sync.refreshMode, undefined)
  } finally {
    db.close()
  }
})
