import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runAttempt } from '../../src/engine/index.js'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { testSourceRow } from '../../src/connectors/test-source/index.js'
import { attemptInput, catalogOf, latestStates, sandbox, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: null }
const ids = (lines: { _airbyte_data: Record<string, unknown> }[]) => lines.map((l) => l._airbyte_data.id)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

test('full_refresh + overwrite: the second sync replaces the first, stats count everything', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const first = { records: 30, batchSize: 7 }
  const catalog = await catalogOf(testSource, first, 'full_refresh', 'overwrite', { generationId: 1, minimumGenerationId: 1 })
  const a = attemptInput(box, { sourceConfig: first, catalog })
  const result = await runAttempt(a)
  assert.deepEqual(ids(await readTestDestination(box.outDir, items)), range(1, 30))
  assert.deepEqual((await readTestDestination(box.outDir, items)).map((l) => l._airbyte_data)[4], testSourceRow('items', 5))
  assert.equal(result.totalStats.recordsEmitted, 30)
  assert.equal(result.totalStats.recordsCommitted, 30)
  assert.equal(result.totalStats.bytesCommitted, result.totalStats.bytesEmitted)
  assert.ok(result.totalStats.bytesEmitted > 30 * 40)
  assert.equal(result.totalStats.stateMessagesEmitted, 5)
  assert.deepEqual(result.streamStats.map((s) => s.streamName), ['items'])
  assert.equal(a.committed.length, 5)
  assert.deepEqual(a.committed.at(-1)?.data, { id: 30, updated_at: testSourceRow('items', 30).updated_at })
  assert.deepEqual(a.committed.map((s) => s.recordCount), [7, 7, 7, 7, 2])

  const second = { records: 12, batchSize: 5 }
  const catalog2 = await catalogOf(testSource, second, 'full_refresh', 'overwrite', { generationId: 2, minimumGenerationId: 2 })
  await runAttempt(attemptInput(box, { sourceConfig: second, catalog: catalog2 }))
  const lines = await readTestDestination(box.outDir, items)
  assert.deepEqual(ids(lines), range(1, 12))
  assert.ok(lines.every((l) => l._airbyte_generation_id === 2))
})

test('full_refresh + append: every sync adds a full copy', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 10, batchSize: 4 }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'append')
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog }))
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog }))
  assert.deepEqual(ids(await readTestDestination(box.outDir, items)), [...range(1, 10), ...range(1, 10)])
})

test('incremental + append: the next sync resumes after the saved cursor', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 25, batchSize: 10, streams: ['items', 'other'] }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const first = attemptInput(box, { sourceConfig: config, catalog })
  await runAttempt(first)
  const saved = latestStates(first.committed)
  assert.deepEqual(saved.map((s) => [s.stream.name, s.data?.id]), [['items', 25], ['other', 25]])

  const grown = { ...config, records: 40 }
  const second = attemptInput(box, { sourceConfig: grown, catalog, state: saved })
  const result = await runAttempt(second)
  assert.equal(result.totalStats.recordsEmitted, 30)
  assert.deepEqual(result.streamStats.map((s) => [s.streamName, s.stats.recordsCommitted]), [['items', 15], ['other', 15]])
  assert.deepEqual(ids(await readTestDestination(box.outDir, items)), range(1, 40))
  assert.deepEqual(ids(await readTestDestination(box.outDir, { name: 'other', namespace: null })), range(1, 40))

  // Nothing new: no records, nothing written.
  const third = await runAttempt(attemptInput(box, { sourceConfig: grown, catalog, state: latestStates(second.committed) }))
  assert.equal(third.totalStats.recordsEmitted, 0)
  assert.deepEqual(ids(await readTestDestination(box.outDir, items)), range(1, 40))
})

test('incremental + append_dedup: re-reading the same rows keeps one row per primary key', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 20, batchSize: 6 }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append_dedup')
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog }))
  // No state: the source re-reads everything (as after a lost state); dedup absorbs it.
  await runAttempt(attemptInput(box, { sourceConfig: { ...config, records: 26 }, catalog }))
  assert.deepEqual(ids(await readTestDestination(box.outDir, items)), range(1, 26))
})

test('emptySource (clear): null states are committed and overwrite empties the stream', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 8, batchSize: 3, streams: ['items', 'other'] }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  await runAttempt(attemptInput(box, { sourceConfig: config, catalog }))
  assert.equal((await readTestDestination(box.outDir, items)).length, 8)

  const resetCatalog = await catalogOf(testSource, config, 'full_refresh', 'overwrite', { generationId: 1, minimumGenerationId: 1 })
  const reset = attemptInput(box, { sourceConfig: config, catalog: resetCatalog, emptySource: true })
  const result = await runAttempt(reset)
  assert.deepEqual(reset.committed.map((s) => [s.stream.name, s.data]), [['items', null], ['other', null]])
  assert.equal(result.totalStats.recordsEmitted, 0)
  assert.deepEqual(await readTestDestination(box.outDir, items), [])
  assert.deepEqual(await readTestDestination(box.outDir, { name: 'other', namespace: null }), [])
})

test('full_refresh + overwrite_dedup: one row per key, only this generation', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 10, batchSize: 4 }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'overwrite_dedup', { generationId: 3, minimumGenerationId: 3 })
  // A source that sends every row twice: dedup must keep one.
  const doubled = {
    ...testSource,
    async *read(c: Record<string, unknown>, cat: typeof catalog, st: [], opts: Parameters<typeof testSource.read>[3]) {
      yield* testSource.read(c, cat, st, opts)
      yield* testSource.read(c, cat, st, opts)
    },
  }
  const result = await runAttempt(attemptInput(box, { source: doubled, sourceConfig: config, catalog }))
  assert.equal(result.totalStats.recordsEmitted, 20)
  const lines = await readTestDestination(box.outDir, items)
  assert.deepEqual(ids(lines), range(1, 10))
  assert.ok(lines.every((l) => l._airbyte_generation_id === 3))
})
