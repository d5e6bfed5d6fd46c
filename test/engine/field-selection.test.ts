import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mapBatch, projectCopyText } from '../../src/engine/batch-mapping.js'
import { copyTextBatchWithConstants, fieldDecoder } from '../../src/formats/copy-text-values.js'
import { runAttempt } from '../../src/engine/index.js'
import { rowBatch, streamKey, type Destination, type RecordBatch, type Source } from '../../src/protocol/index.js'
import { attemptInput, catalogOf, sandbox, testDestination, testSource } from './engine-helpers.js'

const items = { name: 'items', namespace: 'shop' }
const keep = new Set(['id', 'name'])

test('COPY text keeps the selected columns byte for byte; escaped tabs and newlines stay inside their value', () => {
  const copy = {
    columns: ['id', 'secret', 'name', 'note'],
    pgTypes: ['integer', 'text', 'text', 'text'],
    data: Buffer.from('1\tpw1\tAda\ta\\tb\n2\t\\N\tBob\\nby\tx\n3\tpw3\t\\N\t\n'),
  }
  const projected = projectCopyText(copy, keep)
  assert.deepEqual(projected.columns, ['id', 'name'])
  assert.deepEqual(projected.pgTypes, ['integer', 'text'])
  assert.equal(projected.data.toString(), '1\tAda\n2\tBob\\nby\n3\t\\N\n')
  const lastOnly = projectCopyText({ ...copy, data: Buffer.from('1\tpw\tAda\tz') }, new Set(['note']))
  assert.equal(lastOnly.data.toString(), 'z')
  assert.deepEqual(lastOnly.columns, ['note'])
})

test('a projected batch: rows, columns and COPY text lose the unselected fields, RECORD lines are dropped, counts stay', () => {
  const rows = [{ id: 1, name: 'a', secret: 's1' }, { id: 2, secret: 's2' }]
  const source: RecordBatch = {
    ...rowBatch(items, rows, { emittedAt: 5, bytes: 99 }),
    columns: () => ({ names: ['id', 'secret', 'name'], columns: [[1, 2], ['s1', 's2'], ['a', null]] }),
    pgCopyText: { columns: ['id', 'secret', 'name'], pgTypes: ['integer', 'text', 'text'], data: Buffer.from('1\ts1\ta\n2\ts2\t\\N\n') },
    airbyteRecordLines: Buffer.from('{"type":"RECORD"}\n'),
    changes: new Map([[0, [{ field: 'secret', change: 'NULLED', reason: 'x' }]], [1, [{ field: 'name', change: 'NULLED', reason: 'y' }]]]),
  }
  const batch = mapBatch(source, { name: 'raw_items', namespace: null }, keep)
  assert.deepEqual(batch.stream, { name: 'raw_items', namespace: null })
  assert.deepEqual(batch.rows(), [{ id: 1, name: 'a' }, { id: 2 }])
  assert.equal(batch.rows(), batch.rows(), 'projected once')
  assert.deepEqual(batch.columns?.(), { names: ['id', 'name'], columns: [[1, 2], ['a', null]] })
  assert.equal(batch.pgCopyText?.data.toString(), '1\ta\n2\t\\N\n')
  assert.equal(batch.airbyteRecordLines, undefined)
  assert.deepEqual([...(batch.changes ?? new Map())], [[1, [{ field: 'name', change: 'NULLED', reason: 'y' }]]])
  assert.equal(batch.count, 2)
  assert.equal(batch.bytes, 99)
  assert.deepEqual(source.rows(), rows, 'the producer\'s rows are untouched')

  const alreadyProjected = mapBatch({ ...rowBatch(items, [{ id: 1 }]), pgCopyText: { columns: ['id'], pgTypes: ['integer'], data: Buffer.from('1\n') } }, items, keep)
  assert.equal(alreadyProjected.pgCopyText?.data.toString(), '1\n')
  const noneKept = mapBatch({ ...rowBatch(items, [{ secret: 1 }]), pgCopyText: { columns: ['secret'], pgTypes: ['integer'], data: Buffer.from('1\n') } }, items, keep)
  assert.equal(noneKept.pgCopyText, undefined, 'no COPY text without columns: the destination uses rows')
  assert.deepEqual(noneKept.rows(), [{}])
})

test('a batch with constant columns keeps them apart through the engine; its whole COPY text is built only when read', () => {
  const int = fieldDecoder({ baseType: 'int4', isArray: false })
  const text = fieldDecoder({ baseType: 'text', isArray: false })
  const make = (): RecordBatch =>
    copyTextBatchWithConstants(items, ['id', 'name'], ['integer', 'text'], [int, text], [{ name: 'at', pgType: 'text', value: 'x' }], [text], Buffer.from('1\tAda\n'), 1)
  let reads = 0
  const counted = (): RecordBatch => {
    const source = make()
    const spy = Object.create(source) as RecordBatch
    Object.defineProperty(spy, 'pgCopyText', { get: () => (reads++, source.pgCopyText) })
    return spy
  }
  const renamed = mapBatch(counted(), { name: 'raw_items', namespace: null }, undefined)
  const allKept = mapBatch(counted(), items, new Set(['id', 'name', 'at']))
  assert.equal(reads, 0, 'mapping reads no COPY text')
  for (const batch of [renamed, allKept]) {
    assert.deepEqual(batch.pgCopyTextWithConstants?.constants, [{ name: 'at', pgType: 'text', value: 'x' }])
    assert.equal(batch.pgCopyText?.data.toString(), '1\tAda\tx\n')
  }
  const dropsConstant = mapBatch(make(), items, keep)
  assert.equal(dropsConstant.pgCopyTextWithConstants, undefined)
  assert.equal(dropsConstant.pgCopyText?.data.toString(), '1\tAda\n')
  const dropsLead = mapBatch(make(), items, new Set(['id', 'at']))
  assert.equal(dropsLead.pgCopyTextWithConstants, undefined)
  assert.equal(dropsLead.pgCopyText?.data.toString(), '1\tx\n')
})

test('through the engine: only the selected fields reach the destination, the other streams are untouched', async (t) => {
  const box = await sandbox()
  t.after(() => box.cleanup())
  const seen = new Map<string, RecordBatch[]>()
  const recording: Destination = {
    ...testDestination,
    async *write(_c, _cat, input) {
      for await (const m of input) {
        if (m.type === 'RECORD_BATCH') seen.set(m.stream.name, [...(seen.get(m.stream.name) ?? []), m])
        if (m.type === 'STATE') yield m
      }
    },
  }
  const config = { records: 5, batchSize: 2, streams: ['items', 'other'], namespace: 'shop' }
  const catalog = await catalogOf(testSource, config, 'full_refresh', 'append')
  const input = attemptInput(box, { source: testSource as Source, sourceConfig: config, destination: recording, catalog })
  input.fieldSelection = new Map([[streamKey(items), new Set(['id'])]])
  const result = await runAttempt(input)
  assert.deepEqual(seen.get('items')?.flatMap((b) => b.rows()), [1, 2, 3, 4, 5].map((id) => ({ id })))
  assert.deepEqual(Object.keys(seen.get('other')?.[0]?.rows()[0] ?? {}).sort(), ['id', 'name', 'updated_at'])
  assert.equal(result.totalStats.recordsCommitted, 10)
})
