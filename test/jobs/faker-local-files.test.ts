import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { startJobsServer, type JobsServer } from './jobs-harness.js'

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'

/** Every JSONL line under `dir` (recursively, gzip or not), parsed. */
async function jsonlRows(dir: string): Promise<Array<Record<string, unknown>>> {
  const entries = (await readdir(dir, { recursive: true })) as string[]
  const rows: Array<Record<string, unknown>> = []
  for (const name of entries.filter((e) => e.endsWith('.jsonl') || e.endsWith('.jsonl.gz')).sort()) {
    const raw = await readFile(join(dir, name))
    const text = (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')
    for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>)
  }
  return rows
}

describe('Sample Data (Faker) -> Local Files through the API', () => {
  let s: JobsServer
  before(async () => {
    s = await startJobsServer()
  })
  after(async () => {
    await s.close()
  })

  async function connection(path: string, syncMode: string, destinationSyncMode: string, count = 300): Promise<string> {
    const source = await s.post('sources/create', { workspaceId: s.workspaceId, sourceDefinitionId: FAKER_ID, name: `faker ${path}`, connectionConfiguration: { count, seed: 7, always_updated: false } })
    assert.equal(source.status, 200, JSON.stringify(source.body))
    const destination = await s.post('destinations/create', {
      workspaceId: s.workspaceId,
      destinationDefinitionId: LOCAL_FILES_ID,
      name: `files ${path}`,
      connectionConfiguration: { destination_path: path, format: { format_type: 'JSONL' } },
    })
    assert.equal(destination.status, 200, JSON.stringify(destination.body))
    const conn = await s.post('connections/create', {
      sourceId: source.body.sourceId,
      destinationId: destination.body.destinationId,
      status: 'active',
      scheduleType: 'manual',
      syncCatalog: { streams: [{ stream: { name: 'users' }, config: { syncMode, destinationSyncMode, cursorField: ['updated_at'], primaryKey: [['id']], selected: true } }] },
    })
    assert.equal(conn.status, 200, JSON.stringify(conn.body))
    return conn.body.connectionId as string
  }

  async function sync(connectionId: string): Promise<any> {
    const done = await s.waitFor((await s.post('connections/sync', { connectionId })).body.job.id, ['succeeded', 'failed', 'cancelled'], 30_000)
    assert.equal(done.job.status, 'succeeded', JSON.stringify(done.attempts.map((a: any) => a.attempt.failureSummary)))
    return done
  }

  test('full_refresh + overwrite: each sync replaces the files of the stream', async () => {
    const connectionId = await connection('overwrite', 'full_refresh', 'overwrite')
    const root = join(s.running.dataDir, 'files', 'overwrite')
    const first = await sync(connectionId)
    assert.equal(first.job.summary.recordsSynced, 300)
    const rows = await jsonlRows(root)
    assert.equal(rows.length, 300)
    assert.ok('_airbyte_raw_id' in (rows[0] as object) && '_airbyte_extracted_at' in (rows[0] as object), JSON.stringify(rows[0]))
    await sync(connectionId)
    const after = await jsonlRows(root)
    assert.equal(after.length, 300, 'the previous generation is gone')
    assert.equal(new Set(after.map((r) => r._airbyte_generation_id)).size, 1)
  })

  test('incremental + append (always_updated false): a second sync with nothing new adds nothing', async () => {
    const connectionId = await connection('incremental', 'incremental', 'append')
    const root = join(s.running.dataDir, 'files', 'incremental')
    const first = await sync(connectionId)
    assert.equal(first.job.summary.recordsSynced, 300)
    const state = await s.post('state/get', { connectionId })
    assert.equal(state.body.stateType, 'stream')
    const second = await sync(connectionId)
    assert.equal(second.job.aggregatedStats.recordsEmitted, 0)
    assert.equal((await jsonlRows(root)).length, 300)
  })

  test('cancel mid-sync leaves only complete files and no temp files', async () => {
    const total = 20_000_000
    const connectionId = await connection('cancelled', 'full_refresh', 'overwrite', total)
    const root = join(s.running.dataDir, 'files', 'cancelled')
    const jobId = (await s.post('connections/sync', { connectionId })).body.job.id as number
    // Cancel once the sync reports progress, so the cancel lands mid-sync.
    for (;;) {
      const info = (await s.post('jobs/get', { id: jobId })).body
      if (info.attempts[0]?.attempt.totalStats?.recordsEmitted > 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    await s.post('jobs/cancel', { id: jobId })
    const done = await s.waitFor(jobId, ['cancelled', 'succeeded', 'failed'], 15_000)
    assert.equal(done.job.status, 'cancelled')
    const attempt = done.attempts[0].attempt
    assert.equal(attempt.failureSummary.failures[0].failureType, 'manual_cancellation')
    assert.ok(attempt.totalStats.recordsEmitted < total, `stopped mid-sync after ${attempt.totalStats.recordsEmitted} rows`)
    // The directory exists once the first part was opened; nothing is there when none was committed.
    const entries = existsSync(root) ? ((await readdir(root, { recursive: true })) as string[]).map((e) => e.split('/').pop() as string) : []
    assert.deepEqual(entries.filter((e) => e.endsWith('.sluice-tmp')), [], 'temp files are removed')
    // Every visible data file is whole (gunzip and JSON.parse of every line succeed), and
    // nothing past what was committed is visible.
    const rows = existsSync(root) ? await jsonlRows(root) : []
    assert.ok(rows.length <= attempt.totalStats.recordsCommitted, `${rows.length} visible rows, ${attempt.totalStats.recordsCommitted} committed`)
  })
})
