import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { jobStoreContract } from './job-store-contract.js'

jobStoreContract('sqlite', async (now) => {
  const db = openSqliteDatabase(':memory:')
  return {
    store: new SqliteJobStore(db, { now }),
    close: async () => {
      db.close()
    },
  }
})
