import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'

const TEST_SOURCE_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a01'
const TEST_DESTINATION_ID = '5b1a7e3c-0d2f-4c61-9a57-7f3e2c1d0a02'
const RECORDS = 600

/** The repository root: the nearest folder holding package.json (works from test/ and dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
}

interface Server {
  child: ChildProcess
  url: string
}

let dataDir: string
const secretKey = randomBytes(32).toString('hex')
const children: ChildProcess[] = []

async function startServer(): Promise<Server> {
  const root = repoRoot()
  const child = spawn(process.execPath, [join(root, 'bin', 'sluice.js'), 'serve', '--data-dir', dataDir, '--port', '0'], {
    cwd: root,
    env: {
      ...process.env,
      // The embedded single-process SQLite store is what this test is about.
      SLUICE_DATABASE_URL: '',
      SLUICE_TEST_CONNECTORS: '1',
      SLUICE_SECRET_KEY: secretKey,
      SLUICE_LOG_LEVEL: 'warn',
      SLUICE_WORKER_CONCURRENCY: '3',
      SLUICE_WORKER_POLL_MS: '50',
      SLUICE_WORKER_HEARTBEAT_MS: '200',
      SLUICE_RETRY_BACKOFF_MS: '100',
      SLUICE_SCHEDULER_TICK_MS: '3600000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)))
  })
  return { child, url }
}

async function post(server: Server, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${server.url}/api/v1/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  const json = text === '' ? undefined : JSON.parse(text)
  assert.ok(res.status < 300, `${path} -> ${res.status}: ${text}`)
  return json
}

async function connection(server: Server, workspaceId: string, out: string, syncMode: string, destinationSyncMode: string): Promise<string> {
  const source = await post(server, 'sources/create', {
    workspaceId,
    sourceDefinitionId: TEST_SOURCE_ID,
    name: `slow ${out}`,
    // 60 batches of 10 rows, 40 ms apart: about 2.4 s per full read.
    connectionConfiguration: { streams: ['items'], records: RECORDS, batchSize: 10, delayMs: 40, runKey: out },
  })
  const destination = await post(server, 'destinations/create', {
    workspaceId,
    destinationDefinitionId: TEST_DESTINATION_ID,
    name: `out ${out}`,
    connectionConfiguration: { path: out, runKey: out },
  })
  const conn = await post(server, 'connections/create', {
    sourceId: source.sourceId,
    destinationId: destination.destinationId,
    status: 'active',
    scheduleType: 'manual',
    syncCatalog: { streams: [{ stream: { name: 'items' }, config: { syncMode, destinationSyncMode, cursorField: ['updated_at'], primaryKey: [['id']], selected: true } }] },
  })
  return conn.connectionId as string
}

async function waitFor(server: Server, jobId: number, statuses: string[], timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const info = await post(server, 'jobs/get', { id: jobId })
    if (statuses.includes(info.job.status)) return info
    if (Date.now() > deadline) assert.fail(`job ${jobId} stuck in ${info.job.status}`)
    await sleep(100)
  }
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
  const workspaceId = (await post(first, 'workspaces/list', {})).workspaces[0].workspaceId as string
  const outs = { dedup: join(dataDir, 'out-dedup'), overwrite: join(dataDir, 'out-overwrite'), append: join(dataDir, 'out-append') }
  const dedup = await connection(first, workspaceId, outs.dedup, 'incremental', 'append_dedup')
  const overwrite = await connection(first, workspaceId, outs.overwrite, 'full_refresh', 'overwrite')
  const append = await connection(first, workspaceId, outs.append, 'incremental', 'append')
  const jobs = {
    dedup: (await post(first, 'connections/sync', { connectionId: dedup })).job.id as number,
    overwrite: (await post(first, 'connections/sync', { connectionId: overwrite })).job.id as number,
    append: (await post(first, 'connections/sync', { connectionId: append })).job.id as number,
  }
  // Let both commit some state, then kill the server without any chance to clean up.
  const deadline = Date.now() + 20_000
  for (;;) {
    const states = await Promise.all([dedup, overwrite, append].map((connectionId) => post(first, 'state/get', { connectionId })))
    if (states.every((s) => s.stateType === 'stream' && s.streamState[0].streamState.id >= 100)) break
    assert.ok(Date.now() < deadline, 'the syncs never committed state')
    await sleep(50)
  }
  const savedBeforeKill = (await post(first, 'state/get', { connectionId: dedup })).streamState[0].streamState.id as number
  assert.ok(savedBeforeKill < RECORDS, 'killed mid-sync')
  first.child.kill('SIGKILL')
  await new Promise((r) => first.child.once('exit', r))

  const second = await startServer()
  for (const [name, jobId] of Object.entries(jobs)) {
    const done = await waitFor(second, jobId, ['succeeded', 'failed', 'cancelled'])
    assert.equal(done.job.status, 'succeeded', `${name}: ${JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary))}`)
    assert.deepEqual(done.attempts.map((a: any) => a.attempt.status), ['failed', 'succeeded'], `${name}: ${JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary?.failures?.[0]?.externalMessage))}`)
    const lost = done.attempts[0].attempt.failureSummary.failures[0]
    assert.equal(lost.failureType, 'system_error')
    assert.match(lost.externalMessage, /worker running this attempt stopped/)
    assert.ok(done.attempts[0].logs.logLines.some((l: string) => l.includes('worker running this attempt stopped')))
  }
  // Incremental: the retry read only what the saved state did not cover.
  const dedupDone = await post(second, 'jobs/get', { id: jobs.dedup })
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
