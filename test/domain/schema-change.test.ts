import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeTransforms, planSchemaChange, schemaChangeOf } from '../../src/domain/schema-change.js'
import type { AirbyteCatalog, AirbyteStream, DestinationSyncMode } from '../../src/protocol/index.js'
import type { ConnectionRecord, SchemaCheckRecord } from '../../src/store/config-store.js'

const ALL_MODES: DestinationSyncMode[] = ['append', 'overwrite', 'append_dedup', 'overwrite_dedup']

function table(name: string, columns: string[], opts: { pk?: boolean } = {}): AirbyteStream {
  return {
    name,
    namespace: 'public',
    jsonSchema: { type: 'object', properties: Object.fromEntries(columns.map((c) => [c, { type: 'string' }])) },
    supportedSyncModes: ['full_refresh', 'incremental'],
    defaultCursorField: [],
    ...(opts.pk === false ? {} : { sourceDefinedPrimaryKey: [['id']] }),
  }
}

/** A connection syncing `orders` incrementally (cursor updated_at, deduped on id), made from `original`. */
function connection(original: AirbyteCatalog, preference?: string): Pick<ConnectionRecord, 'syncCatalog' | 'extra'> {
  const orders = original.streams.find((s) => s.name === 'orders') as AirbyteStream
  return {
    syncCatalog: {
      streams: [
        {
          stream: { ...orders } as unknown as Record<string, unknown>,
          config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], selected: true },
        },
      ],
    },
    extra: preference === undefined ? {} : { nonBreakingChangesPreference: preference },
  }
}

const before: AirbyteCatalog = { streams: [table('orders', ['id', 'updated_at', 'note']), table('customers', ['id', 'name'])] }

describe('planSchemaChange (Airbyte schema change handling)', () => {
  it('the same catalog: no change, nothing done', () => {
    const plan = planSchemaChange(connection(before, 'propagate_fully'), before, before, ALL_MODES)
    assert.deepEqual([plan.schemaChange, plan.disable, plan.syncCatalog, plan.applied], ['no_change', false, undefined, []])
  })

  const added: AirbyteCatalog = {
    streams: [table('orders', ['id', 'updated_at', 'amount']), table('customers', ['id', 'name']), table('refunds', ['id', 'amount'], { pk: false })],
  }
  const dropped: AirbyteCatalog = { streams: [table('orders', ['id', 'note']), table('customers', ['id', 'name'])] }

  it('ignore (the default): the change is left for review, the catalog stays', () => {
    const plan = planSchemaChange(connection(before), before, added, ALL_MODES)
    assert.equal(plan.preference, 'ignore')
    assert.deepEqual([plan.schemaChange, plan.breaking, plan.disable, plan.syncCatalog], ['non_breaking', false, false, undefined])
    assert.deepEqual(
      plan.diff.transforms.map((t) => [t.transformType, t.streamDescriptor.name]),
      [
        ['update_stream', 'orders'],
        ['add_stream', 'refunds'],
      ],
    )
  })

  it('disable: any change turns the connection off', () => {
    const plan = planSchemaChange(connection(before, 'disable'), before, added, ALL_MODES)
    assert.deepEqual([plan.schemaChange, plan.disable, plan.syncCatalog], ['non_breaking', true, undefined])
  })

  it('a removed cursor is breaking whatever the preference: off, nothing propagated', () => {
    for (const preference of ['ignore', 'propagate_columns', 'propagate_fully']) {
      const plan = planSchemaChange(connection(before, preference), before, dropped, ALL_MODES)
      assert.deepEqual([plan.schemaChange, plan.breaking, plan.disable, plan.syncCatalog, plan.applied], ['breaking', true, true, undefined, []], preference)
    }
  })

  it('propagate_columns: enabled streams take their new schema; new streams stay out, vanished ones stay in', () => {
    const withGone: AirbyteCatalog = { streams: [table('orders', ['id', 'updated_at', 'amount']), table('refunds', ['id'])] }
    const conn = connection(before, 'propagate_columns')
    conn.syncCatalog.streams.push({ stream: { ...table('customers', ['id', 'name']) } as unknown as Record<string, unknown>, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } })
    const plan = planSchemaChange(conn, before, withGone, ALL_MODES)
    assert.equal(plan.schemaChange, 'no_change')
    assert.equal(plan.disable, false)
    const streams = plan.syncCatalog?.streams ?? []
    assert.deepEqual(
      streams.map((e) => e.stream.name),
      ['orders', 'customers'],
    )
    assert.deepEqual(Object.keys((streams[0]?.stream.jsonSchema as { properties: object }).properties), ['id', 'updated_at', 'amount'])
    assert.deepEqual(streams[0]?.config, conn.syncCatalog.streams[0]?.config, 'the stream keeps its configuration')
    assert.deepEqual(
      plan.applied.map((t) => t.transformType),
      ['update_stream'],
    )
  })

  it('propagate_fully: new streams come in enabled with modes the destination takes, vanished ones go', () => {
    const withGone: AirbyteCatalog = { streams: [table('orders', ['id', 'updated_at', 'note']), table('refunds', ['id', 'amount'])] }
    const conn = connection(before, 'propagate_fully')
    conn.syncCatalog.streams.push({ stream: { ...table('customers', ['id', 'name']) } as unknown as Record<string, unknown>, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } })
    const plan = planSchemaChange(conn, before, withGone, ['append'])
    const streams = plan.syncCatalog?.streams ?? []
    assert.deepEqual(
      streams.map((e) => [e.stream.name, e.config.selected, e.config.syncMode, e.config.destinationSyncMode]),
      [
        ['orders', true, 'incremental', 'append_dedup'],
        ['refunds', true, 'full_refresh', 'append'],
      ],
    )
    assert.deepEqual(
      plan.applied.map((t) => [t.transformType, t.streamDescriptor.name]),
      [
        ['remove_stream', 'customers'],
        ['add_stream', 'refunds'],
      ],
    )
  })

  it('propagate_fully: a new stream no destination mode fits is added unselected', () => {
    const incrementalOnly: AirbyteStream = { ...table('events', ['id']), supportedSyncModes: ['incremental'], defaultCursorField: [] }
    const plan = planSchemaChange(connection(before, 'propagate_fully'), before, { streams: [...before.streams, incrementalOnly] }, ['overwrite'])
    const events = plan.syncCatalog?.streams.find((e) => e.stream.name === 'events')
    assert.equal(events?.config.selected, false)
  })

  it('describes each change on one line', () => {
    const plan = planSchemaChange(connection(before), before, added, ALL_MODES)
    assert.deepEqual(describeTransforms(plan.diff.transforms), ["stream 'public.orders': columns added: amount; columns removed: note", "new stream 'public.refunds'"])
    const broken = planSchemaChange(connection(before), before, dropped, ALL_MODES)
    assert.deepEqual(describeTransforms(broken.diff.transforms), ["stream 'public.orders': cursor or primary-key column removed (breaking): updated_at"])
  })
})

describe('schemaChangeOf (connection reads)', () => {
  const check = (schemaChange: SchemaCheckRecord['schemaChange'], baselineCatalogId?: string): SchemaCheckRecord => ({
    connectionId: 'c',
    checkedAt: 1,
    catalogId: 'new',
    schemaChange,
    ...(baselineCatalogId === undefined ? {} : { baselineCatalogId }),
    diff: { transforms: [] },
  })
  it('breaking while the connection carries it, pending non-breaking while still on the same catalog', () => {
    assert.equal(schemaChangeOf({ extra: {}, sourceCatalogId: 'old' }, undefined), 'no_change')
    assert.equal(schemaChangeOf({ extra: { breakingChange: true }, sourceCatalogId: 'old' }, undefined), 'breaking')
    assert.equal(schemaChangeOf({ extra: {}, sourceCatalogId: 'old' }, check('non_breaking', 'old')), 'non_breaking')
    assert.equal(schemaChangeOf({ extra: {} }, check('non_breaking')), 'non_breaking')
    assert.equal(schemaChangeOf({ extra: {}, sourceCatalogId: 'new' }, check('non_breaking', 'old')), 'no_change', 'a saved refreshed catalog settles it')
    assert.equal(schemaChangeOf({ extra: {}, sourceCatalogId: 'old' }, check('no_change', 'old')), 'no_change')
  })
})
