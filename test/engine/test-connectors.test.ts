import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, writeFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { AttemptFailure, runAttempt } from '../../src/engine/index.js'
import { builtinDefinitions } from '../../src/connectors/builtin-definitions.js'
import { readTestDestination, testDestinationFile } from '../../src/connectors/test-destination/index.js'
import { attemptInput, catalogOf, latestStates, sandbox, testDestination, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: null }

test('the test connectors are listed only with SLUICE_TEST_CONNECTORS=1', () => {
  const previous = process.env.SLUICE_TEST_CONNECTORS
  try {
    delete process.env.SLUICE_TEST_CONNECTORS
    assert.ok(!builtinDefinitions().some((d) => d.name.startsWith('Test ')))
    process.env.SLUICE_TEST_CONNECTORS = '1'
    const names = builtinDefinitions().map((d) => d.name)
    assert.ok(names.includes('Test Source (sluice)'))
    assert.ok(names.includes('Test Destination (sluice)'))
  } finally {
    if (previous === undefined) delete process.env.SLUICE_TEST_CONNECTORS
    else process.env.SLUICE_TEST_CONNECTORS = previous
  }
})

test('transientFailures fails exactly the first N runs of a runKey, counted in the data dir', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 12, batchSize: 4, transientFailures: 2, failAfterRecords: 5, runKey: 'k1' }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  let state = latestStates([])
  for (const run of [1, 2]) {
    const input = attemptInput(box, { sourceConfig: config, catalog, state })
    await assert.rejects(runAttempt(input), (e: unknown) => {
      assert.ok(e instanceof AttemptFailure)
      assert.equal(e.origin, 'source')
      assert.equal(e.failureType, 'transient_error')
      assert.match(e.message, new RegExp(`run ${run} of 2`))
      return true
    })
    state = latestStates([...state, ...input.committed])
  }
  // Each failing run emitted 5 records; the first committed 4 (one state), the second resumed after it.
  assert.deepEqual(state.map((s) => s.data?.id), [8])
  const last = attemptInput(box, { sourceConfig: config, catalog, state })
  await runAttempt(last)
  assert.deepEqual((await readTestDestination(box.outDir, items)).map((l) => l._airbyte_data.id), Array.from({ length: 12 }, (_, i) => i + 1))
  // Another key has its own count.
  await assert.rejects(runAttempt(attemptInput(box, { sourceConfig: { ...config, runKey: 'k2' }, catalog, destinationConfig: { path: `${box.dataDir}/other` } })))
  assert.ok((await readdir(`${box.dataDir}/test-connectors`)).includes('source-k1.count'))
})

test('overwrite: an interrupted attempt keeps its staged generation; the retry finishes it exactly once', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const old = { records: 3, batchSize: 3 }
  const gen1 = await catalogOf(testSource, old, 'full_refresh', 'overwrite', { generationId: 1, minimumGenerationId: 1 })
  await runAttempt(attemptInput(box, { sourceConfig: old, catalog: gen1 }))

  // Generation 2, resumable through the incremental cursor of the test source: attempt 1 dies after 9 records.
  const config = { records: 20, batchSize: 4 }
  const gen2 = await catalogOf(testSource, config, 'incremental', 'overwrite', { generationId: 2, minimumGenerationId: 2 })
  const first = attemptInput(box, { sourceConfig: config, catalog: gen2, destinationConfig: { path: box.outDir, failAfterRecords: 9 } })
  await assert.rejects(runAttempt(first))
  assert.deepEqual(first.committed.map((s) => s.data?.id), [4, 8])
  assert.deepEqual((await readTestDestination(box.outDir, items)).map((l) => l._airbyte_data.id), [1, 2, 3])
  // A crashed run's temp file must not survive the next run.
  const stray = `${testDestinationFile(box.outDir, items)}.99999.tmp`
  await mkdir(dirname(stray), { recursive: true })
  await writeFile(stray, 'garbage')

  const retry = attemptInput(box, { sourceConfig: config, catalog: gen2, state: latestStates(first.committed) })
  await runAttempt(retry)
  const visible = await readTestDestination(box.outDir, items)
  assert.deepEqual(visible.map((l) => l._airbyte_data.id), Array.from({ length: 20 }, (_, i) => i + 1))
  assert.ok(visible.every((l) => l._airbyte_generation_id === 2))
  assert.ok(!(await readdir(dirname(stray))).some((n) => n.endsWith('.tmp')))
})

test('append_dedup without a primary key is a config error of the destination', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const catalog = await catalogOf(testSource, {}, 'incremental', 'append_dedup')
  for (const s of catalog.streams) s.primaryKey = []
  await assert.rejects(runAttempt(attemptInput(box, { catalog })), (e: unknown) => {
    assert.ok(e instanceof AttemptFailure)
    assert.equal(e.origin, 'destination')
    assert.equal(e.failureType, 'config_error')
    return true
  })
})

test('check: source and destination validate their configuration', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  assert.equal((await testSource.check({ records: -1 }, box.options())).status, 'failed')
  assert.equal((await testSource.check({ failureType: 'weird' }, box.options())).status, 'failed')
  assert.equal((await testSource.check({ records: 5 }, box.options())).status, 'succeeded')
  assert.equal((await testDestination.check({}, box.options())).status, 'failed')
  assert.equal((await testDestination.check({ path: 'relative/out' }, box.options())).status, 'succeeded')
})
