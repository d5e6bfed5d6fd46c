import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { parsePromText, type PromText } from '../helpers/prometheus-text.js'
import { Cluster, post, repoRoot, type SluiceProcess } from './cluster.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

const BIN = join(repoRoot(), 'bin', 'sluice.js')

/** What a process prints on stdout once its metrics listener is up. */
function metricsUrl(p: SluiceProcess): string {
  const m = /sluice worker metrics on (\S+)/.exec(p.stdout())
  assert.ok(m?.[1], `no metrics line in: ${p.stdout()}`)
  return m[1]
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<PromText> {
  const res = await fetch(url, { headers })
  assert.equal(res.status, 200, await res.clone().text())
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parsePromText(await res.text())
}

/** One test source -> test destination connection through `api`, writing under `out`. */
async function connection(api: string, out: string, records: number): Promise<string> {
  const ws = (await post(api, 'workspaces/list')).body.workspaces[0].workspaceId as string
  const s = await post(api, 'sources/create', {
    workspaceId: ws,
    sourceDefinitionId: testSourceDefinition.definitionId,
    name: 's',
    connectionConfiguration: { streams: ['items'], records, batchSize: 50, runKey: 'm' },
  })
  const d = await post(api, 'destinations/create', {
    workspaceId: ws,
    destinationDefinitionId: testDestinationDefinition.definitionId,
    name: 'd',
    connectionConfiguration: { path: out, runKey: 'm' },
  })
  const c = await post(api, 'connections/create', {
    sourceId: s.body.sourceId,
    destinationId: d.body.destinationId,
    status: 'active',
    scheduleType: 'manual',
    syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'append', selected: true } }] },
  })
  assert.equal(c.status, 200, JSON.stringify(c.body))
  return c.body.connectionId as string
}

async function syncToEnd(api: string, connectionId: string): Promise<any> {
  const jobId = (await post(api, 'connections/sync', { connectionId })).body.job.id as number
  for (;;) {
    const got = (await post(api, 'jobs/get', { id: jobId })).body
    if (['succeeded', 'failed', 'cancelled'].includes(got.job.status)) return got
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A fresh database, cluster and output folder for one test; all removed after it. */
async function withCluster(name: string, env: Record<string, string>, body: (cluster: Cluster, out: string) => Promise<void>): Promise<void> {
  const tdb: TestDatabase = await createTestDatabase(name)
  const out = await mkdtemp(join(tmpdir(), 'sluice-worker-metrics-'))
  const cluster = new Cluster({ databaseUrl: tdb.url, env: { SLUICE_WORKER_HEARTBEAT_MS: '200', ...env } })
  try {
    await body(cluster, out)
  } finally {
    await cluster.close()
    await tdb.drop()
    await rm(out, { recursive: true, force: true })
  }
}

function run(args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env }
  delete clean.SLUICE_DATABASE_URL
  return spawnSync('node', [BIN, ...args], { cwd: repoRoot(), encoding: 'utf8', env: { ...clean, ...env }, timeout: 30_000 })
}

describe('sluice worker --metrics-port (built binary, PostgreSQL)', () => {
  Cluster.ensureBuilt()

  test('after a sync, the worker serves its attempt, record, claim and process metrics on 127.0.0.1', async () => {
    await withCluster('wmetrics', {}, async (cluster, out) => {
      const api = await cluster.api()
      const worker = await cluster.worker('--metrics-port', '0')
      const url = metricsUrl(worker)
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      const before = await scrape(url)
      assert.equal(before.value('sluice_attempts_running'), 0)
      assert.deepEqual(before.all('sluice_attempts_started_total'), [])

      const connectionId = await connection(api.ready, out, 300)
      const done = await syncToEnd(api.ready, connectionId)
      assert.equal(done.job.status, 'succeeded')
      const p = await scrape(url)
      assert.equal(p.value('sluice_build_info', { version: JSON.parse(await readFile(join(repoRoot(), 'package.json'), 'utf8')).version }), 1)
      assert.equal(p.value('sluice_attempts_started_total', { type: 'sync' }), 1)
      assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'succeeded' }), 1)
      assert.equal(p.value('sluice_attempt_duration_seconds_count', { type: 'sync', status: 'succeeded' }), 1)
      assert.equal(p.value('sluice_job_queue_wait_seconds_count', { type: 'sync' }), 1)
      assert.equal(p.value('sluice_records_total', { connection_id: connectionId }), 300)
      assert.equal(p.value('sluice_bytes_total', { connection_id: connectionId }), done.job.summary.bytesSynced)
      assert.ok(done.job.summary.bytesSynced > 0)
      assert.ok(p.value('sluice_claim_duration_seconds_count') >= 1)
      assert.equal(p.value('sluice_attempts_running'), 0)
      assert.equal(p.value('sluice_lease_expiries_total'), 0)
      assert.ok(p.value('process_resident_memory_bytes') > 0, 'process metrics')
      // The worker reads no store gauges: those come from the API processes.
      assert.deepEqual(p.all('sluice_queue_depth'), [])
    })
  })

  test('sluice serve with its embedded worker records the attempt into the /metrics of the API port', async () => {
    await withCluster('smetrics', {}, async (cluster, out) => {
      const serve = await cluster.serve()
      const connectionId = await connection(serve.ready, out, 120)
      assert.equal((await syncToEnd(serve.ready, connectionId)).job.status, 'succeeded')
      const p = await scrape(`${serve.ready}/metrics`)
      assert.equal(p.value('sluice_attempts_ended_total', { type: 'sync', status: 'succeeded' }), 1)
      assert.equal(p.value('sluice_records_total', { connection_id: connectionId }), 120)
      assert.equal(p.value('sluice_jobs', { status: 'succeeded', type: 'sync' }), 1, 'and the store gauges of an API process')
    })
  })

  test('SLUICE_METRICS=auth: the API token is needed (Bearer or Basic); other paths and methods are refused with Airbyte error bodies', async () => {
    await withCluster('wmetricsauth', { SLUICE_METRICS: 'auth', SLUICE_API_TOKEN: 'worker-metrics-token', SLUICE_METRICS_PORT: '0' }, async (cluster) => {
      const worker = await cluster.worker()
      const url = metricsUrl(worker)
      const denied = await fetch(url)
      assert.equal(denied.status, 401)
      assert.match(denied.headers.get('www-authenticate') ?? '', /Bearer/)
      const body = (await denied.json()) as { code: string; exceptionStack: unknown[] }
      assert.equal(body.code, 'SLUICE_ERR_UNAUTHORIZED')
      assert.equal(body.exceptionStack.length, 0)
      assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401)
      await scrape(url, { authorization: 'Bearer worker-metrics-token' })
      await scrape(url, { authorization: `Basic ${Buffer.from('any:worker-metrics-token').toString('base64')}` })
      const other = await fetch(url.replace('/metrics', '/api/v1/health'))
      assert.equal(other.status, 404)
      assert.equal(((await other.json()) as { code: string }).code, 'SLUICE_ERR_NOT_FOUND')
      const posted = await fetch(url, { method: 'POST' })
      assert.equal(posted.status, 405)
      assert.equal(posted.headers.get('allow'), 'GET, HEAD')
    })
  })

  test('SLUICE_METRICS=off: no listener, whatever the port', async () => {
    await withCluster('wmetricsoff', { SLUICE_METRICS: 'off', SLUICE_LOG_LEVEL: 'warn' }, async (cluster) => {
      const worker = await cluster.worker('--metrics-port', '0')
      assert.doesNotMatch(worker.stdout(), /metrics on/)
      assert.match(worker.stderr(), /SLUICE_METRICS=off: the worker serves no metrics/)
    })
  })

  test('a bad metrics port or a port in use stops the start with a message naming the setting', async () => {
    const db = 'postgres://postgres@127.0.0.1:5432/postgres'
    const flag = run(['worker', '--database-url', db, '--metrics-port', '70000'])
    assert.equal(flag.status, 1)
    assert.match(flag.stderr, /--metrics-port.*must be a port number from 0 to 65535/)
    const env = run(['worker', '--database-url', db], { SLUICE_METRICS_PORT: '70000' })
    assert.equal(env.status, 1)
    assert.match(env.stderr, /SLUICE_ERR_INVALID_INPUT: The metrics port \(--metrics-port or SLUICE_METRICS_PORT\) must be from 0 to 65535; got 70000/)
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    try {
      const port = (busy.address() as { port: number }).port
      const res = run(['worker', '--database-url', db, '--metrics-port', String(port)])
      assert.equal(res.status, 1)
      assert.match(res.stderr, new RegExp(`The metrics listener \\(--metrics-host 127\\.0\\.0\\.1 --metrics-port ${port}\\) could not start: EADDRINUSE`))
    } finally {
      await new Promise((resolve) => busy.close(resolve))
    }
  })
})
