/**
 * Records/s of one worker running 8 syncs at once vs one sync alone, through the real job path
 * (PostgreSQL job store, claim, heartbeat, state saves, Faker -> Local Files JSONL). Shows how
 * far concurrency inside one Node process scales before the CPU is the limit.
 *
 *   npx tsc -p . && node dist/bench/worker-concurrency.js [--rows 200000] [--syncs 8]
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { ConnectorLogger } from '../src/protocol/index.js'
import { fakerDefinition } from '../src/connectors/faker/index.js'
import { localFilesDefinition } from '../src/connectors/local-files/index.js'
import { ConnectorRegistry } from '../src/connectors/registry.js'
import { SecretService } from '../src/secrets/secret-service.js'
import { openPostgresStores, type PostgresStores } from '../src/store/postgres/index.js'
import { Worker } from '../src/worker/worker.js'
import { createTestDatabase } from '../test/scale/pg-test-database.js'
import { tuneHeapForThroughput } from '../src/cli/heap-tuning.js'

// Every bench process runs with the heap setting of the `sluice` executable.
tuneHeapForThroughput()

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? Number(process.argv[i + 1]) : fallback
}

const ROWS = arg('rows', 200_000)
const SYNCS = arg('syncs', 8)
const quiet: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} }

interface Result {
  case: string
  syncs: number
  rowsPerSync: number
  seconds: number
  recordsPerSecond: number
  perSyncRecordsPerSecond: number
}

async function createConnections(stores: PostgresStores, count: number, root: string): Promise<string[]> {
  const discovered = await fakerDefinition.source.discover(
    { count: ROWS },
    { signal: new AbortController().signal, logger: quiet, context: { dataDir: root, localFilesRoot: root } },
  )
  const users = discovered.streams.find((s) => s.name === 'users')
  if (!users) throw new Error('faker has no users stream')
  const ids: string[] = []
  const now = Math.floor(Date.now() / 1000)
  for (let i = 0; i < count; i++) {
    const sourceId = randomUUID()
    const destinationId = randomUUID()
    const connectionId = randomUUID()
    await stores.configStore.putActor({
      id: sourceId, kind: 'source', workspaceId: 'bench', definitionId: fakerDefinition.definitionId, name: `faker ${i}`,
      configuration: { count: ROWS, records_per_slice: 10_000, always_updated: false }, tombstone: false, createdAt: now,
    })
    await stores.configStore.putActor({
      id: destinationId, kind: 'destination', workspaceId: 'bench', definitionId: localFilesDefinition.definitionId, name: `local ${i}`,
      configuration: { destination_path: `out/${connectionId}`, format: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } } },
      tombstone: false, createdAt: now,
    })
    await stores.configStore.putConnection({
      connectionId, workspaceId: 'bench', name: `bench ${i}`, sourceId, destinationId, status: 'active',
      namespaceDefinition: 'source', prefix: '', schedule: { type: 'manual' }, operationIds: [], extra: {}, createdAt: now, updatedAt: now,
      syncCatalog: {
        streams: [{
          stream: users as unknown as Record<string, unknown>,
          config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true, cursorField: ['updated_at'], primaryKey: [['id']] },
        }],
      },
    })
    ids.push(connectionId)
  }
  return ids
}

async function runCase(url: string, name: string, syncs: number): Promise<Result> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-worker-'))
  const stores = await openPostgresStores({ url, maxConnections: syncs + 4 })
  try {
    await stores.db.query('TRUNCATE sluice_attempts, sluice_jobs, sluice_stream_state, sluice_generations, sluice_attempt_logs')
    const connections = await createConnections(stores, syncs, root)
    const jobIds: number[] = []
    for (const c of connections) jobIds.push((await stores.jobStore.createJob({ configType: 'sync', configId: c, streams: [{ name: 'users' }] })).id)
    const worker = new Worker({
      jobStore: stores.jobStore,
      configStore: stores.configStore,
      registry: new ConnectorRegistry([fakerDefinition, localFilesDefinition]),
      secrets: new SecretService(randomBytes(32)),
      context: { dataDir: root, localFilesRoot: root },
      concurrency: syncs,
      pollIntervalMs: 20,
    })
    const started = performance.now()
    await worker.start()
    for (;;) {
      const { jobs } = await stores.jobStore.listJobs({ statuses: ['succeeded', 'failed', 'cancelled'] })
      if (jobs.length === jobIds.length) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const seconds = (performance.now() - started) / 1000
    await worker.stop()
    const failed = (await stores.jobStore.listJobs({ statuses: ['failed', 'cancelled'] })).jobs
    if (failed.length > 0) throw new Error(`${failed.length} bench jobs did not succeed`)
    const total = ROWS * syncs
    return {
      case: name,
      syncs,
      rowsPerSync: ROWS,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(total / seconds),
      perSyncRecordsPerSecond: Math.round(ROWS / seconds),
    }
  } finally {
    await stores.close()
    await rm(root, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  const tdb = await createTestDatabase('benchworker')
  try {
    await (await openPostgresStores({ url: tdb.url })).close()
    const one = await runCase(tdb.url, 'one sync alone', 1)
    const many = await runCase(tdb.url, `${SYNCS} syncs at once`, SYNCS)
    console.table([one, many])
    console.log(
      `${SYNCS} concurrent syncs on one worker: ${(many.recordsPerSecond / one.recordsPerSecond).toFixed(2)}x the records/s of one sync ` +
        `(${cpus().length} CPU cores on this machine).`,
    )
  } finally {
    await tdb.drop()
  }
}

await main()
