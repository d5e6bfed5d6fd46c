import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ConfigStore } from '../../src/store/config-store.js'
import { createHarness } from './api-harness.js'

const FAKER_ID = 'dfd88b22-b603-4c3d-aad7-3701784586b1'
const LOCAL_FILES_ID = '862a88fc-f263-4a45-aed8-2a53987631c1'

test('an update that lost the race to another writer answers 409 and overwrites nothing', async () => {
  const h = await createHarness()
  try {
    const sourceId = (await h.post('sources/create', { workspaceId: h.workspaceId, sourceDefinitionId: FAKER_ID, name: 'faker', connectionConfiguration: { count: 10 } })).json().sourceId
    const destinationId = (await h.post('destinations/create', { workspaceId: h.workspaceId, destinationDefinitionId: LOCAL_FILES_ID, name: 'files', connectionConfiguration: { destination_path: 'out' } })).json().destinationId
    const created = await h.post('connections/create', { sourceId, destinationId, status: 'active', syncCatalog: { streams: [{ stream: { name: 'users' }, config: { syncMode: 'full_refresh', destinationSyncMode: 'overwrite', selected: true } }] } })
    assert.equal(created.statusCode, 200, created.body)
    const connectionId = created.json().connectionId as string
    assert.equal(created.json().version, undefined, 'the version is internal: responses keep Airbyte shape')

    // Another writer (the worker disabling the connection) commits between this request's read and its write.
    const store = h.deps.configStore
    let raced = false
    h.deps.configStore = new Proxy(store, {
      get(target, prop) {
        // Bound to the store itself: its private fields are not reachable through the proxy.
        const value: unknown = Reflect.get(target, prop)
        if (prop !== 'getConnection') return typeof value === 'function' ? value.bind(target) : value
        return async (id: string) => {
          const read = await target.getConnection(id)
          if (!raced && read !== undefined) {
            raced = true
            await target.putConnection({ ...read, status: 'inactive' })
          }
          return read
        }
      },
    }) as ConfigStore
    const update = await h.post('connections/update', { connectionId, name: 'renamed by a user' })
    assert.equal(update.statusCode, 409, update.body)
    assert.equal(update.json().code, 'SLUICE_ERR_CONFLICT')
    h.deps.configStore = store
    const stored = (await h.post('connections/get', { connectionId })).json()
    assert.deepEqual([stored.name, stored.status], [created.json().name, 'inactive'], "the other writer's change stands; the stale one was refused")
    const retried = await h.post('connections/update', { connectionId, name: 'renamed by a user' })
    assert.equal(retried.statusCode, 200)
    assert.deepEqual([retried.json().name, retried.json().status], ['renamed by a user', 'inactive'])
  } finally {
    await h.close()
  }
})
