import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { apiPost, type ServerProcess, spawnServer, waitForJob } from '../helpers/server-process.js'

const TEST_SOURCE_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01'
const TEST_DESTINATION_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02'
const RECORDS = 600

let dataDir: string
const secretKey = randomBytes(32).toString('hex')
const children: ChildProcess[] = []

async function startServer(): Promise<ServerProcess> {
  const { child, listening } = spawnServer(dataDir, { SLUICE_SECRET_KEY: secretKey })
  children.push(child)
  return listening
}

async function connection(server: ServerProcess, workspaceId: string, out: string, syncMode: string, destinationSyncMode: string): Promise<string> {
  const source = await apiPost(server, 'sources/create', {
    workspaceId,
    sourceDefinitionId: TEST_SOURCE_ID,
    name: `slow ${out}`,
    // 60 batches of 10 rows, 40 ms apart: about 2.4 s per full read.
    connectionConfiguration: { streams: ['items'], records: RECORDS, batchSize: 10, delayMs: 40, runKey: out },
  })
  const destination = await apiPost(server, 'destinations/create', {
    workspaceId,
    destinationDefinitionId: TEST_DESTINATION_ID,
    name: `out ${out}`,
    connectionConfiguration: { path: out, runKey: out },
  })
  const conn = await apiPost(server, 'connections/create', {
    sourceId: source.sourceId,
    destinationId: destination.destinationId,
    status: 'active',
    scheduleType: 'manual',
    syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode, destinationSyncMode, cursorField: ['updated_at'], primaryKey: [['id']], selected: true } }] },
  })
  return conn.connectionId as string
}

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-crash-'))
})

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await rm(dataDir, { recursive: true, force: true })
})

test('kill -9 mid-sync: the attempt is marked failed and the job resumes from the last saved state', { timeout: 90_000 }, async () => {
  const first = await startServer()
  const workspaceId = (await apiPost(first, 'workspaces/list', {})).workspaces[0].workspaceId as string
  const outs = { dedup: join(dataDir, 'out-dedup'), overwrite: join(dataDir, 'out-overwrite'), append: join(dataDir, 'out-append') }
  const dedup = await connection(first, workspaceId, outs.dedup, 'incremental', 'append_dedup')
  const overwrite = await connection(first, workspaceId, outs.overwrite, 'full_refresh', 'overwrite')
  const append = await connection(first, workspaceId, outs.append, 'incremental', 'append')
  const jobs = {
    dedup: (await apiPost(first, 'connections/sync', { connectionId: dedup })).job.id as number,
    overwrite: (await apiPost(first, 'connections/sync', { connectionId: overwrite })).job.id as number,
    append: (await apiPost(first, 'connections/sync', { connectionId: append })).job.id as number,
  }
  // Let both commit some state, then kill the server without any chance to clean up.
  const deadline = Date.now() + 20_000
  for (;;) {
    const states = await Promise.all([dedup, overwrite, append].map((connectionId) => apiPost(first, 'state/get', { connectionId })))
    if (states.every((s) => s.stateType === 'stream' && s.streamState[0].streamState.id >= 100)) break
    assert.ok(Date.now() < deadline, 'the syncs never committed state')
    await sleep(50)
  }
  const savedBeforeKill = (await apiPost(first, 'state/get', { connectionId: dedup })).streamState[0].streamState.id as number
  assert.ok(savedBeforeKill < RECORDS, 'killed mid-sync')
  first.child.kill('SIGKILL')
  await new Promise((r) => first.child.once('exit', r))

  const second = await startServer()
  for (const [name, jobId] of Object.entries(jobs)) {
    const done = await waitForJob(second, jobId, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'succeeded', `${name}: ${JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary))}`)
    assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['failed', 'succeeded'], `${name}: ${JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary?.failures?.[0]?.externalMessage))}`)
    const lost = done.attempts[0].attempt.failureSummary.failures[0]
    assert.equal(lost.failureType, 'system_error')
    assert.match(lost.externalMessage, /worker running this attempt stopped/)
    assert.ok(done.attempts[0].logs.logLines.some((l: string) => l.includes('worker running this attempt stopped')))
  }
  // Incremental: the retry read only what the saved state did not cover.
  const dedupDone = await apiPost(second, 'jobs/get', { id: jobs.dedup })
  const retried = dedupDone.attempts[1].attempt.totalStats.recordsEmitted as number
  assert.ok(retried <= RECORDS - savedBeforeKill, `retry read ${retried} rows, state covered ${savedBeforeKill}`)
  // append_dedup and overwrite: every row exactly once; append: at least once, none lost.
  const expected = Array.from({ length: RECORDS }, (_, i) => i + 1)
  for (const [name, out] of Object.entries(outs)) {
    const rows = (await readTestDestination(out, { name: 'items' })).map((l) => l._airbyte_data.id as number)
    if (name === 'append') {
      assert.ok(rows.length >= RECORDS, `${name}: ${rows.length} rows`)
      assert.deepEqual([...new Set(rows)].sort((a, b) => a - b), expected, name)
    } else {
      assert.equal(rows.length, RECORDS, name)
      assert.deepEqual([...rows].sort((a, b) => a - b), expected, name)
    }
  }
  second.child.kill('SIGTERM')
  await new Promise((r) => second.child.once('exit', r))
})
