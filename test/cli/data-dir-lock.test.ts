import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { apiPost, exited, spawnServer, waitForJob } from '../helpers/server-process.js'

const TEST_SOURCE_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01'
const TEST_DESTINATION_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02'

const children: ChildProcess[] = []
const dirs: string[] = []

async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-lock-'))
  dirs.push(dir)
  return dir
}

function serve(dataDir: string, secretKey: string): ReturnType<typeof spawnServer> {
  const started = spawnServer(dataDir, { SLUICE_SECRET_KEY: secretKey })
  children.push(started.child)
  return started
}

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

test('a second server on a data dir in use is refused and leaves the running sync alone', { timeout: 90_000 }, async () => {
  const dataDir = await tempDataDir()
  const key = randomBytes(32).toString('hex')
  const first = await serve(dataDir, key).listening
  const workspaceId = (await apiPost(first, 'workspaces/list', {})).workspaces[0].workspaceId as string
  const out = join(dataDir, 'out')
  const source = await apiPost(first, 'sources/create', {
    workspaceId,
    sourceDefinitionId: TEST_SOURCE_ID,
    name: 'slow',
    connectionConfiguration: { streams: ['items'], records: 400, batchSize: 10, delayMs: 30 },
  })
  const destination = await apiPost(first, 'destinations/create', { workspaceId, destinationDefinitionId: TEST_DESTINATION_ID, name: 'out', connectionConfiguration: { path: out } })
  const connection = await apiPost(first, 'connections/create', {
    sourceId: source.sourceId,
    destinationId: destination.destinationId,
    status: 'active',
    syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'append', selected: true } }] },
  })
  const jobId = (await apiPost(first, 'connections/sync', { connectionId: connection.connectionId })).job.id as number
  await waitForJob(first, jobId, ['running'])

  const second = serve(dataDir, key)
  await assert.rejects(second.listening, /SLUICE_ERR_DATA_DIR_LOCKED: Another sluice process is using the data directory/)
  assert.equal(await exited(second.child), 1)

  const done = await waitForJob(first, jobId, ['succeeded', 'failed', 'cancelled'])
  assert.equal(done.job.status, 'succeeded')
  assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['succeeded'], 'the second process did not take the attempt over')
  const rows = await readTestDestination(out, { name: 'items' })
  assert.equal(rows.length, 400, 'every row exactly once')
})

test('the lock dies with its process: after kill -9 a new server starts on the same data dir', { timeout: 60_000 }, async () => {
  const dataDir = await tempDataDir()
  const key = randomBytes(32).toString('hex')
  const first = await serve(dataDir, key).listening
  first.child.kill('SIGKILL')
  await exited(first.child)
  const second = await serve(dataDir, key).listening
  const health = await fetch(`${second.url}/api/v1/health`)
  assert.equal(health.status, 200)
})

test('the store, its WAL files and the lock are readable by the owner only', { timeout: 60_000 }, async () => {
  const dataDir = await tempDataDir()
  const server = await serve(dataDir, randomBytes(32).toString('hex')).listening
  await apiPost(server, 'workspaces/list', {})
  const files = (await readdir(dataDir)).filter((f) => f.startsWith('sluice.'))
  assert.deepEqual(files.sort(), ['sluice.db', 'sluice.db-shm', 'sluice.db-wal', 'sluice.lock'])
  for (const f of files) assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f)
  assert.equal(statSync(dataDir).mode & 0o077, 0, 'data dir closed to group and others')
})
