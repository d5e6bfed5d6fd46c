import { after } from 'node:test'
import { openPostgresStores } from '../../src/store/postgres/index.js'
import { createTestDatabase } from '../scale/pg-test-database.js'
import { jobRetentionContract, jobStoreContract, type JobStoreHarness } from './job-store-contract.js'

const databases: Array<{ drop(): Promise<void> }> = []
after(async () => {
  for (const d of databases) await d.drop()
})

async function postgresHarness(now: () => number): Promise<JobStoreHarness> {
  const tdb = await createTestDatabase('jobcontract')
  databases.push(tdb)
  const stores = await openPostgresStores({ url: tdb.url, now })
  return { store: stores.jobStore, close: () => stores.close() }
}

jobStoreContract('postgres', postgresHarness)
jobRetentionContract('postgres', postgresHarness)
