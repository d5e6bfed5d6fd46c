import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { catalogEntries } from '../../src/domain/catalog-entries.js'
import { enabledStreams } from '../../src/domain/enabled-streams.js'

function entry(name: string, namespace: string | null, config: Record<string, unknown>): { stream: Record<string, unknown>; config: Record<string, unknown> } {
  return { stream: { name, namespace, jsonSchema: {}, supportedSyncModes: ['full_refresh', 'incremental'] }, config }
}

describe('enabledStreams', () => {
  it('lists the selected streams in catalog order; no namespace key when there is none', () => {
    const syncCatalog = {
      streams: [entry('users', 'public', { selected: true }), entry('events', null, { selected: false }), entry('orders', null, {}), entry('items', '', { selected: true })],
    }
    assert.deepEqual(enabledStreams({ syncCatalog }), [{ name: 'users', namespace: 'public' }, { name: 'orders' }, { name: 'items' }])
  })

  it('skips entries a stored catalog cannot name', () => {
    const syncCatalog = { streams: [{ stream: { namespace: 'public' }, config: { selected: true } }, entry('users', null, { selected: true })] }
    assert.deepEqual(enabledStreams({ syncCatalog }), [{ name: 'users' }])
  })
})

describe('catalogEntries', () => {
  it('a source-defined cursor and primary key win over the configured ones; unknown modes fall back', () => {
    const syncCatalog = {
      streams: [
        {
          stream: { name: 'users', namespace: null, sourceDefinedCursor: true, defaultCursorField: ['updated_at'], sourceDefinedPrimaryKey: [['id']], supportedSyncModes: ['bogus'] },
          config: { syncMode: 'incremental', destinationSyncMode: 'nope', cursorField: ['other'], primaryKey: [['name']], aliasName: 'people' },
        },
      ],
    }
    const [users] = catalogEntries({ syncCatalog })
    assert.ok(users)
    assert.deepEqual(users.cursorField, ['updated_at'])
    assert.deepEqual(users.primaryKey, [['id']])
    assert.equal(users.syncMode, 'incremental')
    assert.equal(users.destinationSyncMode, 'append')
    assert.deepEqual(users.stream.supportedSyncModes, ['full_refresh'])
    assert.equal(users.aliasName, 'people')
    assert.equal(users.selected, true)
  })
})
