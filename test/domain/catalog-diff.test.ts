import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { catalogDiff, hasBreakingChange, type ConfiguredStreamLike, type StreamLike } from '../../src/domain/catalog-diff.js'

const str = { type: ['null', 'string'] }
const int = { type: ['null', 'integer'] }
const ts = { type: ['null', 'string'], format: 'date-time' }

function schema(properties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', properties }
}

function stream(name: string, properties: Record<string, unknown>, extra: Partial<StreamLike> = {}): StreamLike {
  return { name, namespace: 'public', jsonSchema: schema(properties), ...extra }
}

function configured(s: StreamLike, config: ConfiguredStreamLike['config'] = {}): ConfiguredStreamLike {
  return { stream: s, config: { selected: true, syncMode: 'full_refresh', destinationSyncMode: 'overwrite', cursorField: [], primaryKey: [], ...config } }
}

const incrementalDedup = { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']] }
const usersProps = { id: int, name: str, updated_at: ts }

describe('catalogDiff', () => {
  it('gives no transforms for identical catalogs', () => {
    const users = stream('users', usersProps)
    const current = [configured(users, incrementalDedup)]
    const diff = catalogDiff(current, [structuredClone(users)])
    assert.deepEqual(diff, { transforms: [] })
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('ignores key order inside schemas', () => {
    const current = [configured(stream('users', { id: { type: ['null', 'integer'], description: 'pk' } }))]
    const diff = catalogDiff(current, [stream('users', { id: { description: 'pk', type: ['null', 'integer'] } })])
    assert.deepEqual(diff, { transforms: [] })
  })

  it('reports an added stream', () => {
    const users = stream('users', usersProps)
    const diff = catalogDiff([configured(users)], [users, stream('orders', { id: int })])
    assert.deepEqual(diff.transforms, [{ transformType: 'add_stream', streamDescriptor: { name: 'orders', namespace: 'public' } }])
  })

  it('reports a removed stream, which is not breaking even when selected', () => {
    const current = [configured(stream('users', usersProps), incrementalDedup), configured(stream('orders', { id: int }))]
    const diff = catalogDiff(current, [stream('users', usersProps)])
    assert.deepEqual(diff.transforms, [{ transformType: 'remove_stream', streamDescriptor: { name: 'orders', namespace: 'public' } }])
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('reports added, removed and changed top-level fields, sorted by path', () => {
    const current = [configured(stream('users', { id: int, name: str, age: int }))]
    const diff = catalogDiff(current, [stream('users', { id: str, name: str, email: str })])
    assert.deepEqual(diff.transforms, [
      {
        transformType: 'update_stream',
        streamDescriptor: { name: 'users', namespace: 'public' },
        updateStream: {
          fieldTransforms: [
            { transformType: 'remove_field', fieldName: ['age'], breaking: false, removeField: { schema: int } },
            { transformType: 'add_field', fieldName: ['email'], breaking: false, addField: { schema: str } },
            { transformType: 'update_field_schema', fieldName: ['id'], breaking: false, updateFieldSchema: { oldSchema: int, newSchema: str } },
          ],
          streamAttributeTransforms: [],
        },
      },
    ])
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('reports a nested change at the leaf and at each changed ancestor', () => {
    const oldAddress = { type: ['null', 'object'], properties: { city: str, zip: int } }
    const newAddress = { type: ['null', 'object'], properties: { city: str, zip: str, street: str } }
    const current = [configured(stream('users', { id: int, address: oldAddress }))]
    const diff = catalogDiff(current, [stream('users', { id: int, address: newAddress })])
    assert.deepEqual(diff.transforms, [
      {
        transformType: 'update_stream',
        streamDescriptor: { name: 'users', namespace: 'public' },
        updateStream: {
          fieldTransforms: [
            { transformType: 'update_field_schema', fieldName: ['address'], breaking: false, updateFieldSchema: { oldSchema: oldAddress, newSchema: newAddress } },
            { transformType: 'add_field', fieldName: ['address', 'street'], breaking: false, addField: { schema: str } },
            { transformType: 'update_field_schema', fieldName: ['address', 'zip'], breaking: false, updateFieldSchema: { oldSchema: int, newSchema: str } },
          ],
          streamAttributeTransforms: [],
        },
      },
    ])
  })

  it("walks into array items under the path element 'items'", () => {
    const oldTags = { type: 'array', items: { type: 'object', properties: { label: str } } }
    const newTags = { type: 'array', items: { type: 'object', properties: { label: str, color: str } } }
    const diff = catalogDiff([configured(stream('users', { tags: oldTags }))], [stream('users', { tags: newTags })])
    assert.deepEqual(
      diff.transforms[0]?.updateStream?.fieldTransforms.map((f) => [f.transformType, f.fieldName]),
      [
        ['update_field_schema', ['tags']],
        ['update_field_schema', ['tags', 'items']],
        ['add_field', ['tags', 'items', 'color']],
      ],
    )
  })

  it('compares a oneOf field as a whole, without listing its branches', () => {
    const oldValue = { oneOf: [{ type: 'string' }, { type: 'object', properties: { a: str } }] }
    const newValue = { oneOf: [{ type: 'string' }, { type: 'object', properties: { b: str } }] }
    const diff = catalogDiff([configured(stream('events', { value: oldValue }))], [stream('events', { value: newValue })])
    assert.deepEqual(diff.transforms[0]?.updateStream?.fieldTransforms, [
      { transformType: 'update_field_schema', fieldName: ['value'], breaking: false, updateFieldSchema: { oldSchema: oldValue, newSchema: newValue } },
    ])
  })

  it('marks removal of the incremental cursor field as breaking', () => {
    const current = [configured(stream('users', usersProps), { syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['updated_at'] })]
    const diff = catalogDiff(current, [stream('users', { id: int, name: str })])
    assert.deepEqual(diff.transforms[0]?.updateStream?.fieldTransforms, [
      { transformType: 'remove_field', fieldName: ['updated_at'], breaking: true, removeField: { schema: ts } },
    ])
    assert.equal(hasBreakingChange(diff, current), true)
  })

  it('does not mark a removed cursor column as breaking in full refresh', () => {
    const current = [configured(stream('users', usersProps), { syncMode: 'full_refresh', destinationSyncMode: 'append', cursorField: ['updated_at'] })]
    const diff = catalogDiff(current, [stream('users', { id: int, name: str })])
    assert.deepEqual(diff.transforms[0]?.updateStream?.fieldTransforms, [
      { transformType: 'remove_field', fieldName: ['updated_at'], breaking: false, removeField: { schema: ts } },
    ])
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('marks removal of a primary-key field of a deduped stream as breaking', () => {
    const current = [configured(stream('users', usersProps), incrementalDedup)]
    const diff = catalogDiff(current, [stream('users', { name: str, updated_at: ts })])
    assert.deepEqual(diff.transforms[0]?.updateStream?.fieldTransforms, [
      { transformType: 'remove_field', fieldName: ['id'], breaking: true, removeField: { schema: int } },
    ])
    assert.equal(hasBreakingChange(diff, current), true)
  })

  it('marks removal of a nested cursor at the leaf only', () => {
    const meta = { type: 'object', properties: { changed: ts } }
    const current = [configured(stream('users', { id: int, meta }), { syncMode: 'incremental', destinationSyncMode: 'append', cursorField: ['meta', 'changed'] })]
    const diff = catalogDiff(current, [stream('users', { id: int })])
    assert.deepEqual(diff.transforms[0]?.updateStream?.fieldTransforms, [
      { transformType: 'remove_field', fieldName: ['meta'], breaking: false, removeField: { schema: meta } },
      { transformType: 'remove_field', fieldName: ['meta', 'changed'], breaking: true, removeField: { schema: ts } },
    ])
  })

  it('does not mark a type change of the cursor as breaking', () => {
    const current = [configured(stream('users', usersProps), incrementalDedup)]
    const diff = catalogDiff(current, [stream('users', { ...usersProps, updated_at: str, id: str })])
    assert.deepEqual(
      diff.transforms[0]?.updateStream?.fieldTransforms.map((f) => [f.fieldName, f.breaking]),
      [
        [['id'], false],
        [['updated_at'], false],
      ],
    )
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('marks removal of a non-key field as not breaking', () => {
    const current = [configured(stream('users', usersProps), incrementalDedup)]
    const diff = catalogDiff(current, [stream('users', { id: int, updated_at: ts })])
    assert.deepEqual(diff.transforms, [
      {
        transformType: 'update_stream',
        streamDescriptor: { name: 'users', namespace: 'public' },
        updateStream: {
          fieldTransforms: [{ transformType: 'remove_field', fieldName: ['name'], breaking: false, removeField: { schema: str } }],
          streamAttributeTransforms: [],
        },
      },
    ])
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('reports no field changes for an unselected stream, so its removed cursor is not breaking', () => {
    const current = [
      configured(stream('users', usersProps), { ...incrementalDedup, selected: false }),
      configured(stream('orders', { id: int, total: int })),
    ]
    const diff = catalogDiff(current, [stream('users', { id: int, name: str }), stream('orders', { id: int })])
    assert.deepEqual(diff.transforms, [
      {
        transformType: 'update_stream',
        streamDescriptor: { name: 'orders', namespace: 'public' },
        updateStream: {
          fieldTransforms: [{ transformType: 'remove_field', fieldName: ['total'], breaking: false, removeField: { schema: int } }],
          streamAttributeTransforms: [],
        },
      },
    ])
    assert.equal(hasBreakingChange(diff, current), false)
  })

  it('ignores breaking transforms of streams the connection has unselected', () => {
    const current = [configured(stream('users', usersProps), { ...incrementalDedup, selected: false })]
    const diff = {
      transforms: [
        {
          transformType: 'update_stream' as const,
          streamDescriptor: { name: 'users', namespace: 'public' },
          updateStream: {
            fieldTransforms: [{ transformType: 'remove_field' as const, fieldName: ['id'], breaking: true, removeField: { schema: int } }],
            streamAttributeTransforms: [],
          },
        },
      ],
    }
    assert.equal(hasBreakingChange(diff, current), false)
    assert.equal(hasBreakingChange(diff, [configured(stream('users', usersProps), incrementalDedup)]), true)
  })

  it('matches streams by name and namespace, null and undefined namespaces alike', () => {
    const current = [
      configured({ name: 'users', namespace: 'public', jsonSchema: schema(usersProps) }),
      configured({ name: 'users', namespace: null, jsonSchema: schema(usersProps) }),
      configured({ name: 'orders', jsonSchema: schema({ id: int }) }),
    ]
    const discovered: StreamLike[] = [
      { name: 'users', namespace: 'crm', jsonSchema: schema(usersProps) },
      { name: 'users', jsonSchema: schema(usersProps) },
      { name: 'orders', namespace: null, jsonSchema: schema({ id: int }) },
    ]
    const diff = catalogDiff(current, discovered)
    assert.deepEqual(diff.transforms, [
      { transformType: 'add_stream', streamDescriptor: { name: 'users', namespace: 'crm' } },
      { transformType: 'remove_stream', streamDescriptor: { name: 'users', namespace: 'public' } },
    ])
  })

  it('reports a changed source-defined primary key, breaking only when dedup uses another key', () => {
    const current = [configured(stream('users', usersProps, { sourceDefinedPrimaryKey: [['id']] }), incrementalDedup)]
    const diff = catalogDiff(current, [stream('users', usersProps, { sourceDefinedPrimaryKey: [['name']] })])
    assert.deepEqual(diff.transforms, [
      {
        transformType: 'update_stream',
        streamDescriptor: { name: 'users', namespace: 'public' },
        updateStream: {
          fieldTransforms: [],
          streamAttributeTransforms: [
            { transformType: 'update_primary_key', breaking: true, updatePrimaryKey: { oldPrimaryKey: [['id']], newPrimaryKey: [['name']] } },
          ],
        },
      },
    ])
    assert.equal(hasBreakingChange(diff, current), true)

    const appendOnly = [configured(stream('users', usersProps, { sourceDefinedPrimaryKey: [['id']] }), { destinationSyncMode: 'append' })]
    const nonBreaking = catalogDiff(appendOnly, [stream('users', usersProps, { sourceDefinedPrimaryKey: [['name']] })])
    assert.deepEqual(nonBreaking.transforms[0]?.updateStream?.streamAttributeTransforms, [
      { transformType: 'update_primary_key', breaking: false, updatePrimaryKey: { oldPrimaryKey: [['id']], newPrimaryKey: [['name']] } },
    ])
    assert.equal(hasBreakingChange(nonBreaking, appendOnly), false)
  })

  it('is deterministic whatever the input order, and does not alias its inputs', () => {
    const current = [configured(stream('b', { x: int, y: int })), configured(stream('a', { x: int }))]
    const discovered = [stream('c', {}), stream('a', { x: str }), stream('b', { y: int, z: int })]
    const first = catalogDiff(current, discovered)
    const second = catalogDiff([...current].reverse(), [...discovered].reverse())
    assert.deepEqual(second, first)
    assert.deepEqual(
      first.transforms.map((t) => [t.transformType, t.streamDescriptor.name]),
      [
        ['update_stream', 'a'],
        ['update_stream', 'b'],
        ['add_stream', 'c'],
      ],
    )
    const added = first.transforms[1]?.updateStream?.fieldTransforms.find((f) => f.transformType === 'add_field')
    assert.ok(added?.addField)
    ;(added.addField.schema as Record<string, unknown>).type = 'mutated'
    assert.deepEqual(discovered[2]?.jsonSchema, { type: 'object', properties: { y: { type: ['null', 'integer'] }, z: { type: ['null', 'integer'] } } })
  })
})
