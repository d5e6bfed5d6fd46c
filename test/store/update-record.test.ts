import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { newWorkspaceRecord } from '../../src/api/workspace-records.js'
import { type ConnectionRecord, updateRecord } from '../../src/store/config-store.js'
import { openSqliteDatabase } from '../../src/store/sqlite/database.js'
import { SqliteConfigStore } from '../../src/store/sqlite/sqlite-config-store.js'

test("a worker's read-modify-write that races an API edit keeps both changes", async () => {
  const db = openSqliteDatabase(':memory:')
  try {
    const store = new SqliteConfigStore(db)
    const ws = newWorkspaceRecord({ name: 'w', slug: 'w' })
    await store.putWorkspace(ws)
    const conn = await store.putConnection({
      connectionId: randomUUID(),
      workspaceId: ws.workspaceId,
      name: 'orders',
      sourceId: randomUUID(),
      destinationId: randomUUID(),
      status: 'active',
      namespaceDefinition: 'source',
      prefix: '',
      syncCatalog: { streams: [] },
      schedule: { type: 'manual' },
      operationIds: [],
      extra: {},
      createdAt: 1,
      updatedAt: 1,
    })
    let reads = 0
    const disabled = await updateRecord<ConnectionRecord>(
      async () => {
        const current = await store.getConnection(conn.connectionId)
        // The API renames the connection between the worker's first read and its write.
        if (reads++ === 0) await store.putConnection({ ...current!, name: 'orders (renamed in the UI)' })
        return current
      },
      (c) => ({ ...c, status: 'inactive' }),
      (c) => store.putConnection(c),
    )
    assert.equal(reads, 2, 'the lost race was noticed and the change re-applied')
    const stored = await store.getConnection(conn.connectionId)
    assert.deepEqual([stored?.name, stored?.status], ['orders (renamed in the UI)', 'inactive'])
    assert.deepEqual(disabled, stored)
  } finally {
    db.close()
  }
})
