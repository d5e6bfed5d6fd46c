import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { newWorkspaceRecord } from '../../src/api/workspace-records.js'
import { testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { SecretService } from '../../src/secrets/secret-service.js'
import type { JobRecord, JobStore } from '../../src/store/job-store.js'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { emptyStats, SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import { Worker } from '../../src/worker/worker.js'
import type { RunAttemptFn } from '../../src/worker/worker-options.js'

/** Real in-memory SQLite stores with one connection of the test connectors, and workers over them. */
export interface Fixture {
  jobStore: SqliteJobStore
  configStore: SqliteConfigStore
  connectionId: string
  logLines: string[]
  worker(jobStore: JobStore, runAttempt: RunAttemptFn, extra?: Partial<ConstructorParameters<typeof Worker>[0]>): Worker
  waitJob(id: number, statuses: string[]): Promise<JobRecord>
  close(): Promise<void>
}

/** A fresh fixture per test: nothing is shared between test cases. */
export async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-failures-'))
  const db = openSqliteDatabase(':memory:')
  const configStore = new SqliteConfigStore(db)
  const jobStore = new SqliteJobStore(db)
  const ws = newWorkspaceRecord({ name: 'w', slug: 'w' })
  await configStore.putWorkspace(ws)
  const source = await configStore.putActor({ id: randomUUID(), kind: 'source', workspaceId: ws.workspaceId, definitionId: testSourceDefinition.definitionId, name: 's', configuration: {}, tombstone: false, createdAt: 0 })
  const destination = await configStore.putActor({ id: randomUUID(), kind: 'destination', workspaceId: ws.workspaceId, definitionId: testDestinationDefinition.definitionId, name: 'd', configuration: { path: dir }, tombstone: false, createdAt: 0 })
  const connection = await configStore.putConnection({
    connectionId: randomUUID(),
    workspaceId: ws.workspaceId,
    name: 'c',
    sourceId: source.id,
    destinationId: destination.id,
    status: 'active',
    namespaceDefinition: 'source',
    prefix: '',
    syncCatalog: { streams: [{ stream: { name: 'items', supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'append', selected: true } }] },
    schedule: { type: 'manual' },
    operationIds: [],
    extra: {},
    createdAt: 0,
    updatedAt: 0,
  })
  const logLines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) })
  return {
    jobStore,
    configStore,
    connectionId: connection.connectionId,
    logLines,
    worker: (store, runAttempt, extra = {}) =>
      new Worker({
        jobStore: store,
        configStore,
        registry: new ConnectorRegistry([testSourceDefinition, testDestinationDefinition]),
        secrets: new SecretService(randomBytes(32)),
        context: { dataDir: dir, localFilesRoot: dir },
        runAttempt,
        logger,
        pollIntervalMs: 5,
        heartbeatMs: 5,
        retry: { backoffBaseMs: 0, maxAttempts: 1 },
        storeRetry: { attempts: 3, delayMs: () => 1 },
        ...extra,
      }),
    async waitJob(id, statuses) {
      for (;;) {
        const job = await jobStore.getJob(id)
        if (job && statuses.includes(job.status)) return job
        await new Promise((r) => setTimeout(r, 5))
      }
    },
    async close() {
      db.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** An engine stand-in that succeeds at once with nothing moved. */
export const succeed: RunAttemptFn = async () => ({ totalStats: emptyStats(), streamStats: [] })
