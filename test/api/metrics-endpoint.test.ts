import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { createApp } from '../../src/api/app.js'
import type { ApiDeps } from '../../src/api/deps.js'
import { ConnectorRegistry } from '../../src/connectors/registry.js'
import { isSluiceError } from '../../src/errors.js'
import type { MetricsExposure } from '../../src/metrics/index.js'
import { SecretService } from '../../src/secrets/secret-service.js'
import { startSluice } from '../../src/server.js'
import type { ConfigStore } from '../../src/store/config-store.js'
import type { JobStore } from '../../src/store/job-store.js'
import { openPostgresStores } from '../../src/store/postgres/index.js'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'
import { SqliteJobStore } from '../../src/store/sqlite/sqlite-job-store.js'
import type { WorkerRegistry } from '../../src/store/worker-registry.js'
import { parsePromText, type PromText } from '../helpers/prometheus-text.js'
import { createTestDatabase } from '../scale/pg-test-database.js'

const TOKEN = 'metrics-token'
const T0 = Date.UTC(2026, 5, 1, 12, 0, 0)

interface TestStores {
  configStore: ConfigStore
  jobStore: JobStore
  workers?: WorkerRegistry
  /** A postgres:// URL for startSluice, or undefined for SQLite. */
  databaseUrl?: string
  /** Closes the stores (the store is unreadable afterwards). */
  closeStores(): Promise<void>
  /** Closes the stores if still open and removes the database. */
  dispose(): Promise<void>
}

type Backend = 'sqlite' | 'postgres'

/** Fresh, empty stores per test (no state shared between tests); their clock reads `now()`. */
async function openTestStores(backend: Backend, now: () => number): Promise<TestStores> {
  if (backend === 'sqlite') {
    const db = openSqliteDatabase(':memory:')
    const close = async (): Promise<void> => {
      if (db.open) db.close()
    }
    return { configStore: new SqliteConfigStore(db), jobStore: new SqliteJobStore(db, { now }), closeStores: close, dispose: close }
  }
  const tdb = await createTestDatabase('metrics')
  const stores = await openPostgresStores({ url: tdb.url, now })
  let closed = false
  const close = async (): Promise<void> => {
    if (!closed) await stores.close()
    closed = true
  }
  return {
    configStore: stores.configStore,
    jobStore: stores.jobStore,
    workers: stores.workers,
    databaseUrl: tdb.url,
    closeStores: close,
    async dispose() {
      await close()
      await tdb.drop()
    },
  }
}

async function appOn(stores: TestStores, now: () => number, exposure?: MetricsExposure): Promise<FastifyInstance> {
  const deps: ApiDeps = {
    configStore: stores.configStore,
    jobStore: stores.jobStore,
    workers: stores.workers,
    registry: new ConnectorRegistry([]),
    secrets: new SecretService(randomBytes(32)),
    context: { dataDir: '/nonexistent', localFilesRoot: '/nonexistent' },
    logger: pino({ level: 'silent' }),
    apiToken: TOKEN,
    now,
    ...(exposure ? { metricsExposure: exposure } : {}),
  }
  return createApp(deps)
}

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}): Promise<PromText> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers })
  assert.equal(res.statusCode, 200, res.body)
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  return parsePromText(res.body)
}

/** Runs fn with fresh stores and an app on them, then disposes of both. */
async function withApp(
  backend: Backend,
  fn: (ctx: { app: FastifyInstance; stores: TestStores; clock: { now: number } }) => Promise<void>,
  exposure?: MetricsExposure,
): Promise<void> {
  const clock = { now: T0 }
  const stores = await openTestStores(backend, () => clock.now)
  const app = await appOn(stores, () => clock.now, exposure)
  try {
    await fn({ app, stores, clock })
  } finally {
    await app.close()
    await stores.dispose()
  }
}

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`GET /metrics on ${backend}`, () => {
    test('store gauges: jobs by status and type, queue depth and age, live workers and their running attempts', async () => {
      await withApp(backend, async ({ app, stores, clock }) => {
        const { jobStore, workers } = stores
        await workers?.register({ workerId: 'w-busy', hostname: 'h1', pid: 1, concurrency: 4 })
        await workers?.register({ workerId: 'w-idle', hostname: 'h2', pid: 2, concurrency: 2 })
        await workers?.register({ workerId: 'w-dead', hostname: 'h3', pid: 3, concurrency: 8 })
        const running = await jobStore.createJob({ configType: 'sync', configId: 'c-run', streams: [] })
        assert.equal((await jobStore.claimNext('w-busy', 600_000))?.job.id, running.id)
        clock.now = T0 + 30_000
        await jobStore.createJob({ configType: 'refresh', configId: 'c-wait', streams: [] })
        clock.now = T0 + 40_000
        await jobStore.createJob({ configType: 'sync', configId: 'c-wait-2', streams: [] })
        clock.now = T0 + 150_000
        // w-dead's last heartbeat is 150 s old: past the 30 s window, it is not counted.
        await workers?.beat('w-busy')
        await workers?.beat('w-idle', 'stopping')

        const p = await scrape(app)
        assert.equal(p.value('sluice_store_up'), 1)
        assert.equal(p.value('sluice_jobs', { status: 'running', type: 'sync' }), 1)
        assert.equal(p.value('sluice_jobs', { status: 'pending', type: 'refresh' }), 1)
        assert.equal(p.value('sluice_jobs', { status: 'pending', type: 'sync' }), 1)
        // Every pair is present, zeros included (6 statuses x 4 types).
        assert.equal(p.value('sluice_jobs', { status: 'failed', type: 'clear' }), 0)
        assert.equal(p.all('sluice_jobs').length, 24)
        assert.equal(p.value('sluice_queue_depth'), 2)
        // The refresh job has waited since T0+30s.
        assert.equal(p.value('sluice_queue_oldest_age_seconds'), 120)
        assert.equal(p.value('sluice_worker_running_attempts', { worker_id: 'w-busy' }), 1)
        if (backend === 'postgres') {
          // Registered workers count even when idle, with their slots.
          assert.equal(p.value('sluice_workers', { status: 'running' }), 1)
          assert.equal(p.value('sluice_workers', { status: 'stopping' }), 1)
          assert.equal(p.value('sluice_worker_running_attempts', { worker_id: 'w-idle' }), 0)
          assert.equal(p.value('sluice_worker_concurrency', { worker_id: 'w-busy' }), 4)
          assert.deepEqual(p.all('sluice_worker_concurrency', { worker_id: 'w-dead' }), [])
        } else {
          // No registry: live workers are those with running attempts.
          assert.equal(p.value('sluice_workers', { status: 'running' }), 1)
          assert.equal(p.value('sluice_workers', { status: 'stopping' }), 0)
          assert.deepEqual(p.all('sluice_worker_concurrency'), [])
        }

        // The next scrape reads the store again: the attempt ended, the queue moved on.
        await jobStore.finishAttempt(running.id, 0, 'w-busy', { status: 'succeeded', failures: [] }, { status: 'succeeded' })
        const next = await scrape(app)
        assert.equal(next.value('sluice_jobs', { status: 'running', type: 'sync' }), 0)
        assert.equal(next.value('sluice_jobs', { status: 'succeeded', type: 'sync' }), 1)
        assert.deepEqual(next.all('sluice_worker_running_attempts', { worker_id: 'w-busy' }).map((s) => s.value), backend === 'postgres' ? [0] : [])
      })
    })

    test('request latency is labelled by route pattern, method and status, never by raw URL', async () => {
      await withApp(backend, async ({ app }) => {
        const auth = { authorization: `Bearer ${TOKEN}` }
        assert.equal((await app.inject({ method: 'POST', url: '/api/v1/workspaces/list', payload: {}, headers: auth })).statusCode, 200)
        assert.equal((await app.inject({ method: 'POST', url: '/api/v1/workspaces/list', payload: {}, headers: auth })).statusCode, 200)
        assert.equal((await app.inject({ method: 'POST', url: '/api/v1/workspaces/list', payload: {} })).statusCode, 401)
        assert.equal((await app.inject({ method: 'GET', url: '/api/v1/health?probe=k8s' })).statusCode, 200)
        assert.equal((await app.inject({ method: 'POST', url: '/no/such/path/123', headers: auth })).statusCode, 404)

        const p = await scrape(app)
        const count = (labels: Record<string, string>): number => p.value('sluice_http_request_duration_seconds_count', labels)
        assert.equal(count({ method: 'POST', route: '/api/v1/workspaces/list', status_code: '200' }), 2)
        assert.equal(count({ method: 'POST', route: '/api/v1/workspaces/list', status_code: '401' }), 1)
        assert.equal(count({ method: 'GET', route: '/api/v1/health', status_code: '200' }), 1)
        assert.equal(count({ method: 'POST', route: 'unmatched', status_code: '404' }), 1)
        const routes = new Set(p.all('sluice_http_request_duration_seconds_count').map((s) => s.labels.route))
        assert.deepEqual([...routes].sort(), ['/api/v1/health', '/api/v1/workspaces/list', 'unmatched'])
        assert.equal(p.types.get('sluice_http_request_duration_seconds'), 'histogram')
        // An app built without the composition root's metrics leaves process metrics out.
        assert.deepEqual(p.all('process_resident_memory_bytes'), [])
      })
    })

    test('public (default): open without the token; auth: the token is needed; off: no endpoint', async () => {
      await withApp(backend, async ({ app }) => {
        assert.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200)
        const doc = (await app.inject({ method: 'GET', url: '/api/v1/openapi.json', headers: { authorization: `Bearer ${TOKEN}` } })).json() as { paths: Record<string, unknown> }
        assert.equal(doc.paths['/metrics'], undefined, 'the Config API document leaves /metrics out')
        assert.ok(doc.paths['/api/v1/health'])
      })
      await withApp(
        backend,
        async ({ app }) => {
          const refused = await app.inject({ method: 'GET', url: '/metrics' })
          assert.equal(refused.statusCode, 401)
          assert.equal((refused.json() as { message: string }).message.startsWith('Missing or invalid credentials'), true)
          assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode, 401)
          const basic = `Basic ${Buffer.from(`any:${TOKEN}`).toString('base64')}`
          assert.equal((await scrape(app, { authorization: basic })).value('sluice_store_up'), 1)
          // Health stays open whatever the metrics setting.
          assert.equal((await app.inject({ method: 'GET', url: '/api/v1/health' })).statusCode, 200)
        },
        'auth',
      )
      await withApp(
        backend,
        async ({ app }) => {
          assert.equal((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404)
        },
        'off',
      )
    })

    test('an unreadable store shows as sluice_store_up 0, the store gauges empty or NaN (never stale); the other metrics stay', async () => {
      await withApp(backend, async ({ app, stores }) => {
        await stores.jobStore.createJob({ configType: 'sync', configId: 'c', streams: [] })
        assert.equal((await scrape(app)).value('sluice_queue_depth'), 1)
        await stores.closeStores()
        const p = await scrape(app)
        assert.equal(p.value('sluice_store_up'), 0)
        // Unlabelled gauges cannot be absent in prom-client: NaN, so no rule reads an empty queue.
        assert.ok(Number.isNaN(p.value('sluice_queue_depth')))
        assert.ok(Number.isNaN(p.value('sluice_queue_oldest_age_seconds')))
        assert.deepEqual(p.all('sluice_jobs'), [])
        assert.deepEqual(p.all('sluice_workers'), [])
        assert.equal(p.all('sluice_build_info').length, 1)
        assert.ok(p.value('sluice_http_request_duration_seconds_count', { route: '/metrics', status_code: '200' }) >= 1)
      })
    })

    test('a listening server serves /metrics over HTTP with SLUICE_METRICS=auth', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'sluice-metrics-'))
      const stores = await openTestStores(backend, Date.now)
      // startSluice opens its own stores on the same database (SQLite: the file in dataDir).
      await stores.closeStores()
      const running = await startSluice({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        worker: false,
        logger: pino({ level: 'silent' }),
        env: { SLUICE_API_TOKEN: TOKEN, SLUICE_METRICS: 'auth', ...(stores.databaseUrl ? { SLUICE_DATABASE_URL: stores.databaseUrl } : {}) },
      })
      try {
        const refused = await fetch(`${running.url}/metrics`)
        assert.equal(refused.status, 401)
        await running.deps.jobStore.createJob({ configType: 'sync', configId: 'c-http', streams: [] })
        const res = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
        assert.equal(res.status, 200)
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
        const p = parsePromText(await res.text())
        assert.equal(p.value('sluice_store_up'), 1)
        assert.equal(p.value('sluice_queue_depth'), 1)
        assert.equal(p.value('sluice_jobs', { status: 'pending', type: 'sync' }), 1)
        assert.equal(p.value('sluice_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status_code: '401' }), 1)
        assert.equal(p.all('sluice_build_info').length, 1)
        // startSluice's metrics carry this process's Node metrics.
        assert.ok(p.value('process_resident_memory_bytes') > 0)
        if (backend === 'postgres') {
          // The database goes away under the running server: the scrape still answers.
          await stores.dispose()
          const down = await fetch(`${running.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
          assert.equal(down.status, 200)
          assert.equal(parsePromText(await down.text()).value('sluice_store_up'), 0)
        }
      } finally {
        await running.close()
        await stores.dispose()
        await rm(dataDir, { recursive: true, force: true })
      }
    })

    test('a bad SLUICE_METRICS stops the start before the store opens', async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'sluice-metrics-'))
      try {
        await assert.rejects(
          startSluice({ host: '127.0.0.1', port: 0, dataDir, worker: false, logger: pino({ level: 'silent' }), env: { SLUICE_METRICS: 'on' } }),
          (e: unknown) => isSluiceError(e) && e.code === 'SLUICE_ERR_INVALID_INPUT' && e.message.includes('off, public, auth'),
        )
      } finally {
        await rm(dataDir, { recursive: true, force: true })
      }
    })
  })
}
