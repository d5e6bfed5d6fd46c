import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { readTestDestination, testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { Cluster, post, type SluiceProcess } from './cluster.js'
import { createTestDatabase, type TestDatabase } from './pg-test-database.js'

/**
 * Scale-out end to end: API and worker processes spawned from the built binary on one
 * PostgreSQL database. The issue asks for 3 workers, 2 API processes and 50 connections; that
 * is what runs here, with small syncs (100 rows each) so the file stays well under 90 s on 2 cores.
 */
const WORKERS = 3
const CONNECTIONS = 50
const ROWS = 100

type Stream = { name: string; syncMode: 'incremental' | 'full_refresh'; destinationSyncMode: 'append_dedup' | 'overwrite' }

describe('scale out: 2 API processes and 3 workers on one PostgreSQL', () => {
  let tdb: TestDatabase
  let db: pg.Pool
  let cluster: Cluster
  let apis: SluiceProcess[] = []
  let workers: SluiceProcess[] = []
  let out: string
  let workspaceId: string
  let n = 0

  const api = (i: number): string => (apis[i % apis.length] as SluiceProcess).ready

  async function connection(via: string, source: Record<string, unknown>, streams: Stream[]): Promise<{ connectionId: string; path: string }> {
    const k = ++n
    const path = join(out, `c${k}`)
    const s = await post(via, 'sources/create', {
      workspaceId,
      sourceDefinitionId: testSourceDefinition.definitionId,
      name: `source ${k}`,
      // A run key per connection: the test source's run counter file is not safe for concurrent runs of one key.
      connectionConfiguration: { streams: streams.map((x) => x.name), batchSize: 25, runKey: `c${k}`, ...source },
    })
    assert.equal(s.status, 200, JSON.stringify(s.body))
    const d = await post(via, 'destinations/create', {
      workspaceId,
      destinationDefinitionId: testDestinationDefinition.definitionId,
      name: `destination ${k}`,
      connectionConfiguration: { path, runKey: `c${k}` },
    })
    assert.equal(d.status, 200, JSON.stringify(d.body))
    const c = await post(via, 'connections/create', {
      sourceId: s.body.sourceId,
      destinationId: d.body.destinationId,
      status: 'active',
      scheduleType: 'manual',
      syncCatalog: {
        streams: streams.map((x) => ({
          stream: { name: x.name },
          config: { syncMode: x.syncMode, destinationSyncMode: x.destinationSyncMode, cursorField: ['updated_at'], primaryKey: [['id']], selected: true },
        })),
      },
    })
    assert.equal(c.status, 200, JSON.stringify(c.body))
    return { connectionId: c.body.connectionId as string, path }
  }

  async function waitForJob(via: string, jobId: number, statuses: string[], timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    let last: any
    while (Date.now() < deadline) {
      const res = await post(via, 'jobs/get', { id: jobId })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      last = res.body
      if (statuses.includes(last.job.status)) return last
      await sleep(100)
    }
    assert.fail(`job ${jobId} did not reach ${statuses.join('/')}: ${JSON.stringify(last?.job)}`)
  }

  /** The worker process running the job's newest running attempt, by the pid it registered. */
  async function workerOf(jobId: number): Promise<{ workerId: string; process: SluiceProcess } | undefined> {
    const rows = await db.query<{ worker_id: string; pid: number }>(
      `SELECT a.worker_id, w.pid FROM sluice_attempts a JOIN sluice_workers w ON w.worker_id = a.worker_id
       WHERE a.job_id = $1 AND a.status = 'running'`,
      [jobId],
    )
    const row = rows.rows[0]
    const p = row && workers.find((w) => w.pid === row.pid)
    return row && p ? { workerId: row.worker_id, process: p } : undefined
  }

  async function attemptsOf(jobId: number): Promise<Array<{ attempt_number: number; status: string; worker_id: string }>> {
    return (await db.query(`SELECT attempt_number, status, worker_id FROM sluice_attempts WHERE job_id = $1 ORDER BY attempt_number`, [jobId])).rows
  }

  before(async () => {
    Cluster.ensureBuilt()
    tdb = await createTestDatabase('scale')
    db = new pg.Pool({ connectionString: tdb.url, max: 2 })
    // The last test makes the server drop every session, idle pooled ones included.
    db.on('error', () => {})
    out = await mkdtemp(join(tmpdir(), 'sluice-scale-out-'))
    cluster = new Cluster({
      databaseUrl: tdb.url,
      env: { SLUICE_WORKER_HEARTBEAT_MS: '200', SLUICE_RETRY_BACKOFF_MS: '0', SLUICE_SCHEDULER_TICK_MS: '3600000' },
    })
    // The first API process migrates; the others start at the same time and wait on the lock.
    apis = await Promise.all([cluster.api(), cluster.api()])
    workers = await Promise.all(Array.from({ length: WORKERS }, () => cluster.worker('--concurrency', '4', '--lease', '2', '--shutdown-grace', '1')))
    const ws = await post(api(0), 'workspaces/list')
    assert.equal(ws.body.workspaces.length, 1, 'one default workspace although two API processes started at once')
    workspaceId = ws.body.workspaces[0].workspaceId
  })

  after(async () => {
    await cluster?.close()
    await db?.end()
    await tdb?.drop()
    if (out) await rm(out, { recursive: true, force: true })
  })

  test('health and workers/list from every API process', async () => {
    for (let i = 0; i < apis.length; i++) {
      const health = await fetch(`${api(i)}/api/v1/health`)
      assert.deepEqual(await health.json(), { available: true, db: true })
      const list = await post(api(i), 'workers/list')
      assert.equal(list.status, 200)
      assert.deepEqual(
        list.body.workers.map((w: any) => w.pid).sort(),
        workers.map((w) => w.pid).sort(),
      )
      assert.ok(list.body.workers.every((w: any) => w.concurrency === 4 && w.status === 'running'))
    }
  })

  test(`${CONNECTIONS} connections synced at once: each job runs exactly once, every row delivered`, async () => {
    const streams: Stream[] = [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' }]
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => connection(api(i), { records: ROWS, delayMs: 10 }, streams)))
    const started = Date.now()
    const jobs = await Promise.all(conns.map(async (c, i) => {
      const res = await post(api(i + 1), 'connections/sync', { connectionId: c.connectionId })
      assert.equal(res.status, 200, JSON.stringify(res.body))
      return res.body.job.id as number
    }))
    const done = await Promise.all(jobs.map((id, i) => waitForJob(api(i), id, ['succeeded', 'failed', 'cancelled'], 60_000)))
    const seconds = (Date.now() - started) / 1000
    for (const d of done) {
      assert.equal(d.job.status, 'succeeded', JSON.stringify(d.attempts.map((a: any) => a.attempt.failureSummary)))
      assert.equal(d.attempts.length, 1, `job ${d.job.id} ran once: ${JSON.stringify(d.attempts.map((a: any) => a.attempt.failureSummary))}`)
    }
    const attempts = (await db.query<{ job_id: number; n: number }>(`SELECT job_id, count(*)::int AS n FROM sluice_attempts WHERE job_id = ANY($1) GROUP BY job_id`, [jobs])).rows
    assert.equal(attempts.length, CONNECTIONS)
    assert.ok(attempts.every((a) => a.n === 1), 'exactly one attempt per job')
    const byWorker = (await db.query<{ worker_id: string }>(`SELECT DISTINCT worker_id FROM sluice_attempts WHERE job_id = ANY($1)`, [jobs])).rows
    assert.equal(byWorker.length, WORKERS, 'every worker took a share')
    for (const c of conns) {
      const rows = await readTestDestination(c.path, { name: 'items' })
      assert.deepEqual(rows.map((r) => r._airbyte_data.id), Array.from({ length: ROWS }, (_, i) => i + 1))
    }
    process.stderr.write(`# scale: ${CONNECTIONS} syncs of ${ROWS} rows on ${WORKERS} workers in ${seconds.toFixed(1)} s\n`)
  })

  test('cancel through a different API process stops the attempt within seconds; its logs are readable everywhere', async () => {
    const c = await connection(api(0), { records: 100_000, batchSize: 10, delayMs: 50 }, [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' }])
    const jobId = (await post(api(0), 'connections/sync', { connectionId: c.connectionId })).body.job.id as number
    await waitForJob(api(1), jobId, ['running'])
    while ((await workerOf(jobId)) === undefined) await sleep(50)
    const t0 = Date.now()
    const cancelled = await post(api(1), 'jobs/cancel', { id: jobId })
    assert.equal(cancelled.status, 200)
    const done = await waitForJob(api(1), jobId, ['cancelled', 'succeeded', 'failed'], 10_000)
    const latency = Date.now() - t0
    assert.equal(done.job.status, 'cancelled')
    // The worker confirms: its attempt ended as a manual cancellation.
    while ((await attemptsOf(jobId)).some((a) => a.status === 'running')) await sleep(50)
    assert.ok(latency < 5_000, `cancelled in ${latency} ms`)
    const viaOther = await waitForJob(api(0), jobId, ['cancelled'])
    const lines: string[] = viaOther.attempts[0].logs.logLines
    assert.ok(lines.some((l) => /started on worker/.test(l)), lines.join('\n'))
    assert.ok(lines.some((l) => /cancelled/i.test(l)), lines.join('\n'))
    process.stderr.write(`# scale: cancel across processes took ${latency} ms\n`)
  })

  test('SIGTERM: the worker stops claiming, releases its attempt after the grace period and exits 0; another worker finishes', async () => {
    // About 3 s of work: well beyond the 1 s grace, so the attempt must be released.
    const c = await connection(api(0), { records: 1000, batchSize: 10, delayMs: 30 }, [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' }])
    const jobId = (await post(api(1), 'connections/sync', { connectionId: c.connectionId })).body.job.id as number
    let owner = await workerOf(jobId)
    while (owner === undefined) {
      await sleep(50)
      owner = await workerOf(jobId)
    }
    owner.process.child.kill('SIGTERM')
    assert.equal(await owner.process.exited, 0)
    workers = workers.filter((w) => w !== owner.process)
    const done = await waitForJob(api(0), jobId, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'succeeded')
    const attempts = await attemptsOf(jobId)
    assert.equal(attempts.length, 2)
    assert.equal(attempts[0]?.worker_id, owner.workerId)
    assert.notEqual(attempts[1]?.worker_id, owner.workerId)
    assert.match(done.attempts[0].attempt.failureSummary.failures[0].externalMessage, /shut down/)
    const rows = await readTestDestination(c.path, { name: 'items' })
    assert.deepEqual(rows.map((r) => r._airbyte_data.id), Array.from({ length: 1000 }, (_, i) => i + 1))
    const list = await post(api(1), 'workers/list')
    assert.ok(!list.body.workers.some((w: any) => w.workerId === owner.workerId), 'a stopped worker leaves the registry')
  })

  test('kill -9 a worker mid-sync: another worker resumes from the saved state, no loss, no duplicates', async () => {
    const streams: Stream[] = [
      { name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' },
      { name: 'things', syncMode: 'full_refresh', destinationSyncMode: 'overwrite' },
    ]
    const records = 600
    const c = await connection(api(1), { records, batchSize: 20, delayMs: 40 }, streams)
    const jobId = (await post(api(0), 'connections/sync', { connectionId: c.connectionId })).body.job.id as number
    // Kill once some state is durable, so the takeover has something to resume from.
    for (;;) {
      const saved = await db.query(`SELECT 1 FROM sluice_stream_state WHERE connection_id = $1`, [c.connectionId])
      if (saved.rowCount) break
      await sleep(20)
    }
    const owner = await workerOf(jobId)
    assert.ok(owner, 'the job is running on one of our workers')
    owner.process.child.kill('SIGKILL')
    const killedAt = Date.now()
    await owner.process.exited
    const done = await waitForJob(api(1), jobId, ['succeeded', 'failed', 'cancelled'], 40_000)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
    const attempts = await attemptsOf(jobId)
    assert.equal(attempts.length, 2)
    assert.equal(attempts[0]?.worker_id, owner.workerId)
    assert.equal(attempts[0]?.status, 'failed')
    assert.notEqual(attempts[1]?.worker_id, owner.workerId)
    assert.match(done.attempts[0].attempt.failureSummary.failures[0].externalMessage, /worker running this attempt stopped/)
    const resumed = done.attempts[1].attempt.streamStats.find((s: any) => s.streamName === 'items')
    assert.ok(resumed === undefined || resumed.stats.recordsEmitted < records, 'items resumed from the saved state')
    const ids = Array.from({ length: records }, (_, i) => i + 1)
    assert.deepEqual((await readTestDestination(c.path, { name: 'items' })).map((r) => r._airbyte_data.id), ids)
    assert.deepEqual((await readTestDestination(c.path, { name: 'things' })).map((r) => r._airbyte_data.id), ids)
    process.stderr.write(`# scale: job taken over and finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9\n`)
  })

  test('the database drops every session mid-sync: processes reconnect and the job completes without loss', async () => {
    const streams: Stream[] = [{ name: 'items', syncMode: 'incremental', destinationSyncMode: 'append_dedup' }]
    const records = 500
    const c = await connection(api(0), { records, batchSize: 20, delayMs: 40 }, streams)
    const jobId = (await post(api(1), 'connections/sync', { connectionId: c.connectionId })).body.job.id as number
    for (;;) {
      const saved = await db.query(`SELECT 1 FROM sluice_stream_state WHERE connection_id = $1`, [c.connectionId])
      if (saved.rowCount) break
      await sleep(20)
    }
    // What a PostgreSQL restart or failover does to every client: all sessions end at once.
    const killed = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
    assert.ok((killed.rowCount ?? 0) >= 3, 'API, worker and LISTEN sessions were dropped')
    const done = await waitForJob(api(0), jobId, ['succeeded', 'failed', 'cancelled'], 40_000)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
    assert.deepEqual(
      (await readTestDestination(c.path, { name: 'items' })).map((r) => r._airbyte_data.id),
      Array.from({ length: records }, (_, i) => i + 1),
    )
    for (let i = 0; i < apis.length; i++) {
      const health = await fetch(`${api(i)}/api/v1/health`)
      assert.deepEqual(await health.json(), { available: true, db: true })
    }
    // The surviving worker's LISTEN session is back: a new job is picked up without waiting for a poll.
    const again = (await post(api(1), 'connections/sync', { connectionId: c.connectionId })).body.job.id as number
    assert.equal((await waitForJob(api(1), again, ['succeeded', 'failed', 'cancelled'])).job.status, 'succeeded')
    process.stderr.write(`# scale: after all sessions were dropped, the job finished in ${done.attempts.length} attempt(s)\n`)
  })
})
