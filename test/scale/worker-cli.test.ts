import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readTestDestination, testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { Cluster, post, repoRoot, type SluiceProcess } from './cluster.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

const BIN = join(repoRoot(), 'bin', 'sluice.js')

function run(args: string[], env: Record<string, string> = {}) {
  const clean = { ...process.env }
  delete clean.SLUICE_DATABASE_URL
  return spawnSync('node', [BIN, ...args], { cwd: repoRoot(), encoding: 'utf8', env: { ...clean, ...env }, timeout: 30_000 })
}

describe('sluice worker (built binary)', () => {
  before(() => Cluster.ensureBuilt())

  test('refuses to start without a shared PostgreSQL store', () => {
    const res = run(['worker'])
    assert.equal(res.status, 1)
    assert.match(res.stderr, /SLUICE_ERR_INVALID_INPUT: sluice worker needs a shared PostgreSQL store/)
    const bad = run(['worker', '--database-url', 'mysql://root@127.0.0.1/x'])
    assert.equal(bad.status, 1)
    assert.match(bad.stderr, /needs a shared PostgreSQL store/)
  })

  test('an unreachable database fails fast with a transient store error and no password', () => {
    const res = run(['worker', '--database-url', 'postgres://u:hunter2@127.0.0.1:1/none'])
    assert.equal(res.status, 1)
    assert.match(res.stderr, /SLUICE_ERR_STORE_UNAVAILABLE/)
    assert.doesNotMatch(res.stderr, /hunter2/)
  })

  test('a lease shorter than three heartbeats is refused', () => {
    const res = run(['worker', '--database-url', 'postgres://postgres@127.0.0.1:5432/postgres', '--lease', '1'], { SLUICE_WORKER_HEARTBEAT_MS: '500' })
    assert.equal(res.status, 1)
    assert.match(res.stderr, /The lease \(1000 ms\) must be at least 3 heartbeats \(1500 ms\)/)
  })

  test('serve rejects a database URL that is not PostgreSQL', () => {
    const res = run(['serve', '--port', '0', '--database-url', 'sqlite:///tmp/x.db'])
    assert.equal(res.status, 1)
    assert.match(res.stderr, /must be a postgres:\/\/ or postgresql:\/\/ URL/)
  })

  test('--help lists the scale-out options', () => {
    assert.match(run(['worker', '--help']).stdout, /--concurrency <n>[\s\S]*--shutdown-grace <seconds>/)
    assert.match(run(['serve', '--help']).stdout, /--database-url <url>[\s\S]*--no-worker/)
  })
})

describe('graceful shutdown: the running attempt finishes inside the grace period', () => {
  let tdb: TestDatabase
  let cluster: Cluster
  let api: SluiceProcess
  let out: string

  before(async () => {
    tdb = await createTestDatabase('drain')
    out = await mkdtemp(join(tmpdir(), 'sluice-drain-out-'))
    cluster = new Cluster({ databaseUrl: tdb.url, env: { SLUICE_WORKER_HEARTBEAT_MS: '200' } })
    api = await cluster.api()
  })

  after(async () => {
    await cluster?.close()
    await tdb?.drop()
    if (out) await rm(out, { recursive: true, force: true })
  })

  /** A test source -> test destination connection writing under out/c<k>; about 0.4 s per 100 rows. */
  async function connection(k: number, records = 300): Promise<string> {
    const ws = (await post(api.ready, 'workspaces/list')).body.workspaces[0].workspaceId as string
    const s = await post(api.ready, 'sources/create', {
      workspaceId: ws,
      sourceDefinitionId: testSourceDefinition.definitionId,
      name: `s${k}`,
      connectionConfiguration: { streams: ['items'], records, batchSize: 10, delayMs: 40, runKey: `k${k}` },
    })
    const d = await post(api.ready, 'destinations/create', {
      workspaceId: ws,
      destinationDefinitionId: testDestinationDefinition.definitionId,
      name: `d${k}`,
      connectionConfiguration: { path: join(out, `c${k}`), runKey: `k${k}` },
    })
    const c = await post(api.ready, 'connections/create', {
      sourceId: s.body.sourceId,
      destinationId: d.body.destinationId,
      status: 'active',
      scheduleType: 'manual',
      syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: true } }] },
    })
    assert.equal(c.status, 200, JSON.stringify(c.body))
    return c.body.connectionId as string
  }

  async function waitRunning(jobId: number): Promise<void> {
    while ((await post(api.ready, 'jobs/get', { id: jobId })).body.job.status !== 'running') await sleep(50)
  }

  test('SIGTERM: no new claims, the attempt completes on the same worker, then exit 0', async () => {
    const worker = await cluster.worker('--shutdown-grace', '30')
    const ids = [await connection(1), await connection(2)]
    const first = (await post(api.ready, 'connections/sync', { connectionId: ids[0] })).body.job.id as number
    await waitRunning(first)
    worker.child.kill('SIGTERM')
    await sleep(300)
    // Created while the worker drains: it must not be claimed by it.
    const second = (await post(api.ready, 'connections/sync', { connectionId: ids[1] })).body.job.id as number
    const listed = await post(api.ready, 'workers/list')
    assert.equal(listed.body.workers[0]?.status, 'stopping')
    assert.equal(await worker.exited, 0)

    const done = (await post(api.ready, 'jobs/get', { id: first })).body
    assert.equal(done.job.status, 'succeeded')
    assert.equal(done.attempts.length, 1, 'finished by the draining worker, not released')
    const rows = await readTestDestination(join(out, 'c1'), { name: 'items' })
    assert.equal(rows.length, 300)
    assert.equal((await post(api.ready, 'jobs/get', { id: second })).body.job.status, 'pending')
    assert.deepEqual((await post(api.ready, 'workers/list')).body.workers, [])
  })

  test('sluice serve with its embedded worker honours SLUICE_SHUTDOWN_GRACE_MS', async () => {
    const all = new Cluster({ databaseUrl: tdb.url, env: { SLUICE_WORKER_HEARTBEAT_MS: '200', SLUICE_SHUTDOWN_GRACE_MS: '30000' } })
    try {
      // The pending job left by the previous test runs here too; both finish inside the grace.
      const serve = await all.serve()
      const jobId = (await post(api.ready, 'connections/sync', { connectionId: await connection(3, 200) })).body.job.id as number
      await waitRunning(jobId)
      serve.child.kill('SIGTERM')
      assert.equal(await serve.exited, 0)
      const done = (await post(api.ready, 'jobs/get', { id: jobId })).body
      assert.equal(done.job.status, 'succeeded')
      assert.equal(done.attempts.length, 1)
      assert.equal((await readTestDestination(join(out, 'c3'), { name: 'items' })).length, 200)
    } finally {
      await all.close()
    }
  })
})
