import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { catalogEntries } from '../../src/domain/catalog-entries.js'
import { fieldSelectionProblems, projectJsonSchema, selectedFieldNames } from '../../src/domain/field-selection.js'
import { configuredCatalog, fieldSelection } from '../../src/worker/attempt-catalog.js'

const jsonSchema = { type: 'object', required: ['id', 'email'], properties: { id: { type: 'integer' }, name: { type: 'string' }, email: { type: 'string' }, updated_at: { type: 'string' } } }
const pick = (...names: string[]) => ({ fieldSelectionEnabled: true, selectedFields: names.map((n) => ({ fieldPath: [n] })) })

describe('field selection', () => {
  it('reads the selected names only when enabled; skips malformed entries', () => {
    assert.equal(selectedFieldNames({ selectedFields: [{ fieldPath: ['id'] }] }), undefined)
    assert.deepEqual(selectedFieldNames({ fieldSelectionEnabled: true, selectedFields: [{ fieldPath: ['id'] }, { fieldPath: ['a', 'b'] }, {}, { fieldPath: ['id'] }] }), ['id'])
    assert.deepEqual(selectedFieldNames({ fieldSelectionEnabled: true }), [])
  })

  it('projects the schema and its required list', () => {
    assert.deepEqual(projectJsonSchema(jsonSchema, ['id', 'name']), { type: 'object', required: ['id'], properties: { id: { type: 'integer' }, name: { type: 'string' } } })
  })

  it('problems: a non-boolean switch, a missing list, a schema without fields', () => {
    const ctx = { jsonSchema, syncMode: 'full_refresh' as const, destinationSyncMode: 'overwrite' as const, cursorField: [], primaryKey: [] }
    assert.deepEqual(fieldSelectionProblems({ fieldSelectionEnabled: false, selectedFields: [{ fieldPath: ['nope'] }] }, ctx), [])
    assert.match(fieldSelectionProblems({ fieldSelectionEnabled: 'yes' }, ctx)[0]!.message, /must be a boolean/)
    assert.match(fieldSelectionProblems({ fieldSelectionEnabled: true }, ctx)[0]!.message, /selectedFields must be a list/)
    assert.match(fieldSelectionProblems(pick('id'), { ...ctx, jsonSchema: { type: 'object' } })[0]!.message, /lists no fields to select from/)
    assert.deepEqual(fieldSelectionProblems(pick('id', 'name'), ctx), [])
  })

  it('the worker keeps the forced cursor and key, projects the catalog and tells the engine which fields stay', () => {
    const syncCatalog = {
      streams: [
        { stream: { name: 'users', namespace: 'app', jsonSchema, supportedSyncModes: ['incremental'] }, config: { syncMode: 'incremental', destinationSyncMode: 'append_dedup', cursorField: ['updated_at'], primaryKey: [['id']], ...pick('name') } },
        { stream: { name: 'events', jsonSchema, supportedSyncModes: ['full_refresh'] }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite' } },
      ],
    }
    const entries = catalogEntries({ syncCatalog })
    assert.deepEqual(entries[0]!.selectedFields, ['name', 'updated_at', 'id'])
    assert.equal(entries[1]!.selectedFields, undefined)
    const catalog = configuredCatalog(entries, 7, new Map())
    assert.deepEqual(Object.keys(catalog.streams[0]!.stream.jsonSchema.properties as object), ['id', 'name', 'updated_at'])
    assert.equal(catalog.streams[1]!.stream.jsonSchema, jsonSchema, 'a stream without selection keeps its schema object')
    assert.deepEqual([...fieldSelection(entries)].map(([k, v]) => [k, [...v]]), [['app\u0000users', ['name', 'updated_at', 'id']]])
  })
})
