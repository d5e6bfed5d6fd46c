import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { localFilesDefinition } from '../../../src/connectors/local-files/index.js'
import { RestApiSource } from '../../../src/connectors/rest-api/index.js'
import { runAttempt } from '../../../src/engine/index.js'
import type { ConfiguredCatalog, StateMessage } from '../../../src/protocol/index.js'
import { runOptions, startMockApi, type MockApi } from '../declarative/helpers/mock-api.js'

// A REST API source synced by the engine into Local Files (JSONL): pages, incremental state
// committed after the data, and a second sync that only writes new records.

const servers: MockApi[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out
}

test('REST API -> Local Files through the engine, twice (incremental)', async () => {
  let total = 25
  const api = await startMockApi((r) => {
    const page = Number(r.query.get('page'))
    const since = r.query.get('since')
    const all = Array.from({ length: total }, (_, i) => ({ id: i + 1, updated_at: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z` }))
    const rows = all.filter((x) => !since || x.updated_at >= since)
    return { body: { data: rows.slice((page - 1) * 10, page * 10) } }
  })
  servers.push(api)
  const root = await mkdtemp(join(tmpdir(), 'sluice-rest-sync-'))
  try {
    const opts = { ...runOptions(), context: { dataDir: root, localFilesRoot: root } }
    const sourceConfig = { url: `${api.origin}/h/events`, pagination: { type: 'page', page_size: 10 }, cursor_field: 'updated_at', cursor_param: 'since' }
    const source = new RestApiSource()
    const discovered = await source.discover(sourceConfig, opts)
    const stream = discovered.streams[0]
    assert.ok(stream)
    const catalog: ConfiguredCatalog = {
      streams: [{ stream, syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['updated_at'], primaryKey: [['id']], syncId: 1, generationId: 1, minimumGenerationId: 0 }],
    }
    const destinationConfig = { destination_path: 'out', format: { format_type: 'JSONL', compression: { compression_type: 'No Compression' } } }
    let committed: StateMessage[] = []
    const run = async (state: StateMessage[]) =>
      runAttempt({
        source,
        sourceConfig,
        destination: localFilesDefinition.destination,
        destinationConfig,
        catalog,
        mapping: { namespaceDefinition: 'source' },
        state,
        options: opts,
        onStateCommitted: async (states) => {
          committed = states
        },
      })
    const first = await run([])
    assert.equal(first.totalStats.recordsCommitted ?? first.totalStats.recordsEmitted, 25)
    assert.deepEqual(committed.at(-1)?.data, { updated_at: '2024-01-01T00:00:24Z' })

    total = 30
    const second = await run(committed)
    // The last record of the first sync is read again (equal cursor values are kept), plus 5 new.
    assert.equal(second.totalStats.recordsEmitted, 6)
    assert.deepEqual(committed.at(-1)?.data, { updated_at: '2024-01-01T00:00:29Z' })

    const files = (await filesUnder(join(root, 'out'))).filter((f) => f.endsWith('.jsonl') && !f.split('/').pop()?.startsWith('.'))
    assert.equal(files.length, 2)
    const lines = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).join('').trim().split('\n')
    assert.equal(lines.length, 31)
    assert.match(lines[0] as string, /"updated_at":"2024-01-01T00:00:00Z"/)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
})
