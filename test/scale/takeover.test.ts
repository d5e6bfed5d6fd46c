import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { readTestDestination, testDestinationDefinition } from '../../src/connectors/test-destination/index.js'
import { testSourceDefinition } from '../../src/connectors/test-source/index.js'
import { parsePromText } from '../helpers/prometheus-text.js'
import { Cluster, post, type SluiceProcess } from './cluster.js'
import { createTestDatabase } from './pg-test-database.js'

const LEASE_MS = 2_000
const HEARTBEAT_MS = 500
const RECORDS = 600
/** Kills measured in one run: each on a fresh connection, with a new worker replacing the killed one. */
const ROUNDS = 3

interface AttemptRow {
  attempt_number: number
  status: string
  worker_id: string
  created_at: string
  lease_expires_at: string
}

/**
 * kill -9 of a worker mid-sync with a 2 s lease and a 500 ms heartbeat: the next attempt must
 * start within 2 x lease + one heartbeat of the killed attempt's last heartbeat. Both times are
 * the ones the workers wrote to the store (the killed attempt's lease end minus the lease, the
 * next attempt's creation), not the test's clock. The job must still end exact.
 */
test('kill -9 a worker: the next attempt starts within 2 x lease + one heartbeat of the last heartbeat, and the job ends exact', async () => {
  Cluster.ensureBuilt()
  const tdb = await createTestDatabase('takeover')
  const db = new pg.Pool({ connectionString: tdb.url, max: 2 })
  const out = await mkdtemp(join(tmpdir(), 'sluice-takeover-'))
  // The default polling of sluice worker (2 s) is kept: recovery must not depend on a fast poll.
  const cluster = new Cluster({ databaseUrl: tdb.url, env: { SLUICE_WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS), SLUICE_SCHEDULER_TICK_MS: '3600000' } })
  const startWorker = (): Promise<SluiceProcess> => cluster.worker('--lease', String(LEASE_MS / 1000), '--concurrency', '2', '--metrics-port', '0')
  const measured: number[] = []
  try {
    const api = (await cluster.api()).ready
    const workers = await Promise.all([startWorker(), startWorker()])
    const workspaceId = (await post(api, 'workspaces/list')).body.workspaces[0].workspaceId as string
    for (let round = 1; round <= ROUNDS; round++) {
      const path = join(out, `c${round}`)
      const s = await post(api, 'sources/create', {
        workspaceId,
        sourceDefinitionId: testSourceDefinition.definitionId,
        name: `s${round}`,
        // 30 batches of 20 rows, 40 ms apart, per stream: long enough to be killed mid-sync.
        connectionConfiguration: { streams: ['items', 'things'], records: RECORDS, batchSize: 20, delayMs: 40, runKey: `r${round}` },
      })
      const d = await post(api, 'destinations/create', {
        workspaceId,
        destinationDefinitionId: testDestinationDefinition.definitionId,
        name: `d${round}`,
        connectionConfiguration: { path, runKey: `r${round}` },
      })
      const c = await post(api, 'connections/create', {
        sourceId: s.body.sourceId,
        destinationId: d.body.destinationId,
        status: 'active',
        scheduleType: 'manual',
        syncCatalog: {
          streams: [
            { stream: { name: 'items' }, config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: true } },
            { stream: { name: 'things' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } },
          ],
        },
      })
      assert.equal(c.status, 200, JSON.stringify(c.body))
      const connectionId = c.body.connectionId as string
      const jobId = (await post(api, 'connections/sync', { connectionId })).body.job.id as number

      // Kill once some state is durable, so the next attempt has something to resume from.
      while (!(await db.query(`SELECT 1 FROM sluice_stream_state WHERE connection_id = $1`, [connectionId])).rowCount) await sleep(20)
      const owner = await db.query<{ pid: number }>(
        `SELECT w.pid FROM sluice_attempts a JOIN sluice_workers w ON w.worker_id = a.worker_id WHERE a.job_id = $1 AND a.status = 'running'`,
        [jobId],
      )
      const killed = workers.find((w) => w.pid === owner.rows[0]?.pid)
      assert.ok(killed, 'the job runs on one of our workers')
      const survivor = workers.find((w) => w !== killed) as SluiceProcess
      killed.child.kill('SIGKILL')
      await killed.exited

      let job: any
      do {
        await sleep(100)
        job = (await post(api, 'jobs/get', { id: jobId })).body
      } while (!['succeeded', 'failed', 'cancelled'].includes(job.job.status))
      assert.equal(job.job.status, 'succeeded', JSON.stringify(job.attempts.map((a: any) => a.attempt.failureSummary)))

      const attempts = (await db.query<AttemptRow>(`SELECT attempt_number, status, worker_id, created_at, lease_expires_at FROM sluice_attempts WHERE job_id = $1 ORDER BY attempt_number`, [jobId])).rows
      assert.equal(attempts.length, 2, 'one lost attempt, one that finished')
      const [lost, next] = attempts as [AttemptRow, AttemptRow]
      assert.equal(lost.status, 'failed')
      assert.equal(next.status, 'succeeded')
      assert.notEqual(next.worker_id, lost.worker_id)
      // Each heartbeat sets the lease to its own time + the lease: the last one is the lease end minus the lease.
      const lastHeartbeat = Number(lost.lease_expires_at) - LEASE_MS
      const takeoverMs = Number(next.created_at) - lastHeartbeat
      measured.push(takeoverMs)
      assert.ok(takeoverMs <= 2 * LEASE_MS + HEARTBEAT_MS, `next attempt ${takeoverMs} ms after the last heartbeat (bound ${2 * LEASE_MS + HEARTBEAT_MS} ms)`)
      assert.ok(takeoverMs > LEASE_MS, `not before the lease expired (${takeoverMs} ms)`)

      // Exact: every id once in both streams, whatever the kill interrupted.
      const ids = Array.from({ length: RECORDS }, (_, i) => i + 1)
      assert.deepEqual((await readTestDestination(path, { name: 'items' })).map((r) => r._airbyte_data.id), ids)
      assert.deepEqual((await readTestDestination(path, { name: 'things' })).map((r) => r._airbyte_data.id), ids)

      // The survivor counted the expiry it recovered and the attempt it ran.
      const metricsUrl = /sluice worker metrics on (\S+)/.exec(survivor.stdout())?.[1] as string
      const metrics = parsePromText(await (await fetch(metricsUrl)).text())
      assert.ok(metrics.value('sluice_lease_expiries_total') >= 1)
      assert.ok(metrics.value('sluice_records_total', { connection_id: connectionId }) > 0)

      workers.splice(workers.indexOf(killed), 1, await startWorker())
    }
    process.stderr.write(
      `# takeover: next attempt ${measured.join(' / ')} ms after the killed attempt's last heartbeat ` +
        `(lease ${LEASE_MS} ms, heartbeat ${HEARTBEAT_MS} ms, bound ${2 * LEASE_MS + HEARTBEAT_MS} ms; load average ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' ')})\n`,
    )
  } finally {
    await cluster.close()
    await db.end()
    await tdb.drop()
    await rm(out, { recursive: true, force: true })
  }
})
