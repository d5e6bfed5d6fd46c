import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AttemptFailure, mapStreamDescriptor, runAttempt, toSluiceError } from '../../src/engine/index.js'
import type { Destination, Source } from '../../src/protocol/index.js'
import { readTestDestination } from '../../src/connectors/test-destination/index.js'
import { type RecordBatch, streamKey, type StreamDescriptor } from '../../src/protocol/index.js'
import { attemptInput, catalogOf, latestStates, sandbox, testDestination, testSource } from './engine-helpers.js'

const users: StreamDescriptor = { name: 'users', namespace: 'public' }
const bare: StreamDescriptor = { name: 'users', namespace: null }

test('namespace definitions: source, destination, customformat', () => {
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source' }, users), { name: 'users', namespace: 'public' })
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source' }, { name: 'users', namespace: '' }), { name: 'users', namespace: null })
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'destination' }, users), { name: 'users', namespace: null })
  const custom = (namespaceFormat: string | undefined, d = users) => mapStreamDescriptor({ namespaceDefinition: 'customformat', namespaceFormat }, d).namespace
  assert.equal(custom('my_${SOURCE_NAMESPACE}_x'), 'my_public_x')
  assert.equal(custom('${SOURCE_NAMESPACE}'), 'public')
  assert.equal(custom('${SOURCE_NAMESPACE}', bare), null)
  assert.equal(custom('raw_${SOURCE_NAMESPACE}', bare), 'raw_')
  assert.equal(custom('  '), null)
  assert.equal(custom(undefined), null)
  assert.equal(custom('${SOURCE_NAMESPACE}_${SOURCE_NAMESPACE}'), 'public_public')
})

test('prefix and alias: the prefix is prepended to the alias or the name', () => {
  const aliases = new Map([[streamKey(users), 'people']])
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source', prefix: 'raw_' }, users), { name: 'raw_users', namespace: 'public' })
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source', prefix: '  ' }, users), { name: 'users', namespace: 'public' })
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source', aliases }, users), { name: 'people', namespace: 'public' })
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source', prefix: 'raw_', aliases }, users), { name: 'raw_people', namespace: 'public' })
  // The alias is keyed by the source descriptor: another namespace is not aliased.
  assert.deepEqual(mapStreamDescriptor({ namespaceDefinition: 'source', aliases }, bare), { name: 'users', namespace: null })
})

test('through the engine: records land under mapped names, states come back with source names', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 9, batchSize: 4, streams: ['items', 'other'], namespace: 'shop' }
  const catalog = await catalogOf(testSource, config, 'incremental', 'append')
  const mapping = {
    namespaceDefinition: 'customformat' as const,
    namespaceFormat: 'raw_${SOURCE_NAMESPACE}',
    prefix: 'p_',
    aliases: new Map([[streamKey({ name: 'items', namespace: 'shop' }), 'goods']]),
  }
  const input = attemptInput(box, { sourceConfig: config, catalog, mapping })
  const result = await runAttempt(input)
  assert.equal((await readTestDestination(box.outDir, { name: 'p_goods', namespace: 'raw_shop' })).length, 9)
  assert.equal((await readTestDestination(box.outDir, { name: 'p_other', namespace: 'raw_shop' })).length, 9)
  assert.equal((await readTestDestination(box.outDir, { name: 'items', namespace: 'shop' })).length, 0)
  assert.deepEqual(
    latestStates(input.committed).map((s) => [s.stream.namespace, s.stream.name, s.data?.id]),
    [['shop', 'items', 9], ['shop', 'other', 9]],
  )
  assert.ok(input.committed.every((s) => s.stream.namespace === 'shop' && (s.stream.name === 'items' || s.stream.name === 'other')))
  assert.deepEqual(result.streamStats.map((s) => [s.streamNamespace, s.streamName, s.stats.recordsCommitted]), [['shop', 'items', 9], ['shop', 'other', 9]])
  assert.ok(input.options.logger.lines.some((l) => l.includes('shop.items -> raw_shop.p_goods')))
})

test('two streams mapped onto one destination stream fail with a config error before anything runs', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const config = { records: 3, streams: ['a', 'b'] }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'append')
  const aliases = new Map([[streamKey({ name: 'b', namespace: null }), 'a']])
  await assert.rejects(runAttempt(attemptInput(box, { sourceConfig: config, catalog, mapping: { namespaceDefinition: 'source', aliases } })), (e: unknown) => {
    const err = e as { code: string; failureType: string; origin: string; message: string }
    assert.equal(err.code, 'SLUICE_ERR_INVALID_CATALOG')
    assert.equal(err.failureType, 'config_error')
    assert.equal(err.origin, 'replication')
    assert.match(err.message, /both be written to a/)
    return true
  })
  assert.equal((await readTestDestination(box.outDir, { name: 'a', namespace: null })).length, 0)
})

test('fast path: the engine never calls rows(); a renamed batch keeps the same columns and COPY bytes', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const columns = { names: ['id'], columns: [[1, 2, 3]] }
  const pgCopyText = { columns: ['id'], pgTypes: ['integer'], data: Buffer.from('1\n2\n3\n') }
  const untouchable: Source = {
    ...testSource,
    async *read() {
      yield {
        type: 'RECORD_BATCH',
        stream: { name: 'items', namespace: 'shop' },
        emittedAt: 1,
        count: 3,
        bytes: 24,
        rows: () => assert.fail('the engine must not build rows'),
        columns: () => columns,
        pgCopyText,
      } satisfies RecordBatch
      yield { type: 'STATE', stream: { name: 'items', namespace: 'shop' }, data: { id: 3 } }
    },
  }
  const seen: RecordBatch[] = []
  const columnar: Destination = {
    ...testDestination,
    async *write(_c, _cat, input) {
      for await (const m of input) {
        if (m.type === 'RECORD_BATCH') seen.push(m)
        if (m.type === 'STATE') yield m
      }
    },
  }
  const catalog = await catalogOf(testSource, { namespace: 'shop' }, 'full_refresh', 'append')
  const input = attemptInput(box, { source: untouchable, destination: columnar, catalog, mapping: { namespaceDefinition: 'destination', prefix: 'raw_' } })
  const result = await runAttempt(input)
  assert.equal(seen.length, 1)
  const batch = seen[0] as RecordBatch
  assert.deepEqual(batch.stream, { name: 'raw_items', namespace: null })
  assert.equal(batch.columns?.(), columns)
  assert.equal(batch.pgCopyText, pgCopyText)
  assert.equal(batch.count, 3)
  assert.equal(result.totalStats.bytesCommitted, 24)
  assert.deepEqual(input.committed.map((s) => s.stream), [{ name: 'items', namespace: 'shop' }])
})

test('errors that are not SluiceErrors: network codes are transient, the rest system errors', () => {
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
  assert.equal(toSluiceError(reset).failureType, 'transient_error')
  assert.equal(toSluiceError(reset).code, 'SLUICE_ERR_CONNECTOR_TRANSIENT')
  assert.equal(toSluiceError(new TypeError('x is undefined')).failureType, 'system_error')
  assert.equal(toSluiceError('a string').message, 'a string')
  const failure = new AttemptFailure('destination', reset, { totalStats: { recordsEmitted: 1, bytesEmitted: 1, recordsCommitted: 0, bytesCommitted: 0, stateMessagesEmitted: 0 }, streamStats: [] })
  assert.equal(failure.retryable, true)
  assert.equal(failure.partialSuccess, false)
  assert.equal(failure.toFailureReason(5).failureOrigin, 'destination')
  assert.equal(failure.toFailureReason(5).timestamp, 5)
  assert.equal(failure.cause, reset)
})
