import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { createApp } from '../../src/api/app.js'
import type { ApiDeps } from '../../src/api/deps.js'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { SecretService } from '../../src/secrets/secret-service.js'
import { openPostgresStores, type PostgresStores } from '../../src/store/postgres/index.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

let tdb: TestDatabase
let stores: PostgresStores
let clock = Date.now()

function deps(withRegistry: boolean): ApiDeps {
  return {
    configStore: stores.configStore,
    jobStore: stores.jobStore,
    registry: new ConnectorRegistry([]),
    secrets: new SecretService(randomBytes(32)),
    context: { dataDir: '/nonexistent', localFilesRoot: '/nonexistent' },
    logger: pino({ level: 'silent' }),
    ...(withRegistry ? { workers: stores.workers } : {}),
  }
}

let withRegistry: FastifyInstance
let withoutRegistry: FastifyInstance

before(async () => {
  tdb = await createTestDatabase('workerroutes')
  stores = await openPostgresStores({ url: tdb.url, now: () => clock })
  withRegistry = await createApp(deps(true))
  withoutRegistry = await createApp(deps(false))
})

after(async () => {
  await withRegistry?.close()
  await withoutRegistry?.close()
  await stores?.close()
  await tdb?.drop()
})

test('workers/list shows live workers with their running jobs and hides dead ones', async () => {
  await stores.workers.register({ workerId: 'idle', hostname: 'host-a', pid: 11, concurrency: 2 })
  await stores.workers.register({ workerId: 'busy', hostname: 'host-b', pid: 12, concurrency: 4 })
  const job = await stores.jobStore.createJob({ configType: 'sync', configId: 'conn-1', streams: [] })
  const claim = await stores.jobStore.claimNext('busy', 60_000)
  assert.equal(claim?.job.id, job.id)
  clock += 40_000
  await stores.workers.beat('busy')

  const res = await withRegistry.inject({ method: 'POST', url: '/api/v1/workers/list', payload: {} })
  assert.equal(res.statusCode, 200)
  const body = res.json() as { workers: Array<Record<string, unknown>> }
  assert.deepEqual(body.workers, [
    {
      workerId: 'busy',
      hostname: 'host-b',
      pid: 12,
      concurrency: 4,
      status: 'running',
      startedAt: Math.floor((clock - 40_000) / 1000),
      lastHeartbeatAt: Math.floor(clock / 1000),
      runningJobs: [{ jobId: job.id, attemptNumber: 0, connectionId: 'conn-1' }],
    },
  ])

  // A worker embedded in `sluice serve` does not register: it is listed through its attempt.
  const other = await stores.jobStore.createJob({ configType: 'sync', configId: 'conn-2', streams: [] })
  assert.equal((await stores.jobStore.claimNext('embedded', 60_000))?.job.id, other.id)
  const merged = await withRegistry.inject({ method: 'POST', url: '/api/v1/workers/list', payload: {} })
  assert.deepEqual(
    (merged.json() as { workers: Array<{ workerId: string }> }).workers.map((w) => w.workerId),
    ['busy', 'embedded'],
  )
  await stores.jobStore.finishAttempt(other.id, 0, 'embedded', { status: 'succeeded', failures: [] }, { status: 'succeeded' })

  const derived = await withoutRegistry.inject({ method: 'POST', url: '/api/v1/workers/list/' })
  assert.equal(derived.statusCode, 200)
  assert.deepEqual(derived.json(), {
    workers: [{ workerId: 'busy', status: 'running', runningJobs: [{ jobId: job.id, attemptNumber: 0, connectionId: 'conn-1' }] }],
  })
})

test('health reports the PostgreSQL store', async () => {
  const res = await withRegistry.inject({ method: 'GET', url: '/api/v1/health' })
  assert.equal(res.statusCode, 200)
  assert.deepEqual(res.json(), { available: true, db: true })
})

test('health reports an unreachable PostgreSQL store', async () => {
  const doomed = await createTestDatabase('health')
  const other = await openPostgresStores({ url: doomed.url })
  const app = await createApp({ ...deps(true), configStore: other.configStore, jobStore: other.jobStore, workers: other.workers })
  try {
    assert.deepEqual((await app.inject({ method: 'GET', url: '/api/v1/health' })).json(), { available: true, db: true })
    await doomed.drop()
    const res = await app.inject({ method: 'GET', url: '/api/v1/health' })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { available: false, db: false })
  } finally {
    await app.close()
    await other.close()
    await doomed.drop()
  }
})
