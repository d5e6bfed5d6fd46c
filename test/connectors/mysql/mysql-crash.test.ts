import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ChildProcess } from 'node:child_process'
import { createTestDatabase, type TestDatabase } from '../../helpers/pg.js'
import { createTestMysqlDatabase, type TestMysqlDatabase } from '../../helpers/mysql.js'
import { apiPost, exited, spawnServer, waitForJob, type ServerProcess } from '../../helpers/server-process.js'

const MYSQL_DEFINITION_ID = '435bb9a5-7887-4809-aa58-28c27df0d7ad'
const POSTGRES_DESTINATION_ID = '25c5221d-dce2-4163-ade9-739ef790f503'
const ROWS = 100_000

let my: TestMysqlDatabase
let pg: TestDatabase
let dataDir: string
const secretKey = randomBytes(32).toString('hex')
const children: ChildProcess[] = []

async function startServer(): Promise<ServerProcess> {
  const { child, listening } = spawnServer(dataDir, { SLUICE_SECRET_KEY: secretKey })
  children.push(child)
  return listening
}

before(async () => {
  my = await createTestMysqlDatabase('mycrash')
  pg = await createTestDatabase('mycrash')
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-mycrash-'))
  await my.query(`CREATE TABLE items (id INT PRIMARY KEY, note VARCHAR(20), pad VARCHAR(400))`)
  await my.query(`INSERT INTO items SELECT seq, CONCAT('n', seq), REPEAT('p', 400) FROM seq_1_to_${ROWS}`)
  await my.query(`CREATE TABLE ledger (id INT PRIMARY KEY, note VARCHAR(20), pad VARCHAR(400))`)
  await my.query(`INSERT INTO ledger SELECT seq, CONCAT('n', seq), REPEAT('p', 400) FROM seq_1_to_${ROWS}`)
})

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
  await pg.drop()
  await my.drop()
})

test('kill -9 mid full refresh of 100k rows: the retry resumes after the last committed key range, every row once in Postgres', { timeout: 180_000 }, async () => {
  const first = await startServer()
  const workspaceId = (await apiPost(first, 'workspaces/list', {})).workspaces[0].workspaceId as string
  const source = await apiPost(first, 'sources/create', { workspaceId, sourceDefinitionId: MYSQL_DEFINITION_ID, name: 'MariaDB', connectionConfiguration: my.config })
  const destination = await apiPost(first, 'destinations/create', {
    workspaceId,
    destinationDefinitionId: POSTGRES_DESTINATION_ID,
    name: 'Postgres',
    connectionConfiguration: { ...pg.config, schema: 'out' },
  })
  const conn = await apiPost(first, 'connections/create', {
    sourceId: source.sourceId,
    destinationId: destination.destinationId,
    status: 'active',
    scheduleType: 'manual',
    namespaceDefinition: 'destination',
    syncCatalog: { streams: [{ stream: { name: 'items', namespace: my.name }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] },
  })
  const jobId = (await apiPost(first, 'connections/sync', { connectionId: conn.connectionId })).job.id as number
  let saved: string[] | undefined
  for (;;) {
    const state = await apiPost(first, 'state/get', { connectionId: conn.connectionId })
    saved = state.streamState?.[0]?.streamState?.pk_val as string[] | undefined
    if (saved) break
    await sleep(20)
  }
  first.child.kill('SIGKILL')
  await exited(first.child)
  assert.ok(Number(saved[0]) < ROWS, 'killed mid-sync')

  const second = await startServer()
  const done = await waitForJob(second, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
  assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['failed', 'succeeded'])
  const retried = done.attempts[1].attempt.totalStats.recordsEmitted as number
  assert.ok(retried <= ROWS - Number(saved[0]), `retry read ${retried} rows, the state covered ${saved[0]}`)
  const { rows } = await pg.query<{ n: string; d: string; s: string }>(`SELECT count(*) AS n, count(DISTINCT id) AS d, sum(id) AS s FROM out.items`)
  assert.deepEqual(rows[0], { n: String(ROWS), d: String(ROWS), s: String((ROWS * (ROWS + 1)) / 2) })
  second.child.kill('SIGTERM')
  await exited(second.child)
})

test('CDC: kill -9 mid snapshot, then inserts, updates and deletes: Postgres append_dedup equals the MariaDB table', { timeout: 240_000 }, async () => {
  const first = await startServer()
  const workspaceId = (await apiPost(first, 'workspaces/list', {})).workspaces[0].workspaceId as string
  const source = await apiPost(first, 'sources/create', {
    workspaceId,
    sourceDefinitionId: MYSQL_DEFINITION_ID,
    name: 'MariaDB CDC',
    connectionConfiguration: { ...my.config, replication_method: { method: 'CDC' } },
  })
  const destination = await apiPost(first, 'destinations/create', {
    workspaceId,
    destinationDefinitionId: POSTGRES_DESTINATION_ID,
    name: 'Postgres CDC',
    connectionConfiguration: { ...pg.config, schema: 'cdc' },
  })
  const conn = await apiPost(first, 'connections/create', {
    sourceId: source.sourceId,
    destinationId: destination.destinationId,
    status: 'active',
    scheduleType: 'manual',
    namespaceDefinition: 'destination',
    syncCatalog: {
      streams: [
        {
          stream: { name: 'ledger', namespace: my.name },
          config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['_ab_cdc_cursor'], primaryKey: [['id']], selected: true },
        },
      ],
    },
  })
  const jobId = (await apiPost(first, 'connections/sync', { connectionId: conn.connectionId })).job.id as number
  let saved: { snapshot_pk?: string[]; binlog_pos: number } | undefined
  for (;;) {
    const state = await apiPost(first, 'state/get', { connectionId: conn.connectionId })
    saved = state.streamState?.[0]?.streamState
    if (saved?.snapshot_pk) break
    await sleep(20)
  }
  // Changes while the snapshot runs: the binlog from the snapshot's position brings them.
  await my.query(`UPDATE ledger SET note = 'during' WHERE id IN (1, ${ROWS}); DELETE FROM ledger WHERE id = 2`)
  first.child.kill('SIGKILL')
  await exited(first.child)

  const second = await startServer()
  const done = await waitForJob(second, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
  assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['failed', 'succeeded'])
  const retried = done.attempts[1].attempt.totalStats.recordsEmitted as number
  assert.ok(retried < ROWS, `the retry resumed the snapshot (read ${retried} rows)`)

  await my.query(`INSERT INTO ledger VALUES (${ROWS + 1}, 'new', 'x'); UPDATE ledger SET note = 'after' WHERE id = 3; DELETE FROM ledger WHERE id = 4`)
  const next = (await apiPost(second, 'connections/sync', { connectionId: conn.connectionId })).job.id as number
  const nextDone = await waitForJob(second, next, ['succeeded', 'failed', 'cancelled'])
  assert.equal(nextDone.job.status, 'succeeded', JSON.stringify(nextDone.attempts.map((a: any) => a.attempt.failureSummary)))
  assert.equal(nextDone.attempts[0].attempt.totalStats.recordsEmitted, 3)

  const expected = (await my.query(`SELECT COUNT(*) AS n, SUM(id) AS s, SUM(note = 'during') AS d, SUM(note = 'after') AS a FROM ledger`)) as Record<string, unknown>[]
  const { rows } = await pg.query(`SELECT count(*) AS n, sum(id) AS s, count(*) FILTER (WHERE note = 'during') AS d, count(*) FILTER (WHERE note = 'after') AS a, count(DISTINCT id) AS k FROM cdc.ledger`)
  const e = expected[0]!
  assert.deepEqual(rows[0], { n: String(e.n), s: String(e.s), d: String(e.d), a: String(e.a), k: String(e.n) })
  second.child.kill('SIGTERM')
  await exited(second.child)
})
