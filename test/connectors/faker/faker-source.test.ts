import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fakerDefinition } from '../../../src/connectors/faker/index.js'
import type {
  ConfiguredCatalog,
  RecordBatch,
  RunOptions,
  SourceMessage,
  StateMessage,
  SyncMode,
} from '../../../src/protocol/index.js'
import { isRecordBatch } from '../../../src/protocol/index.js'

const source = fakerDefinition.source

function runOptions(signal = new AbortController().signal): RunOptions {
  const quiet = () => {}
  return { signal, logger: { debug: quiet, info: quiet, warn: quiet, error: quiet }, context: { dataDir: '/nonexistent', localFilesRoot: '/nonexistent' } }
}

async function catalogFor(config: Record<string, unknown>, syncMode: SyncMode, names = ['users', 'products', 'purchases']): Promise<ConfiguredCatalog> {
  const discovered = await source.discover(config, runOptions())
  return {
    streams: discovered.streams
      .filter((s) => names.includes(s.name))
      .map((stream) => ({
        stream,
        syncMode,
        destinationSyncMode: syncMode === 'incremental' ? 'append_dedup' : 'overwrite',
        cursorField: ['updated_at'],
        primaryKey: [['id']],
        syncId: 1,
        generationId: 0,
        minimumGenerationId: 0,
      })),
  }
}

async function readAll(config: Record<string, unknown>, catalog: ConfiguredCatalog, state: StateMessage[] = []): Promise<SourceMessage[]> {
  const out: SourceMessage[] = []
  for await (const m of source.read(config, catalog, state, runOptions())) out.push(m)
  return out
}

const batches = (ms: SourceMessage[]) => ms.filter(isRecordBatch) as RecordBatch[]
const rowsOf = (ms: SourceMessage[], stream: string) => batches(ms).filter((b) => b.stream.name === stream).flatMap((b) => b.rows())

test('discover lists users, products and purchases with id keys and an updated_at cursor', async () => {
  const catalog = await source.discover({}, runOptions())
  assert.deepEqual(catalog.streams.map((s) => s.name), ['users', 'products', 'purchases'])
  for (const s of catalog.streams) {
    assert.deepEqual(s.sourceDefinedPrimaryKey, [['id']])
    assert.deepEqual(s.defaultCursorField, ['updated_at'])
    assert.equal(s.sourceDefinedCursor, true)
    assert.deepEqual(s.supportedSyncModes, ['full_refresh', 'incremental'])
    const props = s.jsonSchema.properties as Record<string, Record<string, unknown>>
    assert.equal(props.updated_at?.format, 'date-time')
    assert.deepEqual(props.id?.type, ['null', 'integer'])
  }
})

test('check rejects a bad configuration with a message naming the field', async () => {
  assert.equal((await source.check({ count: 10 }, runOptions())).status, 'succeeded')
  const bad = await source.check({ count: 0 }, runOptions())
  assert.equal(bad.status, 'failed')
  assert.match(bad.message, /count/)
  assert.equal((await source.check({ always_updated: 'yes' }, runOptions())).status, 'failed')
})

test('same seed gives the same rows; another seed gives other rows; columns match rows', async () => {
  const config = { count: 250, seed: 7, records_per_slice: 100, always_updated: false }
  const catalog = await catalogFor(config, 'full_refresh')
  const a = await readAll(config, catalog)
  const b = await readAll(config, catalog)
  assert.deepEqual(rowsOf(a, 'users'), rowsOf(b, 'users'))
  assert.equal(rowsOf(a, 'users').length, 250)
  assert.equal(rowsOf(a, 'products').length, 100)
  assert.equal(rowsOf(a, 'purchases').length, 250)
  assert.deepEqual(rowsOf(a, 'users').map((r) => r.id), Array.from({ length: 250 }, (_, i) => i + 1))
  const c = await readAll({ ...config, seed: 8 }, catalog)
  assert.notDeepEqual(rowsOf(a, 'users').map((r) => r.name), rowsOf(c, 'users').map((r) => r.name))
  for (const batch of batches(a)) {
    const cols = batch.columns?.()
    assert.ok(cols)
    const rows = batch.rows()
    assert.equal(rows.length, batch.count)
    cols.names.forEach((name, i) => assert.deepEqual(rows.map((r) => r[name]), cols.columns[i]))
  }
})

test('bytes are the exact JSON size of the rows', async () => {
  const config = { count: 300, seed: 3, records_per_slice: 128, always_updated: false }
  const ms = await readAll(config, await catalogFor(config, 'full_refresh'))
  for (const batch of batches(ms)) {
    const expected = batch.rows().reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)), 0)
    assert.equal(batch.bytes, expected, `stream ${batch.stream.name}`)
  }
})

test('a STATE with the batch max updated_at follows every batch, and incremental resumes after it', async () => {
  const config = { count: 1000, records_per_slice: 300, always_updated: false }
  const catalog = await catalogFor(config, 'incremental', ['users'])
  const first = await readAll(config, catalog)
  const types = first.filter((m) => m.type !== 'ESTIMATE').map((m) => m.type)
  assert.deepEqual(types, ['RECORD_BATCH', 'STATE', 'RECORD_BATCH', 'STATE', 'RECORD_BATCH', 'STATE', 'RECORD_BATCH', 'STATE'])
  const states = first.filter((m): m is StateMessage => m.type === 'STATE')
  const rows = rowsOf(first, 'users')
  assert.equal(states[0]?.data?.updated_at, rows[299]?.updated_at)
  // Resume from the second checkpoint: exactly the rows after it.
  const resumed = await readAll(config, catalog, [states[1] as StateMessage])
  assert.deepEqual(rowsOf(resumed, 'users'), rows.slice(600))
  // After a complete sync, nothing is new, and the saved state is confirmed.
  const again = await readAll(config, catalog, [states[3] as StateMessage])
  assert.equal(rowsOf(again, 'users').length, 0)
  assert.deepEqual(again.filter((m) => m.type === 'STATE').map((m) => (m as StateMessage).data), [states[3]?.data])
  // More users later: only the new ones.
  const grown = await readAll({ ...config, count: 1100 }, catalog, [states[3] as StateMessage])
  assert.deepEqual(rowsOf(grown, 'users').map((r) => r.id), Array.from({ length: 100 }, (_, i) => 1001 + i))
})

test('always_updated re-emits every row with the sync time as updated_at', async () => {
  const config = { count: 50, always_updated: true }
  const catalog = await catalogFor(config, 'incremental', ['users'])
  const state: StateMessage = { type: 'STATE', stream: { name: 'users', namespace: null }, data: { updated_at: '2020-01-01T00:00:00+00:00' } }
  const rows = rowsOf(await readAll(config, catalog, [state]), 'users')
  assert.equal(rows.length, 50)
  assert.equal(new Set(rows.map((r) => r.updated_at)).size, 1)
  assert.ok(Date.parse(String(rows[0]?.updated_at)) > Date.now() - 60_000)
})

test('an aborted read stops with the cancellation error', async () => {
  const ac = new AbortController()
  const config = { count: 1_000_000, records_per_slice: 1000 }
  const it = source.read(config, await catalogFor(config, 'full_refresh', ['users']), [], runOptions(ac.signal))[Symbol.asyncIterator]()
  await it.next()
  ac.abort()
  await assert.rejects(async () => {
    for (;;) if ((await it.next()).done) break
  }, { code: 'SLUICE_ERR_CANCELLED' })
})

test('generation speed: more than a million column values per CPU second', async () => {
  const config = { count: 200_000, records_per_slice: 10_000, always_updated: false }
  const catalog = await catalogFor(config, 'full_refresh', ['users', 'purchases'])
  // CPU time, not wall time: the machine running the suite may be busy with other work.
  const started = process.cpuUsage()
  let values = 0
  for await (const m of source.read(config, catalog, [], runOptions())) {
    if (isRecordBatch(m)) values += m.count * (m.columns?.().names.length ?? 0)
  }
  const used = process.cpuUsage(started)
  const seconds = (used.user + used.system) / 1e6
  const rate = values / seconds
  assert.ok(rate > 1_000_000, `only ${Math.round(rate)} values per CPU second`)
})

test('a huge records_per_slice is capped so batches stay small', async () => {
  const config = { count: 120_000, records_per_slice: 1_000_000, always_updated: false }
  const counts = batches(await readAll(config, await catalogFor(config, 'full_refresh', ['users']))).map((b) => b.count)
  assert.deepEqual(counts, [50_000, 50_000, 20_000])
})

test('always_updated: a sync in the same second as the saved state still re-emits everything', async () => {
  const config = { count: 5, always_updated: true }
  const catalog = await catalogFor(config, 'incremental', ['users'])
  const first = await readAll(config, catalog)
  const saved = first.filter((m): m is StateMessage => m.type === 'STATE').at(-1) as StateMessage
  assert.equal(rowsOf(await readAll(config, catalog, [saved]), 'users').length, 5)
})
